"""Elementwise ops: broadcasting tables, errors pinned at load, dtype rules, correctness vs the naive reference
in tests/reference/elementwise.py and vs onnxruntime, hypothesis broadcasting properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, run_ort, session
from tests.ops.test_activation import parallel  # noqa: F401  (fixture: serial and forced-parallel runs)
from tests.reference import elementwise as ref

RNG = np.random.default_rng(0)


def _x(shape, dtype=np.float32, lo=-5, hi=5):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.uniform(lo, hi, shape).astype(dtype)
    if dtype.kind == "u":
        lo = max(lo, 0)
    return RNG.integers(lo, hi + 1, shape).astype(dtype)


def _ours(op, arrays, attrs=None, opset=17, **kw):
    names = {f"x{i}": a for i, a in enumerate(arrays)}
    m = make_node_model(op, names, ["y"], attrs, opset=opset, **kw)
    return m, names, run_onnumba(m, names)[0]


# ------------------------------------------------------------------------------------------ binary

BROADCAST_TABLE = [
    dict(a=(2, 3), b=(2, 3), out=(2, 3)),
    dict(a=(2, 3, 4), b=(4,), out=(2, 3, 4)),
    dict(a=(2, 1, 4), b=(3, 1), out=(2, 3, 4)),
    dict(a=(), b=(3, 2), out=(3, 2)),
    dict(a=(1, 5), b=(), out=(1, 5)),
    dict(a=(0, 3), b=(1, 3), out=(0, 3)),
    dict(a=(4, 1, 1, 2), b=(1, 3, 1), out=(4, 1, 3, 2)),
]


@pytest.mark.parametrize("case", BROADCAST_TABLE, ids=[f"{c['a']}x{c['b']}" for c in BROADCAST_TABLE])
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div", "Pow"])
def test_binary_broadcast_table(case, op):
    a = _x(case["a"], lo=1, hi=3) if op == "Pow" else _x(case["a"])
    b = _x(case["b"], lo=1, hi=3)
    m, feeds, y = _ours(op, [a, b])
    assert y.shape == case["out"] and y.dtype == np.float32
    np.testing.assert_allclose(y, ref.binary(op, a, b), rtol=1e-5, atol=1e-6)
    assert_matches_ort(m, feeds)


_TYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64]


@pytest.mark.parametrize("dtype", _TYPES, ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_dtypes_kept(op, dtype):
    a, b = _x((3, 4), dtype, -20, 20), _x((4,), dtype, 1, 9)
    _, _, y = _ours(op, [a, b], opset=14)
    assert y.dtype == np.dtype(dtype)
    exp = ref.binary(op, a, b)
    if np.dtype(dtype) == np.float16:
        np.testing.assert_allclose(y.astype(np.float32), exp.astype(np.float32), rtol=1e-3)
    else:
        np.testing.assert_allclose(y, exp, rtol=1e-6)


def test_int_div_truncates_toward_zero():
    a = np.array([-7, 7, -7, 7, -6, 0, -128], np.int8)
    b = np.array([2, 2, -2, -2, 3, -3, -1], np.int8)
    _, _, y = _ours("Div", [a, b], opset=14)
    np.testing.assert_array_equal(y, np.array([-3, 3, 3, -3, -2, 0, -128], np.int8))  # -128/-1 wraps like C


def test_int_add_wraps_like_c():
    a = np.array([120, -128], np.int8)
    _, _, y = _ours("Add", [a, np.array([10, -1], np.int8)], opset=14)
    np.testing.assert_array_equal(y, np.array([-126, 127], np.int8))


def test_int_div_by_zero_is_an_error_at_run():
    m, feeds, _ = _ours("Div", [np.array([1, 2], np.int32), np.array([1, 1], np.int32)])
    with pytest.raises(onnumba.errors.InputError, match=r"\(Div\), input 1 'x1': integer division by zero"):
        session(m).run(None, {"x0": np.array([1, 2], np.int32), "x1": np.array([1, 0], np.int32)})


def test_float_div_by_zero_gives_inf_and_nan():
    _, _, y = _ours("Div", [np.array([1, -1, 0], np.float32), np.zeros(3, np.float32)])
    assert y[0] == np.inf and y[1] == -np.inf and np.isnan(y[2])


@pytest.mark.parametrize("a_shape,b_shape,match", [
    ((2, 3), (4,), r"input 1 'x1': shape \(4\) cannot be broadcast with the other inputs' shapes \(2, 3\), \(4\) \(axis 1: 4 vs 3\)"),
    ((2, 3), (3, 3), r"input 1 'x1': shape \(3, 3\) cannot be broadcast"),
])
def test_binary_shape_errors(a_shape, b_shape, match):
    m = make_node_model("Add", {"x0": _x(a_shape), "x1": _x(b_shape)}, ["y"])
    with pytest.raises(onnumba.ModelError, match=r"Node 'Add_0' \(Add\), " + match):
        session(m)


def test_binary_dtype_mismatch_names_input():
    m = make_node_model("Mul", {"x0": _x((2,)), "x1": _x((2,), np.float64)}, ["y"])
    with pytest.raises(onnumba.ModelError, match=r"\(Mul\), input 1 'x1': element type float64 differs from input 0's"
                                                 r" float32"):
        session(m)


def test_binary_rejects_bool():
    m = make_node_model("Add", {"x0": np.ones(2, bool), "x1": np.ones(2, bool)}, ["y"])
    with pytest.raises(onnumba.ModelError, match=r"\(Add\), input 0 'x0': element type bool is not supported"):
        session(m)


# legacy (opset < 7) broadcast attribute: B aligned to A at 'axis' or as a suffix; onnxruntime has no kernels
# for these opsets, so only the reference checks them
@pytest.mark.parametrize("a,b,attrs", [
    ((2, 3, 4, 5), (5,), dict(broadcast=1)),
    ((2, 3, 4, 5), (4, 5), dict(broadcast=1)),
    ((2, 3, 4, 5), (3, 4), dict(broadcast=1, axis=1)),
    ((2, 3, 4, 5), (2,), dict(broadcast=1, axis=0)),
    ((2, 3, 4, 5), (1, 1), dict(broadcast=1)),  # a one-element B is a scalar
    ((2, 3), (2, 3), {}),
])
@pytest.mark.parametrize("op,opset", [("Add", 6), ("Sub", 1), ("Mul", 6), ("Div", 6), ("Pow", 1)])
def test_legacy_broadcast(a, b, attrs, op, opset):
    x, y = _x(a, lo=1, hi=3), _x(b, lo=1, hi=3)
    _, _, out = _ours(op, [x, y], attrs, opset=opset, ir_version=3)
    assert out.shape == a
    np.testing.assert_allclose(out, ref.legacy_binary(op, x, y, attrs.get("broadcast", 0), attrs.get("axis")),
                               rtol=1e-5)


@pytest.mark.parametrize("a,b,attrs,match", [
    ((2, 3), (3,), {}, r"shape \(3\) differs from input 0's \(2, 3\) and the node does not set broadcast=1"),
    ((2, 3, 4), (3,), dict(broadcast=1), r"shape \(3\) does not match input 0's dims \(2, 3, 4\) starting at axis "
                                         r"suffix"),
    ((2, 3, 4), (3, 4), dict(broadcast=1, axis=0), r"shape \(3, 4\) does not match .* starting at axis 0"),
    ((2, 3), (1, 2, 3), dict(broadcast=1), r"shape \(1, 2, 3\) has a higher rank than input 0's"),
])
def test_legacy_broadcast_errors(a, b, attrs, match):
    m = make_node_model("Add", {"x0": _x(a), "x1": _x(b)}, ["y"], attrs, opset=6, ir_version=3)
    with pytest.raises(onnumba.ModelError, match=r"\(Add\), input 1 'x1': " + match):
        session(m)


# ----------------------------------------------------------------------------------------------- Pow

@pytest.mark.parametrize("bt,et", [(np.float32, np.float32), (np.float32, np.int32), (np.float32, np.int64),
                                   (np.float64, np.float32), (np.int32, np.int32), (np.int64, np.int64),
                                   (np.int32, np.float32), (np.int64, np.float32), (np.float16, np.float16)])
def test_pow_mixed_types(bt, et):
    base = _x((3, 4), bt, 1, 4)
    exp = _x((4,), et, 0, 3)
    m, feeds, y = _ours("Pow", [base, exp], opset=15)
    assert y.dtype == np.dtype(bt)
    np.testing.assert_allclose(y.astype(np.float64), ref.binary("Pow", base, exp).astype(np.float64), rtol=2e-3)
    if bt != np.float16:
        assert_matches_ort(m, feeds)


def test_pow_int_negative_exponent_truncates():
    _, _, y = _ours("Pow", [np.array([2, 1, -1, 4], np.int64), np.array([-1, -2, -3, 0], np.int64)], opset=15)
    np.testing.assert_array_equal(y, [0, 1, -1, 1])


def test_pow_base_type_checked():
    m = make_node_model("Pow", {"x0": _x((2,), np.int8), "x1": _x((2,), np.int8)}, ["y"], opset=15)
    with pytest.raises(onnumba.ModelError, match=r"\(Pow\), input 0 'x0': base: element type int8 is not supported"):
        session(m)


# ------------------------------------------------------------------------------------------ variadic

@pytest.mark.parametrize("shapes", [[(2, 3)], [(2, 3), (3,)], [(2, 1, 4), (3, 1), ()], [(1,), (4, 1), (1, 5), (5,)]])
@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min"])
def test_variadic_broadcast(op, shapes):
    xs = [_x(s) for s in shapes]
    m, feeds, y = _ours(op, xs, opset=13)
    np.testing.assert_allclose(y, ref.variadic(op, xs), rtol=1e-5, atol=1e-6)
    assert_matches_ort(m, feeds)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64, np.uint64, np.float16, np.float64])
@pytest.mark.parametrize("op", ["Max", "Min"])
def test_max_min_types(op, dtype):
    xs = [_x((3, 2), dtype, -30, 30), _x((2,), dtype, -30, 30), _x((3, 1), dtype, -30, 30)]
    _, _, y = _ours(op, xs, opset=13)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y, ref.variadic(op, xs))


def test_max_propagates_nan():
    _, _, y = _ours("Max", [np.array([np.nan, 1], np.float32), np.array([0, np.nan], np.float32)], opset=13)
    assert np.isnan(y).all()


def test_sum_float16_accumulates_in_float32():
    xs = [np.full((4,), v, np.float16) for v in (2048, 1, 1)]  # 2048 + 1 rounds back to 2048 in float16
    _, _, y = _ours("Sum", xs, opset=13)
    assert y.dtype == np.float16 and (y == 2050).all()


def test_variadic_before_opset8_needs_equal_shapes():
    m = make_node_model("Sum", {"x0": _x((2, 3)), "x1": _x((3,))}, ["y"], opset=6, ir_version=3)
    with pytest.raises(onnumba.ModelError, match=r"\(Sum\), input 1 'x1': shape \(3\) differs from input 0's "
                                                 r"\(2, 3\); before opset 8"):
        session(m)


def test_mean_rejects_ints():
    m = make_node_model("Mean", {"x0": _x((2,), np.int32), "x1": _x((2,), np.int32)}, ["y"], opset=13)
    with pytest.raises(onnumba.ModelError, match=r"\(Mean\), input 0 'x0': element type int32 is not supported"):
        session(m)


# --------------------------------------------------------------------------------------------- unary

UNARY = {
    "Exp": dict(lo=-5, hi=5), "Log": dict(lo=0.01, hi=10), "Sqrt": dict(lo=0, hi=10), "Neg": {}, "Abs": {},
    "Reciprocal": dict(lo=0.1, hi=5), "Erf": dict(lo=-3, hi=3), "Floor": {}, "Ceil": {}, "Sign": {},
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16], ids=lambda t: np.dtype(t).name)
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary_float(op, dtype):
    x = _x((3, 5), dtype, **UNARY[op])
    if op in ("Floor", "Ceil", "Sign"):
        x[0, :3] = [0, -2, 2]
    m, feeds, y = _ours(op, [x], opset=13)
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    tol = 1e-3 if dtype == np.float16 else 1e-6
    np.testing.assert_allclose(y.astype(np.float64), ref.unary(op, x).astype(np.float64), rtol=tol, atol=tol)
    if dtype == np.float32:
        assert_matches_ort(m, feeds)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
@pytest.mark.parametrize("op", ["Neg", "Abs", "Sign"])
def test_unary_int(op, dtype):
    x = _x((4, 3), dtype, -20, 20)
    m, feeds, y = _ours(op, [x], opset=13)
    assert y.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(y, ref.unary(op, x))
    assert_matches_ort(m, feeds)


def test_unary_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0], np.float32)
    for op in ("Log", "Sqrt", "Reciprocal", "Exp", "Erf", "Abs", "Neg", "Floor", "Ceil"):
        _, _, y = _ours(op, [x], opset=13)
        np.testing.assert_allclose(y, ref.unary(op, x), rtol=1e-6, err_msg=op)  # float32 libm vs float64 rounded


def test_erf_matches_math_erf_exactly():
    x = np.linspace(-4, 4, 1001)
    _, _, y = _ours("Erf", [x], opset=13)
    assert y.tolist() == [math.erf(v) for v in x.tolist()]


def test_erf_int_input_keeps_type():
    _, _, y = _ours("Erf", [np.array([-2, 0, 3], np.int32)], opset=13)
    assert y.dtype == np.int32 and y.tolist() == [0, 0, 0]


def test_unary_rejects_int_for_float_only_ops():
    m = make_node_model("Exp", {"x0": _x((2,), np.int32)}, ["y"], opset=13)
    with pytest.raises(onnumba.ModelError, match=r"\(Exp\), input 0 'x0': element type int32 is not supported"):
        session(m)


def test_neg_rejects_unsigned():
    m = make_node_model("Neg", {"x0": _x((2,), np.uint8)}, ["y"], opset=13)
    with pytest.raises(onnumba.ModelError, match=r"\(Neg\), input 0 'x0': element type uint8 is not supported"):
        session(m)


# ---------------------------------------------------------------------------------------- hypothesis

_OPS = ["Add", "Sub", "Mul", "Div", "Pow", "Sum", "Mean", "Max", "Min"]


@st.composite
def _broadcast_case(draw):
    out = draw(st.lists(st.integers(1, 4), min_size=0, max_size=4))
    op = draw(st.sampled_from(_OPS))
    n = 2 if op in ("Add", "Sub", "Mul", "Div", "Pow") else draw(st.integers(1, 4))
    shapes = []
    for _ in range(n):
        drop = draw(st.integers(0, len(out)))
        s = [d if not draw(st.booleans()) else 1 for d in out[drop:]]
        shapes.append(tuple(s))
    dtypes = [np.float32, np.float64] + ([np.int32, np.int64] if op not in ("Sum", "Mean") else [])
    if op == "Mean":
        dtypes = [np.float32]  # hypothesis: onnxruntime has no float64 Mean kernel (the spec allows it)
    if op == "Pow":
        dtypes = [np.float32, np.float64]
    dtype = draw(st.sampled_from(dtypes))
    seed = draw(st.integers(0, 2 ** 31))
    return op, shapes, np.dtype(dtype), seed


def _check_broadcast(case):
    op, shapes, dtype, seed = case
    rng = np.random.default_rng(seed)
    xs = []
    for k, s in enumerate(shapes):
        if dtype.kind == "f":
            lo = 0.5 if op == "Pow" and k == 0 else (-3 if op != "Pow" else -2)
            v = rng.uniform(lo, 3, s)
            if op == "Div" and k == 1:
                v = np.where(np.abs(v) < 0.1, 0.5, v)
        else:
            v = rng.integers(-50, 50, s)
            if op == "Div" and k == 1:
                v = np.where(v == 0, 7, v)
        xs.append(np.asarray(v).astype(dtype))
    names = {f"x{i}": a for i, a in enumerate(xs)}
    m = make_node_model(op, names, ["y"], opset=14 if op in _OPS[:4] else 13)
    ours = run_onnumba(m, names)[0]
    theirs = run_ort(m, names)[0]
    assert ours.shape == theirs.shape == ref.broadcast_shape(*shapes)
    assert ours.dtype == theirs.dtype == dtype
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    expected = ref.binary(op, *xs) if len(xs) == 2 and op in _OPS[:5] else ref.variadic(op, xs)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-4)


@given(_broadcast_case())
def test_broadcast_property(case):
    _check_broadcast(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(_broadcast_case())
def test_broadcast_property_slow(case):
    _check_broadcast(case)


def test_mean_sum_float64_vs_reference():
    # onnxruntime has no float64 Mean kernel; the spec allows it, so only the reference checks it
    xs = [_x((2, 3), np.float64), _x((3,), np.float64), _x((2, 1), np.float64)]
    for op in ("Mean", "Sum"):
        _, _, y = _ours(op, xs, opset=13)
        assert y.dtype == np.float64
        np.testing.assert_allclose(y, ref.variadic(op, xs), rtol=1e-12)


def _exp_or_inf(v):
    return math.inf if v > 709.0 else math.exp(v)


def test_exp_erf_float32_extremes():
    # overflow at 88.72, the denormal range below -87.3, underflow, denormal inputs, signed zeros
    x = np.array([np.inf, -np.inf, np.nan, 88.0, -88.0, 88.72, 88.73, -87.3, -100.0, -103.9, -104.0, 1e-45, -1e-45,
                  1e-38, 0.0, -0.0, 3.9, -3.9, 10.0, -10.0, 1e-4, -1e-4], np.float32)
    for op, fn in (("Exp", _exp_or_inf), ("Erf", math.erf)):
        _, _, y = _ours(op, [x], opset=13)
        with np.errstate(over="ignore"):
            want = np.array([fn(v) for v in x.astype(np.float64).tolist()]).astype(np.float32)
        np.testing.assert_allclose(y, want, rtol=2.5e-7, atol=2e-45, err_msg=op)
    assert np.signbit(y[15]) and not np.signbit(y[14])  # Erf(-0.0) = -0.0


@pytest.mark.parametrize("op,fn", [("Exp", np.exp), ("Erf", None)])
def test_exp_erf_float32_dense_grid_within_a_few_ulps(op, fn, parallel):
    x = np.concatenate([np.linspace(-105, 89, 200001), np.geomspace(1e-30, 4, 5001), -np.geomspace(1e-30, 4, 5001)])
    x = x.astype(np.float32)
    _, _, y = _ours(op, [x], opset=13)
    want = fn(x.astype(np.float64)) if fn else np.array([math.erf(v) for v in x.astype(np.float64).tolist()])
    ok = want < 3e38
    ulps = np.abs(y[ok] - want[ok]) / np.spacing(np.abs(want[ok].astype(np.float32)))
    assert ulps.max() <= 3


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
@pytest.mark.parametrize("a_shape,b_shape", [
    ((2, 8, 5, 7), (1, 8, 1, 1)),  # per channel
    ((1, 8, 1, 1), (2, 8, 5, 7)),  # per channel, the broadcast input first (B - A, B / A inside)
    ((2, 8, 5, 7), (8, 1, 1)),
    ((2, 8, 5, 7), (5, 7)),  # a vector repeated along the leading dims
    ((6, 9), (9,)),
    ((9,), (6, 9)),
    ((2, 8, 5, 7), (8, 5, 1)),  # a run of dims in the middle
    ((2, 8, 5, 7), (1,)),  # scalar
    ((), (3, 4)),
    ((3, 70001), (3, 70001)),  # same shape, several chunks
    ((1, 64, 90, 100), (1, 64, 1, 1)),
])
def test_float32_binary_layouts_match_numpy(op, a_shape, b_shape, parallel):
    a = RNG.standard_normal(a_shape).astype(np.float32)
    b = RNG.standard_normal(b_shape).astype(np.float32)
    b.reshape(-1)[:1] = 0.0  # division by zero gives inf / nan as in numpy
    _, _, y = _ours(op, [a, b], opset=14)
    fn = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
    with np.errstate(all="ignore"):
        np.testing.assert_array_equal(y, fn(a, b))


def test_float32_binary_non_contiguous_input_falls_back_to_numpy():
    a = RNG.standard_normal((8, 6)).astype(np.float32).T
    b = RNG.standard_normal((6, 1)).astype(np.float32)
    _, _, y = _ours("Sub", [a, b], opset=14)
    np.testing.assert_array_equal(y, a - b)
