"""Slice: clamping table, errors, numpy reference, onnxruntime, onnx node cases with constant inputs."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference.slice import slice_ref

I64_MIN, I64_MAX = -(2 ** 63), 2 ** 63 - 1


def node_case_with_const_inputs(name: str, const_inputs) -> None:
    """Run onnx node case ``name`` with the graph inputs ``const_inputs`` turned into initializers.

    onnx's cases feed pads / starts / ends as graph inputs (the node suite runs them that way, with plans
    keyed on the fed values); this runs the same data with the values as plan constants.
    """
    from tests.node_suite import all_cases

    case = next(c for c in all_cases() if c.name == name)
    for inputs, expected in case.data_sets:
        model = onnx.ModelProto()
        model.CopyFrom(case.model)
        g = model.graph
        names = [i.name for i in g.input]
        feeds = {}
        for nm, arr in zip(names, inputs):
            if nm in const_inputs:
                g.initializer.append(onnx.numpy_helper.from_array(np.asarray(arr), nm))
            else:
                feeds[nm] = np.asarray(arr)
        keep = [i for i in g.input if i.name not in const_inputs]
        del g.input[:]
        g.input.extend(keep)
        got = onnumba.InferenceSession(model.SerializeToString()).run(None, feeds)
        for a, b in zip(got, expected):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_allclose(a, b, rtol=case.rtol, atol=case.atol)


def slice_model(x, starts, ends, axes=None, steps=None, opset=13, idx=np.int64):
    inits = {"starts": np.array(starts, idx), "ends": np.array(ends, idx)}
    if axes is not None:
        inits["axes"] = np.array(axes, idx)
    if steps is not None:
        if axes is None:
            inits["axes"] = np.arange(len(starts), dtype=idx)
        inits["steps"] = np.array(steps, idx)
    return make_node_model("Slice", {"x": x, **inits}, ["y"], opset=opset, initializers=inits)


@pytest.mark.parametrize("name", ["test_slice", "test_slice_default_axes", "test_slice_default_steps",
                                  "test_slice_end_out_of_bounds", "test_slice_neg", "test_slice_neg_steps",
                                  "test_slice_negative_axes", "test_slice_start_out_of_bounds"])
def test_onnx_node_case_with_constant_inputs(name):
    node_case_with_const_inputs(name, {"starts", "ends", "axes", "steps"})


# (shape, starts, ends, axes, steps, expected output shape)
TABLE = [
    ((5,), [1], [4], None, None, (3,)),
    ((5,), [-2], [I64_MAX], None, None, (2,)),
    ((5,), [I64_MIN], [I64_MAX], None, None, (5,)),
    ((5,), [I64_MAX], [I64_MIN], [0], [-1], (5,)),  # full reverse
    ((5,), [-1], [-6], [0], [-1], (5,)),
    ((5,), [4], [0], [0], [-2], (2,)),
    ((5,), [3], [1], None, None, (0,)),  # empty
    ((5,), [1], [3], [0], [-1], (0,)),  # empty with a negative step
    ((5,), [10], [20], None, None, (0,)),
    ((4, 6), [1, 5], [3, 0], [0, -1], [1, -2], (2, 3)),
    ((4, 6), [0], [-1], [-2], None, (3, 6)),
    ((2, 3, 4), [0, 0], [1, 2], [2, 0], [3, 1], (2, 3, 1)),
    ((3, 0, 2), [0], [5], [1], None, (3, 0, 2)),
]


@pytest.mark.parametrize("shape,starts,ends,axes,steps,out", TABLE)
def test_table(shape, starts, ends, axes, steps, out):
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    (y,) = run_onnumba(slice_model(x, starts, ends, axes, steps), {"x": x})
    assert y.shape == out
    np.testing.assert_array_equal(y, slice_ref(x, starts, ends, axes, steps))


def test_int64_max_end_with_negative_step_follows_the_spec():
    # the spec clamps end to dim-1, so the result is empty; onnxruntime 1.31 returns [1, 0] here
    x = np.arange(3, dtype=np.float32)
    (y,) = run_onnumba(slice_model(x, [1], [I64_MAX], [0], [-1]), {"x": x})
    assert y.shape == (0,)


@pytest.mark.parametrize("shape,starts,ends,axes,steps,out", [t for t in TABLE if 0 not in t[0]])
def test_table_vs_ort(shape, starts, ends, axes, steps, out):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    assert_matches_ort(slice_model(x, starts, ends, axes, steps), {"x": x})


def test_opset1_attributes():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    m = make_node_model("Slice", {"x": x}, ["y"], {"starts": [1, -3], "ends": [3, 100], "axes": [1, 2]}, opset=1)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_array_equal(y, x[:, 1:3, -3:])
    m = make_node_model("Slice", {"x": x}, ["y"], {"starts": [1], "ends": [2]}, opset=1)
    np.testing.assert_array_equal(run_onnumba(m, {"x": x})[0], x[1:2])
    assert_matches_ort(m, {"x": x})


@pytest.mark.parametrize("dtype", [np.float64, np.int32, np.int64, np.uint8, np.bool_, np.float16])
def test_dtypes(dtype):
    x = (np.arange(30).reshape(5, 6) % 3).astype(dtype)
    (y,) = run_onnumba(slice_model(x, [1, 4], [4, 0], [0, 1], [2, -1], idx=np.int32), {"x": x})
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, x[1:4:2, 4:0:-1])


def test_starts_ends_fed_at_run_time():
    # the planner specialises the plan to the fed values of starts / ends
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    m = make_node_model("Slice", {"x": x, "starts": np.array([0]), "ends": np.array([1])}, ["y"], opset=13)
    s = onnumba.InferenceSession(m.SerializeToString())
    for lo, hi in ((0, 1), (1, 3)):
        (y,) = s.run(None, {"x": x, "starts": np.array([lo]), "ends": np.array([hi])})
        np.testing.assert_array_equal(y, x[lo:hi])


@pytest.mark.parametrize("starts,ends,axes,steps,match", [
    ([0], [1], [0], [0], r"input 4 'steps': steps must not be 0"),
    ([0, 0], [1, 1], [1, -1], None, r"input 3 'axes': axis 1 appears more than once"),
    ([0], [1], [2], None, r"input 3 'axes': axis 2 is out of range for an input of rank 2"),
    ([0, 0], [1], None, None, r"input 2 'ends': starts has 2 values but ends has 1"),
    ([0], [1], [0, 1], None, r"input 3 'axes': axes has 2 values but starts has 1"),
    ([0, 0, 0], [1, 1, 1], None, None, r"input 1 'starts': 3 starts given for an input of rank 2"),
])
def test_errors(starts, ends, axes, steps, match):
    x = np.zeros((3, 4), np.float32)
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(slice_model(x, starts, ends, axes, steps).SerializeToString())


def test_error_float_starts():
    x = np.zeros((3, 4), np.float32)
    inits = {"starts": np.array([0.0], np.float32), "ends": np.array([1], np.int64)}
    m = make_node_model("Slice", {"x": x, **inits}, ["y"], opset=13, initializers=inits)
    with pytest.raises(onnumba.ModelError, match=r"input 1 'starts': starts: element type float32"):
        onnumba.InferenceSession(m.SerializeToString())


def test_error_opset1_missing_ends():
    x = np.zeros((3, 4), np.float32)
    m = make_node_model("Slice", {"x": x}, ["y"], {"starts": [0]}, opset=1)
    with pytest.raises(onnumba.ModelError, match=r"attribute 'ends': Slice-1 requires the starts and ends"):
        onnumba.InferenceSession(m.SerializeToString())


def test_output_is_a_view_of_the_input_data():
    from onnumba.ops.slice import Slice, SliceAttrs

    x = np.arange(12.0).reshape(3, 4)
    (y,) = Slice.run(None, SliceAttrs(slices=(slice(1, 3, 1), slice(None, None, -1)), out_shape=(2, 4)), [x])
    assert np.shares_memory(x, y)


# ------------------------------------------------------------------------------------------- hypothesis

@st.composite
def slice_cases(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=rank, max_size=rank)))
    n = draw(st.integers(1, rank))
    axes = draw(st.permutations(range(rank)))[:n]
    axes = [a - rank if draw(st.booleans()) else a for a in axes]
    bound = st.one_of(st.integers(-9, 9), st.sampled_from([I64_MIN, I64_MAX]))
    starts = [draw(bound) for _ in axes]
    ends = [draw(bound) for _ in axes]
    steps = [draw(st.sampled_from([-3, -2, -1, 1, 2, 3])) for _ in axes]
    return shape, starts, ends, axes, steps


def _check_vs_ort(case):
    shape, starts, ends, axes, steps = case
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    m = slice_model(x, starts, ends, axes, steps)
    ref = slice_ref(x, starts, ends, axes, steps)
    if any(st < 0 and e == I64_MAX for e, st in zip(ends, steps)):
        # onnxruntime reads end=INT64_MAX with a negative step as "to the start"; the spec clamps it to dim-1
        (ours,) = run_onnumba(m, {"x": x})
    else:
        (ours,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(ours, ref)


@given(slice_cases())
def test_hypothesis_vs_ort(case):
    _check_vs_ort(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(slice_cases())
def test_hypothesis_vs_ort_slow(case):
    _check_vs_ort(case)
