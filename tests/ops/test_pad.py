"""Pad: modes, negative pads, axes, attribute and input forms, errors, numpy reference, onnxruntime."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, run_ort
from tests.ops.test_slice import node_case_with_const_inputs
from tests.reference.pad import pad_ref


def pad_model(x, pads, mode="constant", value=None, axes=None, opset=19):
    if opset < 11:
        attrs = {"mode": mode, ("paddings" if opset == 1 else "pads"): list(pads)}
        if value is not None:
            attrs["value"] = float(value)
        return make_node_model("Pad", {"x": x}, ["y"], attrs, opset=opset)
    inits = {"pads": np.array(pads, np.int64)}
    inputs = {"x": x, "pads": inits["pads"]}
    if value is not None:
        inits["value"] = np.array(value, x.dtype)
        inputs["value"] = inits["value"]
    if axes is not None:
        if value is None:
            inputs[""] = None
        inits["axes"] = np.array(axes, np.int64)
        inputs["axes"] = inits["axes"]
    return make_node_model("Pad", inputs, ["y"], {"mode": mode}, opset=opset, initializers=inits)


@pytest.mark.parametrize("name,consts", [
    ("test_constant_pad", {"pads", "value"}), ("test_constant_pad_axes", {"pads", "value", "axes"}),
    ("test_constant_pad_negative_axes", {"pads", "value", "axes"}), ("test_edge_pad", {"pads"}),
    ("test_reflect_pad", {"pads"}), ("test_wrap_pad", {"pads"})] + [
    (f"test_center_crop_pad_{k}_expanded", {"shape"})
    for k in ("crop_and_pad", "crop_axes_chw", "crop_axes_hwc", "crop", "crop_negative_axes_hwc", "pad")])
def test_onnx_node_case_with_constant_inputs(name, consts):
    node_case_with_const_inputs(name, consts)


# (shape, pads, mode, axes)
TABLE = [
    ((3, 4), [0, 2, 0, 0], "constant", None),
    ((3, 4), [1, 2, 2, 1], "reflect", None),
    ((3, 4), [1, 2, 2, 1], "edge", None),
    ((3, 4), [2, 1, 1, 1], "wrap", None),
    ((3, 4), [2, 5, 7, 9], "wrap", None),  # wrap pads larger than the axis repeat it
    ((3, 4), [4, 6, 5, 7], "edge", None),
    ((2, 3, 4), [-1, 1], "reflect", [2]),  # crop one side, pad the other
    ((2, 3, 4), [0, -1, 1, 0, 1, -1], "constant", None),
    ((2, 3, 4), [0, -1, 2, 0, 1, -1], "edge", None),
    ((2, 3, 4), [0, -1, 1, 0, 1, -1], "wrap", None),
    ((2, 3, 4, 5), [1, 1, 1, 1], "reflect", [-2, -1]),
    ((1, 2, 5, 5), [0, 0, 2, 2, 0, 0, 2, 2], "reflect", None),
    ((4,), [3, 3], "reflect", None),
    ((2, 3), [0, 0, 0, 0], "reflect", None),
    ((2, 3), [-2, 0, 0, 0], "constant", None),  # crop to an empty axis
]


@pytest.mark.parametrize("shape,pads,mode,axes", TABLE)
@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.float16])
def test_table_vs_reference(shape, pads, mode, axes, dtype):
    x = (np.arange(int(np.prod(shape))).reshape(shape) + 1).astype(dtype)
    value = np.array(2.5 if dtype != np.int64 else 7, dtype) if mode == "constant" else None
    (y,) = run_onnumba(pad_model(x, pads, mode, value, axes), {"x": x})
    np.testing.assert_array_equal(y, pad_ref(x, pads, mode, 0 if value is None else value, axes))
    assert y.dtype == x.dtype


@pytest.mark.parametrize("shape,pads,mode,axes", [t for t in TABLE if t[2] != "wrap" or max(t[1]) <= 2])
def test_table_vs_ort(shape, pads, mode, axes):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    assert_matches_ort(pad_model(x, pads, mode, np.float32(1.5) if mode == "constant" else None, axes), {"x": x})


def test_wrap_pad_larger_than_axis_follows_numpy():
    # onnxruntime 1.31 refuses (or mis-sizes) wrap pads larger than the axis; the spec's torus repeats it
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = run_onnumba(pad_model(x, [2, 5, 7, 9], "wrap"), {"x": x})
    np.testing.assert_array_equal(y, np.pad(x, ((2, 7), (5, 9)), mode="wrap"))


@pytest.mark.parametrize("opset", [1, 2, 11, 13, 18, 19, 21, 23, 24, 25])
def test_every_version(opset):
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    mode = "reflect" if opset >= 2 else "edge"
    m = pad_model(x, [1, 1, 2, 0], mode, opset=opset)
    np.testing.assert_array_equal(run_onnumba(m, {"x": x})[0], pad_ref(x, [1, 1, 2, 0], mode))
    c = pad_model(x, [1, 0, 0, 2], "constant", np.float32(3.0), opset=opset)
    np.testing.assert_array_equal(run_onnumba(c, {"x": x})[0], pad_ref(x, [1, 0, 0, 2], "constant", 3.0))


def test_constant_value_fed_at_run_time():
    x = np.ones((2, 2), np.float32)
    inits = {"pads": np.array([1, 0, 0, 1], np.int64)}
    m = make_node_model("Pad", {"x": x, "pads": inits["pads"], "v": np.array(4.0, np.float32)}, ["y"],
                        opset=13, initializers=inits)
    s = onnumba.InferenceSession(m.SerializeToString())
    for v in (4.0, -1.0):
        (y,) = s.run(None, {"x": x, "v": np.array(v, np.float32)})
        np.testing.assert_array_equal(y, np.pad(x, ((1, 0), (0, 1)), constant_values=v))


@pytest.mark.parametrize("mode", ["constant", "edge"])
def test_rank0_input_with_empty_pads_is_identity(mode):
    # the spec's pads has 2 * rank = 0 values and onnx's shape inference accepts it; onnxruntime refuses
    # ("data_rank > 0") and onnx.reference cannot run it: we follow the spec (fuzz finding "Pad on rank 0")
    x = np.array(3.0, np.float32)
    (y,) = run_onnumba(pad_model(x, np.zeros(0, np.int64), mode), {"x": x})
    assert y.shape == () and y == 3.0


def test_rank0_input_with_pads_is_refused():
    x = np.array(3.0, np.float32)
    with pytest.raises(onnumba.ModelError, match=r"expected 0 values"):
        onnumba.InferenceSession(pad_model(x, [1, 1]).SerializeToString())


@pytest.mark.parametrize("mode", ["reflect", "edge", "wrap"])
def test_crop_to_empty_axis_in_non_constant_mode(mode):
    # onnxruntime 1.31 refuses this ("zero effective input extent"); nothing needs copying, so onnumba allows it
    x = np.ones((2, 1), np.float32)
    (y,) = run_onnumba(pad_model(x, [-1, 0, -1, 0], mode), {"x": x})
    assert y.shape == (0, 1)


def test_reflect_pad_not_smaller_than_axis_is_refused():
    x = np.zeros((1, 3, 4), np.float32)
    with pytest.raises(onnumba.ModelError, match=r"input 1 'pads': mode 'reflect' needs each pad smaller than the "
                                                 r"axis it reflects: axis 1 has length 3"):
        onnumba.InferenceSession(pad_model(x, [0, 3, 0, 0, 0, 0], "reflect").SerializeToString())
    with pytest.raises(onnumba.ModelError, match=r"axis 2 has length 2 after cropping"):
        onnumba.InferenceSession(pad_model(x, [0, 0, -2, 0, 0, 2], "reflect").SerializeToString())
    with pytest.raises(Exception):  # onnxruntime refuses it too
        run_ort(pad_model(x, [0, 3, 0, 0, 0, 0], "reflect"), {"x": x})


@pytest.mark.parametrize("pads,kw,match", [
    ([1, 1], {}, r"input 1 'pads': expected 6 values \(begin and end for each of 3 axes\), got 2"),
    ([0, 0, 2 ** 40, 0, 0, 0], {}, r"input 1 'pads': pad values must be in"),
    ([0, 0, -3, 0, 0, -2], {}, r"pads \(-3, -2\) crop axis 2 of length 4 below zero"),
    ([1, 1], {"axes": [1, -2]}, r"input 3 'axes': axis 1 appears more than once"),
    ([1, 1], {"axes": [3]}, r"input 3 'axes': axis 3 is out of range for data of rank 3"),
    ([0, 0, 1, 0, 0, 1], {"mode": "edge"}, None),
])
def test_errors(pads, kw, match):
    x = np.zeros((2, 3, 4), np.float32)
    m = pad_model(x, pads, kw.get("mode", "constant"), axes=kw.get("axes"))
    if match is None:
        onnumba.InferenceSession(m.SerializeToString())
        return
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(m.SerializeToString())


def test_error_absurd_output_size():
    x = np.zeros((2 ** 10, 2 ** 10), np.float32)
    m = pad_model(x, [0, 0, 2 ** 30, 0], "constant")
    with pytest.raises(onnumba.ModelError, match=r"more than onnumba's limit"):
        onnumba.InferenceSession(m.SerializeToString())


def test_error_bad_mode_and_wrap_before_19():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(onnumba.ModelError, match=r"attribute 'mode': mode must be one of constant, reflect, edge, "
                                                 r"wrap at opset 19, got 'mirror'"):
        onnumba.InferenceSession(pad_model(x, [0, 0, 0, 0], "mirror").SerializeToString())
    with pytest.raises(onnumba.ModelError, match=r"mode must be one of constant, reflect, edge at opset 18"):
        onnumba.InferenceSession(pad_model(x, [0, 0, 0, 0], "wrap", opset=18).SerializeToString())


def test_error_edge_on_empty_axis():
    x = np.zeros((0, 3), np.float32)
    with pytest.raises(onnumba.ModelError, match=r"mode 'edge' pads axis 0 but the \(cropped\) axis is empty"):
        onnumba.InferenceSession(pad_model(x, [1, 0, 0, 0], "edge").SerializeToString())


def test_error_constant_value_type():
    x = np.zeros((2, 3), np.float32)
    m = pad_model(x, [0, 0, 0, 0], "constant", np.float64(1.0))
    m.graph.initializer[1].CopyFrom(__import__("onnx").numpy_helper.from_array(np.array(1.0), "value"))
    with pytest.raises(onnumba.ModelError, match=r"input 2 'value': constant_value has element type float64"):
        onnumba.InferenceSession(m.SerializeToString())


# ------------------------------------------------------------------------------------------- hypothesis

@st.composite
def pad_cases(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    mode = draw(st.sampled_from(["constant", "reflect", "edge", "wrap"]))
    use_axes = draw(st.booleans())
    axes = sorted(draw(st.sets(st.integers(0, rank - 1), min_size=1))) if use_axes else list(range(rank))
    begins, ends = [], []
    for a in axes:
        d = shape[a]
        b = draw(st.integers(-d, 4))
        e = draw(st.integers(-(d + min(b, 0)), 4))  # keep >= 0 elements after both crops
        begins.append(b)
        ends.append(e)
    if mode != "constant":
        for b, e, a in zip(begins, ends, axes):
            n = shape[a] - max(0, -b) - max(0, -e)
            assume(n >= 1)  # onnxruntime refuses non-constant modes on an axis cropped to nothing
            if mode == "reflect":
                assume(max(b, e) < n)
            if mode == "wrap":
                assume(max(b, e) <= n)  # onnxruntime's wrap handles pads up to the axis length
    return shape, begins + ends, mode, (axes if use_axes else None)


def _check(case):
    shape, pads, mode, axes = case
    x = np.random.default_rng(2).standard_normal(shape).astype(np.float32)
    m = pad_model(x, pads, mode, np.float32(-2.0) if mode == "constant" else None, axes)
    (ours,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(ours, pad_ref(x, pads, mode, -2.0, axes))


@given(pad_cases())
def test_hypothesis_vs_ort(case):
    _check(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(pad_cases())
def test_hypothesis_vs_ort_slow(case):
    _check(case)
