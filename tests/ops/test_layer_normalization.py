"""LayerNormalization, InstanceNormalization, GroupNormalization, MeanVarianceNormalization, LpNormalization:
tables vs the naive references and onnxruntime, dtypes, numerical soundness, pinned errors, hypothesis."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from onnumba.ops.layer_normalization import GroupNormalization, GroupNormAttrs
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference.layer_normalization import (group_norm_ref, instance_norm_ref, layer_norm_ref, lp_norm_ref,
                                                 mvn_ref)

RNG = np.random.default_rng(0)


def _rand(shape, dtype=np.float32, rng=RNG):
    return rng.standard_normal(shape).astype(dtype)


def layer_norm_model(x, scale, bias=None, *, axis=None, epsilon=None, stash_type=None, outputs=("y",),
                     opset=17):
    attrs = {k: v for k, v in (("axis", axis), ("epsilon", epsilon), ("stash_type", stash_type)) if v is not None}
    inputs = {"x": x, "scale": scale}
    if bias is not None:
        inputs["bias"] = bias
    inits = {k: v for k, v in inputs.items() if k != "x"}
    return make_node_model("LayerNormalization", inputs, list(outputs), attrs, opset=opset, initializers=inits)


def group_norm_model(op, x, scale, bias, opset, **attrs):
    return make_node_model(op, {"x": x, "scale": scale, "bias": bias}, ["y"], attrs, opset=opset,
                           initializers={"scale": scale, "bias": bias})


def _session(model):
    return onnumba.InferenceSession(model.SerializeToString())


# ------------------------------------------------------------------------------------------- LayerNormalization

# (x shape, axis, scale/bias shape or None for the normalized shape, with bias)
LN_TABLE = [
    ((2, 5), -1, None, True),
    ((2, 5), 0, None, True),
    ((3, 4, 6), 1, None, False),
    ((3, 4, 6), -1, None, True),
    ((2, 3, 4, 5), 2, None, True),
    ((2, 3, 4, 5), -3, None, True),
    ((2, 3, 4, 5), 2, (1, 5), True),  # scale broadcast along the normalized axes
    ((4, 7), 1, (4, 7), True),  # scale that differs per row (broadcast covers the leading axes too)
    ((1, 1), -1, None, True),
    ((6,), 0, None, True),
]


@pytest.mark.parametrize("shape,axis,pshape,with_bias", LN_TABLE)
def test_layer_norm_table(shape, axis, pshape, with_bias):
    x = _rand(shape)
    a = axis + len(shape) if axis < 0 else axis
    pshape = pshape or shape[a:]
    scale, bias = _rand(pshape), (_rand(pshape) if with_bias else None)
    m = layer_norm_model(x, scale, bias, axis=axis, outputs=("y", "mean", "inv"))
    y, mean, inv = run_onnumba(m, {"x": x})
    ry, rm, ri = layer_norm_ref(x, scale, bias, axis)
    np.testing.assert_allclose(y, ry, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mean, rm, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(inv, ri, rtol=1e-5)
    assert mean.shape == shape[:a] + (1,) * (len(shape) - a) and mean.dtype == np.float32
    if pshape == shape[a:]:  # onnxruntime wants the normalized shape
        assert_matches_ort(m, {"x": x}, rtol=1e-5, atol=1e-5)


def test_layer_norm_only_inv_std_requested():
    x = _rand((3, 8))
    m = layer_norm_model(x, _rand(8), outputs=("y", "", "inv"))
    out = [o for o in m.graph.output if o.name]
    del m.graph.output[:]
    m.graph.output.extend(out)
    y, inv = run_onnumba(m, {"x": x})
    np.testing.assert_allclose(inv, layer_norm_ref(x, np.ones(8))[2], rtol=1e-5)


def test_layer_norm_large_offset_is_numerically_sound():
    # a naive E[x^2] - E[x]^2 in float32 loses every digit here; the two-pass variance keeps them
    x = (1e4 + RNG.standard_normal((4, 256))).astype(np.float32)
    (y,) = run_onnumba(layer_norm_model(x, np.ones(256, np.float32), epsilon=0.0), {"x": x})
    np.testing.assert_allclose(y, layer_norm_ref(x, np.ones(256), None, -1, 0.0)[0], rtol=0, atol=2e-3)


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16, np.float64])
def test_layer_norm_dtypes(dtype):
    x = _rand((3, 16)).astype(dtype)
    scale, bias = _rand(16).astype(dtype), _rand(16).astype(dtype)
    y, mean = run_onnumba(layer_norm_model(x, scale, bias, outputs=("y", "mean")), {"x": x})
    assert y.dtype == np.dtype(dtype) and mean.dtype == np.float32  # statistics in stash_type's type
    tol = {np.float16: 1e-2, ml_dtypes.bfloat16: 5e-2, np.float64: 1e-12}[dtype]
    np.testing.assert_allclose(y.astype(np.float64), layer_norm_ref(x, scale, bias)[0], rtol=tol, atol=tol)


def test_layer_norm_stash_type_double():
    x = _rand((2, 6))
    y, mean, inv = run_onnumba(layer_norm_model(x, np.ones(6, np.float32), stash_type=11,
                                                outputs=("y", "mean", "inv")), {"x": x})
    assert y.dtype == np.float32 and mean.dtype == np.float64 and inv.dtype == np.float64
    np.testing.assert_allclose(mean, layer_norm_ref(x, np.ones(6))[1], rtol=1e-12)


@pytest.mark.parametrize("kw,match", [
    ({"scale": (4,)}, r"input 1 'scale': Scale: shape \(4,\) does not broadcast to X's shape \(3, 5\) "
                      r"\(expected the normalized shape \(5,\)\)"),
    ({"axis": 2}, r"attribute 'axis': axis 2 is out of range for rank 2"),
    ({"stash_type": 10}, r"attribute 'stash_type': stash_type 10 is not supported; expected 1 \(float\) or 11"),
    ({"epsilon": -1.0}, r"attribute 'epsilon': expected a finite value >= 0, got -1.0"),
    ({"bias_dtype": np.float64}, r"input 2 'bias': B: element type float64 differs from X's float32"),
])
def test_layer_norm_errors(kw, match):
    x = np.zeros((3, 5), np.float32)
    scale = np.ones(kw.get("scale", (5,)), np.float32)
    bias = np.zeros(5, kw.get("bias_dtype", np.float32))
    m = layer_norm_model(x, scale, bias, axis=kw.get("axis"), epsilon=kw.get("epsilon"),
                         stash_type=kw.get("stash_type"))
    with pytest.raises(onnumba.ModelError, match=match):
        _session(m)


# ------------------------------------------------------------------------------------------- Instance / Group

@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 4, 3, 3), (2, 2, 2, 3, 2), (3, 2)])
@pytest.mark.parametrize("opset", [6, 22])
def test_instance_norm(shape, opset):
    x, scale, bias = _rand(shape), _rand(shape[1]), _rand(shape[1])
    m = group_norm_model("InstanceNormalization", x, scale, bias, opset, epsilon=1e-3)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_allclose(y, instance_norm_ref(x, scale, bias, 1e-3), rtol=1e-5, atol=1e-5)
    if len(shape) > 2:
        assert_matches_ort(m, {"x": x}, rtol=1e-4, atol=1e-4)


# (shape, num_groups)
GN_TABLE = [((2, 6, 4), 3), ((1, 4, 3, 3), 1), ((2, 4, 2, 2), 4), ((3, 6), 2), ((1, 8, 2, 2, 2), 2)]


def _group_norm_18(x, scale, bias, groups, epsilon=1e-5):
    # onnx's checker refuses GroupNormalization-18 (deprecated), so no model reaches it: call the op directly
    attrs = GroupNormAttrs(groups, epsilon, None, True)
    return GroupNormalization.run(None, attrs, [x, scale, bias])[0]


@pytest.mark.parametrize("shape,groups", GN_TABLE)
@pytest.mark.parametrize("opset", [18, 21])
def test_group_norm(shape, groups, opset):
    n_params = groups if opset == 18 else shape[1]  # opset 18: per group; opset 21: per channel
    x, scale, bias = _rand(shape), _rand(n_params), _rand(n_params)
    if opset == 18:
        y = _group_norm_18(x, scale, bias, groups, 1e-4)
    else:
        m = group_norm_model("GroupNormalization", x, scale, bias, opset, num_groups=groups, epsilon=1e-4)
        (y,) = run_onnumba(m, {"x": x})
    ref = group_norm_ref(x, scale, bias, groups, 1e-4, per_group_params=opset == 18)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_group_norm_18_is_refused_by_the_checker():
    x = np.zeros((2, 6, 3), np.float32)
    m = group_norm_model("GroupNormalization", x, np.ones(3, np.float32), np.zeros(3, np.float32), 18,
                         num_groups=3)
    with pytest.raises(onnumba.ModelError, match=r"deprecated"):
        _session(m)


@pytest.mark.parametrize("shape,groups", GN_TABLE[:3])
def test_group_norm_21_vs_ort(shape, groups):
    x, scale, bias = _rand(shape), _rand(shape[1]), _rand(shape[1])
    assert_matches_ort(group_norm_model("GroupNormalization", x, scale, bias, 21, num_groups=groups), {"x": x},
                       rtol=1e-4, atol=1e-4)


def test_group_norm_float16_computes_in_float32():
    x = (_rand((2, 4, 64)) * 30 + 100).astype(np.float16)
    ones, zeros = np.ones(4, np.float16), np.zeros(4, np.float16)
    (y,) = run_onnumba(group_norm_model("GroupNormalization", x, ones, zeros, 21, num_groups=2), {"x": x})
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float64), group_norm_ref(x, ones, zeros, 2), atol=5e-3, rtol=5e-3)


@pytest.mark.parametrize("op,opset,attrs,pshape,match", [
    ("GroupNormalization", 21, {"num_groups": 4}, 6, r"attribute 'num_groups': num_groups 4 does not divide the 6 "
                                                     r"channels of X \(2, 6, 3\)"),
    ("GroupNormalization", 21, {"num_groups": 3}, 3, r"input 1 'scale': scale: expected shape \(6,\), got \(3,\)"),
    ("GroupNormalization", 21, {"num_groups": 0}, 6, r"attribute 'num_groups': expected a value >= 1, got 0"),
    ("GroupNormalization", 21, {}, 6, r"attribute 'num_groups': the required attribute is missing"),
    ("InstanceNormalization", 22, {}, 5, r"input 1 'scale': scale: expected shape \(6,\), got \(5,\)"),
])
def test_channel_norm_errors(op, opset, attrs, pshape, match):
    x = np.zeros((2, 6, 3), np.float32)
    m = group_norm_model(op, x, np.ones(pshape, np.float32), np.zeros(pshape, np.float32), opset, **attrs)
    with pytest.raises(onnumba.ModelError, match=match):
        _session(m)


# ------------------------------------------------------------------------------------------- MVN / Lp

@pytest.mark.parametrize("shape,axes", [
    ((2, 3, 4, 5), None), ((2, 3, 4, 5), [2, 3]), ((2, 3, 4, 5), [1]), ((3, 4), [0, 1]), ((2, 3, 4), [-1, 0]),
])
def test_mvn(shape, axes):
    x = _rand(shape)
    m = make_node_model("MeanVarianceNormalization", {"x": x}, ["y"], {} if axes is None else {"axes": axes},
                        opset=13)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_allclose(y, mvn_ref(x, (0, 2, 3) if axes is None else axes), rtol=1e-5, atol=1e-5)
    if axes is None or min(axes) >= 0:
        assert_matches_ort(m, {"x": x}, rtol=1e-4, atol=1e-4)


def test_mvn_duplicate_axes():
    m = make_node_model("MeanVarianceNormalization", {"x": np.zeros((2, 3), np.float32)}, ["y"],
                        {"axes": [1, -1]}, opset=13)
    with pytest.raises(onnumba.ModelError, match=r"attribute 'axes': axes \[1, -1\] name an axis more than once"):
        _session(m)


@pytest.mark.parametrize("shape,axis,p", [((2, 3, 4), -1, 2), ((2, 3, 4), 1, 1), ((2, 3, 4), 0, 2),
                                          ((5,), 0, 1), ((3, 4), -2, 1)])
def test_lp_norm(shape, axis, p):
    x = _rand(shape)
    x[0] = 0.0  # a zero norm along the last axis gives 0, not NaN
    m = make_node_model("LpNormalization", {"x": x}, ["y"], {"axis": axis, "p": p}, opset=22)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_allclose(y, lp_norm_ref(x, axis, p), rtol=1e-5, atol=1e-6)
    assert np.isfinite(y).all()


@pytest.mark.parametrize("axis,p", [(-1, 2), (1, 1)])
def test_lp_norm_vs_ort(axis, p):
    x = _rand((2, 3, 4)) + 0.1
    assert_matches_ort(make_node_model("LpNormalization", {"x": x}, ["y"], {"axis": axis, "p": p}, opset=1),
                       {"x": x})


def test_lp_norm_bad_p():
    m = make_node_model("LpNormalization", {"x": np.zeros((2, 3), np.float32)}, ["y"], {"p": 3}, opset=22)
    with pytest.raises(onnumba.ModelError, match=r"attribute 'p': expected 1 or 2, got 3"):
        _session(m)


# ------------------------------------------------------------------------------------------- hypothesis

@st.composite
def layer_norm_cases(draw):
    rank = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=rank, max_size=rank)))
    axis = draw(st.integers(-rank, rank - 1))
    seed = draw(st.integers(0, 2 ** 16))
    offset = draw(st.sampled_from([0.0, 50.0]))
    return shape, axis, seed, offset


def _check_layer_norm(case):
    shape, axis, seed, offset = case
    rng = np.random.default_rng(seed)
    a = axis + len(shape) if axis < 0 else axis
    x = (rng.standard_normal(shape) + offset).astype(np.float32)
    scale, bias = _rand(shape[a:], rng=rng), _rand(shape[a:], rng=rng)
    y, mean, inv = run_onnumba(layer_norm_model(x, scale, bias, axis=axis, outputs=("y", "mean", "inv")), {"x": x})
    ry, rm, ri = layer_norm_ref(x, scale, bias, axis)
    np.testing.assert_allclose(y, ry, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mean, rm, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(inv, ri, rtol=1e-4)


@st.composite
def group_norm_cases(draw):
    groups = draw(st.integers(1, 3))
    c = groups * draw(st.integers(1, 3))
    spatial = tuple(draw(st.lists(st.integers(1, 4), min_size=0, max_size=2)))
    return (draw(st.integers(1, 3)), c) + spatial, groups, draw(st.sampled_from([18, 21])), draw(st.integers(0, 999))


def _check_group_norm(case):
    shape, groups, opset, seed = case
    rng = np.random.default_rng(seed)
    n_params = groups if opset == 18 else shape[1]
    x, scale, bias = _rand(shape, rng=rng), _rand(n_params, rng=rng), _rand(n_params, rng=rng)
    if opset == 18:
        y = _group_norm_18(x, scale, bias, groups)
    else:
        (y,) = run_onnumba(group_norm_model("GroupNormalization", x, scale, bias, opset, num_groups=groups),
                           {"x": x})
    np.testing.assert_allclose(y, group_norm_ref(x, scale, bias, groups, per_group_params=opset == 18),
                               rtol=1e-4, atol=1e-4)


@settings(max_examples=20, deadline=None)
@given(layer_norm_cases())
def test_layer_norm_property(case):
    _check_layer_norm(case)


@settings(max_examples=20, deadline=None)
@given(group_norm_cases())
def test_group_norm_property(case):
    _check_group_norm(case)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(layer_norm_cases())
def test_layer_norm_property_slow(case):
    _check_layer_norm(case)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(group_norm_cases())
def test_group_norm_property_slow(case):
    _check_group_norm(case)
