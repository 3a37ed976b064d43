"""Linear quantization: QuantizeLinear, DequantizeLinear (per tensor, per axis, blocked) and DynamicQuantizeLinear.

``QuantizeLinear``: ``y = saturate(round(x / y_scale) + y_zero_point)``, rounding half to even, the division done
in ``y_scale``'s type (or the ``precision`` attribute's, opset 23+). ``DequantizeLinear``:
``y = (x - x_zero_point) * x_scale``, computed in float32 and cast to the output type (``x_scale``'s, or
``output_dtype``). The granularity follows the scale's shape: a scalar (per tensor), a 1-d tensor of the length of
``axis`` (per axis) or, with ``block_size`` (opset 21+), the input's shape with ``axis`` cut into blocks.

Quantized types: int8, uint8, int16, uint16 (and int32 for DequantizeLinear's input). The float8, float4, float6,
int4 and int2 types are refused with an error naming the type: numpy has no native arithmetic for them.
These ops are memory bound: one vectorised Numba pass (``ops/kernels/quantize.py``) reads each scale where it
applies, without materialising broadcast or repeated scales; a float16-precision division goes through numpy's
float16 ufuncs. The integer matmul / conv ops live in ``quantized_linear.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import onnx

from onnumba.errors import shape_str
from onnumba.ops._common import check_dtype, normalize_axis, require_input
from onnumba.ops.kernels.quantize import dequantize, quantize
from onnumba.registry import Op, TensorInfo, register

#: saturation ranges of the supported quantized integer types (the spec's table)
QUANT_RANGES = {
    np.dtype(np.int8): (-128, 127),
    np.dtype(np.uint8): (0, 255),
    np.dtype(np.int16): (-32768, 32767),
    np.dtype(np.uint16): (0, 65535),
}
QUANT_TYPES = tuple(QUANT_RANGES)
#: element types a quantized value is computed from / dequantized to (bfloat16 is not a numpy type)
SCALE_TYPES = (np.dtype(np.float32), np.dtype(np.float16))

_VERSIONS = (10, 13, 19, 21, 23, 24, 25, 28)


def check_quant_dtype(node, info: TensorInfo, i: int, allowed, what: str = "") -> None:
    """``check_dtype`` with a clearer refusal of the exotic quantized types (float8, int4 ...); the node error
    already names the input, ``what`` is for inputs the model left unnamed."""
    if info.dtype not in allowed and info.dtype.kind == "V":
        # ml_dtypes' float8 / float4 / int4 / int2 / bfloat16 types have numpy kind 'V'
        names = ", ".join(d.name for d in allowed)
        raise node.error(f"element type {info.dtype.name} is not supported (onnumba does not compute "
                         f"float8, float4, float6, bfloat16, int4 or int2 values); expected one of {names}",
                         input=i)
    check_dtype(node, info, i, allowed)


def tensor_type_attr(node, name: str, allowed) -> np.dtype | None:
    """An attribute holding a TensorProto element type (``output_dtype``, ``precision``), 0 meaning unset."""
    t = node.attr(name, 0, "int")
    if t == 0:
        return None
    try:
        dt = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(t))
        tname = onnx.TensorProto.DataType.Name(t)
    except Exception:
        raise node.error(f"{t} is not an onnx element type", attribute=name) from None
    if dt not in allowed:
        names = ", ".join(d.name for d in allowed)
        raise node.error(f"element type {tname} is not supported; expected one of {names}", attribute=name)
    return dt


@dataclass(frozen=True)
class QuantAttrs:
    axis: int  # as given (resolved in bind, only when the scale is per axis or blocked)
    block_size: int  # 0: not blocked
    out_dtype: np.dtype | None  # QuantizeLinear: the quantized type; DequantizeLinear: the float type
    precision: np.dtype | None = None  # QuantizeLinear 23+: the division's type
    # bound
    mode: str = ""  # "tensor", "axis" or "block"
    scale_shape: tuple | None = None  # the scale reshaped to broadcast against x ("tensor", "axis")
    block_axis: int = 0  # the resolved axis ("axis", "block")
    layout: tuple = ()  # (O, D, I, block, scale 3-d shape) for the kernels (ops/kernels/quantize.py)


def _parse_common(node) -> QuantAttrs:
    v = node.version
    axis = node.attr("axis", 1, "int") if v >= 13 else 1
    block_size = 0
    if v >= 21:
        block_size = node.attr("block_size", 0, "int")
        if block_size < 0:
            raise node.error(f"must be >= 0 (0: not blocked), got {block_size}", attribute="block_size")
    if v >= 19:
        sat = node.attr("saturate", 1, "int")
        if sat not in (0, 1):
            raise node.error(f"expected 0 or 1, got {sat}", attribute="saturate")
    return QuantAttrs(axis, block_size, None)


def bind_scale(node, attrs: QuantAttrs, x: TensorInfo, scale: TensorInfo, zp: TensorInfo | None,
               *, scale_input: int = 1) -> QuantAttrs:
    """Decide the granularity from the scale's shape, validate the zero point against it and lay the input out
    as (O, D, I) around the quantization axis for the kernels."""
    a = _granularity(node, attrs, x, scale, zp, scale_input)
    if a.mode == "tensor":
        return replace(a, layout=(1, 1, x.size, 1, (1, 1, 1)))
    ax = a.block_axis
    o, d, i = int(np.prod(x.shape[:ax], dtype=np.int64)), x.shape[ax], int(np.prod(x.shape[ax + 1:], dtype=np.int64))
    if a.mode == "axis":
        return replace(a, layout=(o, d, i, 1, (1, d, 1)))
    return replace(a, layout=(o, d, i, a.block_size, (o, -(-d // a.block_size), i)))


def _granularity(node, attrs: QuantAttrs, x: TensorInfo, scale: TensorInfo, zp: TensorInfo | None,
                 scale_input: int) -> QuantAttrs:
    s_shape = scale.shape
    if zp is not None and zp.shape != s_shape:
        raise node.error(f"shape {shape_str(zp.shape)} differs from the scale's {shape_str(s_shape)}; the zero "
                         f"point must have the scale's shape", input=scale_input + 1)
    if scale.rank == 0 or (scale.rank == 1 and s_shape[0] == 1):
        # a single scale is per tensor whatever block_size says (as onnx's reference reads it)
        return replace(attrs, mode="tensor", scale_shape=())
    if attrs.block_size > 0:
        if scale.rank != x.rank:
            raise node.error(f"blocked quantization (block_size={attrs.block_size}) needs a scale of the input's "
                             f"rank {x.rank}, got shape {shape_str(s_shape)}", input=scale_input)
        ax = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        want = tuple(-(-d // attrs.block_size) if k == ax else d for k, d in enumerate(x.shape))
        if s_shape != want:
            raise node.error(f"shape {shape_str(s_shape)} does not fit input shape {shape_str(x.shape)} blocked "
                             f"by block_size={attrs.block_size} along axis {ax}; expected {shape_str(want)}",
                             input=scale_input)
        return replace(attrs, mode="block", block_axis=ax)
    if scale.rank == 1 and node.version >= 13:
        ax = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        if s_shape[0] != x.shape[ax]:
            raise node.error(f"per-axis scale of length {s_shape[0]} does not match input shape "
                             f"{shape_str(x.shape)} along axis {ax} ({x.shape[ax]})", input=scale_input)
        return replace(attrs, mode="axis", scale_shape=tuple(d if k == ax else 1 for k, d in enumerate(x.shape)),
                       block_axis=ax)
    want = "a scalar" if node.version < 13 else "a scalar or a 1-d tensor (per axis)"
    if node.version >= 21:
        want += ", or the input's rank with block_size set (blocked)"
    raise node.error(f"expected {want}, got shape {shape_str(s_shape)}", input=scale_input)


def expand_scale(attrs: QuantAttrs, s: np.ndarray, x_shape: tuple) -> np.ndarray:
    """The scale or zero point as an array broadcastable to the input's shape."""
    if attrs.mode != "block":
        return s.reshape(attrs.scale_shape)
    ax = attrs.block_axis
    # every scale covers block_size consecutive positions along the axis; the last block may be short
    return np.repeat(s, attrs.block_size, axis=ax)[(slice(None),) * ax + (slice(0, x_shape[ax]),)]


def saturate_round(q: np.ndarray, zp, out_dtype: np.dtype) -> np.ndarray:
    """round-half-to-even(q) + zp, saturated to ``out_dtype``'s range.

    NaN saturates to the range's low end, as onnxruntime does (the spec leaves NaN undefined): fmax ignores
    a NaN operand, where clip would keep it and the cast would be undefined.
    """
    lo, hi = QUANT_RANGES[out_dtype]
    r = np.rint(q).astype(np.float64, copy=False)
    if zp is not None:
        r = r + zp
    r = np.fmin(np.fmax(r, lo), hi)
    return r.astype(out_dtype)


def _zp3(zp: np.ndarray | None, s3: tuple) -> np.ndarray:
    # the kernel reads the zero point at the scale's index, so a missing one takes the scale's full shape
    return np.zeros(s3, np.int64) if zp is None else zp.astype(np.int64).reshape(s3)


def _quantize_layout(attrs: QuantAttrs, x: np.ndarray, s: np.ndarray, zp: np.ndarray | None, out_dtype) -> np.ndarray:
    """QuantizeLinear with float32 division through the one-pass kernel."""
    o, d, i, block, s3 = attrs.layout
    lo, hi = QUANT_RANGES[np.dtype(out_dtype)]
    y = np.empty(x.shape, out_dtype)
    quantize(np.ascontiguousarray(x, dtype=np.float32).reshape(-1), s.astype(np.float32).reshape(s3), _zp3(zp, s3),
             y.reshape(-1), d, i, block, lo, hi)
    return y


def _optional(inputs, i):
    return inputs[i] if i < len(inputs) else None


class _Linear(Op):
    """QuantizeLinear and DequantizeLinear: inputs ``x, scale[, zero_point]``, the output of x's shape in the
    bound ``out_dtype``."""

    param_prefix = ""  # "y" (QuantizeLinear's y_scale, y_zero_point) or "x"

    @classmethod
    def check_inputs(cls, node, inputs, x_types, zp_types):
        """``x, scale, zero_point or None``, each checked for presence and element type."""
        p = cls.param_prefix
        x = require_input(node, inputs, 0, "x")
        s = require_input(node, inputs, 1, f"{p}_scale")
        zp = _optional(inputs, 2)
        check_quant_dtype(node, x, 0, x_types, "x")
        check_quant_dtype(node, s, 1, SCALE_TYPES, f"{p}_scale")
        if zp is not None:
            check_quant_dtype(node, zp, 2, zp_types, f"{p}_zero_point")
        return x, s, zp

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(attrs.out_dtype, inputs[0].shape)]


@register("QuantizeLinear", versions=_VERSIONS)
class QuantizeLinear(_Linear):
    """``y = saturate(round_half_even(x / y_scale) + y_zero_point)`` (uint8 when the zero point and
    ``output_dtype`` are absent)."""

    param_prefix = "y"

    @classmethod
    def parse_attrs(cls, node):
        a = _parse_common(node)
        v = node.version
        out = tensor_type_attr(node, "output_dtype", QUANT_TYPES) if v >= 21 else None
        prec = tensor_type_attr(node, "precision", SCALE_TYPES) if v >= 23 else None
        return replace(a, out_dtype=out, precision=prec)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x, s, zp = cls.check_inputs(node, inputs, SCALE_TYPES + (np.dtype(np.int32),), QUANT_TYPES)
        out = attrs.out_dtype
        if zp is not None:
            if out is not None and zp.dtype != out:
                raise node.error(f"element type {zp.dtype.name} differs from output_dtype {out.name}; when both "
                                 f"are given they must agree", input=2)
            out = zp.dtype
        attrs = replace(attrs, out_dtype=out or np.dtype(np.uint8))
        return bind_scale(node, attrs, x, s, zp)

    @classmethod
    def run(cls, node, attrs, arrays):
        x, s, zp = arrays[0], arrays[1], _optional(arrays, 2)
        work = attrs.precision or s.dtype
        if work == np.float32:
            return [_quantize_layout(attrs, x, s, zp, attrs.out_dtype)]
        # float16 division: numpy's float16 ufuncs round every quotient to float16 as the spec's precision asks
        sc = expand_scale(attrs, s, x.shape).astype(work, copy=False)
        with np.errstate(all="ignore"):
            q = x.astype(work, copy=False) / sc
            z = None if zp is None else expand_scale(attrs, zp, x.shape).astype(np.float64)
            return [saturate_round(q, z, attrs.out_dtype)]


@register("DequantizeLinear", versions=_VERSIONS)
class DequantizeLinear(_Linear):
    """``y = (x - x_zero_point) * x_scale`` in float32, cast to ``x_scale``'s type (or ``output_dtype``)."""

    param_prefix = "x"

    @classmethod
    def parse_attrs(cls, node):
        a = _parse_common(node)
        out = tensor_type_attr(node, "output_dtype", SCALE_TYPES) if node.version >= 23 else None
        return replace(a, out_dtype=out)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x, s, zp = cls.check_inputs(node, inputs, QUANT_TYPES + (np.dtype(np.int32),),
                                    QUANT_TYPES + (np.dtype(np.int32),))
        if zp is not None and zp.dtype != x.dtype:
            raise node.error(f"element type {zp.dtype.name} differs from x's {x.dtype.name}; the zero point "
                             f"must have the quantized input's type", input=2)
        attrs = replace(attrs, out_dtype=attrs.out_dtype or s.dtype)
        return bind_scale(node, attrs, x, s, zp)

    @classmethod
    def run(cls, node, attrs, arrays):
        x, s, zp = arrays[0], arrays[1], _optional(arrays, 2)
        o, d, i, block, s3 = attrs.layout
        y = np.empty(x.shape, np.float32)
        # x - zp is exact in int64; its float32 image is exact for every 16-bit quantized type
        dequantize(np.ascontiguousarray(x).reshape(-1), s.astype(np.float32).reshape(s3), _zp3(zp, s3),
                   y.reshape(-1), d, i, block)
        return [y.astype(attrs.out_dtype, copy=False)]


@register("DynamicQuantizeLinear", versions=(11,))
class DynamicQuantizeLinear(Op):
    """uint8 quantization of float32 ``x`` with the scale and zero point computed from its range:
    ``scale = (max(0, max(x)) - min(0, min(x))) / 255``, ``zero_point = saturate(round(-min(0, min(x)) / scale))``,
    ``y = saturate(round(x / scale) + zero_point)``. Returns ``y, y_scale, y_zero_point``.

    An all-zero input has range 0: the scale is then 1 (as onnxruntime does; the spec's formula would divide by
    zero), so ``y`` and the zero point are 0. NaN values are ignored by the range and quantize to 0.
    """

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "x")
        check_dtype(node, x, 0, (np.dtype(np.float32),), "x")
        return [TensorInfo(np.uint8, x.shape), TensorInfo(np.float32, ()), TensorInfo(np.uint8, ())][
            :max(1, len(node.outputs))]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        f = np.float32
        # fmax / fmin skip NaN; the initial 0 is the spec's min(0, .) / max(0, .) and covers an empty x
        hi = f(np.fmax.reduce(x.reshape(-1), initial=0.0))
        lo = f(np.fmin.reduce(x.reshape(-1), initial=0.0))
        with np.errstate(all="ignore"):
            scale = f(1.0) if hi == lo else f(hi - lo) / f(255)
            zp = np.rint(np.clip(f(0) - lo / scale, 0, 255))
        y = np.empty(x.shape, np.uint8)
        quantize(np.ascontiguousarray(x).reshape(-1), np.full((1, 1, 1), scale, np.float32),
                 np.full((1, 1, 1), int(zp), np.int64), y.reshape(-1), 1, max(x.size, 1), 1, 0, 255)
        outs = [y, np.array(scale, np.float32), np.array(zp, np.uint8)]
        return outs[:max(1, len(node.outputs))]
