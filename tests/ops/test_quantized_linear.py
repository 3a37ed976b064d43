"""MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv: tables vs exact integer references, int32 wrap,
errors, onnxruntime (and where it departs from the spec), hypothesis geometries, a model quantized by
onnxruntime's own tool."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, run_ort
from tests.ops.test_quantization import RNG, _err, rand_int
from tests.reference.quantization import conv_integer_ref, matmul_integer_ref, requantize_ref


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


def test_qlinear_matmul_batched_per_row_scales():
    # scales of shape [D, M, 1] vary along a batch axis too: the requantization takes numpy's path
    a, b = rand_int((2, 3, 4), np.uint8), rand_int((4, 5), np.uint8)
    a_s = RNG.uniform(0.01, 0.05, (2, 3, 1)).astype(np.float32)
    a_zp = rand_int((2, 3, 1), np.uint8) // 2
    b_s, b_zp, y_s, y_zp = np.array(0.03, np.float32), np.array(7, np.uint8), np.array(0.2, np.float32), \
        np.array(100, np.uint8)
    model, f = qlmm_model(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp)
    (y,) = run_onnumba(model, f)
    acc = matmul_integer_ref(a, b, a_zp, b_zp)
    np.testing.assert_array_equal(y, requantize_ref(acc, a_s * b_s / y_s, y_zp, np.uint8))


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


# ------------------------------------------------------------------- models quantized by onnxruntime's own tool

def _float_model(rng):
    from onnx import TensorProto, helper, numpy_helper

    def init(name, shape, scale):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], strides=[2, 2], group=2),
             helper.make_node("Relu", ["c2"], ["r2"]),
             helper.make_node("Flatten", ["r2"], ["f"]),
             helper.make_node("MatMul", ["f", "wm"], ["y"])]
    g = helper.make_graph(nodes, "small", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
                          [init("w1", (8, 3, 3, 3), 0.2), init("b1", (8,), 0.2), init("w2", (8, 4, 3, 3), 0.2),
                           init("b2", (8,), 0.2), init("wm", (8 * 7 * 7, 10), 0.05)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def _quantized(tmp_path, how, **kw):
    """The small float model quantized by onnxruntime.quantization ('dynamic', 'QDQ' or 'QOperator')."""
    import onnx
    quant = pytest.importorskip("onnxruntime.quantization")

    rng = np.random.default_rng(1)
    src, dst = str(tmp_path / "float.onnx"), str(tmp_path / f"{how}.onnx")
    onnx.save(_float_model(rng), src)
    if how == "dynamic":
        quant.quantize_dynamic(src, dst, weight_type=quant.QuantType.QInt8)
    else:
        class Reader(quant.CalibrationDataReader):
            def __init__(self):
                self.it = iter([{"x": rng.standard_normal((1, 3, 16, 16)).astype(np.float32)} for _ in range(4)])

            def get_next(self):
                return next(self.it, None)

        quant.quantize_static(src, dst, Reader(), quant_format=getattr(quant.QuantFormat, how), per_channel=True,
                              **kw)
    return onnx.load(dst), rng.standard_normal((1, 3, 16, 16)).astype(np.float32)


@pytest.mark.parametrize("how,kw", [("dynamic", {}), ("QDQ", {}), ("QOperator", {"activation_type": "QInt8"})])
def test_model_quantized_by_onnxruntime_matches_it(tmp_path, how, kw):
    quant = pytest.importorskip("onnxruntime.quantization")
    kw = {k: getattr(quant.QuantType, v) for k, v in kw.items()}
    model, x = _quantized(tmp_path, how, **kw)
    ops = {n.op_type for n in model.graph.node}
    assert ops & {"DynamicQuantizeLinear", "DequantizeLinear", "QLinearConv"}
    (ours,) = run_onnumba(model, {"x": x})
    (theirs,) = run_ort(model, {"x": x})
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5)


def test_model_uint8_x_int8_qlinearconv_follows_the_spec_where_onnxruntime_saturates(tmp_path):
    # onnxruntime's u8 x s8 kernel sums pairs of products in int16 (vpmaddubsw) and saturates; the spec says
    # products never overflow. The second conv's output is checked against the exact integer reference.
    import onnx
    from onnx import numpy_helper

    quant = pytest.importorskip("onnxruntime.quantization")
    model, x = _quantized(tmp_path, "QOperator", activation_type=quant.QuantType.QUInt8,
                          weight_type=quant.QuantType.QInt8)
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "QLinearConv"]
    inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(model).graph.value_info}
    for n in convs:
        model.graph.output.append(inferred[n.output[0]])
    outs = run_onnumba(model, {"x": x})
    c1, c2 = outs[1], outs[2]
    node = convs[1]
    xs, xz, w, ws, wz, ys, yz, b = (inits[i] for i in node.input[1:])
    assert w.dtype == np.int8 and c1.dtype == np.uint8
    acc = conv_integer_ref(c1, w, xz, wz, strides=[2, 2], group=2).astype(np.int64) + b.reshape(1, -1, 1, 1)
    np.testing.assert_array_equal(c2, requantize_ref(acc, xs * ws.reshape(1, -1, 1, 1) / ys, yz, np.uint8))
