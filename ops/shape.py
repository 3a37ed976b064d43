"""Shape and plumbing operators: Identity, Shape, Size, Reshape, Flatten, Transpose, Squeeze, Unsqueeze, Concat,
Cast, Expand (Constant and ConstantOfShape: ``ops/generator.py``; Gather: ``ops/indexing.py``).

These move or reinterpret data; numpy views, ``np.take`` and ``astype`` are as fast as a kernel would be,
so there is no Numba here. Every shape-valued input (Reshape's shape, Squeeze's axes, Expand's shape...)
must be known at plan time; all checks run in ``parse_attrs`` / ``bind`` / ``infer``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import ml_dtypes
from onnx import TensorProto

from onnumba.errors import shape_str
from onnumba.ops._common import (
    NUMERIC,
    broadcast_output,
    check_dtype,
    check_size,
    const_ints,
    const_shape,
    normalize_axis,
    require_input,
)
from onnumba.registry import Op, TensorInfo, register

_IDENTITY_VERSIONS = (1, 13, 14, 16, 19, 21, 23, 24, 25)

BOOL = np.dtype(np.bool_)
#: element types the plumbing ops move around (numeric, bool, strings as object arrays)
ANY = NUMERIC + (BOOL, np.dtype(object))


def _check_any(node, info: TensorInfo, i: int) -> None:
    """Plumbing ops accept every element type onnumba can hold; anything else (bfloat16...) is refused."""
    check_dtype(node, info, i, ANY)


# ============================================================================================ Identity

@register("Identity", versions=_IDENTITY_VERSIONS)
class Identity(Op):
    """Output = input (the same array; onnumba never writes into an op's input)."""

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        return [x]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [arrays[0]]


# ======================================================================================== Shape, Size

@dataclass(frozen=True)
class ShapeAttrs:
    start: int
    end: int | None


def _shape_slice(attrs, rank: int) -> tuple:
    """Shape's start/end: negative values count from the back, then both are clamped to [0, rank]."""
    def clamp(v):
        if v < 0:
            v += rank
        return min(max(v, 0), rank)

    start = clamp(attrs.start)
    end = rank if attrs.end is None else clamp(attrs.end)
    return start, max(end, start)


@register("Shape", versions=(1, 13, 15, 19, 21, 23, 24, 25))
class Shape(Op):
    """The input's shape as a 1-d int64 tensor; ``start`` / ``end`` (opset 15+) select a slice of it."""

    @classmethod
    def parse_attrs(cls, node):
        if node.version < 15 and ("start" in node.attrs or "end" in node.attrs):
            raise node.error(f"the 'start' and 'end' attributes exist from opset 15; this node is version "
                             f"{node.version}")
        return ShapeAttrs(node.attr("start", 0, kind="int"), node.attr("end", None, kind="int"))

    @classmethod
    def plan_value(cls, node, attrs, inputs) -> list:
        """The output, computed from the input's info alone (it depends on no data)."""
        x = inputs[0]
        s, e = _shape_slice(attrs, x.rank)
        return [np.array(x.shape[s:e], dtype=np.int64)]

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "data")
        s, e = _shape_slice(attrs, x.rank)
        return [TensorInfo(np.int64, (e - s,))]

    @classmethod
    def run(cls, node, attrs, arrays):
        s, e = _shape_slice(attrs, arrays[0].ndim)
        return [np.array(arrays[0].shape[s:e], dtype=np.int64)]


@register("Size", versions=(1, 13, 19, 21, 23, 24, 25))
class Size(Op):
    """The input's element count as an int64 scalar."""

    @classmethod
    def plan_value(cls, node, attrs, inputs) -> list:
        return [np.array(inputs[0].size, dtype=np.int64)]

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        require_input(node, inputs, 0, "data")
        return [TensorInfo(np.int64, ())]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.array(arrays[0].size, dtype=np.int64)]


# ============================================================================================= Reshape

class _ReshapeLike(Op):
    """Ops whose output is the input viewed with another shape, computed in ``bind`` as ``attrs.out_shape``
    (Reshape, Flatten, Squeeze, Unsqueeze): no data moves."""

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [arrays[0].reshape(attrs.out_shape)]


@dataclass(frozen=True)
class ReshapeAttrs:
    allowzero: bool
    shape_attr: tuple | None  # opset 1-4: the 'shape' attribute
    out_shape: tuple | None = None


def reshape_target(node, in_shape: tuple, spec: tuple, allowzero: bool, *, input=None, attribute=None) -> tuple:
    """Resolve Reshape's requested ``spec`` (0 copies a dim unless ``allowzero``, -1 infers) or raise."""
    where = dict(input=input, attribute=attribute)
    out, infer_at = [], None
    for k, d in enumerate(spec):
        if d == -1:
            if infer_at is not None:
                raise node.error(f"the shape {shape_str(spec)} has more than one -1", **where)
            infer_at = k
            out.append(1)
        elif d == 0 and not allowzero:
            if k >= len(in_shape):
                raise node.error(f"the shape {shape_str(spec)} has 0 (copy the input dim) at position {k}, but "
                                 f"the input {shape_str(in_shape)} has rank {len(in_shape)}", **where)
            out.append(in_shape[k])
        elif d < 0:
            raise node.error(f"the shape {shape_str(spec)} has the invalid value {d} (only -1 may be negative)",
                             **where)
        else:
            out.append(d)
    if allowzero and infer_at is not None and 0 in spec:
        raise node.error(f"the shape {shape_str(spec)} has both -1 and 0 with allowzero=1", **where)
    n_in = 1
    for d in in_shape:
        n_in *= d
    known = 1
    for d in out:
        known *= d
    if infer_at is not None:
        if known == 0:
            raise node.error(f"cannot infer the -1 of shape {shape_str(spec)}: its other dims multiply to 0, so "
                             f"any value would fit", **where)
        if n_in % known:
            raise node.error(f"cannot infer the -1 of shape {shape_str(spec)}: the input {shape_str(in_shape)} "
                             f"has {n_in} elements, not a multiple of {known}", **where)
        out[infer_at] = n_in // known
        known = n_in
    if known != n_in:
        raise node.error(f"cannot reshape the input {shape_str(in_shape)} ({n_in} elements) to "
                         f"{shape_str(tuple(out))} ({known} elements) requested by {shape_str(spec)}", **where)
    return tuple(out)


@register("Reshape", versions=(1, 5, 13, 14, 19, 21, 23, 24, 25), plan_constant_inputs=(1,))
class Reshape(_ReshapeLike):
    """Reshape to a plan-constant shape: 0 copies the input dim (unless ``allowzero``), -1 is inferred."""

    @classmethod
    def parse_attrs(cls, node):
        allowzero = node.attr("allowzero", 0, kind="int")
        if allowzero not in (0, 1):
            raise node.error(f"must be 0 or 1, got {allowzero}", attribute="allowzero")
        shape_attr = None
        if node.version < 5:
            shape_attr = node.attr("shape", None, kind="ints")
            if shape_attr is None:
                raise node.error("the 'shape' attribute is required before opset 5")
        return ReshapeAttrs(bool(allowzero), shape_attr)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "data")
        if attrs.shape_attr is not None:
            out = reshape_target(node, x.shape, attrs.shape_attr, attrs.allowzero, attribute="shape")
        else:
            s = require_input(node, inputs, 1, "shape")
            if s.rank != 1:
                raise node.error(f"the shape must be a 1-d tensor, got shape {shape_str(s.shape)}", input=1)
            spec = const_ints(node, consts, 1, "the shape")
            out = reshape_target(node, x.shape, spec, attrs.allowzero, input=1)
        return replace(attrs, out_shape=out)


# ============================================================================================= Flatten

@dataclass(frozen=True)
class AxisAttrs:
    axis: int
    out_shape: tuple | None = None


@register("Flatten", versions=(1, 9, 11, 13, 21, 23, 24, 25))
class Flatten(_ReshapeLike):
    """Reshape to 2-d: (prod(shape[:axis]), prod(shape[axis:])); ``axis`` may be negative from opset 11."""

    @classmethod
    def parse_attrs(cls, node):
        return AxisAttrs(node.attr("axis", 1, kind="int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "input")
        r = x.rank
        lo = -r if node.version >= 11 else 0
        if not lo <= attrs.axis <= r:
            raise node.error(f"axis {attrs.axis} is out of range for rank {r} (expected {lo} <= axis <= {r})",
                             attribute="axis")
        axis = attrs.axis + r if attrs.axis < 0 else attrs.axis
        a = int(np.prod(x.shape[:axis], dtype=np.int64))
        b = int(np.prod(x.shape[axis:], dtype=np.int64))
        return AxisAttrs(axis, (a, b))


# =========================================================================================== Transpose

@dataclass(frozen=True)
class TransposeAttrs:
    perm: tuple | None


@register("Transpose", versions=(1, 13, 21, 23, 24, 25))
class Transpose(Op):
    """Permute the axes (default: reverse them); the output is a C-contiguous copy."""

    @classmethod
    def parse_attrs(cls, node):
        perm = node.attr("perm", None, kind="ints")
        if perm is not None and sorted(perm) != list(range(len(perm))):
            raise node.error(f"{list(perm)} is not a permutation of 0..{len(perm) - 1}", attribute="perm")
        return TransposeAttrs(perm)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "data")
        if attrs.perm is None:
            return replace(attrs, perm=tuple(range(x.rank - 1, -1, -1)))
        if len(attrs.perm) != x.rank:
            raise node.error(f"perm {list(attrs.perm)} has {len(attrs.perm)} entries but the input has rank "
                             f"{x.rank} (shape {shape_str(x.shape)})", attribute="perm")
        return attrs

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        return [TensorInfo(x.dtype, tuple(x.shape[p] for p in attrs.perm))]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.transpose(arrays[0], attrs.perm).copy()]


# ================================================================================= Squeeze, Unsqueeze

@dataclass(frozen=True)
class AxesAttrs:
    axes: tuple | None  # from the attribute (before opset 13) or, after bind, resolved and sorted
    out_shape: tuple | None = None


def _resolve_axes(node, attrs, consts, rank: int) -> tuple | None:
    """The axes (attribute or plan-constant input 1) normalised against ``rank``; duplicates refused."""
    if node.version >= 13:
        axes = const_ints(node, consts, 1, "the axes")
        where = dict(input=1)
    else:
        axes = attrs.axes
        where = dict(attribute="axes")
    if axes is None:
        return None
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise node.error(f"axis {a} in {list(axes)} is out of range for rank {rank} (expected {-rank} <= "
                             f"axis < {rank})", **where)
        out.append(a + rank if a < 0 else a)
    if len(set(out)) != len(out):
        raise node.error(f"the axes {list(axes)} repeat an axis", **where)
    return tuple(sorted(out))


class _AxesReshape(_ReshapeLike):
    """Squeeze and Unsqueeze: the axes are an attribute before opset 13 and plan-constant input 1 from it."""

    @classmethod
    def parse_attrs(cls, node):
        if node.version >= 13:
            if "axes" in node.attrs:
                raise node.error("from opset 13 the axes are input 1, not an attribute", attribute="axes")
            return AxesAttrs(None)
        return AxesAttrs(node.attr("axes", None, kind="ints"))


@register("Squeeze", versions=(1, 11, 13, 21, 23, 24, 25), plan_constant_inputs=(1,))
class Squeeze(_AxesReshape):
    """Remove the listed axes (each must have size 1), or every size-1 axis when no axes are given."""

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "data")
        axes = _resolve_axes(node, attrs, consts, x.rank)
        if axes is None:
            axes = tuple(k for k, d in enumerate(x.shape) if d == 1)
        for a in axes:
            if x.shape[a] != 1:
                raise node.error(f"cannot squeeze axis {a} of the input {shape_str(x.shape)}: its size is "
                                 f"{x.shape[a]}, not 1", **({"input": 1} if node.version >= 13
                                                               else {"attribute": "axes"}))
        out = tuple(d for k, d in enumerate(x.shape) if k not in axes)
        return AxesAttrs(axes, out)


@register("Unsqueeze", versions=(1, 11, 13, 21, 23, 24, 25), plan_constant_inputs=(1,))
class Unsqueeze(_AxesReshape):
    """Insert size-1 axes at the listed positions of the output (negative ones count from its end)."""

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "data")
        if node.version >= 13 and not node.has_input(1):
            raise node.error("the axes input is required", input=1)
        if node.version < 13 and attrs.axes is None:
            raise node.error("the 'axes' attribute is required before opset 13", attribute="axes")
        n_axes = len(const_ints(node, consts, 1, "the axes")) if node.version >= 13 else len(attrs.axes)
        axes = _resolve_axes(node, attrs, consts, x.rank + n_axes)
        out, it = [], iter(x.shape)
        for k in range(x.rank + len(axes)):
            out.append(1 if k in axes else next(it))
        return AxesAttrs(axes, tuple(out))


# ============================================================================================== Concat

@register("Concat", versions=(1, 4, 11, 13))
class Concat(Op):
    """Join the inputs along ``axis`` (negative counts from the end; default 1 in opset 1, required after)."""

    @classmethod
    def parse_attrs(cls, node):
        if node.version >= 4 and "axis" not in node.attrs:
            raise node.error("the 'axis' attribute is required", attribute="axis")
        if node.n_inputs < 1:
            raise node.error("needs at least one input")
        return AxisAttrs(node.attr("axis", 1, kind="int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        first = require_input(node, inputs, 0)
        # before opset 11 the spec states no range for axis (negative ones arrived with the [-r, r-1] text of
        # Concat-11) and onnxruntime accepts a negative axis there: counted from the end, as from opset 11
        return replace(attrs, axis=normalize_axis(node, attrs.axis, first.rank, attribute="axis"))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        first = inputs[0]
        _check_any(node, first, 0)
        a = attrs.axis
        total = 0
        for i in range(node.n_inputs):
            x = require_input(node, inputs, i)
            if x.dtype != first.dtype:
                raise node.error(f"element type {x.dtype.name} differs from input 0's {first.dtype.name}",
                                 input=i)
            if x.rank != first.rank or any(d != e for k, (d, e) in enumerate(zip(x.shape, first.shape))
                                           if k != a):
                raise node.error(f"shape {shape_str(x.shape)} does not match input 0's {shape_str(first.shape)} "
                                 f"on every axis but the concat axis {a}", input=i)
            total += x.shape[a]
        out = first.shape[:a] + (total,) + first.shape[a + 1:]
        check_size(node, out)
        return [TensorInfo(first.dtype, out)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.concatenate([a for a in arrays], axis=attrs.axis)]


# ================================================================================================ Cast

_CAST_TARGETS = {
    TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.FLOAT16: np.float16,
    TensorProto.INT8: np.int8, TensorProto.INT16: np.int16, TensorProto.INT32: np.int32,
    TensorProto.INT64: np.int64, TensorProto.UINT8: np.uint8, TensorProto.UINT16: np.uint16,
    TensorProto.UINT32: np.uint32, TensorProto.UINT64: np.uint64, TensorProto.BOOL: np.bool_,
    # bfloat16 through ml_dtypes (an onnx dependency), which rounds to nearest even like the spec
    TensorProto.BFLOAT16: ml_dtypes.bfloat16,
}
_CAST_OK = tuple(np.dtype(t) for t in _CAST_TARGETS.values())


@dataclass(frozen=True)
class CastAttrs:
    to: np.dtype


@register("Cast", versions=(1, 6, 9, 13, 19, 21, 23, 24, 25, 28))
class Cast(Op):
    """Convert the element type (numeric and bool). float -> int truncates toward zero (out-of-range values
    are undefined by the spec); string, bfloat16, float8 and 4-bit types are refused at load."""

    @classmethod
    def parse_attrs(cls, node):
        if "to" not in node.attrs:
            raise node.error("the 'to' attribute is required", attribute="to")
        to = node.attrs["to"]
        if isinstance(to, str):  # opset 1: the type's name, e.g. "FLOAT"
            code = TensorProto.DataType.Value(to.upper()) if to.upper() in TensorProto.DataType.keys() else None
            if code is None:
                raise node.error(f"unknown element type name {to!r}", attribute="to")
        else:
            code = node.attr("to", kind="int")
        if code not in _CAST_TARGETS:
            name = TensorProto.DataType.Name(code) if code in TensorProto.DataType.values() else str(code)
            raise node.error(f"casting to {name} is not supported by onnumba (supported: float, double, float16, "
                             f"bool and the 8/16/32/64-bit integer types)", attribute="to")
        return CastAttrs(np.dtype(_CAST_TARGETS[code]))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        if x.dtype not in _CAST_OK:
            raise node.error(f"casting from element type {x.dtype.name} is not supported by onnumba (supported: "
                             f"float, double, float16, bfloat16, bool and the 8/16/32/64-bit integer types)", input=0)
        return [TensorInfo(attrs.to, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        with np.errstate(invalid="ignore", over="ignore"):
            return [x.astype(attrs.to)]


# ============================================================================================== Expand

@dataclass(frozen=True)
class ExpandAttrs:
    out_shape: tuple | None = None


@register("Expand", versions=(8, 13), plan_constant_inputs=(1,))
class Expand(Op):
    """Broadcast the input against a plan-constant shape (numpy rules, both ways); the output is a copy."""

    @classmethod
    def parse_attrs(cls, node):
        return ExpandAttrs()

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "input")
        shape = const_shape(node, inputs, consts, 1)
        return ExpandAttrs(broadcast_output(node, [x.shape, shape], idx=[0, 1]))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.array(np.broadcast_to(arrays[0], attrs.out_shape))]
