"""Generators: operators whose output is made from attributes and plan-constant inputs, not from data:
Constant, ConstantOfShape, Range.

Constant and Range are :class:`~onnumba.ops._common.ValueOp` s: their value is computed once (at load or when the
plan is made) and returned read-only by every run. ConstantOfShape fills a new array of its plan-constant shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import NUMERIC, ValueOp, check_dtype, check_size, const_shape, require_input
from onnumba.ops.indexing import BF16, scalar_value
from onnumba.ops.shape import ANY, BOOL
from onnumba.registry import Op, TensorInfo, register

_BF16 = () if BF16 is None else (BF16,)


# ============================================================================================ Constant

@dataclass(frozen=True)
class ConstantAttrs:
    value: np.ndarray


_CONSTANT_FORMS = ("value", "value_float", "value_floats", "value_int", "value_ints", "value_string",
                   "value_strings", "sparse_value")


@register("Constant", versions=(1, 9, 11, 12, 13, 19, 21, 23, 24, 25))
class Constant(ValueOp):
    """A tensor given by exactly one of the ``value*`` attributes (``sparse_value`` is refused)."""

    @classmethod
    def parse_attrs(cls, node):
        given = [k for k in _CONSTANT_FORMS if k in node.attrs]
        if len(given) != 1:
            raise node.error(f"exactly one of the attributes {', '.join(_CONSTANT_FORMS)} must be given, got "
                             f"{given or 'none'}")
        k = given[0]
        if k == "sparse_value":
            raise node.error("sparse tensors are not supported by onnumba; store the constant as a dense "
                             "'value' tensor", attribute=k)
        if k == "value":
            v = node.attr(k, kind="tensor")
        elif k == "value_float":
            v = np.array(node.attr(k, kind="float"), dtype=np.float32)
        elif k == "value_floats":
            v = np.array(node.attr(k, kind="floats"), dtype=np.float32).reshape(-1)
        elif k == "value_int":
            v = np.array(node.attr(k, kind="int"), dtype=np.int64)
        elif k == "value_ints":
            v = np.array(node.attr(k, kind="ints"), dtype=np.int64).reshape(-1)
        elif k == "value_string":
            v = np.array(node.attr(k, kind="str"), dtype=object)
        else:
            v = np.array(list(node.attr(k, kind="strs")), dtype=object).reshape(-1)
        if v.dtype not in ANY:
            raise node.error(f"element type {v.dtype} is not supported", attribute=k)
        v.setflags(write=False)
        return ConstantAttrs(v)


# ===================================================================================== ConstantOfShape

@dataclass(frozen=True)
class ConstantOfShapeAttrs:
    value: np.ndarray  # 0-d
    shape: tuple | None = None


@register("ConstantOfShape", versions=(9, 20, 21, 23, 24, 25), plan_constant_inputs=(0,))
class ConstantOfShape(Op):
    """A tensor of the shape given by input 0 (plan-constant int64), filled with ``value`` (default 0.0f)."""

    @classmethod
    def parse_attrs(cls, node):
        v = node.attr("value", None, kind="tensor")
        if v is None:
            v = np.zeros((), np.float32)
        if v.size != 1:
            raise node.error(f"must be a one-element tensor, got shape {shape_str(v.shape)}", attribute="value")
        if v.dtype not in NUMERIC + (BOOL,):
            raise node.error(f"element type {v.dtype} is not supported", attribute="value")
        return ConstantOfShapeAttrs(v.reshape(()))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        shape = const_shape(node, inputs, consts, 0, "input")
        check_size(node, shape)
        return replace(attrs, shape=shape)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(attrs.value.dtype, attrs.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.full(attrs.shape, attrs.value, dtype=attrs.value.dtype)]


# =============================================================================================== Range

@dataclass(frozen=True)
class RangeAttrs:
    stash_type: int | None
    #: filled by bind: the output, computed from the plan-constant scalars
    value: np.ndarray | None = None


_RANGE_TYPES = tuple(np.dtype(t) for t in (np.float32, np.float64, np.int16, np.int32, np.int64))
_STASH = {1: np.dtype(np.float32), 11: np.dtype(np.float64)}


@register("Range", versions=(11, 27), plan_constant_inputs=(0, 1, 2))
class Range(ValueOp):
    """``start + i * delta`` for ``i < max(ceil((limit - start) / delta), 0)``; all three are plan-constant
    scalars. Integers are exact; floats are computed in float64 (float16 / bfloat16 in ``stash_type``, float by
    default, from opset 27) and rounded once to the output type."""

    @classmethod
    def parse_attrs(cls, node):
        stash = None
        if node.version >= 27:
            stash = node.attr("stash_type", 1, kind="int")
            if stash not in _STASH:
                raise node.error(f"must be 1 (FLOAT) or 11 (DOUBLE), got {stash}", attribute="stash_type")
        return RangeAttrs(stash)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        allowed = _RANGE_TYPES + ((np.dtype(np.float16),) + _BF16 if node.version >= 27 else ())
        names = ("start", "limit", "delta")
        for i, what in enumerate(names):
            info = require_input(node, inputs, i, what)
            check_dtype(node, info, i, allowed, what)
            if info.dtype != inputs[0].dtype:
                raise node.error(f"{what} has element type {info.dtype.name} but start has {inputs[0].dtype.name}",
                                 input=i)
            if info.size != 1 or info.rank > 1:
                raise node.error(f"{what} must be a scalar, got shape {shape_str(info.shape)}", input=i)
        start, limit, delta = (scalar_value(node, consts, i, w) for i, w in enumerate(names))
        dt = inputs[0].dtype
        if dt.kind in "iu":
            if delta == 0:
                raise node.error("delta must not be 0", input=2)
            n = max(-((start - limit) // delta), 0)
            check_size(node, (n,))
            value = (start + np.arange(n, dtype=np.int64) * delta).astype(dt)
        else:
            if not all(math.isfinite(v) for v in (start, limit, delta)) or delta == 0:
                raise node.error(f"start, limit and delta must be finite and delta non-zero, got start={start}, "
                                 f"limit={limit}, delta={delta}", input=2)
            n = max(math.ceil((limit - start) / delta), 0)
            check_size(node, (n,))
            cdt = np.dtype(np.float64)
            if attrs.stash_type is not None and (dt == np.float16 or dt == BF16):
                cdt = _STASH[attrs.stash_type]
            value = (cdt.type(start) + np.arange(n, dtype=cdt) * cdt.type(delta)).astype(dt)
        value.setflags(write=False)
        return replace(attrs, value=value)
