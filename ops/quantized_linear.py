"""Integer matrix products and convolutions: MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv.

int8 / uint8 operands minus their zero points are multiplied and summed in int32 (a sum that leaves the int32
range wraps, as the spec allows: "accumulation may overflow if and only if in 32 bits") by one Numba kernel, a
batched integer GEMM with ``prange`` over blocks of output rows. The convolutions lay their input out with an integer
im2col kernel (the zero point is subtracted first, so padding is 0) and run the same GEMM per image, one batch
entry per group. The QLinear ops then requantize: ``y = saturate(round_half_even(acc * a_scale * b_scale / y_scale)
+ y_zero_point)``, the multiplier computed in the scales' type and the product in float64 (exact for every
int32 accumulator below 2**29), as onnx's reference does.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import check_size, conv_window, memo_by_array, require_input
from onnumba.ops._geometry import AUTO_PADS, MAX_DIM
from onnumba.ops.kernels.int_gemm import int_gemm_kernel, int_im2col_kernel
from onnumba.ops.kernels.quantize import requantize
from onnumba.ops.quantization import QUANT_RANGES, SCALE_TYPES, check_quant_dtype, saturate_round
from onnumba.registry import Op, TensorInfo, register

INT8S = (np.dtype(np.int8), np.dtype(np.uint8))


# ============================================================================= quantization parameters

def _param_shape(node, info: TensorInfo | None, i: int, target: tuple, kind: str, what: str) -> tuple | None:
    """Shape that makes a zero point or scale broadcast against ``target`` (None when the input is absent).

    kind "tensor": a scalar. "row": a scalar, ``[M]`` or ``[..., M, 1]`` (per row of A). "col": a scalar,
    ``[N]`` or ``[..., 1, N]`` (per column of B). "chan": a scalar or ``[M]`` (per output channel of a conv).
    """
    if info is None:
        return None
    s = info.shape
    if info.size == 1 and info.rank <= 1:
        return ()
    r = len(target)
    shape = None
    if kind == "row" and info.rank == 1 and r >= 2 and s[0] == target[-2]:
        shape = (s[0], 1)
    elif kind == "col" and info.rank == 1 and r >= 1 and s[0] == target[-1]:
        shape = s
    elif kind in ("row", "col") and info.rank == r and r >= 2 and s[-1 if kind == "row" else -2] == 1:
        shape = s
    elif kind == "chan" and info.rank == 1 and s[0] == target[0]:
        shape = (s[0],) + (1,) * (r - 1)
    if shape is not None:
        try:
            ok = np.broadcast_shapes(shape, target) == tuple(target)
        except ValueError:
            ok = False
        if ok:
            return shape
    want = {"tensor": "a scalar", "row": f"a scalar, [M] or [..., M, 1] for A of shape {shape_str(target)}",
            "col": f"a scalar, [N] or [..., 1, N] for B of shape {shape_str(target)}",
            "chan": f"a scalar or [M] with M={target[0]} output channels"}[kind]
    raise node.error(f"{what}: expected {want}, got shape {shape_str(s)}", input=i)


def _centered(x: np.ndarray, zp: np.ndarray | None, shape: tuple | None) -> np.ndarray:
    """x - zero_point as a C-contiguous int32 array."""
    y = x.astype(np.int32)
    if zp is not None:
        y -= zp.astype(np.int32).reshape(shape)
    return y


def _const_centered(consts, iw: int, iz: int, shape: tuple | None, present: bool) -> np.ndarray | None:
    """The centered int32 weight when the weight and its zero point are plan-time constants (computed once per
    weight and zero point, shared by every plan), else None."""
    w = consts[iw] if iw < len(consts) else None
    z = consts[iz] if present and iz < len(consts) else None
    if w is None or (present and z is None):
        return None
    tag = "int32_centered/" + ("" if z is None else f"{z.dtype.str}{np.asarray(z).tobytes().hex()}/{shape}")
    return memo_by_array(w, tag, lambda arr: _centered(arr, z, shape))


def _opt(inputs, i):
    return inputs[i] if i < len(inputs) else None


def _check_integer_inputs(node, inputs, names: tuple) -> tuple:
    """MatMulInteger / ConvInteger: the two int8 / uint8 operands, each optional zero point of its operand's type."""
    a = require_input(node, inputs, 0, names[0])
    b = require_input(node, inputs, 1, names[1])
    check_quant_dtype(node, a, 0, INT8S, names[0])
    check_quant_dtype(node, b, 1, INT8S, names[1])
    for i, like in ((2, a), (3, b)):
        zp = _opt(inputs, i)
        if zp is not None and zp.dtype != like.dtype:
            raise node.error(f"element type {zp.dtype.name} differs from input {i - 2}'s {like.dtype.name}",
                             input=i)
    return a, b


def _check_qlinear_inputs(node, inputs, names: tuple, scale_types: tuple) -> list:
    """QLinearMatMul / QLinearConv's eight inputs (two operands with their scales and zero points, then the
    output's): int8 / uint8 operands and zero points, each zero point of its operand's type, scales of
    ``scale_types``."""
    infos = [require_input(node, inputs, i, nm) for i, nm in enumerate(names)]
    for i in (0, 2, 3, 5, 7):
        check_quant_dtype(node, infos[i], i, INT8S, names[i])
    for i in (1, 4, 6):
        check_quant_dtype(node, infos[i], i, scale_types, names[i])
    for i, j in ((2, 0), (5, 3)):
        if infos[i].dtype != infos[j].dtype:
            raise node.error(f"element type {infos[i].dtype.name} differs from {names[j]}'s "
                             f"{infos[j].dtype.name}", input=i)
    return infos


def _requantize(acc: np.ndarray, mult: np.ndarray, y_zp: np.ndarray, out_dtype, d_axis: int) -> np.ndarray:
    """saturate(round_half_even(acc * mult) + y_zp) in float64, mult and y_zp broadcasting against acc.

    One kernel pass when mult and y_zp vary at most along ``d_axis`` (conv channels, matmul rows) and/or along all
    the axes after it together (matmul columns); numpy otherwise.
    """
    r = acc.ndim
    common = np.broadcast_shapes(mult.shape, y_zp.shape)
    pad = (1,) * (r - len(common)) + tuple(common)
    lead, dd, tail = pad[:d_axis], pad[d_axis], pad[d_axis + 1:]
    i_full = tuple(acc.shape[d_axis + 1:])
    if all(v == 1 for v in lead) and (all(v == 1 for v in tail) or tail == i_full):
        m3_shape = (1, dd, int(np.prod(tail, dtype=np.int64)))
        m3 = np.ascontiguousarray(np.broadcast_to(mult.astype(np.float64), pad)).reshape(m3_shape)
        z3 = np.ascontiguousarray(np.broadcast_to(y_zp.astype(np.float64), pad)).reshape(m3_shape)
        lo, hi = QUANT_RANGES[np.dtype(out_dtype)]
        out = np.empty(acc.shape, out_dtype)
        requantize(np.ascontiguousarray(acc).reshape(-1), m3, z3, out.reshape(-1), acc.shape[d_axis],
                   int(np.prod(i_full, dtype=np.int64)), lo, hi)
        return out
    with np.errstate(all="ignore"):
        return saturate_round(acc * mult.astype(np.float64), y_zp.astype(np.float64), np.dtype(out_dtype))


class _IntegerOp(Op):
    """The four ops: the int32 accumulator of ``attrs.out_shape``, or with ``requantized`` that shape in
    y_zero_point's (input 7's) type."""

    requantized = False

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[7].dtype if cls.requantized else np.dtype(np.int32), attrs.out_shape)]


# ============================================================================================== MatMul

@dataclass(frozen=True)
class MatMulIntAttrs:
    # inputs: (a, a_zp, b, b_zp); bound
    a3: tuple | None = None  # A as (batch, M, K)
    b3: tuple | None = None  # B as (batch, K, N)
    a_idx: np.ndarray | None = field(default=None, compare=False)  # batch index into A / B of each output entry
    b_idx: np.ndarray | None = field(default=None, compare=False)
    out_shape: tuple | None = None
    full_shape: tuple | None = None  # out_shape with the M and N a 1-d A or B drops (batch..., M, N)
    zp_shapes: tuple = ()  # broadcast shapes of a_zp, b_zp (None: absent)
    b32: np.ndarray | None = field(default=None, compare=False, repr=False)  # constant B, centered
    scale_shapes: tuple = ()  # QLinearMatMul: a_scale, b_scale, y_scale, y_zp


def _bind_matmul(node, attrs, a: TensorInfo, b: TensorInfo, ia: int, ib: int) -> MatMulIntAttrs:
    for info, i, nm in ((a, ia, "A"), (b, ib, "B")):
        if info.rank < 1:
            raise node.error(f"{nm} must have rank >= 1, got a scalar", input=i)
    ash = (1,) + a.shape if a.rank == 1 else a.shape
    bsh = b.shape + (1,) if b.rank == 1 else b.shape
    if ash[-1] != bsh[-2]:
        raise node.error(f"inner dimensions differ: A has shape {shape_str(a.shape)} (K={ash[-1]}), B has shape "
                         f"{shape_str(b.shape)} (K={bsh[-2]})", input=ib)
    try:
        batch = np.broadcast_shapes(ash[:-2], bsh[:-2])
    except ValueError:
        raise node.error(f"batch dimensions of A {shape_str(a.shape)} and B {shape_str(b.shape)} do not "
                         f"broadcast", input=ib) from None
    m, k, n = ash[-2], ash[-1], bsh[-1]
    out = tuple(batch) + ((m,) if a.rank > 1 else ()) + ((n,) if b.rank > 1 else ())
    check_size(node, out)
    na, nb = int(np.prod(ash[:-2], dtype=np.int64)), int(np.prod(bsh[:-2], dtype=np.int64))
    a_idx = np.broadcast_to(np.arange(na, dtype=np.int64).reshape(ash[:-2]), batch).ravel().copy()
    b_idx = np.broadcast_to(np.arange(nb, dtype=np.int64).reshape(bsh[:-2]), batch).ravel().copy()
    return replace(attrs, a3=(na, m, k), b3=(nb, k, n), a_idx=a_idx, b_idx=b_idx, out_shape=out,
                   full_shape=tuple(batch) + (m, n))


def _matmul_int32(attrs, a32: np.ndarray, b32: np.ndarray) -> np.ndarray:
    nbatch = attrs.a_idx.shape[0]
    m, n = attrs.a3[1], attrs.b3[2]
    acc = np.empty((nbatch, m, n), np.int32)
    if acc.size:
        int_gemm_kernel(a32.reshape(attrs.a3), b32.reshape(attrs.b3), attrs.a_idx, attrs.b_idx, acc)
    return acc.reshape(attrs.full_shape)


@register("MatMulInteger", versions=(10,))
class MatMulInteger(_IntegerOp):
    """``Y = (A - a_zero_point) @ (B - b_zero_point)`` in int32, numpy.matmul shapes; zero points per tensor,
    per row of A (``[M]``) or per column of B (``[N]``)."""

    @classmethod
    def parse_attrs(cls, node):
        return MatMulIntAttrs()

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        a, b = _check_integer_inputs(node, inputs, ("A", "B"))
        azp, bzp = _opt(inputs, 2), _opt(inputs, 3)
        attrs = _bind_matmul(node, attrs, a, b, 0, 1)
        ash = (1,) + a.shape if a.rank == 1 else a.shape
        bsh = b.shape + (1,) if b.rank == 1 else b.shape
        zs = (_param_shape(node, azp, 2, ash, "row", "a_zero_point"),
              _param_shape(node, bzp, 3, bsh, "col", "b_zero_point"))
        return replace(attrs, zp_shapes=zs, b32=_const_centered(consts, 1, 3, zs[1], bzp is not None))

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays[0], arrays[1]
        azp, bzp = _opt(arrays, 2), _opt(arrays, 3)
        a32 = _centered(a, azp, attrs.zp_shapes[0])
        b32 = attrs.b32 if attrs.b32 is not None else _centered(b, bzp, attrs.zp_shapes[1])
        return [_matmul_int32(attrs, a32, b32).reshape(attrs.out_shape)]


@register("QLinearMatMul", versions=(10, 21))
class QLinearMatMul(_IntegerOp):
    """Quantized matmul: inputs ``a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale, y_zero_point``;
    ``y = saturate(round((a - a_zp) @ (b - b_zp) * a_scale * b_scale / y_scale) + y_zp)`` of y_zero_point's type."""

    requantized = True

    @classmethod
    def parse_attrs(cls, node):
        return MatMulIntAttrs()

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        names = ("a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point")
        infos = _check_qlinear_inputs(node, inputs, names, SCALE_TYPES if node.version >= 21 else SCALE_TYPES[:1])
        a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp = infos
        if not a_s.dtype == b_s.dtype == y_s.dtype:
            raise node.error(f"the scales must share one type, got a_scale {a_s.dtype.name}, b_scale "
                             f"{b_s.dtype.name}, y_scale {y_s.dtype.name}", input=4)
        attrs = _bind_matmul(node, attrs, a, b, 0, 3)
        ash = (1,) + a.shape if a.rank == 1 else a.shape
        bsh = b.shape + (1,) if b.rank == 1 else b.shape
        sh = [_param_shape(node, a_s, 1, ash, "row", "a_scale"), _param_shape(node, a_zp, 2, ash, "row", names[2]),
              _param_shape(node, b_s, 4, bsh, "col", "b_scale"), _param_shape(node, b_zp, 5, bsh, "col", names[5]),
              _param_shape(node, y_s, 6, (1, attrs.b3[2]), "col", "y_scale"),
              _param_shape(node, y_zp, 7, (1, attrs.b3[2]), "col", names[7])]
        for i, j in ((0, 1), (2, 3), (4, 5)):
            if sh[i] != sh[j]:
                raise node.error(f"shape {shape_str(infos[(1, 2, 4, 5, 6, 7)[j]].shape)} differs from its scale's "
                                 f"{shape_str(infos[(1, 2, 4, 5, 6, 7)[i]].shape)}", input=(1, 2, 4, 5, 6, 7)[j])
        return replace(attrs, zp_shapes=(sh[1], sh[3]), scale_shapes=(sh[0], sh[2], sh[4], sh[5]),
                       b32=_const_centered(consts, 3, 5, sh[3], True))

    @classmethod
    def run(cls, node, attrs, arrays):
        a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp = arrays
        b32 = attrs.b32 if attrs.b32 is not None else _centered(b, b_zp, attrs.zp_shapes[1])
        acc = _matmul_int32(attrs, _centered(a, a_zp, attrs.zp_shapes[0]), b32)
        ssa, ssb, ssy, szy = attrs.scale_shapes
        # acc is (batch..., M, N): per-row scales broadcast along its rows, per-column ones along its columns
        mult = a_s.reshape(ssa) * b_s.reshape(ssb) / y_s.reshape(ssy)
        y = _requantize(acc, mult, y_zp.reshape(szy), y_zp.dtype, acc.ndim - 2)
        return [y.reshape(attrs.out_shape)]


# ================================================================================================ Conv

@dataclass(frozen=True)
class ConvIntAttrs:
    kernel_shape: tuple | None
    strides: tuple | None
    dilations: tuple | None
    pads: tuple | None
    auto_pad: str
    group: int
    # bound (3-d spatial: 1-d and 2-d convs get leading 1s)
    geom: tuple | None = None  # (kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, od, oh, ow)
    out_shape: tuple | None = None
    pointwise: bool = False  # 1x1 kernel, stride 1, no pads: the image itself is the column matrix
    w_zp_shape: tuple | None = None
    w32: np.ndarray | None = field(default=None, compare=False, repr=False)  # constant weight, centered


def _ints(node, name):
    v = node.attr(name, None, "ints")
    if v is not None and any(x < (0 if name == "pads" else 1) or x > MAX_DIM for x in v):
        raise node.error(f"values must be in [{0 if name == 'pads' else 1}, {MAX_DIM}], got {list(v)}",
                         attribute=name)
    return None if v is None else tuple(int(x) for x in v)


def _parse_conv(node) -> ConvIntAttrs:
    auto_pad = node.attr("auto_pad", "NOTSET", "str")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    if auto_pad not in AUTO_PADS:
        raise node.error(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", attribute="auto_pad")
    group = node.attr("group", 1, "int")
    if not 1 <= group <= MAX_DIM:
        raise node.error(f"must be >= 1, got {group}", attribute="group")
    return ConvIntAttrs(_ints(node, "kernel_shape"), _ints(node, "strides"), _ints(node, "dilations"),
                        _ints(node, "pads"), auto_pad, group)


def _bind_conv(node, attrs: ConvIntAttrs, x: TensorInfo, w: TensorInfo, ix: int, iw: int) -> ConvIntAttrs:
    if x.rank < 3 or x.rank > 5:
        raise node.error(f"expected (N, C, spatial...) with 1 to 3 spatial axes, got shape {shape_str(x.shape)}",
                         input=ix)
    if w.rank != x.rank:
        raise node.error(f"expected rank {x.rank} (M, C/group, kernel...) like x, got shape {shape_str(w.shape)}",
                         input=iw)
    nsp, g = x.rank - 2, attrs.group
    if x.shape[1] % g or x.shape[1] // g != w.shape[1]:
        raise node.error(f"expected shape (M, C/group, ...) with C/group = {x.shape[1]}/{g}, got "
                         f"{shape_str(w.shape)}", input=iw)
    if w.shape[0] % g:
        raise node.error(f"the output channels ({w.shape[0]}) must be divisible by group={g}", input=iw)
    kernel = tuple(w.shape[2:])
    if attrs.kernel_shape is not None and attrs.kernel_shape != kernel:
        raise node.error(f"{list(attrs.kernel_shape)} does not match the weight's spatial shape {list(kernel)}",
                         attribute="kernel_shape")
    if any(k < 1 for k in kernel):
        raise node.error(f"expected kernel sizes >= 1, got shape {shape_str(w.shape)}", input=iw)
    strides, dil, pad, outs = conv_window(node, kernel, attrs.strides, attrs.dilations, attrs.auto_pad, attrs.pads,
                                          x.shape[2:])
    out_shape = (x.shape[0], w.shape[0]) + tuple(outs)
    check_size(node, out_shape)
    check_size(node, (x.shape[1] * int(np.prod(kernel)), int(np.prod(outs))), "the im2col buffer")
    lead = (1,) * (3 - nsp)
    k3, s3, d3 = lead + kernel, lead + strides, lead + dil
    p3, o3 = (0,) * (3 - nsp) + tuple(pad.begins), lead + tuple(outs)
    pointwise = all(k == 1 for k in kernel) and all(s == 1 for s in strides) and not any(pad.onnx_pads)
    return replace(attrs, kernel_shape=kernel, geom=k3 + s3 + d3 + p3 + o3, out_shape=out_shape,
                   pointwise=pointwise)


def _conv_int32(attrs: ConvIntAttrs, x32: np.ndarray, w32: np.ndarray) -> np.ndarray:
    """Integer conv of int32 x (N, C, ...) and w (M, C/group, ...), both zero-point centered."""
    n, c = x32.shape[:2]
    m, g = w32.shape[0], attrs.group
    kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, od, oh, ow = attrs.geom
    p = od * oh * ow
    kdim = (c // g) * kd * kh * kw
    out = np.empty((n, m, p), np.int32)
    if out.size == 0:
        return out.reshape(attrs.out_shape)
    w3 = np.ascontiguousarray(w32.reshape(g, m // g, kdim))
    idx = np.arange(g, dtype=np.int64)
    x4 = x32.reshape((n, c) + (1,) * (5 - x32.ndim) + x32.shape[2:])
    cols = None if attrs.pointwise else np.empty((c * kd * kh * kw, p), np.int32)
    for i in range(n):
        if attrs.pointwise:
            col = np.ascontiguousarray(x4[i].reshape(c, p))
        else:
            int_im2col_kernel(x4[i], cols, kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, od, oh, ow)
            col = cols
        int_gemm_kernel(w3, col.reshape(g, kdim, p), idx, idx, out[i].reshape(g, m // g, p))
    return out.reshape(attrs.out_shape)


@register("ConvInteger", versions=(10,))
class ConvInteger(_IntegerOp):
    """``y = conv(x - x_zero_point, w - w_zero_point)`` in int32; x_zero_point per tensor, w_zero_point per
    tensor or per output channel. Padding contributes 0 (the zero point, once subtracted)."""

    @classmethod
    def parse_attrs(cls, node):
        return _parse_conv(node)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x, w = _check_integer_inputs(node, inputs, ("x", "w"))
        attrs = _bind_conv(node, attrs, x, w, 0, 1)
        _param_shape(node, _opt(inputs, 2), 2, x.shape, "tensor", "x_zero_point")
        wz = _param_shape(node, _opt(inputs, 3), 3, w.shape, "chan", "w_zero_point")
        return replace(attrs, w_zp_shape=wz, w32=_const_centered(consts, 1, 3, wz, node.has_input(3)))

    @classmethod
    def run(cls, node, attrs, arrays):
        x, w = arrays[0], arrays[1]
        x32 = _centered(x, _opt(arrays, 2), ())
        w32 = attrs.w32 if attrs.w32 is not None else _centered(w, _opt(arrays, 3), attrs.w_zp_shape)
        return [_conv_int32(attrs, x32, w32)]


@register("QLinearConv", versions=(10,))
class QLinearConv(_IntegerOp):
    """Quantized conv: inputs ``x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale, y_zero_point[, B]``;
    ``y = saturate(round((conv(x - x_zp, w - w_zp) + B) * x_scale * w_scale / y_scale) + y_zp)``, w_scale and
    w_zero_point per tensor or per output channel, B int32 per output channel."""

    requantized = True

    @classmethod
    def parse_attrs(cls, node):
        return _parse_conv(node)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        names = ("x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point")
        infos = _check_qlinear_inputs(node, inputs, names, SCALE_TYPES[:1])
        x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp = infos
        attrs = _bind_conv(node, attrs, x, w, 0, 3)
        for i in (1, 2, 6, 7):
            _param_shape(node, infos[i], i, x.shape, "tensor", names[i])
        _param_shape(node, w_s, 4, w.shape, "chan", "w_scale")
        wz = _param_shape(node, w_zp, 5, w.shape, "chan", "w_zero_point")
        bias = _opt(inputs, 8)
        if bias is not None:
            check_quant_dtype(node, bias, 8, (np.dtype(np.int32),), "B")
            if bias.shape != (w.shape[0],):
                raise node.error(f"expected shape [{w.shape[0]}] (one int32 per output channel), got "
                                 f"{shape_str(bias.shape)}", input=8)
        return replace(attrs, w_zp_shape=wz, w32=_const_centered(consts, 3, 5, wz, True))

    @classmethod
    def run(cls, node, attrs, arrays):
        x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp = arrays[:8]
        bias = _opt(arrays, 8)
        w32 = attrs.w32 if attrs.w32 is not None else _centered(w, w_zp, attrs.w_zp_shape)
        acc = _conv_int32(attrs, _centered(x, x_zp, ()), w32)
        chan = (1, -1) + (1,) * (acc.ndim - 2)
        if bias is not None:
            acc += bias.reshape(chan)
        mult = (x_s.reshape(()) * w_s.reshape(chan if w_s.size > 1 else ()) / y_s.reshape(())).astype(np.float32)
        return [_requantize(acc, mult, y_zp.reshape(()), y_zp.dtype, 1)]


__all__ = ["MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv"]
