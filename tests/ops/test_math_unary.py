"""math_unary: trig / hyperbolic functions, Round, IsNaN, Shrink, Mod, Hardmax. Tables vs naive references, pinned
edge cases (halves, domains, signs, integer division by zero), errors, onnxruntime, hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference.math_unary import FUNCS, hardmax_ref, mod_ref, shrink_ref, unary_ref

RNG = np.random.default_rng(0)

# values inside and at the edges of each function's domain (Acosh wants >= 1, Atanh (-1, 1) ...)
DOMAIN = {
    "Asin": [-1.0, -0.7, -0.1, 0.0, 0.3, 0.99, 1.0], "Acos": [-1.0, -0.5, 0.0, 0.25, 1.0],
    "Acosh": [1.0, 1.5, 3.0, 100.0], "Atanh": [-0.99, -0.5, 0.0, 0.4, 0.9],
    "Sinh": [-5.0, -1.0, 0.0, 0.5, 3.0], "Cosh": [-5.0, -1.0, 0.0, 0.5, 3.0],
    "Tan": [-1.2, -0.3, 0.0, 0.7, 1.5],
}
DEFAULT_VALUES = [-3.5, -1.25, -0.5, 0.0, 0.5, 1.0, 2.5, 7.0]
VERSIONS = {"Sin": 7, "Cos": 7, "Tan": 7, "Asin": 7, "Acos": 7, "Atan": 7, "Sinh": 9, "Cosh": 9, "Asinh": 9,
            "Acosh": 9, "Atanh": 9, "Round": 11}


def unary_model(op, x, opset=22):
    return make_node_model(op, {"x": x}, ["y"], opset=opset)


@pytest.mark.parametrize("op", sorted(FUNCS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_unary_table_vs_reference(op, dtype):
    x = np.array(DOMAIN.get(op, DEFAULT_VALUES), dtype).reshape(1, -1)
    (y,) = run_onnumba(unary_model(op, x), {"x": x})
    assert y.dtype == x.dtype and y.shape == x.shape
    tol = {np.float16: 2e-3, np.float32: 2e-6, np.float64: 1e-13}[dtype]
    np.testing.assert_allclose(y, unary_ref(op, x), rtol=tol, atol=tol)


@pytest.mark.parametrize("op", sorted(FUNCS))
@pytest.mark.parametrize("opset", [None, 22])
def test_unary_vs_onnxruntime(op, opset):
    x = np.array(DOMAIN.get(op, DEFAULT_VALUES) * 3, np.float32).reshape(3, -1)
    x = x + RNG.uniform(-0.01, 0.0, x.shape).astype(np.float32) * (op not in ("Acosh", "Round", "Asin", "Acos"))
    assert_matches_ort(unary_model(op, x, opset=opset or VERSIONS[op]), {"x": x}, rtol=2e-6, atol=2e-6)


def test_round_halves_to_even():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4999, 2.5001, -0.0, np.nan, np.inf, -np.inf], np.float32)
    (y,) = run_onnumba(unary_model("Round", x), {"x": x})
    np.testing.assert_array_equal(y, [0, 2, 2, -0.0, -2, -2, 2, 3, -0.0, np.nan, np.inf, -np.inf])
    assert np.signbit(y[3]) and np.signbit(y[8])  # -0.5 rounds to -0


def test_out_of_domain_gives_nan_and_poles_inf():
    for op in ("Asin", "Acos", "Acosh", "Atanh"):
        x = np.array([0.5, -1.5] if op == "Acosh" else [2.0, -1.5], np.float32)
        (y,) = run_onnumba(unary_model(op, x), {"x": x})
        assert np.isnan(y).all(), op
    (y,) = run_onnumba(unary_model("Atanh", np.array([1.0, -1.0], np.float32)), {"x": np.array([1.0, -1.0],
                                                                                                  np.float32)})
    np.testing.assert_array_equal(y, [np.inf, -np.inf])
    (y,) = run_onnumba(unary_model("Sinh", np.array([100.0], np.float32)), {"x": np.array([100.0], np.float32)})
    assert y[0] == np.inf


def test_unary_refuses_integers():
    x = np.array([1, 2], np.int32)
    with pytest.raises(onnumba.errors.ModelError, match=r"input 0 'x'.*element type int32 is not supported"):
        run_onnumba(unary_model("Sin", x), {"x": x})


# ---------------------------------------------------------------------------------------------------- IsNaN

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("opset", [9, 13, 20])
def test_isnan(dtype, opset):
    x = np.array([[1.0, np.nan, -np.inf], [np.inf, -0.0, np.nan]], dtype)
    (y,) = run_onnumba(make_node_model("IsNaN", {"x": x}, ["y"], opset=opset), {"x": x})
    assert y.dtype == np.bool_
    np.testing.assert_array_equal(y, [[False, True, False], [False, False, True]])
    if dtype != np.float16:
        assert_matches_ort(make_node_model("IsNaN", {"x": x}, ["y"], opset=opset), {"x": x})


# --------------------------------------------------------------------------------------------------- Shrink

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32, np.int8, np.uint8])
@pytest.mark.parametrize("lambd,bias", [(0.5, 0.0), (1.5, 1.5), (1.0, 0.25), (2.0, -1.0)])
def test_shrink_vs_reference(dtype, lambd, bias):
    x = np.arange(-4, 5, dtype=np.float64) * (0.75 if np.dtype(dtype).kind == "f" else 1)
    if np.dtype(dtype).kind == "u":
        x = np.abs(x) + 1
    x = x.astype(dtype)
    model = make_node_model("Shrink", {"x": x}, ["y"], {"lambd": lambd, "bias": bias}, opset=9)
    (y,) = run_onnumba(model, {"x": x})
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, shrink_ref(x, lambd, bias))
    if dtype in (np.float32, np.int32, np.int8, np.uint8, np.float64):
        assert_matches_ort(model, {"x": x}, atol=0)


def test_shrink_integer_result_truncates_toward_zero():
    x = np.array([5, -5, 1], np.int32)
    (y,) = run_onnumba(make_node_model("Shrink", {"x": x}, ["y"], {"lambd": 1.0, "bias": 1.5}, opset=9), {"x": x})
    np.testing.assert_array_equal(y, [3, -3, 0])  # 5 - 1.5 = 3.5 -> 3; -5 + 1.5 = -3.5 -> -3


# ------------------------------------------------------------------------------------------------------ Mod

def mod_model(a, b, fmod=0, opset=13):
    return make_node_model("Mod", {"a": a, "b": b}, ["y"], {"fmod": fmod}, opset=opset)


INT_TYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


@pytest.mark.parametrize("dtype", INT_TYPES)
@pytest.mark.parametrize("fmod", [0, 1])
def test_mod_integers_vs_reference(dtype, fmod):
    signed = np.dtype(dtype).kind == "i"
    a = np.array([-7, -6, -1, 0, 1, 5, 7, 9] if signed else [0, 1, 5, 7, 9, 13, 100, 3], dtype)
    b = np.array([3, -3, 2, -4, -2, 3, -5, 4] if signed else [3, 3, 2, 4, 2, 3, 7, 5], dtype)
    (y,) = run_onnumba(mod_model(a, b, fmod), {"a": a, "b": b})
    assert y.dtype == a.dtype
    np.testing.assert_array_equal(y, mod_ref(a, b, fmod))


def test_mod_sign_rules_pinned():
    a = np.array([-7, 7, -7, 7], np.int32)
    b = np.array([3, -3, -3, 3], np.int32)
    (y0,) = run_onnumba(mod_model(a, b, 0), {"a": a, "b": b})
    (y1,) = run_onnumba(mod_model(a, b, 1), {"a": a, "b": b})
    np.testing.assert_array_equal(y0, [2, -2, -1, 1])  # sign of the divisor
    np.testing.assert_array_equal(y1, [-1, 1, -1, 1])  # sign of the dividend


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
@pytest.mark.parametrize("fmod", [0, 1])
def test_mod_integers_vs_onnxruntime(dtype, fmod):
    signed = np.dtype(dtype).kind == "i"
    a = RNG.integers(-50 if signed else 0, 50, (3, 4)).astype(dtype)
    b = RNG.integers(1, 9, (4,)).astype(dtype)
    if signed:
        b = b * np.where(RNG.random(4) < 0.5, -1, 1).astype(dtype)
    assert_matches_ort(mod_model(a, b, fmod), {"a": a, "b": b}, atol=0)


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_mod_min_by_minus_one_is_zero(dtype):
    # the quotient overflows (C traps on INT_MIN % -1); the remainder is 0 either way
    a, b = np.array([np.iinfo(dtype).min], dtype), np.array([-1], dtype)
    for fmod in (0, 1):
        (y,) = run_onnumba(mod_model(a, b, fmod), {"a": a, "b": b})
        np.testing.assert_array_equal(y, [0])


def test_mod_integer_by_zero_raises():
    a, b = np.array([5, 6], np.int32), np.array([2, 0], np.int32)
    for fmod in (0, 1):
        with pytest.raises(onnumba.errors.InputError, match=r"input 1 'b'.*integer modulo by zero"):
            run_onnumba(mod_model(a, b, fmod), {"a": a, "b": b})


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("fmod,opset", [(1, 13), (0, 28), (1, 28)])
def test_mod_floats_vs_reference(dtype, fmod, opset):
    a = np.array([-7.5, 7.5, -7.5, 7.5, 0.0, -0.0, 3.0, np.inf, 2.0, 5.0, -5.0, np.nan, 6.0], dtype)
    b = np.array([2.0, -2.0, -2.0, 2.0, -3.0, 3.0, 0.0, 2.0, np.inf, -np.inf, -np.inf, 1.0, 3.0], dtype)
    (y,) = run_onnumba(mod_model(a, b, fmod, opset), {"a": a, "b": b})
    ref = mod_ref(a, b, fmod)
    np.testing.assert_array_equal(y, ref)
    if fmod == 0:  # the spec's signed zeros: the sign of the divisor
        np.testing.assert_array_equal(np.signbit(y[[4, 5, 12]]), np.signbit(ref[[4, 5, 12]]))


def test_mod_float_fmod1_vs_onnxruntime_and_broadcast():
    a = (RNG.standard_normal((2, 3, 4)) * 10).astype(np.float32)
    b = np.array([1.5, -2.0, 3.25, -0.75], np.float32)
    assert_matches_ort(mod_model(a, b, 1), {"a": a, "b": b}, atol=1e-6)


def test_mod_errors():
    a = np.array([1.0], np.float32)
    with pytest.raises(onnumba.errors.ModelError, match=r"attribute 'fmod'.*floating-point inputs \(float32\) need "
                                                        r"fmod=1 before opset 28"):
        run_onnumba(mod_model(a, a, 0, 13), {"a": a, "b": a})
    with pytest.raises(onnumba.errors.ModelError, match=r"attribute 'fmod'.*expected 0 or 1, got 2"):
        run_onnumba(mod_model(a, a, 2, 13), {"a": a, "b": a})
    b = np.array([1, 2], np.int32)
    with pytest.raises(onnumba.errors.ModelError, match=r"input 1 'b'.*element type int32 differs"):
        run_onnumba(mod_model(a, b, 1, 13), {"a": a, "b": b})


# -------------------------------------------------------------------------------------------------- Hardmax

def hardmax_model(x, axis=None, opset=13):
    return make_node_model("Hardmax", {"x": x}, ["y"], {} if axis is None else {"axis": axis}, opset=opset)


HARDMAX_TABLE = [((3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), 2), ((2, 3, 4), -1), ((2, 3, 4), -2),
                 ((5,), 0), ((2, 0, 3), 1)]


# negative axes arrive with opset 11
@pytest.mark.parametrize("opset,shape,axis", [(o, s, a) for o in (1, 11, 13) for s, a in HARDMAX_TABLE
                                              if o >= 11 or a is None or a >= 0])
def test_hardmax_vs_reference(opset, shape, axis):
    x = RNG.standard_normal(shape).astype(np.float32)
    (y,) = run_onnumba(hardmax_model(x, axis, opset), {"x": x})
    ax = (-1 if opset >= 13 else 1) if axis is None else axis
    ax = ax % len(shape)
    np.testing.assert_array_equal(y, hardmax_ref(x, ax, legacy=opset < 13))


@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("shape,axis", [((3, 4), None), ((2, 3, 4), 0), ((2, 3, 4), 1), ((2, 3, 4), -1)])
def test_hardmax_vs_onnxruntime(opset, shape, axis):
    x = RNG.standard_normal(shape).astype(np.float32)
    assert_matches_ort(hardmax_model(x, axis, opset), {"x": x}, atol=0)


def test_hardmax_first_maximum_wins_and_legacy_coercion_differs():
    x = np.array([[[1.0, 3.0], [3.0, 0.0]]], np.float32)  # shape (1, 2, 2)
    (y13,) = run_onnumba(hardmax_model(x, 1, 13), {"x": x})
    (y11,) = run_onnumba(hardmax_model(x, 1, 11), {"x": x})
    np.testing.assert_array_equal(y13, [[[0, 1], [1, 0]]])  # along axis 1, per column
    np.testing.assert_array_equal(y11, [[[0, 1], [0, 0]]])  # over the flattened [2 * 2] row: the first 3 wins
    x = np.array([[1.0, np.nan, 5.0, np.nan]], np.float32)
    (y,) = run_onnumba(hardmax_model(x), {"x": x})
    np.testing.assert_array_equal(y, [[0, 1, 0, 0]])  # NaN counts as the largest, the first one wins


def test_hardmax_errors():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(onnumba.errors.ModelError, match=r"attribute 'axis'.*axis 2 is out of range for rank 2"):
        run_onnumba(hardmax_model(x, 2), {"x": x})
    xi = np.zeros((2, 3), np.int32)
    with pytest.raises(onnumba.errors.ModelError, match=r"input 0 'x'.*element type int32 is not supported"):
        run_onnumba(hardmax_model(xi), {"x": xi})


# ----------------------------------------------------------------------------------------------- hypothesis

@st.composite
def mod_cases(draw):
    dtype = draw(st.sampled_from([np.int8, np.int32, np.int64, np.uint16]))
    info = np.iinfo(dtype)
    shape_a = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    shape_b = shape_a[draw(st.integers(0, len(shape_a) - 1)):]
    shape_b = [d if draw(st.booleans()) else 1 for d in shape_b]
    seed = draw(st.integers(0, 2 ** 16))
    return dtype, int(info.min), int(info.max), shape_a, shape_b, draw(st.integers(0, 1)), seed


def _check_mod(case):
    dtype, lo, hi, sa, sb, fmod, seed = case
    rng = np.random.default_rng(seed)
    a = rng.integers(lo, hi, sa, endpoint=True).astype(dtype)
    b = rng.integers(lo, hi, sb, endpoint=True).astype(dtype)
    b[b == 0] = 1
    (y,) = run_onnumba(mod_model(a, b, fmod), {"a": a, "b": b})
    np.testing.assert_array_equal(y, mod_ref(a, b, fmod))


@given(mod_cases())
def test_hypothesis_mod_vs_reference(case):
    _check_mod(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(mod_cases())
def test_hypothesis_mod_vs_reference_slow(case):
    _check_mod(case)


@st.composite
def hardmax_cases(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    opset = draw(st.sampled_from([11, 13]))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    return shape, axis, opset, draw(st.integers(0, 2 ** 16))


def _check_hardmax(case):
    shape, axis, opset, seed = case
    # few distinct values, so ties are common
    x = np.random.default_rng(seed).integers(0, 3, shape).astype(np.float32)
    (y,) = run_onnumba(hardmax_model(x, axis, opset), {"x": x})
    np.testing.assert_array_equal(y, hardmax_ref(x, axis % len(shape), legacy=opset < 13))


@given(hardmax_cases())
def test_hypothesis_hardmax_vs_reference(case):
    _check_hardmax(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(hardmax_cases())
def test_hypothesis_hardmax_vs_reference_slow(case):
    _check_hardmax(case)
