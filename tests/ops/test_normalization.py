"""BatchNormalization (every opset, inference and training forms) and LRN: shapes, errors, reference, onnxruntime."""

import numpy as np
import onnx
import onnx.reference
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference import normalization as ref

RNG = np.random.default_rng(1)


def _bn_inputs(shape, dtype=np.float32, pdtype=None, stat_dtype=None, c_shape=None):
    c_shape = c_shape or (shape[1],)
    pdtype = pdtype or dtype
    stat_dtype = stat_dtype or pdtype
    return {
        "x": RNG.standard_normal(shape).astype(dtype),
        "scale": RNG.standard_normal(c_shape).astype(pdtype),
        "B": RNG.standard_normal(c_shape).astype(pdtype),
        "mean": RNG.standard_normal(c_shape).astype(stat_dtype),
        "var": RNG.uniform(0.1, 2.0, c_shape).astype(stat_dtype),
    }


def _bn_model(feeds, attrs=None, outputs=("y",), opset=15):
    return make_node_model("BatchNormalization", feeds, list(outputs), attrs or {}, opset=opset)


def _tol(dtype):
    return 3e-3 if np.dtype(dtype) == np.float16 else 1e-4


# ----------------------------------------------------------------------------------------------- BatchNormalization

@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 5), (2, 3, 4, 5), (1, 2, 3, 4, 2)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_batchnorm_inference(shape, dtype):
    feeds = _bn_inputs(shape, dtype)
    model = _bn_model(feeds, dict(epsilon=1e-3))
    (y,) = run_onnumba(model, feeds)
    assert y.dtype == dtype and y.shape == shape
    want = ref.batchnorm_inference(*feeds.values(), epsilon=1e-3)
    np.testing.assert_allclose(y.astype(np.float64), want.astype(np.float64), rtol=_tol(dtype), atol=_tol(dtype))
    if dtype != np.float16:
        assert_matches_ort(model, feeds, rtol=_tol(dtype), atol=_tol(dtype))


@pytest.mark.parametrize("opset", [1, 6, 7, 9, 14, 15])
def test_batchnorm_inference_versions(opset):
    feeds = _bn_inputs((2, 3, 4, 4))
    attrs = {"is_test": 1} if opset < 7 else {}
    if opset == 1:
        attrs["consumed_inputs"] = [0, 0, 0, 1, 1]  # required by the opset-1 schema
    model = _bn_model(feeds, attrs, opset=opset)
    (y,) = run_onnumba(model, feeds)
    np.testing.assert_allclose(y, ref.batchnorm_inference(*feeds.values()), rtol=1e-4, atol=1e-5)
    if opset >= 7:  # onnxruntime has no BatchNormalization before opset 7
        assert_matches_ort(model, feeds)


def test_batchnorm_v15_mixed_types():
    # opset 15: X float16, scale / B float16, mean / var float32 (T, T1, T2); running stats keep T2
    feeds = _bn_inputs((2, 3, 4), np.float16, np.float16, np.float32)
    y, rm, rv = run_onnumba(_bn_model(feeds, dict(training_mode=1), outputs=("y", "rm", "rv")), feeds)
    assert y.dtype == np.float16 and rm.dtype == np.float32 and rv.dtype == np.float32
    want = ref.batchnorm_training(*feeds.values())
    np.testing.assert_allclose(y.astype(np.float64), want[0].astype(np.float64), rtol=3e-3, atol=3e-3)
    np.testing.assert_allclose(rm, want[1], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(rv, want[2], rtol=1e-3, atol=1e-3)


@pytest.mark.parametrize("opset", [14, 15])
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5), (2, 3, 4, 5)])
def test_batchnorm_training_mode(opset, shape):
    feeds = _bn_inputs(shape)
    attrs = dict(training_mode=1, momentum=0.8, epsilon=1e-4)
    model = _bn_model(feeds, attrs, outputs=("y", "rm", "rv"), opset=opset)
    y, rm, rv = run_onnumba(model, feeds)
    want = ref.batchnorm_training(*feeds.values(), epsilon=1e-4, momentum=0.8)
    np.testing.assert_allclose(y, want[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(rm, want[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(rv, want[2], rtol=1e-5, atol=1e-6)  # population variance, not unbiased
    assert_matches_ort(model, feeds)


def test_batchnorm_training_mode_y_only():
    feeds = _bn_inputs((3, 2, 4))
    (y,) = run_onnumba(_bn_model(feeds, dict(training_mode=1)), feeds)
    np.testing.assert_allclose(y, ref.batchnorm_training(*feeds.values())[0], rtol=1e-4, atol=1e-5)
    axes = (0, 2)
    np.testing.assert_allclose(((y - feeds["B"][None, :, None]) / feeds["scale"][None, :, None]).mean(axis=axes),
                               0, atol=1e-5)


@pytest.mark.parametrize("opset,attrs", [(6, {}), (6, {"is_test": 0}), (7, {}), (9, {})])
def test_batchnorm_old_training_outputs(opset, attrs):
    # opsets < 14 return Y, running mean, running var, saved (batch) mean, saved (batch) var
    # saved_var is the spec's "saved variance"; onnxruntime returns 1/sqrt(var + epsilon) there (its gradient
    # kernel's convenience), which the spec does not name: we follow the spec (fuzz finding, BN opset 9)
    # onnx's reference evaluator mixes running and batch statistics here, so the numpy reference is the oracle
    feeds = _bn_inputs((2, 3, 4))
    outs = ("y", "m", "v", "sm", "sv")
    got = run_onnumba(_bn_model(feeds, dict(attrs, momentum=0.7), outputs=outs, opset=opset), feeds)
    y, rm, rv, bm, bv = ref.batchnorm_training(*feeds.values(), momentum=0.7)
    for g, w in zip(got, (y, rm, rv, bm, bv)):
        assert g.dtype == np.float32 and g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_batchnorm_old_training_some_outputs():
    # opset 9 allows 1 or 5 outputs: the last two are left empty
    feeds = _bn_inputs((2, 3, 4))
    node = onnx.helper.make_node("BatchNormalization", list(feeds), ["y", "m", "v", "", ""])
    ins = [onnx.helper.make_tensor_value_info(k, onnx.TensorProto.FLOAT, v.shape) for k, v in feeds.items()]
    outs = [onnx.helper.make_tensor_value_info(k, onnx.TensorProto.FLOAT, s)
            for k, s in (("y", (2, 3, 4)), ("m", (3,)), ("v", (3,)))]
    model = onnx.helper.make_model(onnx.helper.make_graph([node], "bn", ins, outs),
                                   opset_imports=[onnx.helper.make_opsetid("", 9)], ir_version=8)
    got = run_onnumba(model, feeds)
    want = ref.batchnorm_training(*feeds.values())
    assert len(got) == 3
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)


def test_batchnorm_old_is_test_zero_with_one_output_is_inference():
    # "Output case #2: Y (test mode)": one output means the given statistics are used
    feeds = _bn_inputs((2, 3, 4))
    (y,) = run_onnumba(_bn_model(feeds, {"is_test": 0}, opset=6), feeds)
    np.testing.assert_allclose(y, ref.batchnorm_inference(*feeds.values()), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("flat", [False, True])
def test_batchnorm_spatial_0_per_activation(flat):
    # spatial=0 (opset 7): statistics per (C, D1, ...) position; parameters shaped (C, D1) or flattened
    x_shape = (4, 3, 5)
    feeds = _bn_inputs(x_shape, c_shape=(15,) if flat else (3, 5))
    y = run_onnumba(_bn_model(feeds, {"spatial": 0}, opset=7), feeds)[0]
    p = {k: v.reshape(1, 3, 5) for k, v in feeds.items() if k != "x"}
    want = (feeds["x"] - p["mean"]) / np.sqrt(p["var"] + 1e-5) * p["scale"] + p["B"]
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-5)
    y, rm, rv, bm, bv = run_onnumba(_bn_model(feeds, {"spatial": 0}, outputs=("y", "m", "v", "sm", "sv"),
                                              opset=7), feeds)
    x = feeds["x"].astype(np.float64)
    np.testing.assert_allclose(bm.reshape(3, 5), x.mean(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bv.reshape(3, 5), x.var(axis=0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * p["scale"][0] + p["B"][0],
                               rtol=1e-4, atol=1e-4)


def test_batchnorm_constant_folds():
    feeds = _bn_inputs((1, 2, 3))
    model = make_node_model("BatchNormalization", {k: v for k, v in feeds.items()}, ["y"], {}, opset=15,
                            initializers=feeds)
    (y,) = onnumba.InferenceSession(model.SerializeToString()).run(None, {})
    np.testing.assert_allclose(y, ref.batchnorm_inference(*feeds.values()), rtol=1e-4, atol=1e-5)


BN_ERRORS = [
    (dict(), dict(c_shape=(4,)), ("y",), 15, r"input 1 'scale': expected shape \(3,\)"),
    (dict(), dict(pdtype=np.float64), ("y",), 9, "input 1 'scale': element type float64 differs"),
    (dict(), dict(), ("y", "rm", "rv"), 15, "only valid with training_mode=1"),
    (dict(training_mode=2), dict(), ("y",), 15, "attribute 'training_mode'"),
    (dict(is_test=1), dict(), ("y", "m"), 6, "not filled in test mode"),
    (dict(epsilon=-1.0), dict(), ("y",), 15, "attribute 'epsilon'"),
    (dict(spatial=3), dict(), ("y",), 7, "attribute 'spatial'"),
    (dict(training_mode=1), dict(), ("y", "a", "b", "c"), 15, "at most 3 outputs"),
]


@pytest.mark.parametrize("attrs,inp,outputs,opset,msg", BN_ERRORS, ids=[c[-1][:30] for c in BN_ERRORS])
def test_batchnorm_errors(attrs, inp, outputs, opset, msg):
    feeds = _bn_inputs((2, 3, 4), **inp)
    model = make_node_model("BatchNormalization", feeds, list(outputs), attrs, opset=opset)
    with pytest.raises(onnumba.ModelError, match=msg):
        onnumba.InferenceSession(model.SerializeToString())


def test_batchnorm_rank1_refused():
    feeds = _bn_inputs((2, 3))
    feeds["x"] = feeds["x"][0]
    model = make_node_model("BatchNormalization", feeds, ["y"], {}, opset=15)
    with pytest.raises(onnumba.ModelError, match="expected rank >= 2"):
        onnumba.InferenceSession(model.SerializeToString())


@st.composite
def bn_cases(draw):
    rank = draw(st.integers(2, 5))
    shape = tuple(draw(st.integers(1, 4)) for _ in range(rank))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    mom = draw(st.floats(0.0, 1.0))
    return shape, eps, mom


def _check_bn(case):
    shape, eps, mom = case
    feeds = _bn_inputs(shape)
    model = _bn_model(feeds, dict(epsilon=eps))
    (y,) = run_onnumba(model, feeds)
    np.testing.assert_allclose(y, ref.batchnorm_inference(*feeds.values(), epsilon=eps), rtol=1e-4, atol=1e-5)
    assert_matches_ort(model, feeds)
    model = _bn_model(feeds, dict(epsilon=eps, momentum=mom, training_mode=1), outputs=("y", "rm", "rv"))
    got = run_onnumba(model, feeds)
    want = ref.batchnorm_training(*feeds.values(), epsilon=eps, momentum=mom)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-4)
    assert_matches_ort(model, feeds, rtol=1e-4, atol=1e-4)


@given(bn_cases())
def test_batchnorm_property(case):
    _check_bn(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(bn_cases())
def test_batchnorm_property_slow(case):
    _check_bn(case)


# ----------------------------------------------------------------------------------------------- LRN

def _lrn_model(x, attrs, opset=13):
    return make_node_model("LRN", {"x": x}, ["y"], attrs, opset=opset)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7])
@pytest.mark.parametrize("shape", [(2, 5, 3, 4), (1, 6, 7), (1, 3, 2, 2, 2)])
def test_lrn(size, shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    attrs = dict(size=size, alpha=0.01, beta=0.6, bias=1.5)
    model = _lrn_model(x, attrs)
    (y,) = run_onnumba(model, {"x": x})
    np.testing.assert_allclose(y, ref.lrn(x, **attrs), rtol=1e-5, atol=1e-6)
    if len(shape) == 4 and size % 2:  # onnxruntime's LRN takes 4-d input and odd sizes only
        assert_matches_ort(model, {"x": x})


def test_lrn_beta_zero():
    # onnxruntime refuses beta = 0; per the spec the divisor is 1 and y = x
    x = RNG.standard_normal((1, 4, 3)).astype(np.float32)
    (y,) = run_onnumba(_lrn_model(x, dict(size=3, beta=0.0)), {"x": x})
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
@pytest.mark.parametrize("opset", [1, 13])
def test_lrn_dtypes_versions(dtype, opset):
    x = RNG.standard_normal((1, 4, 3, 3)).astype(dtype)
    (y,) = run_onnumba(_lrn_model(x, dict(size=3), opset=opset), {"x": x})
    assert y.dtype == dtype
    np.testing.assert_allclose(y.astype(np.float64), ref.lrn(x, 3).astype(np.float64), rtol=_tol(dtype),
                               atol=_tol(dtype))


@pytest.mark.parametrize("attrs,msg", [
    ({}, "attribute 'size': the required attribute is missing"),
    (dict(size=0), "attribute 'size': expected a value >= 1"),
    (dict(size=3, alpha=float("nan")), "attribute 'alpha'"),
])
def test_lrn_errors(attrs, msg):
    x = RNG.standard_normal((1, 4, 3, 3)).astype(np.float32)
    with pytest.raises(onnumba.ModelError, match=msg):
        onnumba.InferenceSession(_lrn_model(x, attrs).SerializeToString())


def test_lrn_rank2_refused():
    # the spec's X is (N x C x D1 x ... x Dk); ranks 3 and 5 run (test_lrn), rank 2 is refused
    x = RNG.standard_normal((2, 4)).astype(np.float32)
    with pytest.raises(onnumba.ModelError, match=r"expected rank >= 3"):
        onnumba.InferenceSession(_lrn_model(x, dict(size=3)).SerializeToString())


def test_lrn_nan_inf_stay_in_their_window():
    # fuzz 1:1381: a NaN / Inf reaches only the channels whose window holds it, per the spec's formula
    # (onnxruntime's running channel sum subtracts Inf - Inf and spreads NaN to later channels)
    x = RNG.standard_normal((1, 6, 2, 2)).astype(np.float32)
    x[0, 0, 0, 0], x[0, 0, 1, 1] = np.nan, np.inf
    (y,) = run_onnumba(_lrn_model(x, dict(size=3)), {"x": x})
    np.testing.assert_allclose(y, ref.lrn(x, 3), rtol=1e-5, atol=1e-6)
    assert np.isfinite(y[0, 2:, 0, 0]).all() and np.isfinite(y[0, 2:, 1, 1]).all()
    assert np.isnan(y[0, :2, 0, 0]).all()


@st.composite
def lrn_cases(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 8)), draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    # onnxruntime refuses even sizes and beta <= 0 (the spec allows them: see test_lrn, test_lrn_beta_zero)
    attrs = dict(size=draw(st.sampled_from([1, 3, 5, 7, 9])), alpha=draw(st.floats(1e-5, 1.0)), beta=draw(st.floats(0.01, 2.0)),
                 bias=draw(st.floats(0.5, 3.0)))
    return shape, attrs


def _check_lrn(case):
    shape, attrs = case
    x = RNG.standard_normal(shape).astype(np.float32)
    model = _lrn_model(x, attrs)
    (y,) = run_onnumba(model, {"x": x})
    np.testing.assert_allclose(y, ref.lrn(x, **attrs), rtol=1e-5, atol=1e-6)
    assert_matches_ort(model, {"x": x})


@given(lrn_cases())
def test_lrn_property(case):
    _check_lrn(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(lrn_cases())
def test_lrn_property_slow(case):
    _check_lrn(case)


@pytest.mark.parametrize("var,eps,scale", [(0.0, 0.0, 2.0), (0.0, 0.0, -1.0), (0.0, 0.0, 0.0), (-1.0, 1e-5, 1.0),
                                           (np.inf, 1e-5, 1.0), (1.0, 0.0, np.inf)])
def test_batchnorm_degenerate_parameters_follow_the_spec(var, eps, scale):
    # onnxruntime folds to x * a + (B - mean * a) and gives NaN everywhere for variance = epsilon = 0; the spec
    # (onnx.reference) computes (x - mean) / sqrt(var + eps) * scale + B: +-inf, NaN only where x == mean
    x = np.array([-1.0, 0.0, 1.0, 2.0, np.inf, -np.inf, np.nan, -0.0], np.float32).reshape(1, 1, 8)
    feeds = {"x": x, "scale": np.array([scale], np.float32), "B": np.array([0.5], np.float32),
             "mean": np.array([1.0], np.float32), "var": np.array([var], np.float32)}
    model = _bn_model(feeds, {"epsilon": eps})
    with np.errstate(all="ignore"):
        (want,) = onnx.reference.ReferenceEvaluator(model).run(None, feeds)
    y = run_onnumba(model, feeds)[0]
    for pred in (np.isnan, np.isposinf, np.isneginf):
        np.testing.assert_array_equal(pred(y), pred(want))
    np.testing.assert_allclose(y, want, rtol=1e-6)
