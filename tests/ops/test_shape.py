"""Shape / plumbing ops: shape tables, errors pinned at load (and at run for fed Gather indices), correctness vs
the naive reference in tests/reference/shape.py and vs onnxruntime, hypothesis properties."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, session
from tests.reference import shape as ref

RNG = np.random.default_rng(0)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype) if np.dtype(dtype).kind == "f" else \
        RNG.integers(-50, 50, shape).astype(dtype)


def _i64(v):
    return np.array(v, dtype=np.int64)


# ------------------------------------------------------------------------------------------- Reshape

RESHAPE_TABLE = [
    dict(x=(2, 3, 4), spec=(4, 6), out=(4, 6)),
    dict(x=(2, 3, 4), spec=(-1,), out=(24,)),
    dict(x=(2, 3, 4), spec=(0, -1), out=(2, 12)),
    dict(x=(2, 3, 4), spec=(0, 0, 2, 2), out=(2, 3, 2, 2)),
    dict(x=(2, 3, 4), spec=(-1, 2, 0), out=(3, 2, 4)),  # 0 copies input dim 2
    dict(x=(0, 3, 4), spec=(0, 3, 4), out=(0, 3, 4)),  # 0 copies a zero dim
    dict(x=(0, 3, 4), spec=(3, 4, 0), out=(3, 4, 0), allowzero=1),  # allowzero: 0 is a literal zero
    dict(x=(1,), spec=(), out=()),
]


@pytest.mark.parametrize("case", RESHAPE_TABLE, ids=[str(c) for c in RESHAPE_TABLE])
def test_reshape_table(case):
    x = _x(*case["x"])
    az = case.get("allowzero", 0)
    m = make_node_model("Reshape", {"x": x, "s": _i64(case["spec"])}, ["y"], {"allowzero": az}, opset=14,
                        initializers={"s": _i64(case["spec"])})
    (y,) = run_onnumba(m, {"x": x})
    assert y.shape == case["out"]
    np.testing.assert_array_equal(y, ref.reshape(x, case["spec"], az))


def test_reshape_opset1_attribute_form():
    x = _x(2, 6)
    m = make_node_model("Reshape", {"x": x}, ["y"], {"shape": [3, -1]}, opset=1, ir_version=3)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_array_equal(y, x.reshape(3, 4))


@pytest.mark.parametrize("spec,allowzero,match", [
    ((5, -1), 0, r"input 1 's'.*not a multiple of 5"),
    ((-1, -1), 0, r"more than one -1"),
    ((0, 0, 0, 0), 0, r"0 \(copy the input dim\) at position 3"),
    ((4, 7), 0, r"\(24 elements\) to \(4, 7\) \(28 elements\)"),
    ((-2, 12), 0, r"invalid value -2"),
    ((0, 0, 0, -1), 1, r"both -1 and 0"),
    ((0, -1), 1, r"both -1 and 0 with allowzero=1"),
])
def test_reshape_errors(spec, allowzero, match):
    m = make_node_model("Reshape", {"x": _x(2, 3, 4), "s": _i64(spec)}, ["y"], {"allowzero": allowzero},
                        opset=14, initializers={"s": _i64(spec)})
    with pytest.raises(onnumba.ModelError, match=r"Node 'Reshape_0' \(Reshape\).*" + match):
        session(m)


def test_reshape_shape_fed_at_run_time_specialises_the_plan():
    """A fed shape input is read when the plan is made: each distinct value gets its own plan."""
    m = make_node_model("Reshape", {"x": _x(2, 3), "s": _i64([6])}, ["y"], opset=13)
    sess = session(m)
    x = _x(2, 3)
    assert sess.run(None, {"x": x, "s": _i64([6])})[0].shape == (6,)
    assert sess.run(None, {"x": x, "s": _i64([-1])})[0].shape == (6,)
    assert [st.output_shapes for st in sess.get_plan()] == [((6,),)]
    with pytest.raises(onnumba.ModelError, match=r"Node 'Reshape_0' \(Reshape\)"):
        sess.run(None, {"x": x, "s": _i64([4])})


# ------------------------------------------------------------------------------------------- Flatten

@pytest.mark.parametrize("shape,axis,out,opset", [
    ((2, 3, 4), 1, (2, 12), 13), ((2, 3, 4), 0, (1, 24), 13), ((2, 3, 4), 3, (24, 1), 13),
    ((2, 3, 4), -1, (6, 4), 13), ((2, 3, 4), -3, (1, 24), 11), ((2, 3, 4, 5), 2, (6, 20), 9),
    ((0, 3), 1, (0, 3), 13), ((3,), 1, (3, 1), 1),
])
def test_flatten_table(shape, axis, out, opset):
    x = _x(*shape)
    m = make_node_model("Flatten", {"x": x}, ["y"], {"axis": axis}, opset=opset, ir_version=7 if opset < 13 else None)
    (y,) = run_onnumba(m, {"x": x})
    assert y.shape == out
    np.testing.assert_array_equal(y, ref.flatten(x, axis))


@pytest.mark.parametrize("axis,opset,match", [(4, 13, r"axis 4 is out of range for rank 3 \(expected -3 <= axis <= 3\)"),
                                               (-1, 9, r"axis -1 is out of range for rank 3 \(expected 0 <= axis")])
def test_flatten_errors(axis, opset, match):
    m = make_node_model("Flatten", {"x": _x(2, 3, 4)}, ["y"], {"axis": axis}, opset=opset, ir_version=7)
    with pytest.raises(onnumba.ModelError, match=r"attribute 'axis': " + match):
        session(m)


# ----------------------------------------------------------------------------------------- Transpose

@pytest.mark.parametrize("shape,perm", [((2, 3, 4), None), ((2, 3, 4), (1, 0, 2)), ((2, 3, 4, 5), (0, 2, 3, 1)),
                                        ((5,), (0,)), ((), None)])
def test_transpose_vs_reference_and_ort(shape, perm):
    x = _x(*shape)
    m = make_node_model("Transpose", {"x": x}, ["y"], {} if perm is None else {"perm": list(perm)})
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, ref.transpose(x, perm))
    assert y.flags.c_contiguous


@pytest.mark.parametrize("perm,match", [((0, 0, 1), r"\[0, 0, 1\] is not a permutation of 0..2"),
                                        ((0, 1), r"perm \[0, 1\] has 2 entries but the input has rank 3"),
                                        ((0, 1, 3), r"\[0, 1, 3\] is not a permutation of 0..2")])
def test_transpose_errors(perm, match):
    m = make_node_model("Transpose", {"x": _x(2, 3, 4)}, ["y"], {"perm": list(perm)})
    with pytest.raises(onnumba.ModelError, match=r"\(Transpose\), attribute 'perm': " + match):
        session(m)


# ------------------------------------------------------------------------------------ Squeeze / Unsqueeze

@pytest.mark.parametrize("shape,axes,out", [((1, 3, 1, 4), None, (3, 4)), ((1, 3, 1, 4), (0,), (3, 1, 4)),
                                            ((1, 3, 1, 4), (-2, 0), (3, 4)), ((1,), (0,), ())])
@pytest.mark.parametrize("opset", [1, 11, 13])
def test_squeeze_table(shape, axes, out, opset):
    x = _x(*shape)
    if opset >= 13:
        inputs = {"x": x} if axes is None else {"x": x, "axes": _i64(axes)}
        m = make_node_model("Squeeze", inputs, ["y"], opset=opset,
                            initializers={} if axes is None else {"axes": _i64(axes)})
    else:
        if opset < 11 and axes is not None and min(axes) < 0:
            pytest.skip("negative axes exist from opset 11")
        m = make_node_model("Squeeze", {"x": x}, ["y"], {} if axes is None else {"axes": list(axes)}, opset=opset,
                            ir_version=7)
    (y,) = run_onnumba(m, {"x": x})
    assert y.shape == out
    np.testing.assert_array_equal(y, ref.squeeze(x, axes))
    if opset >= 13:
        assert_matches_ort(m, {"x": x})


@pytest.mark.parametrize("shape,axes,out", [((3, 4), (0,), (1, 3, 4)), ((3, 4), (2, 0), (1, 3, 1, 4)),
                                            ((3, 4), (-1,), (3, 4, 1)), ((), (0, 1), (1, 1)),
                                            ((3,), (1, -1), (3, 1, 1))])
@pytest.mark.parametrize("opset", [11, 13])
def test_unsqueeze_table(shape, axes, out, opset):
    x = _x(*shape)
    if opset >= 13:
        m = make_node_model("Unsqueeze", {"x": x, "axes": _i64(axes)}, ["y"], opset=opset,
                            initializers={"axes": _i64(axes)})
    else:
        m = make_node_model("Unsqueeze", {"x": x}, ["y"], {"axes": list(axes)}, opset=opset, ir_version=7)
    (y,) = assert_matches_ort(m, {"x": x})
    assert y.shape == out
    np.testing.assert_array_equal(y, ref.unsqueeze(x, axes))


@pytest.mark.parametrize("op,axes,match", [
    ("Squeeze", (1,), r"cannot squeeze axis 1 of the input \(1, 3, 1\): its size is 3, not 1"),
    ("Squeeze", (3,), r"axis 3 in \[3\] is out of range for rank 3"),
    ("Squeeze", (0, -3), r"the axes \[0, -3\] repeat an axis"),
    ("Unsqueeze", (5,), r"axis 5 in \[5\] is out of range for rank 4"),
    ("Unsqueeze", (1, 1), r"the axes \[1, 1\] repeat an axis"),
])
def test_squeeze_unsqueeze_errors(op, axes, match):
    m = make_node_model(op, {"x": _x(1, 3, 1), "axes": _i64(axes)}, ["y"], opset=13,
                        initializers={"axes": _i64(axes)})
    with pytest.raises(onnumba.ModelError, match=rf"\({op}\), input 1 'axes': " + match):
        session(m)


def test_squeeze_attribute_refused_from_opset13():
    m = make_node_model("Squeeze", {"x": _x(1, 3)}, ["y"], {"axes": [0]}, opset=13)
    with pytest.raises(onnumba.ModelError):
        session(m)


# -------------------------------------------------------------------------------------------- Concat

@pytest.mark.parametrize("shapes,axis", [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 0)], 1),
                                         ([(2, 3, 4)] * 3, -1), ([(5,)], 0), ([(1, 2, 2), (3, 2, 2)], -3)])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_concat_vs_reference_and_ort(shapes, axis, dtype):
    xs = {f"x{i}": _x(*s, dtype=dtype) for i, s in enumerate(shapes)}
    m = make_node_model("Concat", xs, ["y"], {"axis": axis})
    (y,) = assert_matches_ort(m, xs)
    np.testing.assert_array_equal(y, ref.concat(list(xs.values()), axis))


@pytest.mark.parametrize("xs,axis,match", [
    ({"a": _x(2, 3), "b": _x(3, 3)}, 1, r"input 1 'b': shape \(3, 3\) does not match input 0's \(2, 3\)"),
    ({"a": _x(2, 3), "b": _x(2, 3, 1)}, 0, r"input 1 'b': shape \(2, 3, 1\) does not match"),
    ({"a": _x(2, 3), "b": _x(2, 3, dtype=np.int32)}, 0, r"input 1 'b': element type int32 differs from input 0's"),
    ({"a": _x(2, 3)}, 2, r"attribute 'axis': axis 2 is out of range for rank 2"),
])
def test_concat_errors(xs, axis, match):
    with pytest.raises(onnumba.ModelError, match=r"\(Concat\), " + match):
        session(make_node_model("Concat", xs, ["y"], {"axis": axis}))


@pytest.mark.parametrize("opset", [4, 11])
def test_concat_negative_axis_before_opset11(opset):
    # Concat-4 states no range for axis and onnxruntime accepts -1 there (fuzz finding): counted from the end
    xs = {"a": _x(2, 3), "b": _x(2, 1)}
    (y,) = assert_matches_ort(make_node_model("Concat", xs, ["y"], {"axis": -1}, opset=opset), xs)
    np.testing.assert_array_equal(y, np.concatenate(list(xs.values()), axis=-1))


# -------------------------------------------------------------------------------------------- Gather

@pytest.mark.parametrize("shape,idx,axis", [((5, 4), [0, 2, 4], 0), ((5, 4), [[1, -1], [0, 3]], 1),
                                            ((3, 4, 5), [-3, 2], -1), ((3, 4), 2, 0), ((3, 4), [], 1),
                                            ((2, 3, 4), [[0], [1]], 1),
                                            ((3,), 0, 0)])  # hypothesis: 1-d data, 0-d index made np.take return a scalar
@pytest.mark.parametrize("idx_dtype", [np.int64, np.int32])
def test_gather_vs_reference_and_ort(shape, idx, axis, idx_dtype):
    x = _x(*shape)
    i = np.array(idx, dtype=idx_dtype)
    m = make_node_model("Gather", {"x": x, "i": i}, ["y"], {"axis": axis})
    (y,) = assert_matches_ort(m, {"x": x, "i": i})
    np.testing.assert_array_equal(y, ref.gather(x, i, axis))


def test_gather_constant_indices_checked_at_load():
    m = make_node_model("Gather", {"x": _x(5, 4), "i": _i64([0, 5])}, ["y"], {"axis": 0}, initializers={"i": _i64([0, 5])})
    with pytest.raises(onnumba.ModelError, match=r"\(Gather\), input 1 'i': index 5 is out of range for axis 0 of "
                                                 r"size 5 \(expected -5 <= index < 5\)"):
        session(m)


@pytest.mark.parametrize("bad", [4, -5, 1000])
def test_gather_fed_indices_checked_at_run(bad):
    x = _x(3, 4)
    m = make_node_model("Gather", {"x": x, "i": _i64([0, 1])}, ["y"], {"axis": 1})
    sess = session(m)
    with pytest.raises(onnumba.errors.InputError, match=rf"\(Gather\), input 1 'i': index {bad} is out of range for "
                                                         r"axis 1 of size 4"):
        sess.run(None, {"x": x, "i": _i64([0, bad])})


def test_gather_rejects_float_indices():
    m = make_node_model("Gather", {"x": _x(3), "i": np.zeros(2, np.float32)}, ["y"], opset=13)
    with pytest.raises(onnumba.ModelError):
        session(m)


# --------------------------------------------------------------------------------------- Shape / Size

@pytest.mark.parametrize("start,end", [(0, None), (1, None), (-1, None), (0, -1), (1, 2), (-10, 10), (2, 1)])
def test_shape_start_end(start, end):
    x = _x(2, 3, 4)
    attrs = {"start": start} if end is None else {"start": start, "end": end}
    m = make_node_model("Shape", {"x": x}, ["y"], attrs, opset=15)
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, ref.shape_of(x, start, end))


def test_shape_start_before_opset15_refused():
    m = make_node_model("Shape", {"x": _x(2)}, ["y"], {"start": 1}, opset=13)
    with pytest.raises(onnumba.ModelError, match=r"from opset 15"):
        session(m)


@pytest.mark.parametrize("shape", [(2, 3), (), (0, 4)])
def test_size(shape):
    x = _x(*shape)
    (y,) = assert_matches_ort(make_node_model("Size", {"x": x}, ["y"]), {"x": x})
    assert y.dtype == np.int64 and y.shape == () and int(y) == x.size


# -------------------------------------------------------------------------------------------- Expand

@pytest.mark.parametrize("xshape,shape", [((3, 1), (2, 1, 6)), ((3, 1), (3, 4)), ((2, 3), (1, 1)), ((1,), ()), ((4,), (2, 1))])
def test_expand_vs_reference_and_ort(xshape, shape):
    x = _x(*xshape)
    s = _i64(shape).reshape(-1)
    m = make_node_model("Expand", {"x": x, "s": s}, ["y"], initializers={"s": s})
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, ref.expand(x, s))


def test_expand_error_names_input():
    s = _i64([4, 3])
    m = make_node_model("Expand", {"x": _x(2, 3), "s": s}, ["y"], initializers={"s": s})
    with pytest.raises(onnumba.ModelError, match=r"\(Expand\), input 1 's': shape \(4, 3\) cannot be broadcast"):
        session(m)


# ---------------------------------------------------------------------------------------------- Cast

_CAST_TYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
               np.uint32, np.uint64, np.bool_]


@pytest.mark.parametrize("src", _CAST_TYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("dst", _CAST_TYPES, ids=lambda t: np.dtype(t).name)
def test_cast_vs_reference(src, dst):
    # values every type can hold exactly (no out-of-range float -> int, which the spec leaves undefined)
    base = np.array([[0, 1, 2.75], [3.5, 7.25, 100]], np.float64)
    if np.dtype(src).kind in "fi":
        base = np.concatenate([base, -base], axis=0)
    x = base.astype(src) if src is not np.bool_ else (base > 1)
    if np.dtype(dst).kind == "u" and np.dtype(src).kind in "fi":
        x = np.abs(x)
    m = make_node_model("Cast", {"x": x}, ["y"], {"to": helper.np_dtype_to_tensor_dtype(np.dtype(dst))})
    (y,) = run_onnumba(m, {"x": x})
    assert y.dtype == np.dtype(dst)
    np.testing.assert_array_equal(y, ref.cast(x, dst))


@pytest.mark.parametrize("src,dst", [(np.float32, np.int32), (np.float64, np.int8), (np.float32, np.float16),
                                     (np.int64, np.float32), (np.float32, np.bool_), (np.bool_, np.float32),
                                     (np.int32, np.uint8)])
def test_cast_vs_ort(src, dst):
    x = (RNG.standard_normal((3, 4)) * 20).astype(src) if src is not np.bool_ else RNG.random((3, 4)) > 0.5
    if np.dtype(dst).kind == "u":
        x = np.abs(x)
    m = make_node_model("Cast", {"x": x}, ["y"], {"to": helper.np_dtype_to_tensor_dtype(np.dtype(dst))})
    assert_matches_ort(m, {"x": x})


def test_cast_opset1_string_attribute():
    x = _x(3)
    m = make_node_model("Cast", {"x": x}, ["y"], {"to": "INT32"}, opset=1, ir_version=3)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_array_equal(y, ref.cast(x, np.int32))


@pytest.mark.parametrize("to,match", [(TensorProto.STRING, r"casting to STRING is not supported"),
                                      (TensorProto.FLOAT8E4M3FN, r"casting to FLOAT8E4M3FN is not supported")])
def test_cast_refusals(to, match):
    m = make_node_model("Cast", {"x": _x(3)}, ["y"], {"to": to}, opset=21)
    with pytest.raises(onnumba.ModelError, match=r"\(Cast\), attribute 'to': " + match):
        session(m)


def test_cast_bfloat16_roundtrip():
    import ml_dtypes

    x = np.array([1.0, 1.00390625, -3.14159, 65504.0], np.float32)
    m = make_node_model("Cast", {"x": x}, ["y"], {"to": TensorProto.BFLOAT16}, opset=13)
    (y,) = run_onnumba(m, {"x": x})
    assert y.dtype == ml_dtypes.bfloat16
    np.testing.assert_array_equal(y.astype(np.float32), x.astype(ml_dtypes.bfloat16).astype(np.float32))


# ---------------------------------------------------------------------------------------- Identity

def test_identity_returns_input_values():
    x = _x(2, 3)
    (y,) = assert_matches_ort(make_node_model("Identity", {"x": x}, ["y"]), {"x": x})
    np.testing.assert_array_equal(y, x)


def test_shape_chain_folds_to_reshape():
    """Shape -> Gather -> Unsqueeze -> Concat -> Reshape: the PyTorch flatten pattern on a static input."""
    x = _x(2, 3, 4)
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "zero1"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["shape"], axis=0),
        helper.make_node("Reshape", ["x", "shape"], ["y"]),
    ]
    inits = [onnx.numpy_helper.from_array(_i64(0), "zero"), onnx.numpy_helper.from_array(_i64([0]), "zero1"),
             onnx.numpy_helper.from_array(_i64([-1]), "minus1")]
    g = helper.make_graph(nodes, "flat", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 12])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    (y,) = session(m).run(None, {"x": x})
    np.testing.assert_array_equal(y, x.reshape(2, 12))


# ---------------------------------------------------------------------------------------- hypothesis

@st.composite
def _reshape_geometry(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=4)))
    n = int(np.prod(shape, dtype=np.int64))
    # split n into a random factorisation, then replace dims with 0 (copy) / one -1
    factors, rest = [], n
    for _ in range(draw(st.integers(0, 3))):
        divs = [d for d in range(1, rest + 1) if rest % d == 0]
        f = draw(st.sampled_from(divs))
        factors.append(f)
        rest //= f
    factors.append(rest)
    spec = list(factors)
    if draw(st.booleans()):
        spec[draw(st.integers(0, len(spec) - 1))] = -1
    for k in range(min(len(spec), len(shape))):
        if spec[k] == shape[k] and draw(st.booleans()):
            spec[k] = 0
    return shape, tuple(spec)


def _check_reshape(geom):
    shape, spec = geom
    x = _x(*shape)
    s = _i64(spec).reshape(-1)
    m = make_node_model("Reshape", {"x": x, "s": s}, ["y"], initializers={"s": s}, opset=14)
    (y,) = assert_matches_ort(m, {"x": x})
    assert y.shape == ref.reshape_shape(shape, spec)


@given(_reshape_geometry())
def test_reshape_property(geom):
    _check_reshape(geom)


@pytest.mark.slow
@settings(max_examples=500)
@given(_reshape_geometry())
def test_reshape_property_slow(geom):
    _check_reshape(geom)


@st.composite
def _gather_transpose_geometry(draw):
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[axis]
    idx_shape = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=2)))
    idx = np.array(draw(st.lists(st.integers(-n, n - 1), min_size=int(np.prod(idx_shape, dtype=np.int64)),
                                 max_size=int(np.prod(idx_shape, dtype=np.int64)))), np.int64).reshape(idx_shape)
    perm = tuple(draw(st.permutations(range(len(shape)))))
    return shape, axis, idx, perm


def _check_gather_transpose(geom):
    shape, axis, idx, perm = geom
    x = _x(*shape)
    m = make_node_model("Gather", {"x": x, "i": idx}, ["y"], {"axis": axis})
    (y,) = assert_matches_ort(m, {"x": x, "i": idx})
    np.testing.assert_array_equal(y, ref.gather(x, idx, axis))
    m = make_node_model("Transpose", {"x": x}, ["y"], {"perm": list(perm)})
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, ref.transpose(x, perm))


@given(_gather_transpose_geometry())
def test_gather_transpose_property(geom):
    _check_gather_transpose(geom)


@pytest.mark.slow
@settings(max_examples=500)
@given(_gather_transpose_geometry())
def test_gather_transpose_property_slow(geom):
    _check_gather_transpose(geom)


def test_reshape_minus_one_with_zero_sized_rest_is_ambiguous():
    x = np.zeros((0, 3, 4), np.float32)
    s = _i64([0, -1])
    m = make_node_model("Reshape", {"x": x, "s": s}, ["y"], opset=14, initializers={"s": s})
    with pytest.raises(onnumba.ModelError, match=r"cannot infer the -1 of shape \(0, -1\): its other dims multiply "
                                                 r"to 0"):
        session(m)


# ------------------------------------------------------------------- onnx node cases, values as constants

#: onnx node cases whose shape / axes input is a graph input; onnumba needs it at plan time, so the node
#: suite excludes them and they run here with that input turned into an initializer
NODE_CASES_CONST_INPUTS = {
    **{f"test_reshape_{n}": ("shape",) for n in (
        "allowzero_reordered", "extended_dims", "negative_dim", "negative_extended_dims", "one_dim", "reduced_dims",
        "reordered_all_dims", "reordered_last_dims", "zero_and_negative_dim", "zero_dim")},
    "test_squeeze": ("axes",), "test_squeeze_negative_axes": ("axes",),
    **{f"test_unsqueeze_{n}": ("axes",) for n in (
        "axis_0", "axis_1", "axis_2", "negative_axes", "three_axes", "two_axes", "unsorted_axes")},
    "test_expand_dim_changed": ("new_shape",), "test_expand_dim_unchanged": ("new_shape",),
    "test_constantofshape_float_ones": ("x",), "test_constantofshape_int_shape_zero": ("x",),
    "test_constantofshape_int_zeros": ("x",),
}

#: onnx node cases whose stored inputs are TensorProtos, which tests/node_suite.py passes on unconverted
NODE_CASES_PROTO_INPUTS = [
    f"test_cast{like}_{a}_to_{b}{exp}" for like, exp in (("", ""), ("like", "_expanded"))
    for a, b in (("BFLOAT16", "FLOAT"), ("DOUBLE", "FLOAT"), ("DOUBLE", "FLOAT16"), ("FLOAT16", "DOUBLE"),
                 ("FLOAT16", "FLOAT"), ("FLOAT", "BFLOAT16"), ("FLOAT", "DOUBLE"), ("FLOAT", "FLOAT16"))]


def _as_array(v):
    return onnx.numpy_helper.to_array(v) if isinstance(v, onnx.TensorProto) else np.asarray(v)


def run_node_case(name: str, const_inputs=()) -> None:
    """Run onnx node case ``name`` with ``const_inputs`` made initializers and TensorProto data converted."""
    from tests.node_suite import all_cases

    case = next(c for c in all_cases() if c.name == name)
    for inputs, expected in case.data_sets:
        model = onnx.ModelProto()
        model.CopyFrom(case.model)
        g = model.graph
        feeds = {}
        for vi, arr in zip(list(g.input), inputs):
            arr = _as_array(arr)
            if vi.name in const_inputs:
                g.initializer.append(onnx.numpy_helper.from_array(arr, vi.name))
            else:
                feeds[vi.name] = arr
        keep = [i for i in g.input if i.name not in const_inputs]
        del g.input[:]
        g.input.extend(keep)
        got = session(model).run(None, feeds)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            b = _as_array(b)
            assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, a.shape, b.dtype, b.shape)
            f64 = (lambda v: v.astype(np.float64)) if b.dtype.kind not in "fiub" else (lambda v: v)
            np.testing.assert_allclose(f64(a), f64(b), rtol=case.rtol, atol=case.atol)


@pytest.mark.parametrize("name", sorted(NODE_CASES_CONST_INPUTS))
def test_node_case_with_constant_inputs(name):
    run_node_case(name, NODE_CASES_CONST_INPUTS[name])


@pytest.mark.parametrize("name", NODE_CASES_PROTO_INPUTS)
def test_node_case_with_converted_inputs(name):
    run_node_case(name)
