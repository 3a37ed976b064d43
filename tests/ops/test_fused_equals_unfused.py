"""Fused equals unfused: every plan rewrite (ops/fusion.py) computes what the unrewritten graph computes.

Chains Conv / ConvTranspose / Gemm / MatMul -> BatchNormalization -> Mul / Add -> Relu / LeakyRelu / Clip with
NaN, +-Inf, -0.0 and denormals in inputs and weights, BatchNormalization variances 0 (epsilon 0) and negative,
LeakyRelu slopes 0 / negative / positive and Clip with min > max and min == max, run with
graph_optimization_level=0 and with full optimisation: bitwise equal where the rewrite keeps the arithmetic
(activation fusion, BatchNormalization -> ChannelAffine), else equal within a few float32 ulps of the channel's
magnitude with NaN and +-Inf in the same places. Both also match onnx.reference (the spec) the same way.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import onnumba

F = TensorProto.FLOAT
SPECIALS = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -3e-42, 1e-45]
EPS = np.finfo(np.float32).eps


def _model(nodes, x_shape, inits: dict, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", F, list(x_shape))],
                              [helper.make_empty_tensor_value_info(nodes[-1].output[0])],
                              [numpy_helper.from_array(np.asarray(v, np.float32), k) for k, v in inits.items()])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(m)
    del m.graph.output[:]
    m.graph.output.extend(inferred.graph.output)
    return m


def _run_both(model, x):
    off = onnumba.SessionOptions()
    off.graph_optimization_level = onnumba.GraphOptimizationLevel.ORT_DISABLE_ALL
    fused = onnumba.InferenceSession(model).run(None, {"x": x})[0]
    unfused = onnumba.InferenceSession(model, off).run(None, {"x": x})[0]
    return fused, unfused


def assert_fused_equals_unfused(fused, unfused, exact: bool) -> None:
    """NaN and +-Inf in the same places; the rest bitwise equal (``exact``) or within a few ulps of the largest
    finite magnitude of its channel (axis 1): folding constants changes rounding, nothing else."""
    assert fused.shape == unfused.shape and fused.dtype == unfused.dtype
    np.testing.assert_array_equal(np.isnan(fused), np.isnan(unfused), err_msg="NaN positions differ")
    np.testing.assert_array_equal(np.isposinf(fused), np.isposinf(unfused), err_msg="+inf positions differ")
    np.testing.assert_array_equal(np.isneginf(fused), np.isneginf(unfused), err_msg="-inf positions differ")
    fin = np.isfinite(unfused)
    if exact:
        np.testing.assert_array_equal(fused[fin].view(np.uint32), unfused[fin].view(np.uint32),
                                      err_msg="not bitwise equal")
        return
    mag = np.where(fin, np.abs(unfused), 0).astype(np.float64)
    axes = tuple(i for i in range(unfused.ndim) if i != 1)
    scale = mag.max(axis=axes, keepdims=True) if unfused.ndim > 1 else mag.max(keepdims=True)
    tol = 512 * EPS * scale + 1e-37
    with np.errstate(invalid="ignore"):
        err = np.where(fin, np.abs(fused.astype(np.float64) - unfused.astype(np.float64)), 0)
    assert np.all(err <= tol), f"max error {err.max()} above tolerance {tol.min()}"


# ----------------------------------------------------------------------------------------------- strategies

@st.composite
def _tensor(draw, shape, lo=-4.0, hi=4.0, max_specials=2):
    """Finite values in [lo, hi] (a few exactly 0) with up to ``max_specials`` NaN / Inf / -0.0 / denormals."""
    n = int(np.prod(shape))
    seed = draw(st.integers(0, 2 ** 31 - 1))
    rng = np.random.default_rng(seed)
    a = rng.uniform(lo, hi, n).astype(np.float32)
    a[rng.random(n) < 0.1] = 0.0
    for _ in range(draw(st.integers(0, max_specials))):
        a[draw(st.integers(0, n - 1))] = draw(st.sampled_from(SPECIALS))
    return a.reshape(shape)


@st.composite
def chains(draw):
    """(model, x, exact): a random producer -> [BN] -> [Mul] -> [Add] -> [activation] chain."""
    prod = draw(st.sampled_from(["Conv", "ConvTranspose", "Gemm", "MatMul"]))
    inits, nodes = {}, []
    if prod in ("Conv", "ConvTranspose"):
        n, c, m, k = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(
            st.integers(1, 3))
        size = draw(st.integers(k, 5))
        x_shape = (n, c, size, size)
        pad = draw(st.integers(0, k - 1))
        inits["w"] = draw(_tensor((m, c, k, k) if prod == "Conv" else (c, m, k, k)))
        ins = ["x", "w"]
        if draw(st.booleans()):
            inits["wb"] = draw(_tensor((m,)))
            ins.append("wb")
        nodes.append(helper.make_node(prod, ins, ["p"], pads=[pad] * 4))
        per_channel = (1, m, 1, 1)
    else:
        n, kk, m = draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
        x_shape = (n, kk)
        inits["w"] = draw(_tensor((kk, m)))
        ins = ["x", "w"]
        if prod == "Gemm" and draw(st.booleans()):
            inits["wb"] = draw(_tensor((m,)))
            ins.append("wb")
        nodes.append(helper.make_node(prod, ins, ["p"]))
        per_channel = (m,)
    cur, exact = "p", True
    if draw(st.booleans()):
        inits["s"] = draw(_tensor((m,), max_specials=1))
        inits["b"] = draw(_tensor((m,), max_specials=1))
        inits["mean"] = draw(_tensor((m,), max_specials=1))
        var = draw(_tensor((m,), 0.0, 2.0, max_specials=0))
        for _ in range(draw(st.integers(0, 2))):
            var[draw(st.integers(0, m - 1))] = draw(st.sampled_from([0.0, -0.5, 1e-40, np.inf]))
        inits["var"] = var
        eps = draw(st.sampled_from([0.0, 1e-5]))
        nodes.append(helper.make_node("BatchNormalization", [cur, "s", "b", "mean", "var"], ["n"], epsilon=eps))
        cur = "n"
        exact = exact and prod not in ("Conv", "Gemm")  # folded into the weights: rounding changes
    for op in ("Mul", "Add"):
        if draw(st.booleans()):
            inits[op] = draw(_tensor(draw(st.sampled_from([per_channel, (1,)])), -2.0, 2.0, max_specials=1))
            nodes.append(helper.make_node(op, [cur, op], [op.lower()]))
            cur, exact = op.lower(), False
    act = draw(st.sampled_from(["none", "Relu", "LeakyRelu", "Clip", "HardSigmoid", "HardSwish"]))
    if act == "HardSigmoid":
        nodes.append(helper.make_node("HardSigmoid", [cur], ["y"], alpha=draw(st.sampled_from([0.2, -0.5, 0.0])),
                                      beta=draw(st.sampled_from([0.5, 0.0, 2.0]))))
    elif act == "HardSwish":
        nodes.append(helper.make_node("HardSwish", [cur], ["y"]))
    elif act == "Relu":
        nodes.append(helper.make_node("Relu", [cur], ["y"]))
    elif act == "LeakyRelu":
        nodes.append(helper.make_node("LeakyRelu", [cur], ["y"], alpha=draw(st.sampled_from([0.0, -0.5, 0.1, 2.0]))))
    elif act == "Clip":
        bounds = [-np.inf, -1.0, 0.0, 0.5, 2.0, np.inf]
        lo, hi = draw(st.sampled_from(bounds)), draw(st.sampled_from(bounds))  # lo > hi and lo == hi included
        inits["lo"], inits["hi"] = np.float32(lo), np.float32(hi)
        nodes.append(helper.make_node("Clip", [cur, "lo", "hi"], ["y"]))
    x = draw(_tensor(x_shape))
    return _model(nodes, x_shape, inits), x, exact


def _check(case):
    model, x, exact = case
    fused, unfused = _run_both(model, x)
    assert_fused_equals_unfused(fused, unfused, exact)
    # and both follow the spec: onnx.reference's NaN / Inf positions, its values within rounding
    if model.graph.node[0].op_type in ("Gemm", "MatMul"):
        return  # onnx.reference's np.dot skips zero multipliers in BLAS (0 * NaN = 0); IEEE and onnxruntime: NaN
    with np.errstate(all="ignore"):
        (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    assert_fused_equals_unfused(fused, want, exact=False)


_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@settings(max_examples=30, **_SETTINGS)
@given(chains())
def test_fused_equals_unfused(case):
    _check(case)


@pytest.mark.slow
@settings(max_examples=600, **_SETTINGS)
@given(chains())
def test_fused_equals_unfused_slow(case):
    _check(case)


# ----------------------------------------------------------------------------------------------- named cases

def _conv_act(w, act_nodes, inits=None, x=None, pads=(0, 0, 0, 0)):
    x = np.linspace(-2, 2, 2 * 5 * 5, dtype=np.float32).reshape(1, 2, 5, 5) if x is None else x
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=list(pads))] + act_nodes
    return _model(nodes, x.shape, {"w": w, **(inits or {})}), x


def test_conv_relu_with_nan_weight_keeps_nan():
    w = np.ones((2, 2, 3, 3), np.float32)
    w[1, 0, 1, 1] = np.nan
    model, x = _conv_act(w, [helper.make_node("Relu", ["c"], ["y"])])
    fused, unfused = _run_both(model, x)
    assert np.isnan(fused[:, 1]).all() and not np.isnan(fused[:, 0]).any()
    assert_fused_equals_unfused(fused, unfused, exact=True)


def test_affine_relu_keeps_negative_zero():
    # (x - mean) * a + B with x == mean, a < 0 and B = -0.0 is -0.0; Relu (fused or not) keeps it
    x = np.array([1.0, 1.0, 3.0], np.float32).reshape(1, 1, 3)
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "mean", "var"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    model = _model(nodes, x.shape, {"s": [-1.0], "b": [-0.0], "mean": [1.0], "var": [1.0]})
    fused, unfused = _run_both(model, x)
    assert np.signbit(fused[0, 0, :2]).all() and (fused[0, 0, :2] == 0).all()
    assert_fused_equals_unfused(fused, unfused, exact=True)


@pytest.mark.parametrize("lo,hi", [(1.0, -1.0), (0.5, 0.5), (np.inf, -np.inf)])
def test_conv_clip_min_above_max_gives_max_everywhere(lo, hi):
    w = np.linspace(-1, 1, 2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    model, x = _conv_act(w, [helper.make_node("Clip", ["c", "lo", "hi"], ["y"])],
                         {"lo": np.float32(lo), "hi": np.float32(hi)})
    fused, unfused = _run_both(model, x)
    assert (fused == np.float32(hi)).all()
    assert_fused_equals_unfused(fused, unfused, exact=True)


def test_batchnorm_variance_zero_epsilon_zero_follows_the_spec():
    # onnxruntime computes x * a + (B - mean * a) and gives NaN everywhere here; the spec (onnx.reference)
    # divides (x - mean) by 0: +-inf, and NaN only where x == mean
    x = np.array([-1.0, 0.0, 1.0, 2.0], np.float32).reshape(1, 1, 4, 1)
    nodes = [helper.make_node("BatchNormalization", ["x", "s", "b", "mean", "var"], ["y"], epsilon=0.0)]
    inits = {"s": [2.0], "b": [0.5], "mean": [1.0], "var": [0.0]}
    model = _model(nodes, x.shape, inits)
    fused, unfused = _run_both(model, x)
    (want,) = ReferenceEvaluator(model).run(None, {"x": x})
    assert_fused_equals_unfused(fused, unfused, exact=True)
    assert_fused_equals_unfused(unfused, want, exact=True)


@pytest.mark.parametrize("var,eps", [(0.0, 0.0), (-1.0, 1e-5)])
def test_conv_batchnorm_degenerate_variance_is_not_folded_into_weights(var, eps):
    w = np.linspace(-1, 1, 2 * 2 * 3 * 3, dtype=np.float32).reshape(2, 2, 3, 3)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "mean", "var"], ["y"], epsilon=eps)]
    x = np.linspace(-2, 2, 2 * 5 * 5, dtype=np.float32).reshape(1, 2, 5, 5)
    model = _model(nodes, x.shape, {"w": w, "s": [1.0, 2.0], "b": [0.0, 1.0], "mean": [0.0, 0.5],
                                    "var": [var, 1.0]})
    fused, unfused = _run_both(model, x)
    assert_fused_equals_unfused(fused, unfused, exact=False)
    assert not np.isfinite(fused[:, 0]).all()


def test_gemm_relu_keeps_nan():
    w = np.array([[1.0, -0.0], [np.nan, -0.0]], np.float32)
    x = np.array([[1.0, 0.0], [2.0, 3.0]], np.float32)
    model = _model([helper.make_node("Gemm", ["x", "w"], ["g"]), helper.make_node("Relu", ["g"], ["y"])],
                   x.shape, {"w": w})
    fused, unfused = _run_both(model, x)
    assert_fused_equals_unfused(fused, unfused, exact=True)
    assert np.isnan(fused[:, 0]).all() and (fused[:, 1] == 0).all()
