"""Activations, Clip, PRelu, Softmax / LogSoftmax: tables vs the naive reference and onnxruntime, errors,
hypothesis properties, and the in-place helper other modules fuse into their epilogues."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from onnumba.ops.kernels.pointwise import KIND_OF, apply_activation_inplace
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference import activation as ref

RNG = np.random.default_rng(1)


def _x(*shape, dtype=np.float32, scale=3.0):
    return (RNG.standard_normal(shape) * scale).astype(dtype)


# op, attrs, reference, opset (one ORT supports), ORT comparison possible
POINTWISE = [
    ("Relu", {}, ref.relu, 14),
    ("LeakyRelu", {}, ref.leaky_relu, 16),
    ("LeakyRelu", {"alpha": 0.3}, lambda x: ref.leaky_relu(x, 0.3), 16),
    ("Elu", {"alpha": 0.7}, lambda x: ref.elu(x, 0.7), 6),
    ("Selu", {}, ref.selu, 6),
    ("Selu", {"alpha": 2.0, "gamma": 3.0}, lambda x: ref.selu(x, 2.0, 3.0), 6),
    ("Celu", {"alpha": 2.0}, lambda x: ref.celu(x, 2.0), 12),
    ("Sigmoid", {}, ref.sigmoid, 13),
    ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, lambda x: ref.hard_sigmoid(x, 0.3, 0.4), 6),
    ("HardSwish", {}, ref.hard_swish, 14),
    ("Tanh", {}, ref.tanh, 13),
    ("Softplus", {}, ref.softplus, 1),
    ("Softsign", {}, ref.softsign, 1),
    ("Gelu", {}, ref.gelu, 20),
    ("Gelu", {"approximate": "tanh"}, lambda x: ref.gelu(x, "tanh"), 20),
    ("Mish", {}, ref.mish, 18),
    ("ThresholdedRelu", {"alpha": 0.5}, lambda x: ref.thresholded_relu(x, 0.5), 10),
]
IDS = [f"{op}-{attrs}" for op, attrs, *_ in POINTWISE]


@pytest.mark.parametrize("op,attrs,fn,opset", POINTWISE, ids=IDS)
def test_pointwise_vs_reference_and_ort(op, attrs, fn, opset):
    x = _x(2, 3, 50)
    x[0, 0, :4] = [0.0, -0.0, 40.0, -40.0]  # zero and saturating values
    model = make_node_model(op, {"X": x}, ["Y"], attrs, opset=opset)
    (y,) = assert_matches_ort(model, {"X": x}, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, fn(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op,attrs,fn,opset", POINTWISE, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_pointwise_dtypes(op, attrs, fn, opset, dtype):
    if op == "Celu":
        opset = 28  # Celu-12 is float32 only
    x = _x(3, 7, dtype=dtype)
    (y,) = run_onnumba(make_node_model(op, {"X": x}, ["Y"], attrs, opset=max(opset, 6)), {"X": x})
    assert y.dtype == dtype and y.shape == x.shape
    tol = 1e-2 if dtype == np.float16 else 1e-6  # float attributes are float32 in ONNX: alpha=0.3 is 0.30000001
    np.testing.assert_allclose(y.astype(np.float64), fn(x), rtol=tol, atol=tol)


def test_swish_opset24():
    x = _x(4, 5)
    (y,) = run_onnumba(make_node_model("Swish", {"X": x}, ["Y"], {"alpha": 1.5}, opset=24), {"X": x})
    np.testing.assert_allclose(y, ref.swish(x, 1.5), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [1, 6, 13, 14])
def test_relu_versions(opset):
    x = _x(5, 6)
    (y,) = run_onnumba(make_node_model("Relu", {"X": x}, ["Y"], opset=opset), {"X": x})
    np.testing.assert_array_equal(y, ref.relu(x).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64])
def test_relu_integers(dtype):
    x = RNG.integers(-50, 50, (4, 5)).astype(dtype)
    model = make_node_model("Relu", {"X": x}, ["Y"], opset=14)
    if dtype == np.int64:  # onnxruntime has no int64 Relu kernel; the spec allows it
        (y,) = run_onnumba(model, {"X": x})
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, np.maximum(x, 0))
    else:
        assert_matches_ort(model, {"X": x})


def test_relu_nan_propagates():
    x = np.array([np.nan, -1.0, 2.0], np.float32)
    (y,) = run_onnumba(make_node_model("Relu", {"X": x}, ["Y"]), {"X": x})
    assert np.isnan(y[0]) and y[1] == 0 and y[2] == 2


def test_large_tensor_uses_every_chunk():
    x = _x(3, 40000)  # several kernel chunks of 16384
    (y,) = run_onnumba(make_node_model("Sigmoid", {"X": x}, ["Y"]), {"X": x})
    np.testing.assert_allclose(y, ref.sigmoid(x), rtol=1e-5, atol=1e-7)


def test_empty_tensor():
    x = np.zeros((0, 3), np.float32)
    (y,) = run_onnumba(make_node_model("Tanh", {"X": x}, ["Y"]), {"X": x})
    assert y.shape == (0, 3)


# ----------------------------------------------------------------------------------------------- PRelu

@pytest.mark.parametrize("xs,ss", [((2, 3, 4, 5), (3, 1, 1)), ((2, 3, 4, 5), (5,)), ((2, 3, 4, 5), (1,)),
                                   ((2, 3, 4, 5), ()), ((2, 3, 4, 5), (2, 3, 4, 5)), ((3, 4), (1, 4))], ids=str)
def test_prelu_broadcast(xs, ss):
    x, s = _x(*xs), _x(*ss, scale=0.5)
    model = make_node_model("PRelu", {"X": x, "slope": s}, ["Y"], opset=16, initializers={"slope": s})
    (y,) = assert_matches_ort(model, {"X": x})
    np.testing.assert_allclose(y, ref.prelu(x, s), rtol=1e-6, atol=1e-6)


def test_prelu_int32_opset9():
    x = RNG.integers(-9, 9, (3, 4)).astype(np.int32)
    s = np.array([2, 3, 4, 5], np.int32)
    (y,) = run_onnumba(make_node_model("PRelu", {"X": x, "slope": s}, ["Y"], opset=9, initializers={"slope": s}),
                       {"X": x})
    np.testing.assert_array_equal(y, np.where(x < 0, x * s, x))


def test_prelu_bad_slope():
    x, s = _x(2, 3, 4), _x(3)
    model = make_node_model("PRelu", {"X": x, "slope": s}, ["Y"], opset=16, initializers={"slope": s})
    with pytest.raises(onnumba.ModelError, match=r"input 1 'slope': slope shape \(3\) is not unidirectionally "
                                                 r"broadcastable to X's shape \(2, 3, 4\)"):
        onnumba.InferenceSession(model.SerializeToString())


# ----------------------------------------------------------------------------------------------- Clip

def _clip_model(x, lo=None, hi=None, opset=13, const=True):
    inputs, inits = {"X": x}, {}
    for nm, v in (("min", lo), ("max", hi)):
        if v is not None:
            inputs[nm] = np.array(v, x.dtype)
            if const:
                inits[nm] = inputs[nm]
        elif nm == "min" and hi is not None:
            inputs[""] = None
    return make_node_model("Clip", inputs, ["Y"], opset=opset, initializers=inits)


CLIP_CASES = [(-1.0, 1.0), (None, 0.5), (-0.5, None), (None, None), (2.0, -2.0)]


@pytest.mark.parametrize("lo,hi", CLIP_CASES, ids=str)
@pytest.mark.parametrize("opset", [11, 12, 13])
def test_clip_inputs(lo, hi, opset):
    x = _x(4, 6)
    (y,) = assert_matches_ort(_clip_model(x, lo, hi, opset), {"X": x})
    np.testing.assert_array_equal(y, ref.clip(x, lo, hi))


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (None, 0.5), (2.0, -2.0)], ids=str)
def test_clip_attributes_opset6(lo, hi):
    x = _x(4, 6)
    attrs = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
    model = make_node_model("Clip", {"X": x}, ["Y"], attrs, opset=6)
    if lo is not None and hi is not None and lo > hi:  # onnxruntime refuses min > max at Clip-6; the spec gives max
        (y,) = run_onnumba(model, {"X": x})
    else:
        (y,) = assert_matches_ort(model, {"X": x})
    np.testing.assert_array_equal(y, ref.clip(x, lo, hi))


def test_clip_bounds_fed_at_run_time():
    x = _x(4, 6)
    model = _clip_model(x, -0.25, 0.75, const=False)
    feeds = {"X": x, "min": np.array(-0.25, np.float32), "max": np.array(0.75, np.float32)}
    assert_matches_ort(model, feeds)
    feeds["max"] = np.array(0.1, np.float32)  # same plan, new bound
    np.testing.assert_array_equal(run_onnumba(model, feeds)[0], ref.clip(x, -0.25, 0.1))


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.int64])
def test_clip_integers(dtype):
    x = RNG.integers(0 if dtype == np.uint8 else -100, 100, (5, 5)).astype(dtype)
    assert_matches_ort(_clip_model(x, 3, 60), {"X": x})
    assert_matches_ort(_clip_model(x, None, 7), {"X": x})


def test_clip_float16():
    x = _x(10, dtype=np.float16)
    (y,) = run_onnumba(_clip_model(x, -1.0, 1.0), {"X": x})
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, np.clip(x, -1, 1))


def test_clip_non_scalar_bound():
    x = _x(3)
    model = make_node_model("Clip", {"X": x, "min": np.zeros(2, np.float32)}, ["Y"], initializers={"min": np.zeros(2, np.float32)})
    with pytest.raises(onnumba.ModelError, match=r"input 1 'min': min must be a scalar, got shape \(2\)"):
        onnumba.InferenceSession(model.SerializeToString())


def test_clip_int_before_12():
    x = np.zeros(3, np.int32)
    with pytest.raises(onnumba.ModelError, match=r"element type int32 is not supported by Clip-11"):
        onnumba.InferenceSession(_clip_model(x, 0, 1, opset=11).SerializeToString())


# ----------------------------------------------------------------------------------------------- Softmax

SOFTMAX_CASES = [((2, 3, 4), a) for a in (-3, -1, 0, 1, 2)] + [((5,), 0), ((2, 3, 4, 5), 1), ((1, 3, 300), 1),
                                                               ((2, 700, 3), 2)]


@pytest.mark.parametrize("shape,axis", SOFTMAX_CASES, ids=str)
@pytest.mark.parametrize("opset", [1, 11, 13])
@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
def test_softmax_axes_opsets(op, opset, shape, axis):
    x = _x(*shape, scale=5.0)
    model = make_node_model(op, {"X": x}, ["Y"], {"axis": axis}, opset=opset)
    (y,) = assert_matches_ort(model, {"X": x}, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, ref.softmax(x, axis, opset, op == "LogSoftmax"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("opset,want_axis", [(11, 1), (13, -1)])
def test_softmax_default_axis(opset, want_axis):
    x = _x(2, 3, 4)
    (y,) = run_onnumba(make_node_model("Softmax", {"X": x}, ["Y"], opset=opset), {"X": x})
    np.testing.assert_allclose(y, ref.softmax(x, want_axis, opset), rtol=1e-5, atol=1e-6)


def test_softmax_large_values_stay_finite():
    x = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1001.0, -1e30]], np.float32)
    for op in ("Softmax", "LogSoftmax"):
        (y,) = run_onnumba(make_node_model(op, {"X": x}, ["Y"]), {"X": x})
        assert np.isfinite(y).all()
        np.testing.assert_allclose(y, ref.softmax(x, -1, 13, op == "LogSoftmax"), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_softmax_dtypes(dtype):
    x = _x(3, 4, 5, dtype=dtype)
    (y,) = run_onnumba(make_node_model("Softmax", {"X": x}, ["Y"], {"axis": 1}), {"X": x})
    assert y.dtype == dtype
    tol = 2e-3 if dtype == np.float16 else 1e-12
    np.testing.assert_allclose(y.astype(np.float64), ref.softmax(x, 1), rtol=tol, atol=tol)


# ----------------------------------------------------------------------------------------------- errors

ERRORS = [
    ("Gelu", {"approximate": "fast"}, 20, np.float32, r"attribute 'approximate': expected 'none' or 'tanh', got 'fast'"),
    ("Celu", {}, 12, np.float64, r"input 0 'X': element type float64 is not supported by Celu-12; expected one of "
                                 r"float32"),
    ("LeakyRelu", {}, 16, np.int32, r"element type int32 is not supported by LeakyRelu-16"),
    ("Relu", {}, 13, np.int32, r"element type int32 is not supported by Relu-13"),
    ("Softmax", {"axis": 3}, 13, np.float32, r"attribute 'axis': axis 3 is out of range for rank 3"),
    ("LogSoftmax", {"axis": -4}, 11, np.float32, r"attribute 'axis': axis -4 is out of range"),
    ("Celu", {"alpha": 0.0}, 12, np.float32, r"attribute 'alpha': alpha must be non-zero"),
    ("Elu", {"alpha": "x"}, 6, np.float32, r"attribute 'alpha': expected a value of kind float"),
]


@pytest.mark.parametrize("op,attrs,opset,dtype,match", ERRORS, ids=[e[0] + str(e[1]) for e in ERRORS])
def test_errors(op, attrs, opset, dtype, match):
    x = np.zeros((2, 3, 4), dtype)
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(make_node_model(op, {"X": x}, ["Y"], attrs, opset=opset).SerializeToString())


# ----------------------------------------------------------------------------------------------- in-place helper

@pytest.mark.parametrize("kind,alpha,beta,fn", [
    ("Relu", 0.0, 0.0, ref.relu), ("LeakyRelu", 0.2, 0.0, lambda x: ref.leaky_relu(x, 0.2)),
    ("Clip", -0.5, 6.0, lambda x: ref.clip(x, -0.5, 6.0)), ("Sigmoid", 0, 0, ref.sigmoid),
    ("HardSwish", 1 / 6, 0.5, ref.hard_swish)])
def test_apply_activation_inplace(kind, alpha, beta, fn):
    for dtype in (np.float32, np.float64):
        y = _x(3, 4, 5, dtype=dtype)
        want = fn(y)
        out = apply_activation_inplace(y, kind, alpha, beta)
        assert out is y
        np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


def test_apply_activation_inplace_refuses():
    with pytest.raises(ValueError, match="unknown activation 'Nope'"):
        apply_activation_inplace(np.zeros(3, np.float32), "Nope")
    with pytest.raises(ValueError, match="C-contiguous float32/float64"):
        apply_activation_inplace(np.zeros((3, 4), np.float32).T, "Relu")
    assert "Relu" in KIND_OF and "Clip" in KIND_OF


# ----------------------------------------------------------------------------------------------- properties

ORT_POINTWISE = [p for p in POINTWISE]


@st.composite
def pointwise_cases(draw):
    i = draw(st.integers(0, len(ORT_POINTWISE) - 1))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=0, max_size=4)))
    scale = draw(st.sampled_from([0.1, 1.0, 10.0]))
    seed = draw(st.integers(0, 2 ** 16))
    return i, shape, scale, seed


def _check_pointwise(case):
    i, shape, scale, seed = case
    op, attrs, fn, opset = ORT_POINTWISE[i]
    x = np.asarray(np.random.default_rng(seed).standard_normal(shape) * scale, np.float32)
    (y,) = assert_matches_ort(make_node_model(op, {"X": x}, ["Y"], attrs, opset=opset), {"X": x},
                              rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, fn(x), rtol=1e-5, atol=1e-6)


@given(pointwise_cases())
def test_pointwise_property(case):
    _check_pointwise(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(pointwise_cases())
def test_pointwise_property_slow(case):
    _check_pointwise(case)


@st.composite
def softmax_cases(draw):
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=4)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    opset = draw(st.sampled_from([1, 11, 13]))
    op = draw(st.sampled_from(["Softmax", "LogSoftmax"]))
    return op, opset, shape, axis, draw(st.integers(0, 2 ** 16))


def _check_softmax(case):
    op, opset, shape, axis, seed = case
    x = np.asarray(np.random.default_rng(seed).standard_normal(shape) * 4, np.float32)
    (y,) = assert_matches_ort(make_node_model(op, {"X": x}, ["Y"], {"axis": axis}, opset=opset), {"X": x},
                              rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, ref.softmax(x, axis, opset, op == "LogSoftmax"), rtol=1e-5, atol=1e-5)


@given(softmax_cases())
def test_softmax_property(case):
    _check_softmax(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(softmax_cases())
def test_softmax_property_slow(case):
    _check_softmax(case)


# ------------------------------------------------------------------------ float32 polynomial kernels

# float32 inputs where exp / tanh / erf / gelu change regime: overflow (88.72 -> 88.73), the denormal range
# (-87.3 .. -103.9), underflow to 0, denormal inputs, signed zeros, and the special values
EXTREMES = np.array([np.inf, -np.inf, np.nan, 88.0, -88.0, 88.72, 88.73, -87.3, -100.0, -103.9, -104.0, 1e-45, -1e-45,
                     1e-38, -1e-38, 0.0, -0.0, 9.0, 10.0, -20.0, 1e-4, -1e-4], np.float32)


def _gelu64(v):
    return 0.5 * v * math.erfc(-v / math.sqrt(2.0))


@pytest.mark.parametrize("op,attrs,opset,fn64", [
    # below -88.72 exp(-x) overflows float32 and Sigmoid is 0 (not the denormal 1 / exp(-x)), as before
    ("Sigmoid", {}, 13, lambda v: 1.0 / (1.0 + math.exp(-v)) if v > -88.72 else 0.0),
    ("Tanh", {}, 13, math.tanh),
    ("Gelu", {}, 20, _gelu64),
    ("Elu", {"alpha": 0.7}, 6, lambda v: float(np.float32(0.7)) * math.expm1(v) if v < 0 else v),
])
def test_float32_kernels_at_extremes(op, attrs, opset, fn64):
    x = EXTREMES
    (y,) = run_onnumba(make_node_model(op, {"X": x}, ["Y"], attrs, opset=opset), {"X": x})
    with np.errstate(over="ignore"):
        want = np.array([fn64(v) if math.isfinite(v) else np.nan for v in x.astype(np.float64).tolist()])
    fin = np.isfinite(x)
    np.testing.assert_allclose(y[fin], want[fin].astype(np.float32), rtol=3e-7, atol=3e-45)
    assert np.isnan(y[2])
    assert all(np.signbit(y[i]) == np.signbit(x[i]) for i in (15, 16)) or op in ("Sigmoid", "Elu")
    inf_want = {"Sigmoid": (1.0, 0.0), "Tanh": (1.0, -1.0), "Gelu": (np.inf, np.nan), "Elu": (np.inf, -0.7)}[op]
    np.testing.assert_array_equal(y[:2], np.float32(inf_want))  # Gelu(-inf) = -inf * 0 = NaN, as before


@pytest.mark.parametrize("op,fn64", [
    ("Sigmoid", lambda v: 1.0 / (1.0 + np.exp(-v))),
    ("Tanh", np.tanh),
    ("Gelu", lambda v: np.array([_gelu64(t) for t in v.tolist()])),
])
def test_float32_kernels_dense_grid_within_a_few_ulps(op, fn64, parallel):
    x = np.concatenate([np.linspace(-30, 30, 60001), np.geomspace(1e-30, 1, 2001), -np.geomspace(1e-30, 1, 2001)])
    x = x.astype(np.float32)
    (y,) = run_onnumba(make_node_model(op, {"X": x}, ["Y"], opset=20), {"X": x})
    want = fn64(x.astype(np.float64))
    ulps = np.abs(y - want) / np.spacing(np.abs(want.astype(np.float32)))
    assert ulps[np.abs(want) > 1e-6].max() <= (8 if op == "Gelu" else 4)  # Gelu: 1 + erf(z) near z = -0.9
    # Gelu's tail x * erfc(-x / sqrt 2) / 2 inherits the rounding of x * x inside exp(-x * x / 2)
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-37)


@pytest.fixture(params=[False, True], ids=["serial", "parallel"])
def parallel(request, monkeypatch):
    """Run a test once as shipped and once with every size above the parallel thresholds."""
    if request.param:
        from onnumba.ops import elementwise, softmax
        from onnumba.ops.kernels import pointwise

        for mod, name in ((pointwise, "PAR_MIN_CHEAP"), (pointwise, "PAR_MIN_COSTLY"),
                          (softmax, "_SOFTMAX_PAR_MIN"), (elementwise, "_BIN_PAR_MIN")):
            monkeypatch.setattr(mod, name, 1)
    return request.param


def test_apply_activation_inplace_large_matches_out_of_place(parallel):
    x = _x(3, 70000)  # several chunks and in-place blocks
    for kind in ("Sigmoid", "Tanh", "Gelu", "Relu", "Clip"):
        (want,) = run_onnumba(make_node_model("Sigmoid" if kind == "Sigmoid" else kind, {"X": x}, ["Y"],
                                              opset=20), {"X": x}) if kind not in ("Clip",) else (np.clip(x, -1, 2),)
        y = x.copy()
        apply_activation_inplace(y, kind, -1.0, 2.0)
        np.testing.assert_array_equal(y, want, err_msg=kind)


def test_softmax_nan_row_is_nan_and_other_rows_unaffected():
    x = _x(4, 100)
    x[1, 7] = np.nan
    x[2, 3] = -np.inf
    for op in ("Softmax", "LogSoftmax"):
        (y,) = run_onnumba(make_node_model(op, {"X": x}, ["Y"]), {"X": x})
        assert np.isnan(y[1]).all()
        ok = [0, 2, 3]
        np.testing.assert_allclose(y[ok], ref.softmax(x[ok], -1, 13, op == "LogSoftmax"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,axis", [((80, 1000), -1), ((2, 300, 130), 1), ((3, 5, 1000), -1), ((8, 33), 0),
                                        ((1, 3, 40), 1)])
def test_softmax_large_shapes(shape, axis, parallel):
    x = _x(*shape)  # some above the parallel threshold, rows longer and shorter than a vector
    for op in ("Softmax", "LogSoftmax"):
        model = make_node_model(op, {"X": x}, ["Y"], {"axis": axis})
        (y,) = assert_matches_ort(model, {"X": x}, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(y, ref.softmax(x, axis, 13, op == "LogSoftmax"), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alpha", [1.0, 0.5, -2.0, -np.inf, np.inf])
def test_celu_follows_the_spec_formula_for_any_alpha(alpha):
    # the spec's max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): alpha = -inf gives NaN for x > 0 as well
    x = np.array([-3.0, -0.5, 0.0, 0.5, 3.0, np.inf, -np.inf, np.nan], np.float32)
    with np.errstate(all="ignore"):
        want = ref.celu(x, alpha).astype(np.float32)
    y = run_onnumba(make_node_model("Celu", {"X": x}, ["Y"], {"alpha": alpha}, opset=12), {"X": x})[0]
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7)
