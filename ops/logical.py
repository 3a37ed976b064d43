"""Logical and comparison operators: Equal, Less, LessOrEqual, Greater, GreaterOrEqual, And, Or, Xor, Not,
Where, IsNaN, IsInf and BitShift.

All are memory bound, so numpy's ufuncs write into an output allocated here. The binary ones share
elementwise's broadcasting plumbing (numpy broadcasting, or the legacy ``broadcast`` / ``axis`` form before
opset 7) and only differ in their element types and output type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops._common import (
    FLOATS,
    INTS,
    NUMERIC,
    broadcast_shapes,
    check_dtype,
    check_same_dtype,
    check_size,
    require_input,
)
from onnumba.ops.elementwise import _Binary
from onnumba.registry import Op, TensorInfo, register

BOOL = np.dtype(bool)
STRING = np.dtype(object)
UNSIGNED = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))


class _Logical(_Binary):
    """A binary op with a bool output; ``types`` maps the first version of each type list to that list."""

    types: tuple = ((1, NUMERIC),)

    @classmethod
    def check_types(cls, node, a, b):
        allowed = [t for v, t in cls.types if v <= node.version][-1]
        check_dtype(node, a, 0, allowed)
        check_same_dtype(node, [a, b], [0, 1])

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(BOOL, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays
        if attrs.b_shape is not None:
            b = b.reshape(attrs.b_shape)
        out = np.empty(attrs.out_shape, dtype=BOOL)
        cls.ufunc(a, b, out=out)
        return [out]


@register("Equal", versions=(1, 7, 11, 13, 19))
class Equal(_Logical):
    """A == B elementwise (bool output); strings from opset 19."""

    ufunc = np.equal
    types = ((1, (BOOL, np.dtype(np.int32), np.dtype(np.int64))), (11, NUMERIC + (BOOL,)),
             (19, NUMERIC + (BOOL, STRING)))


_ORDER_TYPES = ((1, FLOATS), (9, NUMERIC))


@register("Less", versions=(1, 7, 9, 13))
class Less(_Logical):
    """A < B elementwise (bool output)."""

    ufunc, types = np.less, _ORDER_TYPES


@register("Greater", versions=(1, 7, 9, 13))
class Greater(_Logical):
    """A > B elementwise (bool output)."""

    ufunc, types = np.greater, _ORDER_TYPES


@register("LessOrEqual", versions=(12, 16))
class LessOrEqual(_Logical):
    """A <= B elementwise (bool output)."""

    ufunc = np.less_equal


@register("GreaterOrEqual", versions=(12, 16))
class GreaterOrEqual(_Logical):
    """A >= B elementwise (bool output)."""

    ufunc = np.greater_equal


@register("And", versions=(1, 7))
class And(_Logical):
    """Logical and of two bool tensors."""

    ufunc, types = np.logical_and, ((1, (BOOL,)),)


@register("Or", versions=(1, 7))
class Or(_Logical):
    """Logical or of two bool tensors."""

    ufunc, types = np.logical_or, ((1, (BOOL,)),)


@register("Xor", versions=(1, 7))
class Xor(_Logical):
    """Logical exclusive or of two bool tensors."""

    ufunc, types = np.logical_xor, ((1, (BOOL,)),)


@dataclass(frozen=True)
class BitShiftAttrs:
    left: bool
    b_shape: tuple | None = None
    out_shape: tuple | None = None


@register("BitShift", versions=(11, 28))
class BitShift(_Binary):
    """X shifted left or right by Y bits (``direction``), elementwise with numpy broadcasting. Unsigned types
    (signed from opset 28, where a right shift is arithmetic). A shift by a negative amount or by the type's
    width or more gives 0 (-1 for a right shift of a negative X), as numpy's shifts do and opset 28 specifies."""

    @classmethod
    def parse_attrs(cls, node):
        d = node.attr("direction", None, "str")
        if d not in ("LEFT", "RIGHT"):
            raise node.error(f"must be 'LEFT' or 'RIGHT', got {d!r}", attribute="direction")
        return BitShiftAttrs(d == "LEFT")

    @classmethod
    def check_types(cls, node, a, b):
        check_dtype(node, a, 0, UNSIGNED if node.version < 28 else INTS)
        check_same_dtype(node, [a, b], [0, 1])

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays
        out = np.empty(attrs.out_shape, dtype=a.dtype)
        (np.left_shift if attrs.left else np.right_shift)(a, b, out=out)
        return [out]


# ============================================================================================= unary and Where

class _Unary(Op):
    """One input, a bool (or same-typed) output of its shape; ``types`` as for ``_Logical``."""

    types: tuple = ((1, FLOATS),)

    @classmethod
    def parse_attrs(cls, node):
        return None

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, [t for v, t in cls.types if v <= node.version][-1])
        return [TensorInfo(BOOL, x.shape)]


@register("Not", versions=(1,))
class Not(_Unary):
    """Logical negation of a bool tensor."""

    types = ((1, (BOOL,)),)

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.logical_not(arrays[0])]


@register("IsNaN", versions=(9, 13, 20))
class IsNaN(_Unary):
    """True where X is NaN."""

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.isnan(arrays[0])]


@dataclass(frozen=True)
class IsInfAttrs:
    negative: bool
    positive: bool


@register("IsInf", versions=(10, 20))
class IsInf(_Unary):
    """True where X is infinite, restricted to -inf / +inf by ``detect_negative`` / ``detect_positive``."""

    types = ((10, (np.dtype(np.float32), np.dtype(np.float64))), (20, FLOATS))

    @classmethod
    def parse_attrs(cls, node):
        flags = []
        for name in ("detect_negative", "detect_positive"):
            v = node.attr(name, 1, "int")
            if v not in (0, 1):
                raise node.error(f"must be 0 or 1, got {v}", attribute=name)
            flags.append(bool(v))
        return IsInfAttrs(*flags)

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        if attrs.negative and attrs.positive:
            return [np.isinf(x)]
        if attrs.negative:
            return [np.isneginf(x)]
        if attrs.positive:
            return [np.isposinf(x)]
        return [np.zeros(x.shape, BOOL)]


@dataclass(frozen=True)
class WhereAttrs:
    out_shape: tuple | None = None


@register("Where", versions=(9, 16))
class Where(Op):
    """``condition ? X : Y`` elementwise, the three inputs broadcast together (numpy rules). X and Y share any
    element type, strings included."""

    @classmethod
    def parse_attrs(cls, node):
        return WhereAttrs()

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        c = require_input(node, inputs, 0, "condition")
        x = require_input(node, inputs, 1, "X")
        y = require_input(node, inputs, 2, "Y")
        check_dtype(node, c, 0, (BOOL,), "condition")
        check_dtype(node, x, 1, NUMERIC + (BOOL, STRING))
        check_same_dtype(node, inputs, [1, 2])
        out = broadcast_shapes(node, [c.shape, x.shape, y.shape])
        check_size(node, out)
        return WhereAttrs(out)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[1].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        c, x, y = arrays
        out = np.empty(attrs.out_shape, dtype=x.dtype)
        np.copyto(out, y)
        np.copyto(out, np.broadcast_to(x, attrs.out_shape), where=np.broadcast_to(c, attrs.out_shape))
        return [out]
