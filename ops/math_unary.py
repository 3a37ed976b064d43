"""Elementwise math not covered by ``elementwise.py``: the trigonometric and hyperbolic functions and their
inverses, Round, Shrink, Mod (binary, numpy broadcasting) and Hardmax.

These ops are memory bound: numpy ufuncs writing into an output allocated here serve them (float16 is computed by
numpy through float32 and rounded once). Domain errors give NaN, as in C and onnxruntime (``Asin(2) = NaN``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import InputError
from onnumba.ops._common import FLOATS, NUMERIC, UnaryOp, check_dtype, normalize_axis, require_input, unary_op
from onnumba.ops.elementwise import BinaryAttrs, BinaryOp
from onnumba.registry import Op, TensorInfo, register


def _float_unary(name: str, versions: tuple, func, doc: str):
    return unary_op(__name__, name, versions, func, doc, FLOATS, "X")


Sin = _float_unary("Sin", (7, 22), np.sin, "Elementwise sine (radians).")
Cos = _float_unary("Cos", (7, 22), np.cos, "Elementwise cosine (radians).")
Tan = _float_unary("Tan", (7, 22), np.tan, "Elementwise tangent (radians).")
Asin = _float_unary("Asin", (7, 22), np.arcsin, "Elementwise arcsine in [-pi/2, pi/2]; NaN outside [-1, 1].")
Acos = _float_unary("Acos", (7, 22), np.arccos, "Elementwise arccosine in [0, pi]; NaN outside [-1, 1].")
Atan = _float_unary("Atan", (7, 22), np.arctan, "Elementwise arctangent in (-pi/2, pi/2).")
Sinh = _float_unary("Sinh", (9, 22), np.sinh, "Elementwise hyperbolic sine.")
Cosh = _float_unary("Cosh", (9, 22), np.cosh, "Elementwise hyperbolic cosine.")
Asinh = _float_unary("Asinh", (9, 22), np.arcsinh, "Elementwise inverse hyperbolic sine.")
Acosh = _float_unary("Acosh", (9, 22), np.arccosh, "Elementwise inverse hyperbolic cosine; NaN below 1.")
Atanh = _float_unary("Atanh", (9, 22), np.arctanh,
                     "Elementwise inverse hyperbolic tangent; +-inf at +-1, NaN outside [-1, 1].")
Round = _float_unary("Round", (11, 22), np.rint,
                     "Elementwise rounding to the nearest integer, halves to even (Round(2.5) = 2, Round(-1.5) = -2).")


# IsNaN / IsInf live in ops/logical.py (the logical family owns them).


# ============================================================================================== Shrink

@dataclass(frozen=True)
class ShrinkAttrs:
    lambd: float
    bias: float


@register("Shrink", versions=(9,))
class Shrink(UnaryOp):
    """``y = x + bias if x < -lambd; x - bias if x > lambd; 0 otherwise``.

    float16 is computed in float32; integer inputs in float64 and truncated toward zero on the way back, as
    onnxruntime and onnx's reference do (uint8 5 - bias 1.5 -> 3).
    """

    allowed, input_name = NUMERIC, "input"

    @classmethod
    def parse_attrs(cls, node):
        lambd = node.attr("lambd", 0.5, "float")
        bias = node.attr("bias", 0.0, "float")
        return ShrinkAttrs(lambd, bias)

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        dt = x.dtype
        work = np.dtype(np.float32) if dt == np.float16 else (dt if dt.kind == "f" else np.dtype(np.float64))
        xw = x.astype(work, copy=False)
        lam, bias = work.type(attrs.lambd), work.type(attrs.bias)
        with np.errstate(all="ignore"):
            y = np.where(xw < -lam, xw + bias, np.where(xw > lam, xw - bias, work.type(0)))
        if dt.kind != "f":
            y = np.trunc(y)
        return [y.astype(dt)]


# ================================================================================================= Mod

@dataclass(frozen=True)
class ModAttrs(BinaryAttrs):
    fmod: bool = False


@register("Mod", versions=(10, 13, 28))
class Mod(BinaryOp):
    """Elementwise remainder with numpy broadcasting.

    ``fmod=0``: ``A - floor(A / B) * B``, the sign of the divisor (Python's ``%``; numpy.mod). Floating-point
    inputs need ``fmod=1`` before opset 28, as the spec says. ``fmod=1``: ``A - trunc(A / B) * B``, the sign of
    the dividend (C's fmod). A float remainder by zero is NaN; an integer remainder by zero raises an
    :class:`InputError` (onnxruntime raises too; the spec leaves it undefined).
    """

    @classmethod
    def parse_attrs(cls, node):
        fmod = node.attr("fmod", 0, "int")
        if fmod not in (0, 1):
            raise node.error(f"expected 0 or 1, got {fmod}", attribute="fmod")
        return ModAttrs(False, None, fmod=bool(fmod))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        attrs = super().bind(node, attrs, inputs, consts, ctx)
        a = inputs[0]
        if a.dtype.kind == "f" and not attrs.fmod and node.version < 28:
            raise node.error(f"floating-point inputs ({a.dtype.name}) need fmod=1 before opset 28, got fmod=0",
                             attribute="fmod")
        return attrs

    @classmethod
    def compute(cls, node, attrs, a, b, out):
        if a.dtype.kind in "iu" and b.size and not np.all(b):
            raise node.error("integer modulo by zero", input=1, cls=InputError)
        (np.fmod if attrs.fmod else np.mod)(a, b, out=out)


# ============================================================================================= Hardmax

@dataclass(frozen=True)
class HardmaxAttrs:
    axis: int
    resolved: int | None = None


@register("Hardmax", versions=(1, 11, 13))
class Hardmax(Op):
    """1 at the first maximum along ``axis``, 0 elsewhere.

    Opset 13+: along the one axis ``axis`` (default -1). Before 13: the input is coerced to 2-d
    ``[prod(shape[:axis]), prod(shape[axis:])]`` (default axis 1) and the maximum is taken over each whole row.
    NaN counts as the largest value (the first NaN wins), as numpy's argmax does.
    """

    @classmethod
    def parse_attrs(cls, node):
        return HardmaxAttrs(node.attr("axis", -1 if node.version >= 13 else 1, "int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "input")
        check_dtype(node, x, 0, FLOATS, "input")
        if node.version >= 13:
            ax = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        else:
            # the 2-d coercion allows axis == rank (one column per row)
            ax = normalize_axis(node, attrs.axis, x.rank, attribute="axis", extra=1) if attrs.axis >= 0 else \
                normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        return replace(attrs, resolved=ax)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, inputs[0].shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        ax = attrs.resolved
        y = np.zeros(x.shape, dtype=x.dtype)
        if x.size == 0:
            return [y]
        if node.version >= 13:
            idx = np.expand_dims(np.argmax(x, axis=ax), ax)
            np.put_along_axis(y, idx, 1, axis=ax)
            return [y]
        rows = int(np.prod(x.shape[:ax], dtype=np.int64))
        x2 = x.reshape(rows, -1)
        y2 = y.reshape(rows, -1)
        y2[np.arange(rows), np.argmax(x2, axis=1)] = 1
        return [y]
