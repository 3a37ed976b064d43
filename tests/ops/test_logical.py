"""Logical, comparison, Where, IsNaN / IsInf and BitShift: broadcasting, element types per version, errors,
naive reference, onnxruntime, and a hypothesis property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference.logical import binary_ref, bitshift_ref, isinf_ref, where_ref

COMPARE = ["Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"]
BOOLEAN = ["And", "Or", "Xor"]


def binary_model(op, a, b, opset=19, attrs=None):
    return make_node_model(op, {"a": a, "b": b}, ["y"], attrs or {}, opset=opset)


def _load(m):
    return onnumba.InferenceSession(m.SerializeToString())


SHAPES = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 4), (3, 1)), ((), (2, 3)), ((2, 3), ()), ((0, 3), (1, 3))]


def values(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype) == bool:
        return np.asarray(rng.integers(0, 2, shape), bool)
    return np.asarray(rng.integers(0, 4, shape), dtype)  # small range: many equal pairs


@pytest.mark.parametrize("op", COMPARE)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_compare_vs_reference_and_ort(op, sa, sb):
    a, b = values(sa, np.float32, 0), values(sb, np.float32, 1)
    (y,) = assert_matches_ort(binary_model(op, a, b), {"a": a, "b": b})
    np.testing.assert_array_equal(y, binary_ref(op, a, b))


@pytest.mark.parametrize("op", COMPARE)
@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.float16, np.float64])
def test_compare_types(op, dtype):
    a, b = values((3, 4), dtype, 2), values((4,), dtype, 3)
    (y,) = run_onnumba(binary_model(op, a, b, opset=16 if op.endswith("OrEqual") else 13), {"a": a, "b": b})
    np.testing.assert_array_equal(y, binary_ref(op, a, b))
    assert y.dtype == bool


def test_compare_nan():
    a = np.array([np.nan, 1.0, np.nan], np.float32)
    b = np.array([np.nan, np.nan, 2.0], np.float32)
    for op in COMPARE:
        (y,) = run_onnumba(binary_model(op, a, b), {"a": a, "b": b})
        np.testing.assert_array_equal(y, [False] * 3)


def test_equal_strings():
    a = np.array([["ab", "c"], ["", "x"]], object)
    b = np.array(["ab", "x"], object)
    (y,) = run_onnumba(binary_model("Equal", a, b, opset=19), {"a": a, "b": b})
    np.testing.assert_array_equal(y, [[True, False], [False, True]])
    assert_matches_ort(binary_model("Equal", a, b, opset=19), {"a": a, "b": b})


def test_legacy_broadcast_opset_1():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    b = np.array([5.0, 13.0, 20.0], np.float32)
    (y,) = run_onnumba(binary_model("Less", a, b, opset=1, attrs={"broadcast": 1, "axis": 1}), {"a": a, "b": b})
    np.testing.assert_array_equal(y, a < b.reshape(1, 3, 1))


@pytest.mark.parametrize("op,opset,dtype,match", [
    ("Less", 7, np.int32, r"input 0 'a': element type int32 is not supported by Less-7; expected one of float16, "
                          r"float32, float64"),
    ("Equal", 7, np.float32, r"input 0 'a': element type float32 is not supported"),
    ("Equal", 13, object, r"input 0 'a': element type object is not supported"),
    ("And", 7, np.float32, r"input 0 'a': element type float32 is not supported by And-7; expected one of bool"),
    ("BitShift", 11, np.int32, r"input 0 'a': element type int32 is not supported"),
])
def test_type_errors(op, opset, dtype, match):
    a = np.zeros((2,), dtype) if dtype is not object else np.array(["a", "b"], object)
    m = make_node_model(op, {"a": a, "b": a}, ["y"], {"direction": "LEFT"} if op == "BitShift" else {},
                        opset=opset)
    with pytest.raises(onnumba.ModelError, match=match):
        _load(m)


def test_mixed_types_and_broadcast_errors():
    a, b = np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float64)
    with pytest.raises(onnumba.ModelError, match=r"input 1 'b': element type float64 differs from input 0's float32"):
        _load(binary_model("Greater", a, b))
    c = np.zeros((4,), np.float32)
    with pytest.raises(onnumba.ModelError, match=r"input 1 'b': shape \(4\) cannot be broadcast with the other "
                                                 r"inputs' shapes \(2, 3\), \(4\) \(axis 1: 4 vs 3\)"):
        _load(binary_model("Equal", a, c))


@pytest.mark.parametrize("op", BOOLEAN)
@pytest.mark.parametrize("sa,sb", SHAPES)
def test_boolean_ops(op, sa, sb):
    a, b = values(sa, bool, 4), values(sb, bool, 5)
    (y,) = assert_matches_ort(binary_model(op, a, b), {"a": a, "b": b})
    np.testing.assert_array_equal(y, binary_ref(op, a, b))


@pytest.mark.parametrize("op", BOOLEAN)
def test_boolean_ops_legacy(op):
    a, b = values((2, 3), bool, 6), values((3,), bool, 7)
    (y,) = run_onnumba(binary_model(op, a, b, opset=1, attrs={"broadcast": 1}), {"a": a, "b": b})
    np.testing.assert_array_equal(y, binary_ref(op, a, b))


def test_not():
    x = values((3, 4), bool, 8)
    m = make_node_model("Not", {"x": x}, ["y"], opset=1)
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, ~x)
    with pytest.raises(onnumba.ModelError, match=r"input 0 'x': element type float32 is not supported by Not-1"):
        _load(make_node_model("Not", {"x": np.zeros(2, np.float32)}, ["y"], opset=1))


# ------------------------------------------------------------------------------------------ Where

@pytest.mark.parametrize("sc,sx,sy", [((3, 4), (3, 4), (3, 4)), ((4,), (3, 1), ()), ((2, 1, 1), (1, 3, 1), (4,)),
                                      ((1,), (2, 2), (2, 2)), ((0, 2), (2,), (1, 2))])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_where(sc, sx, sy, dtype):
    c = values(sc, bool, 9)
    x, y = values(sx, dtype, 10), np.asarray(values(sy, dtype, 11) + 10, dtype)
    m = make_node_model("Where", {"c": c, "x": x, "y": y}, ["z"], opset=16)
    (z,) = assert_matches_ort(m, {"c": c, "x": x, "y": y})
    np.testing.assert_array_equal(z, where_ref(c, x, y))


def test_where_strings_and_errors():
    c = np.array([True, False])
    x, y = np.array(["a", "b"], object), np.array(["c", "d"], object)
    (z,) = run_onnumba(make_node_model("Where", {"c": c, "x": x, "y": y}, ["z"], opset=9), {"c": c, "x": x, "y": y})
    assert z.tolist() == ["a", "d"]
    f = np.zeros(2, np.float32)
    with pytest.raises(onnumba.ModelError, match=r"input 0 'c': condition: element type float32 is not supported"):
        _load(make_node_model("Where", {"c": f, "x": f, "y": f}, ["z"], opset=16))
    with pytest.raises(onnumba.ModelError, match=r"input 2 'y': shape \(3\) cannot be broadcast"):
        _load(make_node_model("Where", {"c": c, "x": f, "y": np.zeros(3, np.float32)}, ["z"], opset=16))


# ------------------------------------------------------------------------------------------ IsNaN / IsInf

SPECIAL = np.array([[np.nan, np.inf, -np.inf, 0.0], [1.0, -2.5, np.nan, 3e38]], np.float32)
SPECIAL16 = np.array([[np.nan, np.inf, -np.inf, 0.0], [1.0, -2.5, np.nan, 6e4]], np.float16)


@pytest.mark.parametrize("neg,pos", [(1, 1), (0, 1), (1, 0), (0, 0)])
def test_isinf(neg, pos):
    m = make_node_model("IsInf", {"x": SPECIAL}, ["y"], {"detect_negative": neg, "detect_positive": pos}, opset=20)
    (y,) = assert_matches_ort(m, {"x": SPECIAL})
    np.testing.assert_array_equal(y, isinf_ref(SPECIAL, neg, pos))


@pytest.mark.parametrize("opset", [9, 13, 20])
def test_isnan(opset):
    x = SPECIAL16
    (y,) = assert_matches_ort(make_node_model("IsNaN", {"x": x}, ["y"], opset=opset), {"x": x})
    np.testing.assert_array_equal(y, [[True, False, False, False], [False, False, True, False]])


def test_isinf_float16_only_from_opset_20():
    x = SPECIAL16
    with pytest.raises(onnumba.ModelError, match=r"element type float16 is not supported by IsInf-10"):
        _load(make_node_model("IsInf", {"x": x}, ["y"], opset=10))
    (y,) = run_onnumba(make_node_model("IsInf", {"x": x}, ["y"], opset=20), {"x": x})
    np.testing.assert_array_equal(y, isinf_ref(x))


# ------------------------------------------------------------------------------------------ BitShift

@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.uint32, np.uint64])
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bitshift_unsigned_vs_ort(dtype, direction):
    x = np.array([[1, 7, 200], [16, 255, 3]], dtype)
    s = np.array([0, 3, 1], dtype)
    m = make_node_model("BitShift", {"x": x, "s": s}, ["y"], {"direction": direction}, opset=11)
    (y,) = assert_matches_ort(m, {"x": x, "s": s})
    np.testing.assert_array_equal(y, bitshift_ref(x, s, direction == "LEFT"))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
def test_bitshift_opset_28_edges(dtype, direction):
    bits = np.dtype(dtype).itemsize * 8
    signed = np.dtype(dtype).kind == "i"
    xs = [1, 5, 100] + ([-1, -100] if signed else [255])
    sh = [0, 1, bits - 1, bits, bits + 3] + ([-1] if signed else [])
    x = np.array([v for v in xs for _ in sh], dtype)
    s = np.array([t for _ in xs for t in sh], dtype)
    m = make_node_model("BitShift", {"x": x, "s": s}, ["y"], {"direction": direction}, opset=28)
    (y,) = run_onnumba(m, {"x": x, "s": s})
    np.testing.assert_array_equal(y, bitshift_ref(x, s, direction == "LEFT"))


def test_bitshift_direction_error():
    x = np.zeros(2, np.uint8)
    with pytest.raises(onnumba.ModelError, match=r"attribute 'direction': must be 'LEFT' or 'RIGHT', got 'UP'"):
        _load(make_node_model("BitShift", {"x": x, "s": x}, ["y"], {"direction": "UP"}, opset=11))


# ------------------------------------------------------------------------------------------ property

@st.composite
def binary_cases(draw):
    rank = draw(st.integers(0, 4))
    out = draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank))
    shapes = []
    for _ in range(3):
        r = draw(st.integers(0, rank))
        shapes.append(tuple(d if draw(st.booleans()) else 1 for d in out[rank - r:]))
    op = draw(st.sampled_from(COMPARE + BOOLEAN + ["Where"]))
    dtype = draw(st.sampled_from([np.float32, np.int32, np.uint8]))
    return op, shapes, dtype, draw(st.integers(0, 2 ** 16))


def _check_binary(case):
    op, (sa, sb, sc), dtype, seed = case
    if op == "Where":
        c, x, y = values(sc, bool, seed), values(sa, dtype, seed + 1), values(sb, dtype, seed + 2)
        (z,) = assert_matches_ort(make_node_model("Where", {"c": c, "x": x, "y": y}, ["z"], opset=16),
                                  {"c": c, "x": x, "y": y})
        np.testing.assert_array_equal(z, where_ref(c, x, y))
        return
    dt = bool if op in BOOLEAN else dtype
    a, b = values(sa, dt, seed), values(sb, dt, seed + 1)
    (y,) = assert_matches_ort(binary_model(op, a, b), {"a": a, "b": b})
    np.testing.assert_array_equal(y, binary_ref(op, a, b))


@given(binary_cases())
def test_binary_property(case):
    _check_binary(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(binary_cases())
def test_binary_property_slow(case):
    _check_binary(case)


def test_keras_relu_with_threshold_runs():
    # converters' ReLU(threshold=..., negative_slope=...) exports GreaterOrEqual + Where
    from onnumba.converters import Input, Model, layers

    inp = Input((3, 7))
    proto = Model(inp, layers.ReLU(threshold=0.5, negative_slope=0.1)(inp)).to_onnx()
    assert {"GreaterOrEqual", "Where"} <= {n.op_type for n in proto.graph.node}
    x = np.random.default_rng(12).standard_normal((4, 3, 7)).astype(np.float32) * 2
    (y,) = assert_matches_ort(proto, {proto.graph.input[0].name: x})
    np.testing.assert_allclose(y, np.where(x >= 0.5, x, 0.1 * (x - 0.5)), rtol=1e-6, atol=1e-7)
