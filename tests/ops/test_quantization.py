"""QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv:
tables vs naive references, pinned rounding / saturation / NaN cases, errors, onnxruntime, hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, run_ort
from tests.reference.quantization import (
    conv_integer_ref,
    dequantize_ref,
    dynamic_quantize_ref,
    matmul_integer_ref,
    quantize_ref,
    requantize_ref,
)

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


# ------------------------------------------------------------------------------------------ MatMulInteger

def mmi_model(a, b, azp=None, bzp=None, opset=10):
    inputs = {"a": a, "b": b}
    if azp is not None or bzp is not None:
        inputs["azp" if azp is not None else ""] = azp
    if bzp is not None:
        inputs["bzp"] = bzp
    return make_node_model("MatMulInteger", inputs, ["y"], opset=opset)


def mmi_feeds(a, b, azp=None, bzp=None):
    f = {"a": a, "b": b}
    if azp is not None:
        f["azp"] = azp
    if bzp is not None:
        f["bzp"] = bzp
    return f


# (A shape, B shape, A dtype, B dtype, a_zp shape, b_zp shape); None: no zero point
MMI_TABLE = [
    ((3, 4), (4, 5), np.uint8, np.uint8, (), ()),
    ((3, 4), (4, 5), np.int8, np.int8, None, None),
    ((3, 4), (4, 5), np.uint8, np.int8, (3,), (5,)),  # per row of A, per column of B
    ((2, 3, 4), (4, 2), np.int8, np.uint8, (1,), None),
    ((2, 1, 3, 4), (3, 4, 6), np.uint8, np.uint8, (), (6,)),  # batch broadcasting
    ((2, 3, 4), (2, 4, 5), np.uint8, np.uint8, (2, 3, 1), (2, 1, 5)),  # N-d zero points
    ((4,), (4, 3), np.uint8, np.int8, (), ()),  # 1-d A
    ((2, 4), (4,), np.int8, np.uint8, (), ()),  # 1-d B
    ((0, 4), (4, 3), np.uint8, np.uint8, (), ()),  # empty
    ((3, 0), (0, 2), np.uint8, np.uint8, None, None),  # K = 0: zeros
]


def _zp_arrays(a, b, zs_a, zs_b):
    azp = None if zs_a is None else rand_int(zs_a, a.dtype)
    bzp = None if zs_b is None else rand_int(zs_b, b.dtype)
    return azp, bzp


def _ref_zp(zp, shape, kind):
    """A zero point shaped to broadcast against A (kind 'row') or B ('col'), as the op reads it."""
    if zp is None or zp.size == 1:
        return None if zp is None else zp.reshape(())
    if zp.ndim == 1:
        return zp.reshape(-1, 1) if kind == "row" else zp
    return zp


@pytest.mark.parametrize("sa,sb,da,db,za,zb", MMI_TABLE)
def test_matmul_integer_table_vs_reference(sa, sb, da, db, za, zb):
    a, b = rand_int(sa, da), rand_int(sb, db)
    azp, bzp = _zp_arrays(a, b, za, zb)
    (y,) = run_onnumba(mmi_model(a, b, azp, bzp), mmi_feeds(a, b, azp, bzp))
    ref = matmul_integer_ref(a, b, _ref_zp(azp, sa, "row"), _ref_zp(bzp, sb, "col"))
    assert y.dtype == np.int32 and y.shape == ref.shape
    np.testing.assert_array_equal(y, ref)


# onnxruntime's uint8 x int8 kernel may saturate pairwise products to int16 (AVX2 vpmaddubsw); the spec says
# products never overflow, so those pairs are checked against the exact reference only
@pytest.mark.parametrize("sa,sb,da,db,za,zb", [t for t in MMI_TABLE if t[4] in ((), None) and t[5] in ((), None)
                                               and 0 not in t[0] + t[1] and not (t[2] == np.uint8 != t[3])])
def test_matmul_integer_vs_onnxruntime(sa, sb, da, db, za, zb):
    a, b = rand_int(sa, da), rand_int(sb, db)
    azp, bzp = _zp_arrays(a, b, za, zb)
    assert_matches_ort(mmi_model(a, b, azp, bzp), mmi_feeds(a, b, azp, bzp), atol=0)


def test_matmul_integer_accumulation_wraps_in_int32():
    # 33100 * 255 * 255 > 2**31: the spec lets the int32 sum overflow; it wraps modulo 2**32
    k = 33100
    a, b = np.full((1, k), 255, np.uint8), np.full((k, 1), 255, np.uint8)
    (y,) = run_onnumba(mmi_model(a, b), mmi_feeds(a, b))
    assert y[0, 0] == np.int64(k * 255 * 255 - 2 ** 32)


def test_matmul_integer_errors():
    a, b = rand_int((3, 4), np.uint8), rand_int((5, 2), np.uint8)
    _err(mmi_model(a, b), mmi_feeds(a, b), r"input 1 'b'.*inner dimensions differ: A has shape \(3, 4\) \(K=4\)")
    b = rand_int((4, 2), np.uint8)
    z = np.zeros(4, np.uint8)
    _err(mmi_model(a, b, z), mmi_feeds(a, b, z), r"input 2 'azp'.*expected a scalar, \[M\] or \[\.\.\., M, 1\]")
    af = np.zeros((3, 4), np.float32)
    _err(mmi_model(af, b), mmi_feeds(af, b), r"input 0 'a'.*element type float32 is not supported")


# ------------------------------------------------------------------------------------------ QLinearMatMul

def qlmm_model(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp, opset=10):
    names = ["a", "as", "az", "b", "bs", "bz", "ys", "yz"]
    vals = [a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp]
    return make_node_model("QLinearMatMul", dict(zip(names, map(np.asarray, vals))), ["y"], opset=opset), \
        dict(zip(names, map(np.asarray, vals)))


@pytest.mark.parametrize("sa,sb,da,db,dy,per_rc,sdt", [
    ((3, 4), (4, 5), np.uint8, np.uint8, np.uint8, False, np.float32),
    ((2, 3, 4), (4, 5), np.int8, np.int8, np.int8, False, np.float32),
    ((3, 4), (4, 5), np.uint8, np.int8, np.int8, True, np.float32),  # per row / per column scales
    ((2, 3, 4), (2, 4, 2), np.int8, np.uint8, np.uint8, False, np.float16)])  # float16 scales (opset 21)
def test_qlinear_matmul_vs_reference_and_ort(sa, sb, da, db, dy, per_rc, sdt):
    a, b = rand_int(sa, da), rand_int(sb, db)
    m, n = sa[-2], sb[-1]
    a_s = RNG.uniform(0.01, 0.05, (m,) if per_rc else ()).astype(sdt)
    b_s = RNG.uniform(0.01, 0.05, (n,) if per_rc else ()).astype(sdt)
    a_zp, b_zp = rand_int(a_s.shape, da) // 2, rand_int(b_s.shape, db) // 2
    y_s, y_zp = np.array(0.2, sdt), rand_int((), dy) // 2
    opset = 21 if sdt == np.float16 else 10
    model, f = qlmm_model(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp, opset=opset)
    (y,) = run_onnumba(model, f)
    acc = matmul_integer_ref(a, b, a_zp.reshape(-1, 1) if per_rc else a_zp, b_zp)
    mult = (a_s.reshape(-1, 1) if per_rc else a_s) * b_s / y_s
    np.testing.assert_array_equal(y, requantize_ref(acc, mult, y_zp, dy))
    if not per_rc and sdt == np.float32:
        # onnxruntime requantizes in float32 (the spec's math is exact): ties may differ by one step
        ours, theirs = y.astype(np.int32), run_ort(model, f)[0].astype(np.int32)
        assert np.abs(ours - theirs).max() <= 1 and (ours == theirs).mean() > 0.95


def test_qlinear_matmul_errors():
    a, b = rand_int((3, 4), np.uint8), rand_int((4, 5), np.uint8)
    s = np.array(0.1, np.float32)
    model, f = qlmm_model(a, s, np.uint8(0), b, s, np.int8(0), s, np.uint8(0))
    _err(model, f, r"input 5 'bz'.*element type int8 differs from b's uint8")
    model, f = qlmm_model(a, np.ones(3, np.float32), np.zeros(4, np.uint8), b, s, np.uint8(0), s, np.uint8(0))
    _err(model, f, r"input 2 'az'.*expected a scalar, \[M\] or \[\.\.\., M, 1\] for A of shape \(3, 4\), got shape "
                   r"\(4\)")


# ---------------------------------------------------------------------------------- ConvInteger, QLinearConv

def conv_int_model(x, w, xzp=None, wzp=None, **attrs):
    inputs = {"x": x, "w": w}
    if xzp is not None or wzp is not None:
        inputs["xz" if xzp is not None else ""] = None if xzp is None else np.asarray(xzp)
    if wzp is not None:
        inputs["wz"] = np.asarray(wzp)
    f = {k: v for k, v in inputs.items() if k}
    return make_node_model("ConvInteger", inputs, ["y"], attrs, opset=10), f


# (x shape, w shape, attrs, per-channel w zero point)
CONV_TABLE = [
    ((1, 2, 5, 5), (3, 2, 3, 3), {}, False),
    ((2, 3, 6, 5), (4, 3, 3, 2), {"pads": [1, 0, 2, 1], "strides": [2, 1]}, True),
    ((1, 4, 7, 7), (4, 1, 3, 3), {"group": 4, "pads": [1, 1, 1, 1]}, True),  # depthwise
    ((1, 4, 6, 6), (6, 2, 2, 2), {"group": 2, "dilations": [2, 2], "strides": [1, 2]}, False),
    ((1, 3, 5, 5), (2, 3, 1, 1), {}, False),  # pointwise: no im2col
    ((1, 2, 9), (3, 2, 3), {"auto_pad": "SAME_UPPER", "strides": [2]}, False),  # 1-d
    ((1, 2, 4, 4, 3), (2, 2, 2, 2, 2), {"pads": [1, 0, 1, 0, 1, 0]}, True),  # 3-d
    ((1, 2, 5, 5), (2, 2, 3, 3), {"auto_pad": "SAME_LOWER"}, False),
]


@pytest.mark.parametrize("xs,ws,attrs,per_chan", CONV_TABLE)
@pytest.mark.parametrize("dx,dw", [(np.uint8, np.uint8), (np.int8, np.int8), (np.uint8, np.int8)])
def test_conv_integer_table_vs_reference(xs, ws, attrs, per_chan, dx, dw):
    x, w = rand_int(xs, dx), rand_int(ws, dw)
    xzp, wzp = rand_int((), dx), rand_int((ws[0],) if per_chan else (), dw)
    model, f = conv_int_model(x, w, xzp, wzp, **attrs)
    (y,) = run_onnumba(model, f)
    ref = conv_integer_ref(x, w, xzp, wzp, **attrs)
    assert y.dtype == np.int32
    np.testing.assert_array_equal(y, ref)


@pytest.mark.parametrize("xs,ws,attrs,per_chan", [c for c in CONV_TABLE if not c[3]])
def test_conv_integer_vs_onnxruntime(xs, ws, attrs, per_chan):
    x, w = rand_int(xs, np.uint8), rand_int(ws, np.uint8)
    model, f = conv_int_model(x, w, np.uint8(7), np.uint8(120), **attrs)
    assert_matches_ort(model, f, atol=0)


def test_conv_integer_padding_counts_as_the_zero_point():
    # a 1x1 image padded by 1: every output sees x_zp in the pads, i.e. 0 after centering
    x = np.full((1, 1, 1, 1), 9, np.uint8)
    w = np.ones((1, 1, 3, 3), np.uint8)
    model, f = conv_int_model(x, w, np.uint8(5), None, pads=[1, 1, 1, 1])
    (y,) = run_onnumba(model, f)
    np.testing.assert_array_equal(y, np.full((1, 1, 1, 1), 4, np.int32))


def test_conv_integer_errors():
    x, w = rand_int((1, 2, 5, 5), np.uint8), rand_int((3, 2, 3, 3), np.uint8)
    model, f = conv_int_model(x, w, None, np.zeros(2, np.uint8))
    _err(model, f, r"input 3 'wz'.*expected a scalar or \[M\] with M=3 output channels, got shape \(2\)")
    model, f = conv_int_model(x, w, np.zeros(2, np.uint8))
    _err(model, f, r"input 2 'xz'.*expected a scalar, got shape \(2\)")
    model, f = conv_int_model(x, rand_int((3, 1, 3, 3), np.uint8))
    _err(model, f, r"input 1 'w'.*expected shape \(M, C/group, \.\.\.\) with C/group = 2/1")
    model, f = conv_int_model(x, w, strides=[0, 1])
    _err(model, f, r"attribute 'strides'.*values must be in \[1, ")
    model, f = conv_int_model(x, rand_int((3, 2, 7, 3), np.uint8))
    _err(model, f, r"attribute 'kernel_shape'.*larger than the padded input")
    # a hostile geometry whose output is small but whose column buffer is not
    xb, wb = np.zeros((1, 1, 1, 1), np.uint8), np.zeros((1, 1, 1, 140000), np.uint8)
    model, f = conv_int_model(xb, wb, pads=[0, 140000, 0, 140000])
    _err(model, f, r"the im2col buffer shape \(140000, 140002\) has 19600280000 elements, more than onnumba's limit")


def qlconv_model(x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp, b=None, **attrs):
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"] + (["b"] if b is not None else [])
    vals = [np.asarray(v) for v in (x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp) + ((b,) if b is not None else ())]
    f = dict(zip(names, vals))
    return make_node_model("QLinearConv", f, ["y"], attrs, opset=10), f


@pytest.mark.parametrize("xs,ws,attrs,per_chan", CONV_TABLE[:5])
@pytest.mark.parametrize("dt", [np.uint8, np.int8])
def test_qlinear_conv_vs_reference_and_ort(xs, ws, attrs, per_chan, dt):
    x, w = rand_int(xs, dt), rand_int(ws, np.int8 if dt == np.int8 else np.uint8)
    m = ws[0]
    x_s, y_s = np.array(0.05, np.float32), np.array(0.7, np.float32)
    w_s = RNG.uniform(0.005, 0.02, (m,) if per_chan else ()).astype(np.float32)
    x_zp, y_zp = rand_int((), dt) // 2, rand_int((), dt) // 2
    w_zp = np.zeros(w_s.shape, w.dtype) if dt == np.int8 else rand_int(w_s.shape, np.uint8) // 2
    b = RNG.integers(-5000, 5000, m).astype(np.int32)
    model, f = qlconv_model(x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp, b, **attrs)
    (y,) = run_onnumba(model, f)
    acc = conv_integer_ref(x, w, x_zp, w_zp, **attrs).astype(np.int64) + b.reshape((1, m) + (1,) * (x.ndim - 2))
    mult = x_s * (w_s.reshape((1, m) + (1,) * (x.ndim - 2)) if per_chan else w_s) / y_s
    ref = requantize_ref(acc, mult, y_zp, dt)
    np.testing.assert_array_equal(y, ref)
    # onnxruntime requantizes in float32: a value near a rounding tie may land one step away
    theirs = run_ort(model, f)[0].astype(np.int32)
    assert np.abs(y.astype(np.int32) - theirs).max() <= 1 and (y == theirs).mean() > 0.95


def test_qlinear_conv_errors():
    x, w = rand_int((1, 2, 5, 5), np.uint8), rand_int((3, 2, 3, 3), np.uint8)
    s = np.float32(0.1)
    model, f = qlconv_model(x, s, np.uint8(0), w, np.ones(2, np.float32), np.uint8(0), s, np.uint8(0))
    _err(model, f, r"input 4 'ws'.*expected a scalar or \[M\] with M=3 output channels, got shape \(2\)")
    model, f = qlconv_model(x, s, np.uint8(0), w, s, np.uint8(0), s, np.uint8(0), np.zeros(2, np.int32))
    _err(model, f, r"input 8 'b'.*expected shape \[3\] \(one int32 per output channel\), got \(2\)")


# ------------------------------------------------------------------------------------------- hypothesis

@st.composite
def conv_cases(draw):
    nsp = draw(st.integers(1, 3))
    g = draw(st.integers(1, 2))
    cg, mg = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 3)) for _ in range(nsp)]
    strides = [draw(st.integers(1, 2)) for _ in range(nsp)]
    dil = [draw(st.integers(1, 2)) for _ in range(nsp)]
    pads = [draw(st.integers(0, 2)) for _ in range(2 * nsp)]
    sizes = [draw(st.integers(max(1, (k - 1) * d + 1 - p0 - p1), 6))
             for k, d, p0, p1 in zip(kernel, dil, pads[:nsp], pads[nsp:])]
    dx = draw(st.sampled_from([np.uint8, np.int8]))
    dw = draw(st.sampled_from([np.uint8, np.int8]))
    seed = draw(st.integers(0, 2 ** 16))
    return (draw(st.integers(1, 2)), g, cg, mg, kernel, strides, dil, pads, sizes, dx, dw, seed)


def _check_conv_case(case):
    n, g, cg, mg, kernel, strides, dil, pads, sizes, dx, dw, seed = case
    rng = np.random.default_rng(seed)
    x = rand_int([n, g * cg] + sizes, dx, rng)
    w = rand_int([g * mg, cg] + kernel, dw, rng)
    xzp, wzp = rand_int((), dx, rng), rand_int((g * mg,), dw, rng)
    attrs = {"group": g, "strides": strides, "dilations": dil, "pads": pads}
    model, f = conv_int_model(x, w, xzp, wzp, **attrs)
    (y,) = run_onnumba(model, f)
    np.testing.assert_array_equal(y, conv_integer_ref(x, w, xzp, wzp, **attrs))


@given(conv_cases())
def test_hypothesis_conv_integer_vs_reference(case):
    _check_conv_case(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(conv_cases())
def test_hypothesis_conv_integer_vs_reference_slow(case):
    _check_conv_case(case)


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


@st.composite
def matmul_cases(draw):
    batch_a = draw(st.lists(st.integers(1, 2), max_size=2))
    batch_b = list(batch_a[len(batch_a) - draw(st.integers(0, len(batch_a))):])
    m, k, n = draw(st.integers(1, 5)), draw(st.integers(0, 6)), draw(st.integers(1, 5))
    da, db = draw(st.sampled_from([np.uint8, np.int8])), draw(st.sampled_from([np.uint8, np.int8]))
    return batch_a + [m, k], batch_b + [k, n], da, db, draw(st.booleans()), draw(st.integers(0, 2 ** 16))


def _check_matmul_case(case):
    sa, sb, da, db, per, seed = case
    rng = np.random.default_rng(seed)
    a, b = rand_int(sa, da, rng), rand_int(sb, db, rng)
    azp = rand_int((sa[-2],) if per else (), da, rng)
    bzp = rand_int((sb[-1],) if per else (), db, rng)
    (y,) = run_onnumba(mmi_model(a, b, azp, bzp), mmi_feeds(a, b, azp, bzp))
    np.testing.assert_array_equal(y, matmul_integer_ref(a, b, azp.reshape(-1, 1) if per else azp, bzp))


@given(matmul_cases())
def test_hypothesis_matmul_integer_vs_reference(case):
    _check_matmul_case(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(matmul_cases())
def test_hypothesis_matmul_integer_vs_reference_slow(case):
    _check_matmul_case(case)


# ------------------------------------------------------------------------------- constant weights (bind path)

def test_constant_weights_are_centered_once_and_match():
    a, b = rand_int((3, 6), np.uint8), rand_int((6, 4), np.int8)
    for bzp in (np.array(5, np.int8), np.array(-7, np.int8)):  # one weight array, two zero points: two entries
        azp = np.array(3, np.uint8)
        m = make_node_model("MatMulInteger", {"a": a, "b": b, "az": azp, "bz": bzp}, ["y"], opset=10,
                            initializers={"b": b, "az": azp, "bz": bzp})
        (y,) = run_onnumba(m, {"a": a})
        np.testing.assert_array_equal(y, matmul_integer_ref(a, b, azp, bzp))
    x, w = rand_int((1, 2, 5, 5), np.uint8), rand_int((3, 2, 3, 3), np.uint8)
    wzp = rand_int((3,), np.uint8)
    m = make_node_model("ConvInteger", {"x": x, "w": w, "xz": np.array(9, np.uint8), "wz": wzp}, ["y"],
                        {"pads": [1, 1, 1, 1]}, opset=10, initializers={"w": w, "wz": wzp})
    (y,) = run_onnumba(m, {"x": x, "xz": np.array(9, np.uint8)})
    np.testing.assert_array_equal(y, conv_integer_ref(x, w, 9, wzp, pads=[1, 1, 1, 1]))
    m = make_node_model("ConvInteger", {"x": x, "w": w}, ["y"], opset=10, initializers={"w": w})
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_array_equal(y, conv_integer_ref(x, w))
    s = np.array(0.05, np.float32)
    model, f = qlconv_model(x, s, np.uint8(9), w, s, np.uint8(100), np.float32(0.5), np.uint8(128))
    model = make_node_model("QLinearConv", f, ["y"], opset=10, initializers={k: f[k] for k in ("w", "ws", "wz")})
    (y,) = run_onnumba(model, {k: v for k, v in f.items() if k not in ("w", "ws", "wz")})
    ref = requantize_ref(conv_integer_ref(x, w, 9, 100), 0.05 * np.float32(0.05) / np.float32(0.5), 128, np.uint8)
    np.testing.assert_array_equal(y, ref)
