"""Elementwise operators: Add, Sub, Mul, Div, Pow (binary, numpy broadcasting or the legacy ``broadcast`` /
``axis`` form before opset 7), Sum, Mean, Max, Min (variadic) and the unary math ops (Exp, Log, Sqrt, Neg,
Abs, Reciprocal, Erf, Floor, Ceil, Sign).

A single elementwise op is memory bound: numpy's ufuncs (writing into an output allocated here) serve most
dtypes and layouts; float32 Add / Sub / Mul / Div with one full contiguous input (same shape, per-channel, row
vector or scalar broadcast) take one vectorised Numba pass, parallel above a size threshold; float32 Exp and Erf
(which numpy lacks) reuse the activation loop's vectorised polynomials. Output element types follow the spec:
the input type is kept (int32 + int32 -> int32, float16 stays float16, computed by numpy through float32).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import InputError, shape_str
from onnumba.ops._common import (
    FLOATS,
    NUMERIC,
    broadcast_output,
    check_dtype,
    check_same_dtype,
    require_input,
    unary_op,
)
from onnumba.ops._numba import KERNEL, SERIAL, njit, num_threads, prange
from onnumba.ops.kernels.epilogue import ERF, EXP
from onnumba.ops.kernels.mathf32 import fdiv
from onnumba.ops.kernels.pointwise import PAR_MIN_CHEAP, params, run_activation
from onnumba.registry import Op, TensorInfo, register

SIGNED = FLOATS + tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))


# ============================================================================================= binary

@dataclass(frozen=True)
class BinaryAttrs:
    legacy_broadcast: bool  # opset < 7: 'broadcast' attribute; B is aligned to A at 'axis' (or suffix)
    axis: int | None
    b_shape: tuple | None = None  # legacy form: the shape B is reshaped to before numpy broadcasting
    out_shape: tuple | None = None


def _parse_binary(node, legacy_below: int) -> BinaryAttrs:
    if node.version >= legacy_below:
        return BinaryAttrs(False, None)
    bc = node.attr("broadcast", 0, kind="int")
    if bc not in (0, 1):
        raise node.error(f"must be 0 or 1, got {bc}", attribute="broadcast")
    return BinaryAttrs(bool(bc), node.attr("axis", None, kind="int"))


def _legacy_b_shape(node, attrs, a: tuple, b: tuple) -> tuple:
    """Opset < 7 broadcasting: B (a one-element tensor, or a contiguous run of A's dims starting at ``axis``,
    suffix by default) is reshaped so numpy broadcasting then does the rest."""
    if not attrs.legacy_broadcast:
        if a != b:
            raise node.error(f"shape {shape_str(b)} differs from input 0's {shape_str(a)} and the node does not "
                             f"set broadcast=1 (before opset 7 shapes must match)", input=1)
        return b
    n_b = 1
    for d in b:
        n_b *= d
    if n_b == 1 and len(b) <= len(a):
        return (1,) * len(a)
    if len(b) > len(a):
        raise node.error(f"shape {shape_str(b)} has a higher rank than input 0's {shape_str(a)}; with broadcast=1 "
                         f"B must match a contiguous run of A's dims", input=1)
    axis = len(a) - len(b) if attrs.axis is None else attrs.axis
    if axis < 0:
        axis += len(a)
    # size-1 dims of B stretch, as PyTorch's legacy exports rely on (their stored outputs broadcast them)
    if not 0 <= axis <= len(a) - len(b) or any(db not in (da, 1) for da, db in zip(a[axis:axis + len(b)], b)):
        raise node.error(f"shape {shape_str(b)} does not match input 0's dims {shape_str(a)} starting at axis "
                         f"{attrs.axis if attrs.axis is not None else 'suffix'} (legacy broadcast=1)", input=1)
    return (1,) * axis + tuple(b) + (1,) * (len(a) - axis - len(b))


# float32 Add / Sub / Mul / Div where one input has the output's shape and the other is the same shape, one value
# per "channel" (a run of the output's dims, e.g. (1, C, 1, 1) against (N, C, H, W)) or a vector repeated along
# the last dims: one vectorised Numba pass, in parallel above a size threshold (numpy's broadcasting inner loops
# run over the last axis only, 112 elements at a time in an NCHW per-channel add).
ADD, SUB, MUL, DIV, RSUB, RDIV = range(6)
_FULL, _ROWS, _PLANES = range(3)
_BIN_CHUNK = 16384
_BIN_PAR_MIN = PAR_MIN_CHEAP  # memory bound like a cheap activation: the same serial/parallel rule


@njit(**SERIAL)
def _vec_op(a, b, out, op):
    """out = a op b over 1-d arrays of one length (or b op a for RSUB / RDIV)."""
    n = a.shape[0]
    if op == ADD:
        for i in range(n):
            out[i] = a[i] + b[i]
    elif op == SUB:
        for i in range(n):
            out[i] = a[i] - b[i]
    elif op == MUL:
        for i in range(n):
            out[i] = a[i] * b[i]
    elif op == DIV:
        for i in range(n):
            out[i] = fdiv(a[i], b[i])
    elif op == RSUB:
        for i in range(n):
            out[i] = b[i] - a[i]
    else:
        for i in range(n):
            out[i] = fdiv(b[i], a[i])


@njit(**SERIAL)
def _scalar_op(a, s, out, op):
    """out = a op s over a 1-d array and one value (or s op a for RSUB / RDIV)."""
    n = a.shape[0]
    if op == ADD:
        for i in range(n):
            out[i] = a[i] + s
    elif op == SUB:
        for i in range(n):
            out[i] = a[i] - s
    elif op == MUL:
        for i in range(n):
            out[i] = a[i] * s
    elif op == DIV:
        for i in range(n):
            out[i] = fdiv(a[i], s)
    elif op == RSUB:
        for i in range(n):
            out[i] = s - a[i]
    else:
        for i in range(n):
            out[i] = fdiv(s, a[i])


@njit(**SERIAL)
def _binary_units(a, b, out, op, mode, c, inner, lo, hi):
    """Work units lo..hi: _FULL chunks of _BIN_CHUNK elements, _ROWS rows of c (b is the row), _PLANES planes of
    inner (b[plane % c] is the value)."""
    if mode == _FULL:
        e0 = lo * _BIN_CHUNK
        e1 = min(hi * _BIN_CHUNK, a.shape[0])
        _vec_op(a[e0:e1], b[e0:e1], out[e0:e1], op)
    elif mode == _ROWS:
        for r in range(lo, hi):
            _vec_op(a[r * c:(r + 1) * c], b, out[r * c:(r + 1) * c], op)
    else:
        for q in range(lo, hi):
            _scalar_op(a[q * inner:(q + 1) * inner], b[q % c], out[q * inner:(q + 1) * inner], op)


@njit(**KERNEL)
def _binary_kernel(a, b, out, op, mode, c, inner, units, ntasks):
    for t in prange(ntasks):
        _binary_units(a, b, out, op, mode, c, inner, t * units // ntasks, (t + 1) * units // ntasks)


def _layout(shape: tuple, out: tuple):
    """How ``shape`` broadcasts to ``out``: (mode, c, inner, units) for the kernels above, or None."""
    r = len(out)
    s = (1,) * (r - len(shape)) + tuple(shape)
    dims = [i for i in range(r) if s[i] != 1]
    total = math.prod(out)
    if not dims:
        return _PLANES, 1, total, 1
    i0, i1 = dims[0], dims[-1] + 1
    if any(s[i] != out[i] for i in range(i0, i1)):
        return None
    c, inner = math.prod(out[i0:i1]), math.prod(out[i1:])
    if c == total:
        return _FULL, c, 1, -(-total // _BIN_CHUNK)
    if inner == 1:
        return _ROWS, c, 1, total // c
    return _PLANES, c, inner, total // inner


def _binary_fast(op: int, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> bool:
    """out = a op b through the Numba kernels when the layout allows (float32, one full contiguous input)."""
    if a.dtype != np.float32 or out.size == 0:
        return False
    if a.shape == out.shape and a.flags.c_contiguous and b.flags.c_contiguous:
        full, part = a, b
    elif b.shape == out.shape and b.flags.c_contiguous and a.flags.c_contiguous:
        full, part = b, a
        op = {ADD: ADD, MUL: MUL, SUB: RSUB, DIV: RDIV}[op]
    else:
        return False
    lay = _layout(part.shape, out.shape)
    if lay is None:
        return False
    mode, c, inner, units = lay
    fa, fb, fo = full.reshape(-1), part.reshape(-1), out.reshape(-1)
    if out.size >= _BIN_PAR_MIN and units > 1 and num_threads() > 1:
        _binary_kernel(fa, fb, fo, op, mode, c, inner, units, min(units, 4 * num_threads()))
    else:
        _binary_units(fa, fb, fo, op, mode, c, inner, 0, units)
    return True


class BinaryOp(Op):
    """Two inputs of one element type, numpy broadcasting (legacy form before ``legacy_below``)."""

    allowed: tuple = NUMERIC
    legacy_below: int = 7
    ufunc = None
    fast_op: int | None = None  # ADD / SUB / MUL / DIV: float32 through _binary_fast

    @classmethod
    def parse_attrs(cls, node):
        return _parse_binary(node, cls.legacy_below)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        a = require_input(node, inputs, 0, "A")
        b = require_input(node, inputs, 1, "B")
        cls.check_types(node, a, b)
        b_shape = _legacy_b_shape(node, attrs, a.shape, b.shape) if node.version < cls.legacy_below else b.shape
        out = broadcast_output(node, [a.shape, b_shape], idx=[0, 1])
        b_shape = None if b_shape == b.shape else b_shape
        return replace(attrs, b_shape=b_shape, out_shape=out)

    @classmethod
    def check_types(cls, node, a, b):
        check_dtype(node, a, 0, cls.allowed)
        check_same_dtype(node, [a, b], [0, 1])

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays
        if attrs.b_shape is not None:
            b = b.reshape(attrs.b_shape)
        out = np.empty(attrs.out_shape, dtype=a.dtype)
        with np.errstate(all="ignore"):
            cls.compute(node, attrs, a, b, out)
        return [out]

    @classmethod
    def compute(cls, node, attrs, a, b, out):
        if cls.fast_op is None or not _binary_fast(cls.fast_op, a, b, out):
            cls.ufunc(a, b, out=out)


_Binary = BinaryOp  # the name ops/logical.py imports

_ARITH_VERSIONS = (1, 6, 7, 13, 14)


@register("Add", versions=_ARITH_VERSIONS)
class Add(BinaryOp):
    """A + B (integers wrap around on overflow)."""

    ufunc, fast_op = np.add, ADD


@register("Sub", versions=_ARITH_VERSIONS)
class Sub(BinaryOp):
    """A - B."""

    ufunc, fast_op = np.subtract, SUB


@register("Mul", versions=_ARITH_VERSIONS)
class Mul(BinaryOp):
    """A * B."""

    ufunc, fast_op = np.multiply, MUL


@register("Div", versions=_ARITH_VERSIONS)
class Div(BinaryOp):
    """A / B; integer division truncates toward zero (like C and onnxruntime), and an integer division by zero
    is an error rather than undefined behaviour."""

    fast_op = DIV

    @classmethod
    def compute(cls, node, attrs, a, b, out):
        if a.dtype.kind == "f":
            if not _binary_fast(DIV, a, b, out):
                np.divide(a, b, out=out)
            return
        if b.size and not np.all(b):
            raise node.error("integer division by zero", input=1, cls=InputError)
        if a.dtype.kind == "u":
            np.floor_divide(a, b, out=out)
        else:
            # a - fmod(a, b) is an exact multiple of b moved toward zero, so floor division is exact there
            np.floor_divide(a - np.fmod(a, b), b, out=out)


@register("Pow", versions=(1, 7, 12, 13, 15))
class Pow(BinaryOp):
    """A ** B with the output of A's type; B may have another numeric type from opset 12.

    Integer bases with float exponents are computed in float64 and truncated toward zero; integer bases with
    negative integer exponents likewise (numpy refuses them).
    """

    allowed = FLOATS + (np.dtype(np.int32), np.dtype(np.int64))
    legacy_below = 7

    @classmethod
    def check_types(cls, node, a, b):
        check_dtype(node, a, 0, cls.allowed, "base")
        if node.version >= 12:
            check_dtype(node, b, 1, NUMERIC, "exponent")
        else:
            check_same_dtype(node, [a, b], [0, 1])

    @classmethod
    def compute(cls, node, attrs, a, b, out):
        if a.dtype.kind == "f":
            np.power(a, b.astype(a.dtype, copy=False), out=out)
        elif b.dtype.kind in "iu" and (b.dtype.kind == "u" or b.size == 0 or b.min() >= 0):
            np.power(a, b.astype(a.dtype, copy=False), out=out)
        else:
            np.copyto(out, np.trunc(np.power(a.astype(np.float64), b.astype(np.float64))), casting="unsafe")


# ============================================================================================ variadic

@dataclass(frozen=True)
class VariadicAttrs:
    out_shape: tuple | None = None


class _Variadic(Op):
    """One or more inputs of one element type; numpy broadcasting from opset 8, equal shapes before."""

    allowed: tuple = FLOATS
    ufunc = None

    @classmethod
    def parse_attrs(cls, node):
        if node.n_inputs < 1:
            raise node.error("needs at least one input")
        return VariadicAttrs()

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        n = node.n_inputs
        infos = [require_input(node, inputs, i) for i in range(n)]
        check_dtype(node, infos[0], 0, cls.allowed)
        check_same_dtype(node, infos, list(range(n)))
        if node.version < 8:
            for i, x in enumerate(infos[1:], 1):
                if x.shape != infos[0].shape:
                    raise node.error(f"shape {shape_str(x.shape)} differs from input 0's {shape_str(infos[0].shape)}"
                                     f"; before opset 8 all inputs must have one shape", input=i)
        return VariadicAttrs(broadcast_output(node, [x.shape for x in infos]))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        arrays = [a for a in arrays if a is not None]
        dt = arrays[0].dtype
        # float16 accumulates in float32 and is rounded once at the end
        acc_dt = np.float32 if dt == np.float16 else dt
        acc = np.empty(attrs.out_shape, dtype=acc_dt)
        acc[...] = arrays[0]
        with np.errstate(all="ignore"):
            for a in arrays[1:]:
                cls.ufunc(acc, a, out=acc)
            cls.finish(acc, len(arrays))
        return [acc if acc.dtype == dt else acc.astype(dt)]

    @classmethod
    def finish(cls, acc, n):
        pass


@register("Sum", versions=(1, 6, 8, 13))
class Sum(_Variadic):
    """Elementwise sum of the inputs."""

    ufunc = np.add


@register("Mean", versions=(1, 6, 8, 13))
class Mean(_Variadic):
    """Elementwise mean of the inputs."""

    ufunc = np.add

    @classmethod
    def finish(cls, acc, n):
        np.divide(acc, acc.dtype.type(n), out=acc)


@register("Max", versions=(1, 6, 8, 12, 13))
class Max(_Variadic):
    """Elementwise maximum (NaN propagates); integer types from opset 12."""

    allowed = NUMERIC
    ufunc = np.maximum


@register("Min", versions=(1, 6, 8, 12, 13))
class Min(_Variadic):
    """Elementwise minimum (NaN propagates); integer types from opset 12."""

    allowed = NUMERIC
    ufunc = np.minimum


# =============================================================================================== unary

def _erf(x, out):
    """Erf through the pointwise loop (numpy has none): float32 by a vectorised polynomial, float64 by
    math.erf, others via float32 (float16) or float64 (integers, truncated back)."""
    dt = x.dtype
    work = dt if dt in (np.float32, np.float64) else (np.float32 if dt == np.float16 else np.float64)
    xs = np.ascontiguousarray(x, dtype=work).reshape(-1)
    p = params(work, 0.0, 0.0, 0.0)
    if work == dt:
        run_activation(xs, out.reshape(-1), ERF, p)
    else:
        tmp = np.empty(xs.shape, work)
        run_activation(xs, tmp, ERF, p)
        np.copyto(out.reshape(-1), tmp if dt.kind == "f" else np.trunc(tmp), casting="unsafe")


def _exp(x, out):
    """float32: the pointwise loop's vectorised polynomial exp (faster than numpy's); others: np.exp."""
    if x.dtype == np.float32:
        run_activation(np.ascontiguousarray(x).reshape(-1), out.reshape(-1), EXP, params(x.dtype, 0.0, 0.0, 0.0))
    else:
        np.exp(x, out=out)


def _reciprocal(x, out):
    np.divide(x.dtype.type(1), x, out=out)


def _unary(name: str, versions: tuple, func, allowed=FLOATS, doc: str = ""):
    return unary_op(__name__, name, versions, func, doc or f"Elementwise {name}.", allowed)


Exp = _unary("Exp", (1, 6, 13), _exp)
Log = _unary("Log", (1, 6, 13), np.log)
Sqrt = _unary("Sqrt", (1, 6, 13), np.sqrt)
Reciprocal = _unary("Reciprocal", (1, 6, 13), _reciprocal)
Floor = _unary("Floor", (1, 6, 13), np.floor)
Ceil = _unary("Ceil", (1, 6, 13), np.ceil)
Neg = _unary("Neg", (1, 6, 13), np.negative, SIGNED, "Elementwise -X (signed types; integers wrap).")
Abs = _unary("Abs", (1, 6, 13), np.absolute, NUMERIC, "Elementwise |X| (integers wrap: |-128| is -128 in int8).")
Sign = _unary("Sign", (9, 13), np.sign, NUMERIC, "Elementwise sign: -1, 0 or 1 (NaN stays NaN).")
Erf = _unary("Erf", (9, 13), _erf, NUMERIC, "Elementwise error function (a vectorised Numba kernel).")

__all__ = ["Add", "Sub", "Mul", "Div", "Pow", "Sum", "Mean", "Max", "Min", "Exp", "Log", "Sqrt", "Reciprocal",
           "Floor", "Ceil", "Neg", "Abs", "Sign", "Erf"]
