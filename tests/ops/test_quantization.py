"""QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear: tables vs a per-element spec reference, pinned rounding,
saturation and NaN cases, errors, onnxruntime, hypothesis. (The integer matmul / conv ops: test_quantized_linear.py.)"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, run_ort
from tests.reference.quantization import dequantize_ref, dynamic_quantize_ref, quantize_ref

RNG = np.random.default_rng(0)


def q_model(op, x, scale, zp=None, opset=21, **attrs):
    inputs = {"x": np.asarray(x), "s": np.asarray(scale)}
    if zp is not None:
        inputs["z"] = np.asarray(zp)
    return make_node_model(op, inputs, ["y"], attrs, opset=opset)


def feeds(x, scale, zp=None):
    f = {"x": np.asarray(x), "s": np.asarray(scale)}
    if zp is not None:
        f["z"] = np.asarray(zp)
    return f


def rand_int(shape, dtype, rng=RNG):
    info = np.iinfo(dtype)
    return np.asarray(rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype))


# ------------------------------------------------------------------------------------------ QuantizeLinear

# (x shape, scale shape, axis, block_size, zp dtype or None)
Q_TABLE = [
    ((2, 3, 4), (), 1, 0, np.uint8),  # per tensor
    ((2, 3, 4), (1,), 1, 0, np.int8),  # a one-element 1-d scale is per tensor
    ((2, 6), (), 1, 3, np.uint8),  # a scalar scale is per tensor even with block_size
    ((2, 3, 4), (3,), 1, 0, np.int8),  # per axis
    ((2, 3, 4), (4,), -1, 0, np.uint16),
    ((5, 2), (5,), 0, 0, np.int16),
    ((7,), (), 1, 0, np.uint8),  # rank 1 with the default axis 1: per tensor, axis unused
    ((2, 6), (2, 3), 1, 2, np.int8),  # blocked
    ((2, 7), (2, 3), 1, 3, np.uint8),  # blocked, short last block
    ((6, 2, 3), (2, 2, 3), 0, 4, np.int16),  # blocked along axis 0 with a short block
    ((2, 3, 4), (), 1, 0, None),  # no zero point: uint8
    # no zero point with a per-axis or blocked scale: the default zero point must cover every scale
    ((2, 3, 4), (3,), 1, 0, None),
    ((3, 4), (3, 2), 1, 2, None),
]


@pytest.mark.parametrize("xs,ss,axis,bs,zdt", Q_TABLE)
def test_quantize_table_vs_reference(xs, ss, axis, bs, zdt):
    x = (RNG.standard_normal(xs) * 300).astype(np.float32)
    s = RNG.uniform(0.5, 4.0, ss).astype(np.float32)
    zp = None if zdt is None else rand_int(ss, zdt) // 4
    attrs = {"axis": axis} if not bs else {"axis": axis, "block_size": bs}
    (y,) = run_onnumba(q_model("QuantizeLinear", x, s, zp, **attrs), feeds(x, s, zp))
    ref = quantize_ref(x, s, zp, axis=axis, block_size=bs)
    assert y.dtype == ref.dtype
    np.testing.assert_array_equal(y, ref)


def test_quantize_rounds_half_to_even_and_saturates():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.4999, 1000, -1000, np.inf, -np.inf], np.float32)
    zp = np.array(0, np.int8)
    (y,) = run_onnumba(q_model("QuantizeLinear", x, np.array(1, np.float32), zp), feeds(x, np.float32(1), zp))
    np.testing.assert_array_equal(y, [0, 2, 2, 0, -2, -2, 3, 127, -128, 127, -128])


@pytest.mark.parametrize("zp", [np.array(10, np.uint8), np.array(-3, np.int8)])
def test_quantize_nan_saturates_low_like_onnxruntime(zp):
    # the spec leaves NaN undefined; onnxruntime gives the range's low end, and so do we
    x = np.array([np.nan, 1.5, -0.5], np.float32)
    m = q_model("QuantizeLinear", x, np.array(1, np.float32), zp, opset=19)
    (y,) = run_onnumba(m, feeds(x, np.array(1, np.float32), zp))
    np.testing.assert_array_equal(y, run_ort(m, feeds(x, np.array(1, np.float32), zp))[0])
    assert y[0] == np.iinfo(zp.dtype).min


def test_quantize_zero_point_added_after_rounding():
    # round(x / s) + zp, not round(x / s + zp): 0.5 -> 0 then + 1 = 1 (round(1.5) would be 2)
    x = np.array([0.5, 2.5], np.float32)
    zp = np.array(1, np.uint8)
    (y,) = run_onnumba(q_model("QuantizeLinear", x, np.array(1, np.float32), zp), feeds(x, np.float32(1), zp))
    np.testing.assert_array_equal(y, [1, 3])


def test_quantize_float16_and_int32_inputs():
    x = np.array([-3.0, 0.25, 7.5, 1000.0], np.float16)
    s = np.array(0.5, np.float16)
    zp = np.array(3, np.int8)
    (y,) = run_onnumba(q_model("QuantizeLinear", x, s, zp), feeds(x, s, zp))
    np.testing.assert_array_equal(y, quantize_ref(x, s, zp, work=np.float16))
    xi = np.array([-7, 0, 9, 100000], np.int32)
    si = np.array(2.0, np.float32)
    (y,) = run_onnumba(q_model("QuantizeLinear", xi, si, zp), feeds(xi, si, zp))
    np.testing.assert_array_equal(y, [-1, 3, 7, 127])  # -3.5 -> -4, 4.5 -> 4 (half to even)


def test_quantize_output_dtype_and_precision_attributes():
    x = np.array([-40000.0, -1.0, 70000.0], np.float32)
    s = np.array(1.0, np.float32)
    (y,) = run_onnumba(q_model("QuantizeLinear", x, s, output_dtype=TensorProto.INT16), feeds(x, s))
    assert y.dtype == np.int16
    np.testing.assert_array_equal(y, [-32768, -1, 32767])
    # precision=FLOAT16: 2049 / 1 is 2048 in float16
    x = np.array([2049.0], np.float32)
    (y,) = run_onnumba(q_model("QuantizeLinear", x, s, opset=23, output_dtype=TensorProto.UINT16,
                               precision=TensorProto.FLOAT16), feeds(x, s))
    np.testing.assert_array_equal(y, [2048])


@pytest.mark.parametrize("opset,xs,ss,axis,bs,zdt", [
    (10, (3, 4), (), 1, 0, np.uint8), (13, (2, 3, 4), (3,), 1, 0, np.int8), (19, (4, 3), (3,), -1, 0, np.uint8),
    (21, (2, 8), (2, 2), 1, 4, np.int8), (21, (3, 4), (), 1, 0, np.int16), (21, (3, 4), (4,), 1, 0, np.uint16)])
def test_quantize_vs_onnxruntime(opset, xs, ss, axis, bs, zdt):
    x = (RNG.standard_normal(xs) * 100).astype(np.float32)
    s = RNG.uniform(0.5, 2.0, ss).astype(np.float32)
    zp = rand_int(ss, zdt) // 2
    attrs = {} if opset == 10 else {"axis": axis}
    if bs:
        attrs["block_size"] = bs
    assert_matches_ort(q_model("QuantizeLinear", x, s, zp, opset=opset, **attrs), feeds(x, s, zp), atol=0)


# ---------------------------------------------------------------------------------------- DequantizeLinear

@pytest.mark.parametrize("xs,ss,axis,bs,dt", [
    ((2, 3, 4), (), 1, 0, np.uint8), ((2, 3, 4), (3,), 1, 0, np.int8), ((2, 3, 4), (4,), -1, 0, np.int16),
    ((4, 5), (4,), 0, 0, np.uint16), ((2, 7), (2, 3), 1, 3, np.int8), ((2, 3), (), 1, 0, np.int32)])
def test_dequantize_table_vs_reference(xs, ss, axis, bs, dt):
    x = rand_int(xs, dt)
    s = RNG.uniform(0.01, 2.0, ss).astype(np.float32)
    zp = None if dt == np.int32 else rand_int(ss, dt)
    attrs = {"axis": axis, **({"block_size": bs} if bs else {})}
    (y,) = run_onnumba(q_model("DequantizeLinear", x, s, zp, **attrs), feeds(x, s, zp))
    np.testing.assert_array_equal(y, dequantize_ref(x, s, zp, axis=axis, block_size=bs))
    assert y.dtype == np.float32


def test_dequantize_float16_scale_and_output_dtype():
    x = np.array([-128, 0, 5, 127], np.int8)
    zp = np.array(1, np.int8)
    s16 = np.array(0.125, np.float16)
    (y,) = run_onnumba(q_model("DequantizeLinear", x, s16, zp), feeds(x, s16, zp))
    assert y.dtype == np.float16
    np.testing.assert_array_equal(y, np.array([-16.125, -0.125, 0.5, 15.75], np.float16))
    s = np.array(0.125, np.float32)
    (y,) = run_onnumba(q_model("DequantizeLinear", x, s, zp, opset=23, output_dtype=TensorProto.FLOAT16),
                       feeds(x, s, zp))
    assert y.dtype == np.float16


@pytest.mark.parametrize("opset,xs,ss,axis,bs,dt", [
    (10, (3, 4), (), 1, 0, np.uint8), (13, (2, 3, 4), (3,), 1, 0, np.int8), (19, (2, 3), (), 1, 0, np.int32),
    (21, (2, 8), (2, 2), 1, 4, np.uint8), (21, (3, 4), (4,), -1, 0, np.int16), (21, (3, 4), (), 1, 0, np.uint16)])
def test_dequantize_vs_onnxruntime(opset, xs, ss, axis, bs, dt):
    x = rand_int(xs, dt)
    s = RNG.uniform(0.01, 2.0, ss).astype(np.float32)
    zp = None if dt == np.int32 else rand_int(ss, dt)
    attrs = {} if opset == 10 else {"axis": axis, **({"block_size": bs} if bs else {})}
    assert_matches_ort(q_model("DequantizeLinear", x, s, zp, opset=opset, **attrs), feeds(x, s, zp), rtol=1e-6)


# ------------------------------------------------------------------------------------------------- errors

def _err(model, f, match, exc=onnumba.errors.ModelError):
    with pytest.raises(exc, match=match):
        run_onnumba(model, f)


def test_quantize_errors():
    x = np.zeros((2, 3), np.float32)
    s3, z2 = np.ones(3, np.float32), np.zeros(2, np.uint8)
    _err(q_model("QuantizeLinear", x, s3, np.zeros(3, np.uint8), axis=0), feeds(x, s3, np.zeros(3, np.uint8)),
         r"input 1 's'.*per-axis scale of length 3 does not match input shape \(2, 3\) along axis 0 \(2\)")
    _err(q_model("QuantizeLinear", x, s3, z2), feeds(x, s3, z2),
         r"input 2 'z'.*shape \(2\) differs from the scale's \(3\)")
    s22 = np.ones((2, 2), np.float32)
    s21 = np.ones((2, 1), np.float32)
    _err(q_model("QuantizeLinear", x, s21, block_size=2), feeds(x, s21),
         r"shape \(2, 1\) does not fit input shape \(2, 3\) blocked by block_size=2 along axis 1; expected \(2, 2\)")
    _err(q_model("QuantizeLinear", x, s22), feeds(x, s22), r"expected a scalar or a 1-d tensor \(per axis\), or "
         r"the input's rank with block_size set \(blocked\), got shape \(2, 2\)")
    _err(q_model("QuantizeLinear", x, s3, axis=5), feeds(x, s3), r"attribute 'axis'.*axis 5 is out of range")
    _err(q_model("QuantizeLinear", x, np.float32(1), np.uint8(0), output_dtype=TensorProto.INT8),
         feeds(x, np.float32(1), np.uint8(0)), r"element type uint8 differs from output_dtype int8")
    _err(q_model("QuantizeLinear", x, np.float32(1), output_dtype=TensorProto.FLOAT),
         feeds(x, np.float32(1)), r"attribute 'output_dtype'.*element type FLOAT is not supported")
    _err(q_model("QuantizeLinear", x, np.float32(1), block_size=-1), feeds(x, np.float32(1)),
         r"attribute 'block_size'.*must be >= 0")


def test_dequantize_refuses_float8_and_int4_clearly():
    import ml_dtypes

    x = np.zeros(3, ml_dtypes.float8_e4m3fn)
    m = q_model("DequantizeLinear", x, np.float32(1))
    _err(m, feeds(x, np.float32(1)), r"input 0 'x'.*element type float8_e4m3fn is not supported \(onnumba does "
         r"not compute float8, float4, float6, bfloat16, int4 or int2 values\)")
    x = np.zeros(3, np.float32)
    _err(q_model("QuantizeLinear", x, np.float32(1), np.zeros((), ml_dtypes.int4)),
         feeds(x, np.float32(1), np.zeros((), ml_dtypes.int4)), r"input 2 'z'.*element type int4 is not supported")


# ----------------------------------------------------------------------------------- DynamicQuantizeLinear

def dq_model(x):
    return make_node_model("DynamicQuantizeLinear", {"x": x}, ["y", "s", "z"], opset=11)


@pytest.mark.parametrize("x", [
    np.array([[0.0, 2.0, -3.0, -2.5], [1.34, 0.5, -4.0, 9.0]], np.float32),
    np.array([1.0, 2.0, 3.0], np.float32),  # all positive: min clamps to 0, zero point 0
    np.array([-1.0, -2.0, -3.0], np.float32),  # all negative: zero point 255
    RNG.standard_normal((3, 5)).astype(np.float32) * 10])
def test_dynamic_quantize_vs_reference_and_ort(x):
    y, s, z = run_onnumba(dq_model(x), {"x": x})
    ry, rs, rz = dynamic_quantize_ref(x)
    np.testing.assert_array_equal(y, ry)
    assert s == rs and z == rz and s.dtype == np.float32 and z.dtype == np.uint8
    assert_matches_ort(dq_model(x), {"x": x}, atol=0, rtol=1e-7)


def test_dynamic_quantize_all_zero_input_has_scale_one():
    # the spec's scale would be 0 / 255; onnxruntime uses 1 and so do we
    x = np.zeros((2, 3), np.float32)
    y, s, z = run_onnumba(dq_model(x), {"x": x})
    assert s == 1 and z == 0 and not y.any()
    assert_matches_ort(dq_model(x), {"x": x}, atol=0)


def test_dynamic_quantize_nan_is_ignored_by_the_range_like_onnxruntime():
    x = np.array([np.nan, 1.0, -2.0, 3.0], np.float32)
    y, s, z = run_onnumba(dq_model(x), {"x": x})
    assert z == 102 and y[0] == 0  # range [-2, 3]; NaN saturates to 0
    assert_matches_ort(dq_model(x), {"x": x}, atol=0, rtol=1e-7)


# ------------------------------------------------------------------------------------------- hypothesis
@st.composite
def quant_cases(draw):
    rank = draw(st.integers(1, 3))
    shape = [draw(st.integers(1, 5)) for _ in range(rank)]
    axis = draw(st.integers(-rank, rank - 1))
    mode = draw(st.sampled_from(["tensor", "axis", "block"]))
    bs = draw(st.integers(1, 4)) if mode == "block" else 0
    if mode == "tensor":
        ss = ()
    elif mode == "axis":
        ss = (shape[axis],)
    else:
        ss = tuple(-(-d // bs) if k == axis % rank else d for k, d in enumerate(shape))
    dt = draw(st.sampled_from([np.int8, np.uint8, np.int16, np.uint16]))
    return shape, ss, axis, bs, dt, draw(st.integers(0, 2 ** 16))


def _check_quant_case(case):
    shape, ss, axis, bs, dt, seed = case
    rng = np.random.default_rng(seed)
    # multiples of 0.5 exercise the ties; the scales are powers of two so x / s is exact
    x = (rng.integers(-400, 400, shape) * 0.5).astype(np.float32)
    s = (2.0 ** rng.integers(-2, 3, ss)).astype(np.float32)
    zp = rand_int(ss, dt, rng) // 3
    attrs = {"axis": axis, **({"block_size": bs} if bs else {})}
    (y,) = run_onnumba(q_model("QuantizeLinear", x, s, zp, **attrs), feeds(x, s, zp))
    np.testing.assert_array_equal(y, quantize_ref(x, s, zp, axis=axis, block_size=bs))
    (d,) = run_onnumba(q_model("DequantizeLinear", y, s, zp, **attrs), feeds(y, s, zp))
    np.testing.assert_array_equal(d, dequantize_ref(y, s, zp, axis=axis, block_size=bs))


@given(quant_cases())
def test_hypothesis_quantize_dequantize_vs_reference(case):
    _check_quant_case(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(quant_cases())
def test_hypothesis_quantize_dequantize_vs_reference_slow(case):
    _check_quant_case(case)


def test_empty_inputs():
    x = np.zeros((0, 3), np.float32)
    y, s, z = run_onnumba(dq_model(x), {"x": x})
    assert y.shape == (0, 3) and s == 1 and z == 0
    sc, zp = np.ones(3, np.float32), np.zeros(3, np.int8)
    (q,) = run_onnumba(q_model("QuantizeLinear", x, sc, zp), feeds(x, sc, zp))
    assert q.shape == (0, 3) and q.dtype == np.int8
    (d,) = run_onnumba(q_model("DequantizeLinear", q, sc, zp), feeds(q, sc, zp))
    assert d.shape == (0, 3) and d.dtype == np.float32


def test_quantize_kernel_refuses_a_zero_point_smaller_than_the_scale():
    # the loops index the zero point like the scale, without bounds checks: the wrapper must refuse a mismatch
    from onnumba.ops.kernels.quantize import quantize

    x = np.zeros(12, np.float32)
    with pytest.raises(ValueError, match="zero point"):
        quantize(x, np.ones((3, 2, 1), np.float32), np.zeros((1, 1, 1), np.int64), np.empty(12, np.int16), 4, 1, 2,
                 -32768, 32767)
