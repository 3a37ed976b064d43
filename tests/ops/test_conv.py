"""Conv: shape table, errors, correctness vs the numpy reference and onnxruntime, fused epilogue, hypothesis."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper

import onnumba
from onnumba.ops.conv import Conv, conv_nchw
from onnumba.ops.kernels.epilogue import Epilogue
from tests.helpers import assert_matches_ort, bind_single_node, make_node_model, np_to_elem, run_onnumba
from tests.reference.conv import conv as ref_conv

RNG = np.random.default_rng(1234)


def _arrays(xs, ws, dtype=np.float32, bias=True):
    x = RNG.standard_normal(xs).astype(dtype)
    w = RNG.standard_normal(ws).astype(dtype)
    b = RNG.standard_normal(ws[0]).astype(dtype) if bias else None
    return x, w, b


def _model(x, w, b, attrs, opset=17, w_const=True):
    inputs = {"X": x, "W": w}
    inits = {"W": w} if w_const else {}
    if b is not None:
        inputs["B"] = b
        if w_const:
            inits["B"] = b
    model = make_node_model("Conv", inputs, ["Y"], attrs, opset=opset, initializers=inits)
    # onnx's checker wants a shape on graph outputs: declare the rank with unknown dims
    model.graph.output[0].CopyFrom(helper.make_tensor_value_info("Y", np_to_elem(x.dtype), [None] * x.ndim))
    return model


def _ref(x, w, b, attrs):
    return ref_conv(x, w, b, strides=attrs.get("strides"), dilations=attrs.get("dilations"),
                    pads=attrs.get("pads"), group=attrs.get("group", 1), auto_pad=attrs.get("auto_pad", "NOTSET"))


# (x shape, w shape, attrs, expected output shape)
SHAPES = [
    ((1, 3, 10), (4, 3, 3), {}, (1, 4, 8)),
    ((1, 3, 10), (4, 3, 3), {"pads": [2, 1]}, (1, 4, 11)),
    ((2, 4, 9, 8), (6, 2, 3, 2), {"group": 2, "strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 2, 1]},
     (2, 6, 5, 7)),
    ((1, 2, 7, 7), (3, 2, 3, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (1, 3, 4, 4)),
    ((1, 2, 7, 7), (3, 2, 3, 3), {"auto_pad": "SAME_LOWER", "strides": [2, 3]}, (1, 3, 4, 3)),
    ((1, 2, 7, 7), (3, 2, 3, 3), {"auto_pad": "VALID", "strides": [2, 2]}, (1, 3, 3, 3)),
    ((1, 2, 7, 7), (3, 2, 3, 3), {"auto_pad": "SAME_UPPER", "dilations": [2, 2]}, (1, 3, 7, 7)),
    ((1, 4, 5, 6, 7), (8, 1, 2, 3, 2), {"group": 4, "strides": [1, 2, 1], "pads": [0, 1, 1, 1, 0, 2]},
     (1, 8, 5, 3, 9)),
    ((2, 6, 7, 7), (6, 6, 1, 1), {}, (2, 6, 7, 7)),
    ((1, 8, 5, 5), (4, 8, 1, 1), {"strides": [2, 2]}, (1, 4, 3, 3)),
    ((1, 1, 5, 5), (1, 1, 5, 5), {"kernel_shape": [5, 5]}, (1, 1, 1, 1)),
]


@pytest.mark.parametrize("xs,ws,attrs,out", SHAPES)
def test_shape_table(xs, ws, attrs, out):
    x, w, b = _arrays(xs, ws)
    (y,) = run_onnumba(_model(x, w, b, attrs), {"X": x})
    assert y.shape == out and y.dtype == np.float32
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


ORT_CASES = [
    ("1d", (2, 3, 12), (4, 3, 3), {"strides": [2], "pads": [1, 2]}),
    ("1d_dilated", (1, 4, 15), (2, 4, 3), {"dilations": [3], "pads": [0, 1]}),
    ("2d_basic", (1, 3, 8, 8), (5, 3, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("2d_asym_pads", (2, 3, 9, 7), (4, 3, 3, 2), {"pads": [0, 2, 1, 0], "strides": [2, 2]}),
    ("2d_dilated_strided", (1, 4, 11, 10), (6, 4, 3, 3), {"dilations": [2, 1], "strides": [1, 3], "pads": [2, 1, 0, 1]}),
    ("2d_group", (2, 6, 7, 7), (9, 2, 3, 3), {"group": 3, "pads": [1, 1, 1, 1]}),
    ("2d_depthwise", (2, 5, 9, 9), (5, 1, 3, 3), {"group": 5, "pads": [1, 1, 1, 1]}),
    ("2d_depthwise_mult3_strided", (1, 4, 10, 9), (12, 1, 3, 3), {"group": 4, "strides": [2, 2], "pads": [1, 0, 1, 2]}),
    ("2d_depthwise_dilated", (1, 3, 12, 12), (3, 1, 3, 3), {"group": 3, "dilations": [2, 3], "pads": [2, 3, 2, 3]}),
    # padding far larger than the input: the depthwise kernel skips its padded-plane buffer
    ("2d_depthwise_huge_pads", (1, 2, 3, 3), (4, 1, 3, 3), {"group": 2, "pads": [200, 190, 180, 170], "strides": [50, 40]}),
    # begin pads wider than the span the windows reach (stride 100): the padded plane is narrower than the pad
    ("2d_depthwise_pad_beyond_reach", (1, 2, 2, 1), (2, 1, 1, 1), {"group": 2, "pads": [10, 12, 0, 3], "strides": [100, 100]}),
    ("2d_depthwise_5x5_dilated", (1, 3, 12, 11), (3, 1, 5, 5), {"group": 3, "dilations": [2, 1], "pads": [4, 2, 3, 2]}),
    ("1d_depthwise", (2, 4, 20), (8, 1, 3), {"group": 4, "strides": [2], "pads": [1, 1]}),
    ("2d_single_channel", (2, 1, 10, 10), (4, 1, 3, 3), {"pads": [1, 1, 1, 1]}),
    ("2d_1x1", (2, 8, 6, 5), (4, 8, 1, 1), {}),
    ("2d_1x1_group", (1, 8, 6, 5), (6, 4, 1, 1), {"group": 2}),
    ("2d_1x1_strided", (1, 8, 7, 9), (4, 8, 1, 1), {"strides": [2, 3]}),
    ("2d_1x1_padded", (1, 3, 4, 4), (2, 3, 1, 1), {"pads": [1, 0, 0, 2]}),
    ("2d_same_upper", (1, 2, 8, 7), (3, 2, 4, 3), {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
    ("2d_same_lower", (1, 2, 8, 7), (3, 2, 4, 3), {"auto_pad": "SAME_LOWER", "strides": [3, 2]}),
    ("2d_valid", (1, 2, 8, 7), (3, 2, 4, 3), {"auto_pad": "VALID", "strides": [2, 1]}),
    ("2d_kernel_shape_attr", (1, 2, 6, 6), (3, 2, 2, 3), {"kernel_shape": [2, 3]}),
    ("2d_kernel_larger_than_input_padded", (1, 2, 3, 3), (2, 2, 5, 5), {"pads": [1, 1, 1, 1]}),
    ("3d", (1, 3, 5, 6, 7), (4, 3, 2, 3, 3), {"pads": [0, 1, 1, 1, 1, 0], "strides": [1, 2, 2]}),
    ("3d_group_dilated", (2, 4, 6, 5, 6), (4, 2, 2, 2, 2), {"group": 2, "dilations": [2, 1, 2]}),
    ("3d_depthwise", (1, 3, 5, 5, 5), (6, 1, 3, 3, 3), {"group": 3, "pads": [1] * 6}),
]


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
@pytest.mark.parametrize("name,xs,ws,attrs", ORT_CASES, ids=[c[0] for c in ORT_CASES])
def test_matches_ort(name, xs, ws, attrs, bias):
    x, w, b = _arrays(xs, ws, bias=bias)
    model = _model(x, w, b, attrs)
    (y,) = assert_matches_ort(model, {"X": x})
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("opset", [1, 11, 22])
def test_versions(opset):
    x, w, b = _arrays((1, 2, 6, 6), (3, 2, 3, 3))
    attrs = {"pads": [1, 1, 1, 1], "strides": [2, 1]}
    model = _model(x, w, b, attrs, opset=opset)
    (y,) = run_onnumba(model, {"X": x})
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


def test_weights_as_graph_inputs():
    x, w, b = _arrays((2, 4, 7, 7), (6, 2, 3, 3))
    model = _model(x, w, b, {"group": 2, "pads": [1, 1, 1, 1]}, w_const=False)
    assert_matches_ort(model, {"X": x, "W": w, "B": b})


def test_float64():
    x, w, b = _arrays((2, 4, 9, 8), (6, 2, 3, 3), np.float64)
    attrs = {"group": 2, "strides": [2, 1], "pads": [1, 0, 1, 1]}
    # onnxruntime's CPU provider has no float64 Conv: the numpy reference is the judge
    (y,) = run_onnumba(_model(x, w, b, attrs), {"X": x})
    assert y.dtype == np.float64
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-12, atol=1e-12)
    x, w, b = _arrays((1, 3, 7, 7), (6, 1, 3, 3), np.float64)
    attrs = {"group": 3, "pads": [1, 1, 1, 1]}
    (y,) = run_onnumba(_model(x, w, b, attrs), {"X": x})
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("ws,attrs", [((4, 3, 3, 3), {"pads": [1, 1, 1, 1]}), ((3, 1, 3, 3), {"group": 3}),
                                      ((4, 3, 1, 1), {})])
def test_float16_accumulates_in_float32(ws, attrs):
    x, w, b = _arrays((1, 3, 8, 8), ws, np.float16)
    (y,) = run_onnumba(_model(x, w, b, attrs), {"X": x})
    assert y.dtype == np.float16
    # computed in float32 and rounded once: within one float16 rounding of the exact result
    want = _ref(x, w, b, attrs)
    np.testing.assert_allclose(y.astype(np.float64), want, rtol=2e-3, atol=2e-3)


def test_same_with_dilation_follows_spec():
    # onnxruntime refuses SAME_* with dilations > 1; the spec's formula uses the dilated kernel
    for auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        x, w, b = _arrays((1, 2, 9, 8), (3, 2, 3, 2))
        attrs = {"auto_pad": auto_pad, "dilations": [2, 3], "strides": [2, 1]}
        (y,) = run_onnumba(_model(x, w, b, attrs), {"X": x})
        assert y.shape == (1, 3, 5, 8)
        np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


def test_empty_batch():
    x, w, b = _arrays((0, 3, 5, 5), (2, 3, 3, 3))
    (y,) = run_onnumba(_model(x, w, b, {}), {"X": x})
    assert y.shape == (0, 2, 3, 3)


# ------------------------------------------------------------------------------------ Winograd path

# 3x3 stride-1 dense convs with >= 32 in and out channels run Winograd F(2x2, 3x3) on maps of at least
# _WINOGRAD_MIN_PIXELS outputs; these tests lower that limit so small shapes take the Winograd path too.
@pytest.fixture
def winograd_small_maps(monkeypatch):
    from onnumba.ops.conv import schedule

    monkeypatch.setattr(schedule, "_WINOGRAD_MIN_PIXELS", 1)


WINOGRAD = [
    ((1, 32, 7, 9), (32, 32, 3, 3), {"pads": [1, 1, 1, 1]}),             # odd output sizes: partial 2x2 tiles
    ((2, 33, 6, 5), (40, 33, 3, 3), {"pads": [0, 2, 1, 0]}),             # asymmetric pads, batch 2
    ((1, 32, 3, 3), (32, 32, 3, 3), {}),                                   # a single output pixel
    ((1, 32, 1, 1), (48, 32, 3, 3), {"pads": [1, 1, 1, 1]}),             # input smaller than the tile
    ((1, 32, 8, 8), (32, 32, 3, 3), {"auto_pad": "SAME_LOWER"}),
]


@pytest.mark.parametrize("xs,ws,attrs", WINOGRAD)
@pytest.mark.parametrize("w_const", [True, False], ids=["w_const", "w_input"])
def test_winograd_matches_ort(xs, ws, attrs, w_const, winograd_small_maps):
    x, w, b = _arrays(xs, ws)
    feeds = {"X": x} if w_const else {"X": x, "W": w, "B": b}
    (y,) = assert_matches_ort(_model(x, w, b, attrs, w_const=w_const), feeds)
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


def test_winograd_weights_transformed_once_at_plan_time(winograd_small_maps):
    x, w, b = _arrays((1, 32, 6, 6), (32, 32, 3, 3))
    _, attrs = bind_single_node(_model(x, w, b, {"pads": [1, 1, 1, 1]}), {"X": x})
    assert attrs.winograd_u is not None and attrs.winograd_u.shape == (16, 32, 32)


def test_small_maps_use_im2col_not_winograd():
    """At 7x7 (49 outputs) the 2x2 tiles are too few to fill the GEMM: im2col is twice as fast there."""
    x, w, b = _arrays((1, 32, 7, 7), (32, 32, 3, 3))
    sess = onnumba.InferenceSession(_model(x, w, b, {"pads": [1, 1, 1, 1]}).SerializeToString())
    (step,) = sess.get_plan()
    assert step.algorithm == "im2col-smallmap"
    np.testing.assert_allclose(sess.run(None, {"X": x})[0], _ref(x, w, b, {"pads": [1, 1, 1, 1]}), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("dtype", [np.float64, np.float16])
def test_winograd_other_dtypes(dtype, winograd_small_maps):
    x, w, b = _arrays((1, 32, 6, 7), (32, 32, 3, 3), dtype)
    attrs = {"pads": [1, 0, 1, 2]}
    (y,) = run_onnumba(_model(x, w, b, attrs), {"X": x})
    assert y.dtype == dtype
    tol = 1e-10 if dtype == np.float64 else 5e-2
    np.testing.assert_allclose(y.astype(np.float64), _ref(x, w, b, attrs), rtol=tol, atol=tol)


EPILOGUES = [
    (Epilogue.of("Relu"), lambda v: np.maximum(v, 0)),
    (Epilogue.of("LeakyRelu", 0.2), lambda v: np.where(v >= 0, v, 0.2 * v)),
    (Epilogue.of("Clip", -0.5, 0.7), lambda v: np.clip(v, -0.5, 0.7)),
]


@pytest.mark.parametrize("ep,fn", EPILOGUES)
def test_winograd_fused_activation(ep, fn, winograd_small_maps):
    x, w, b = _arrays((2, 32, 5, 6), (32, 32, 3, 3))
    y = conv_nchw(x, w, b, (1, 1), (1, 1), (1, 1), (1, 1), 1, ep)
    np.testing.assert_allclose(y, fn(ref_conv(x, w, b, pads=[1, 1, 1, 1])), rtol=1e-4, atol=1e-4)
    y2 = conv_nchw(x, w, b, (1, 1), (1, 1), (1, 1), (1, 1), 1, ep, winograd=False)
    np.testing.assert_allclose(y, y2, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------------ fused epilogue

@pytest.mark.parametrize("ws,group", [((6, 4, 3, 3), 1), ((4, 4, 1, 1), 1), ((8, 1, 3, 3), 4)])
@pytest.mark.parametrize("ep,fn", EPILOGUES)
def test_fused_activation(ws, group, ep, fn):
    x, w, b = _arrays((2, 4, 7, 6), ws)
    y = conv_nchw(x, w, b, (1, 1), (1, 1), (1, 0), (0, 1), group, ep)
    want = fn(ref_conv(x, w, b, pads=[1, 0, 0, 1], group=group))
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


def test_fused_activation_through_attrs():
    x, w, b = _arrays((1, 3, 6, 6), (4, 3, 3, 3))
    node, attrs = bind_single_node(_model(x, w, b, {"pads": [1, 1, 1, 1]}), {"X": x})
    attrs = replace(attrs, activation="leakyrelu", alpha=0.1)
    (y,) = Conv.run(node, attrs, [x, w, b])
    v = ref_conv(x, w, b, pads=[1, 1, 1, 1])
    np.testing.assert_allclose(y, np.where(v >= 0, v, 0.1 * v), rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------------ errors

ERRORS = [
    ((1, 3, 5, 5), (2, 3, 3, 3), {"strides": [0, 1]}, r"attribute 'strides'.*\[1, 2147483647\]"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"dilations": [1, -1]}, r"attribute 'dilations'"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"strides": [1, 1, 1]}, r"attribute 'strides'.*expected 2 values"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"pads": [1, 1, 1]}, r"attribute 'pads'.*expected 4 values"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"pads": [1, -1, 1, 1]}, r"attribute 'pads'.*\[0, 2147483647\]"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"pads": [2 ** 40, 0, 0, 0]}, r"Node 'n0' \(Conv\), attribute 'pads'"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"kernel_shape": [3, 2]}, r"attribute 'kernel_shape'.*does not match W"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"auto_pad": "SAME"}, r"attribute 'auto_pad'"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"group": 0}, r"attribute 'group'.*>= 1"),
    ((1, 4, 5, 5), (2, 2, 3, 3), {"group": 3}, r"attribute 'group'.*does not divide the 4 input channels"),
    ((1, 4, 5, 5), (3, 2, 3, 3), {"group": 2}, r"attribute 'group'.*does not divide the 3 output channels"),
    ((1, 4, 5, 5), (2, 4, 3, 3), {"group": 2},
     r"input 1 'W': expected shape .* = \(2, 2, 3, 3\) with C/group=2.*got \(2, 4, 3, 3\)"),
    ((1, 3, 5, 5), (2, 3, 3), {}, r"input 1 'W': expected rank 4"),
    ((1, 3, 2, 5), (2, 3, 3, 3), {}, r"attribute 'kernel_shape'.*larger than the padded input"),
    ((1, 3, 5, 5), (2, 3, 3, 3), {"dilations": [3, 1]}, r"larger than the padded input"),
    ((3, 5), (2, 3), {}, r"input 0 'X'.*rank >= 3"),
    ((1, 1, 2, 2, 2, 2), (1, 1, 1, 1, 1, 1), {}, r"1 to 3 spatial axes"),
]


@pytest.mark.parametrize("xs,ws,attrs,match", ERRORS)
def test_errors(xs, ws, attrs, match):
    x, w, _ = _arrays(xs, ws)
    model = _model(x, w, None, attrs)
    model.graph.node[0].name = "n0"
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(model.SerializeToString())


def test_error_bias_shape():
    x, w, _ = _arrays((1, 3, 5, 5), (2, 3, 3, 3))
    model = _model(x, w, np.zeros(3, np.float32), {})
    with pytest.raises(onnumba.ModelError, match=r"input 2 'B': expected shape \(2,\).*got \(3,\)"):
        onnumba.InferenceSession(model.SerializeToString())


def test_error_dtype_mismatch():
    x, w, _ = _arrays((1, 3, 5, 5), (2, 3, 3, 3))
    model = _model(x, w.astype(np.float64), None, {})
    with pytest.raises(onnumba.ModelError, match=r"input 1 'W': element type float64 differs"):
        onnumba.InferenceSession(model.SerializeToString())


# ------------------------------------------------------------------------------------ properties

@st.composite
def conv_cases(draw):
    nsp = draw(st.integers(1, 3))
    group = draw(st.sampled_from([1, 1, 2, 3]))
    depthwise = draw(st.booleans())
    cg = 1 if depthwise else draw(st.integers(1, 3))
    mg = draw(st.integers(1, 3))
    C, M = cg * group, mg * group
    kernel = [draw(st.integers(1, 3)) for _ in range(nsp)]
    strides = [draw(st.integers(1, 3)) for _ in range(nsp)]
    dil = [draw(st.integers(1, 2)) for _ in range(nsp)]
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    pads = [draw(st.integers(0, 2)) for _ in range(2 * nsp)]
    ext = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    lo = [max(1, e - (0 if auto_pad in ("VALID", "SAME_UPPER", "SAME_LOWER") else pads[i] + pads[i + nsp]))
          for i, e in enumerate(ext)]
    sizes = [draw(st.integers(lo[i], lo[i] + (8 if nsp < 3 else 4))) for i in range(nsp)]
    if auto_pad == "VALID":
        sizes = [max(s, e) for s, e in zip(sizes, ext)]
    n = draw(st.integers(1, 2))
    attrs = {"group": group, "strides": strides, "dilations": dil}
    if auto_pad == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto_pad
    bias = draw(st.booleans())
    seed = draw(st.integers(0, 2 ** 16))
    return (n, C) + tuple(sizes), (M, cg) + tuple(kernel), attrs, bias, seed


def _check_case(case):
    xs, ws, attrs, bias, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs).astype(np.float32)
    w = rng.standard_normal(ws).astype(np.float32)
    b = rng.standard_normal(ws[0]).astype(np.float32) if bias else None
    model = _model(x, w, b, attrs)
    want = _ref(x, w, b, attrs)
    if attrs.get("auto_pad", "NOTSET").startswith("SAME") and any(d > 1 for d in attrs["dilations"]):
        # onnxruntime refuses SAME_* with dilation: the numpy reference (spec formula) is the judge
        (y,) = run_onnumba(model, {"X": x})
    else:
        (y,) = assert_matches_ort(model, {"X": x})
    np.testing.assert_allclose(y, want, rtol=1e-4, atol=1e-4)


@given(conv_cases())
def test_property_matches_ort_and_reference(case):
    _check_case(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(conv_cases())
def test_property_matches_ort_and_reference_slow(case):
    _check_case(case)


# maps of <= _SMALLN_MAX_PIXELS outputs take the small-map path (B packed once per image, chunks split the
# output channels); with the limit at 0 the same shapes take the column-tiled 1x1 / im2col kernels
@pytest.fixture(params=["small_map_path", "tiled_path"])
def smalln_limit(request, monkeypatch):
    from onnumba.ops.conv import schedule

    if request.param == "tiled_path":
        monkeypatch.setattr(schedule, "_SMALLN_MAX_PIXELS", 0)
    return request.param


SMALLN = [
    ((2, 300, 7, 7), (37, 300, 1, 1), {}),                                  # 1x1, K over two K blocks, batch 2
    ((1, 40, 5, 9), (20, 40, 3, 3), {"pads": [1, 0, 1, 2]}),               # im2col, asymmetric pads
    ((1, 16, 9, 9), (33, 16, 1, 1), {"strides": [2, 2]}),                  # strided 1x1 gather
    ((1, 8, 20, 20), (9, 8, 2, 2), {"strides": [1, 1], "dilations": [2, 2]}),  # 361 outputs, dilated
]


@pytest.mark.parametrize("xs,ws,attrs", SMALLN)
def test_small_map_and_tiled_paths_match_ort(xs, ws, attrs, smalln_limit):
    x, w, b = _arrays(xs, ws)
    (y,) = assert_matches_ort(_model(x, w, b, attrs), {"X": x})
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xs, k, attrs", [
    ((1, 48, 13, 13), 1, {}),                                     # 1x1: plain GEMM
    ((1, 3, 30, 30), 3, {"strides": [2, 2], "pads": [1] * 4}),    # im2col
    ((2, 40, 11, 10), 3, {"pads": [1] * 4}),                      # Winograd (110 outputs >= the minimum)
    ((1, 300, 6, 6), 1, {}),                                      # 1x1 with two K blocks
])
def test_identical_weights_give_identical_channels(xs, k, attrs, smalln_limit):
    # squeezenet's constant-filled weights: output channels with equal weights must be bitwise equal wherever
    # they fall in the GEMM's register tiles (its stored softmax output needs exactly equal logits of ~1e10)
    x = RNG.standard_normal(xs).astype(np.float32) * 100
    M = 37
    w = np.broadcast_to(RNG.standard_normal((1, xs[1], k, k)).astype(np.float32), (M, xs[1], k, k)).copy()
    b = np.full(M, 0.25, np.float32)
    y = run_onnumba(_model(x, w, b, {"kernel_shape": [k, k], **attrs}), {"X": x})[0]
    assert np.array_equal(y, np.broadcast_to(y[:, :1], y.shape))


def test_small_convs_run_serially_large_ones_in_parallel():
    from onnumba.ops.conv import run_serially

    # shufflenet's grouped 1x1 at 14x14 and depthwise 3x3 at 7x7: too small to repay waking a second thread
    assert run_serially((1, 272, 14, 14), (272, 68, 1, 1), 4, (1, 1), (0, 0, 0, 0), (14, 14))
    assert run_serially((1, 544, 7, 7), (544, 1, 3, 3), 544, (1, 1), (1, 1, 1, 1), (7, 7))
    # a 7x7 stem, a large 1x1, a depthwise conv on a large map, a classifier as a 1x1 conv on a 1x1 map
    assert not run_serially((1, 3, 224, 224), (64, 3, 7, 7), 1, (2, 2), (3, 3, 3, 3), (112, 112))
    assert not run_serially((1, 256, 56, 56), (128, 256, 1, 1), 1, (1, 1), (0, 0, 0, 0), (56, 56))
    assert not run_serially((1, 112, 56, 56), (112, 1, 3, 3), 112, (2, 2), (1, 1, 1, 1), (28, 28))
    assert not run_serially((1, 4096, 1, 1), (1000, 4096, 1, 1), 1, (1, 1), (0, 0, 0, 0), (1, 1))
    # a squeeze-excitation 1x1 on a 1x1 map streams its weights once: serial
    assert run_serially((1, 1152, 1, 1), (48, 1152, 1, 1), 1, (1, 1), (0, 0, 0, 0), (1, 1))


@pytest.mark.parametrize("xs,ws,attrs", [
    ((1, 16, 9, 9), (16, 4, 1, 1), {"group": 4}),
    ((1, 12, 8, 8), (12, 1, 3, 3), {"group": 12, "pads": [1, 1, 1, 1]}),
])
def test_serial_conv_at_two_threads_matches_and_restores_threads(xs, ws, attrs):
    import numba

    x, w, b = _arrays(xs, ws)
    model = _model(x, w, b, attrs)
    opts = onnumba.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = onnumba.InferenceSession(model.SerializeToString(), opts)
    before = numba.get_num_threads()
    (y,) = sess.run(None, {"X": x})
    assert numba.get_num_threads() == before
    np.testing.assert_allclose(y, _ref(x, w, b, attrs), rtol=1e-4, atol=1e-4)


def test_serial_run_restores_thread_count_even_on_error():
    import numba

    from onnumba.ops.conv import ConvAttrs
    from onnumba.ops._geometry import Padding

    x, w, b = _arrays((1, 4, 5, 5), (4, 4, 1, 1))
    attrs = ConvAttrs(kernel_shape=(1, 1), strides=(1, 1), dilations=(1, 1), padding=Padding((0, 0), (0, 0)),
                      out_sizes=(5, 5), serial=True)
    saved = numba.get_num_threads()
    before = min(2, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(before)
    try:
        (y,) = Conv.run(None, attrs, [x, w, b])
        assert numba.get_num_threads() == before
        np.testing.assert_allclose(y, _ref(x, w, b, {}), rtol=1e-4, atol=1e-4)
        with pytest.raises(AttributeError):
            Conv.run(None, attrs, [x, None, b])
        assert numba.get_num_threads() == before
    finally:
        numba.set_num_threads(saved)


# ------------------------------------------------------------------------------------ epilogue interface, plan view

def test_attrs_epilogue_and_compatibility_fields():
    from onnumba.ops.conv import ConvAttrs

    a = ConvAttrs()
    assert a.epilogue == Epilogue() and (a.activation, a.alpha, a.clip_min, a.clip_max) == ("none", 0.01, -np.inf,
                                                                                             np.inf)
    # the old fields still set the epilogue through dataclasses.replace, and survive unrelated replaces
    b = replace(a, activation="leakyrelu", alpha=0.2)
    assert b.epilogue == Epilogue.of("LeakyRelu", 0.2) and replace(b, group=2).epilogue == b.epilogue
    c = Conv.with_epilogue(b, Epilogue.of("Clip", 0.0, 6.0))
    assert (c.activation, c.clip_min, c.clip_max) == ("clip", 0.0, 6.0)
    assert replace(c, padding=None).epilogue == Epilogue.of("Clip", 0.0, 6.0)
    with pytest.raises(ValueError, match="unknown fused activation"):
        replace(a, activation="gelu")
    with pytest.raises(TypeError, match="expected an Epilogue"):
        Conv.with_epilogue(a, "relu")


def test_with_epilogue_on_bound_attrs_runs_fused():
    x, w, b = _arrays((1, 3, 6, 6), (4, 3, 3, 3))
    node, attrs = bind_single_node(_model(x, w, b, {"pads": [1, 1, 1, 1]}), {"X": x})
    attrs = Conv.with_epilogue(attrs, Epilogue.of("Clip", -0.5, 0.5))
    (y,) = Conv.run(node, attrs, [x, w, b])
    np.testing.assert_allclose(y, np.clip(ref_conv(x, w, b, pads=[1, 1, 1, 1]), -0.5, 0.5), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("xs,ws,attrs,want", [
    ((1, 8, 9, 9), (8, 1, 3, 3), {"group": 8, "pads": [1] * 4}, "depthwise"),
    ((1, 1, 9, 9), (4, 1, 3, 3), {}, "direct"),
    ((1, 32, 12, 12), (32, 32, 3, 3), {"pads": [1] * 4}, "winograd"),
    ((1, 32, 7, 7), (32, 32, 3, 3), {"pads": [1] * 4}, "im2col-smallmap"),   # too few pixels for Winograd
    ((1, 8, 30, 30), (4, 8, 1, 1), {}, "1x1"),
    ((1, 8, 9, 9), (4, 8, 1, 1), {}, "1x1-smallmap"),
    ((1, 3, 60, 60), (8, 3, 3, 3), {"strides": [2, 2]}, "im2col"),
    ((1, 8, 9, 9), (8, 2, 3, 3), {"group": 4}, "im2col"),                    # grouped: no small-map path
    ((1, 40, 4, 4), (40, 1, 3, 3), {"group": 40, "pads": [1] * 4}, "depthwise-channels"),
    ((1, 40, 4, 4), (80, 1, 3, 3), {"group": 40, "pads": [1] * 4}, "depthwise"),  # multiplier 2
    ((1, 64, 1, 1), (16, 64, 1, 1), {}, "1x1-gemv"),
    ((2, 64, 1, 2), (16, 64, 1, 1), {}, "1x1-gemv"),
    ((2, 64, 1, 3), (16, 64, 1, 1), {}, "1x1-smallmap"),                      # 6 columns: past the GEMV limit
    ((1, 64, 1, 1), (64, 16, 3, 3), {"group": 4, "pads": [1] * 4}, "patch-dot"),
])
def test_bound_algorithm(xs, ws, attrs, want):
    x, w, b = _arrays(xs, ws)
    (step,) = onnumba.InferenceSession(_model(x, w, b, attrs).SerializeToString()).get_plan({"X": x.shape})
    assert step.algorithm == want


# late mobile-net layers: depthwise convs on maps of a few pixels (vectorised across channels) and 1x1 convs on
# 1x1 maps (dot products, the squeeze-excitation convs)
@pytest.mark.parametrize("xs,ws,attrs", [
    ((1, 70, 1, 1), (70, 1, 5, 5), {"group": 70, "pads": [2] * 4}),
    ((2, 33, 2, 2), (33, 1, 3, 3), {"group": 33, "pads": [1] * 4}),
    ((1, 300, 7, 7), (300, 1, 5, 5), {"group": 300, "strides": [2, 2], "pads": [2] * 4}),
    ((1, 20, 5, 6), (20, 1, 3, 3), {"group": 20, "strides": [2, 2], "dilations": [2, 1], "pads": [1, 0, 2, 1]}),
    ((1, 9, 3, 3), (9, 1, 1, 2), {"group": 9}),
    ((1, 1152, 1, 1), (48, 1152, 1, 1), {}),
    ((2, 48, 1, 1), (1152, 48, 1, 1), {}),
    ((1, 96, 2, 2), (200, 96, 1, 1), {}),
    ((1, 7, 1, 1), (3, 7, 1, 1), {}),
    ((1, 64, 1, 1), (64, 16, 3, 3), {"group": 4, "pads": [1] * 4}),          # regnet: grouped 3x3 on 1x1
    ((1, 40, 3, 3), (20, 8, 3, 3), {"group": 5, "strides": [2, 2], "pads": [1, 0, 1, 1]}),
    ((2, 6, 2, 2), (4, 6, 2, 2), {}),
    ((1, 6, 5, 4), (4, 3, 2, 2), {"group": 2, "dilations": [3, 2], "strides": [2, 2]}),
])
@pytest.mark.parametrize("ep,fn", [(None, None), ("HardSwish", lambda v: v * np.clip(v / 6 + 0.5, 0, 1))])
def test_small_map_depthwise_and_gemv_match_ort(xs, ws, attrs, ep, fn):
    from onnumba.ops.conv.dispatch import conv_nchw
    from onnumba.ops.kernels.epilogue import Epilogue

    x, w, b = _arrays(xs, ws)
    ref = _ref(x, w, b, attrs)
    (y,) = assert_matches_ort(_model(x, w, b, attrs), {"X": x})
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
    if ep is not None:
        p = attrs.get("pads", [0] * 4)
        y = conv_nchw(x, w, b, attrs.get("strides"), attrs.get("dilations"), p[:2], p[2:], attrs.get("group", 1),
                      Epilogue.of(ep, 1 / 6, 0.5))
        np.testing.assert_allclose(y, fn(ref), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("fed", [False, True])
@pytest.mark.parametrize("group", [1, 2])
def test_inf_weight_meets_zero_padding_as_the_spec_says(fed, group):
    """Zero padding multiplies like any input (the spec, onnx.reference and onnxruntime): an Inf weight on a padded
    tap gives 0 * Inf = NaN at the border, not a skipped tap. Depthwise / direct / Winograd kernels skip padded
    taps, so such a conv runs im2col (constant W: chosen at bind; fed W: checked at run)."""
    from onnx.reference import ReferenceEvaluator

    from tests.helpers import make_node_model, run_onnumba

    x = np.arange(1, 1 + 2 * 6 * 6, dtype=np.float32).reshape(1, 2, 6, 6)
    w = np.ones((2, 2 // group, 3, 3), np.float32)
    w[0, 0, 0, 0] = np.inf
    m = make_node_model("Conv", {"x": x, "w": w}, ["y"], {"pads": [1, 1, 1, 1], "group": group},
                        initializers={} if fed else {"w": w})
    feeds = {"x": x, "w": w} if fed else {"x": x}
    (ours,) = run_onnumba(m, feeds)
    (ref,) = ReferenceEvaluator(m).run(None, feeds)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
    assert np.isnan(ours[0, 0, 0]).all() and np.isnan(ours[0, 0, :, 0]).all()  # the top row and left column
    np.testing.assert_allclose(ours[~np.isnan(ours)], ref[~np.isnan(ref)], rtol=1e-5)
