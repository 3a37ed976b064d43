"""Activations: Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, HardSigmoid, HardSwish, Tanh, Softplus,
Softsign, Gelu, Mish, ThresholdedRelu, Swish, Clip, Softmax and LogSoftmax.

Every pointwise float activation goes through ONE Numba kernel, ``_activation_kernel``, which branches on an
integer ``kind`` once per chunk (so the inner loops stay simple) and reads its parameters from a small array of
the data's own type (so float32 data is computed in float32, and each dtype is one specialisation). float16 and
bfloat16 are computed in float32 and cast back. Other modules fuse an activation into their own epilogue with
:func:`apply_activation_inplace`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import normalize_axis, require_input
from onnumba.ops._numba import KERNEL, njit, prange
from onnumba.registry import Op, TensorInfo, register

_F = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64))
_SIGNED = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
_INTS = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                   np.uint64))
_I32_64 = tuple(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64))

try:
    import ml_dtypes

    _BF16 = (np.dtype(ml_dtypes.bfloat16),)
except ImportError:  # pragma: no cover - ml_dtypes ships with onnx
    _BF16 = ()

# ----------------------------------------------------------------------------------------------- kernel

RELU, LEAKY_RELU, ELU, SELU, CELU, SIGMOID, HARD_SIGMOID, HARD_SWISH, TANH, SOFTPLUS, SOFTSIGN, CLIP, GELU, \
    GELU_TANH, MISH, THRESHOLDED_RELU, SWISH = range(17)

#: activation names accepted by :func:`apply_activation_inplace` -> kernel kind
KINDS = {
    "Relu": RELU, "LeakyRelu": LEAKY_RELU, "Elu": ELU, "Selu": SELU, "Celu": CELU, "Sigmoid": SIGMOID,
    "HardSigmoid": HARD_SIGMOID, "HardSwish": HARD_SWISH, "Tanh": TANH, "Softplus": SOFTPLUS,
    "Softsign": SOFTSIGN, "Clip": CLIP, "Gelu": GELU, "GeluTanh": GELU_TANH, "Mish": MISH,
    "ThresholdedRelu": THRESHOLDED_RELU, "Swish": SWISH,
}

_CHUNK = 16384


def _params(dtype, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Kernel parameters and constants in the data's own type (float literals in Numba are float64)."""
    return np.array([alpha, beta, gamma, 0.0, 1.0, 0.5, math.sqrt(2.0 / math.pi), 0.044715,
                     1.0 / math.sqrt(2.0)], dtype=dtype)


@njit(**KERNEL)
def _activation_kernel(x, out, kind, p):
    """out[i] = f_kind(x[i]) over 1-d contiguous arrays (out may be x); chunks of _CHUNK run in parallel."""
    alpha, beta, gamma, zero, one, half, c_gelu, c_cube, inv_sqrt2 = p[0], p[1], p[2], p[3], p[4], p[5], p[6], \
        p[7], p[8]
    n = x.size
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        lo = c * _CHUNK
        hi = min(lo + _CHUNK, n)
        if kind == RELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = zero if v < zero else v  # NaN propagates, as in numpy
        elif kind == LEAKY_RELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = alpha * v if v < zero else v
        elif kind == ELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = alpha * (math.exp(v) - one) if v < zero else v
        elif kind == SELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = gamma * (alpha * math.exp(v) - alpha) if v <= zero else gamma * v
        elif kind == CELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = alpha * (math.exp(v / alpha) - one) if v < zero else v
        elif kind == SIGMOID:
            for i in range(lo, hi):
                out[i] = one / (one + math.exp(-x[i]))  # exp overflow gives inf -> 0, the right limit
        elif kind == HARD_SIGMOID:
            for i in range(lo, hi):
                out[i] = max(zero, min(one, alpha * x[i] + beta))
        elif kind == HARD_SWISH:
            for i in range(lo, hi):
                v = x[i]
                out[i] = v * max(zero, min(one, alpha * v + beta))
        elif kind == TANH:
            for i in range(lo, hi):
                out[i] = math.tanh(x[i])
        elif kind == SOFTPLUS:
            for i in range(lo, hi):
                v = x[i]
                out[i] = max(v, zero) + math.log1p(math.exp(-abs(v)))
        elif kind == SOFTSIGN:
            for i in range(lo, hi):
                v = x[i]
                out[i] = v / (one + abs(v))
        elif kind == CLIP:
            for i in range(lo, hi):
                v = x[i]
                v = alpha if v < alpha else v
                out[i] = beta if v > beta else v  # min > max gives max everywhere, per the spec
        elif kind == GELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = half * v * (one + math.erf(v * inv_sqrt2))
        elif kind == GELU_TANH:
            for i in range(lo, hi):
                v = x[i]
                out[i] = half * v * (one + math.tanh(c_gelu * (v + c_cube * v * v * v)))
        elif kind == MISH:
            for i in range(lo, hi):
                v = x[i]
                out[i] = v * math.tanh(max(v, zero) + math.log1p(math.exp(-abs(v))))
        elif kind == THRESHOLDED_RELU:
            for i in range(lo, hi):
                v = x[i]
                out[i] = v if v > alpha else zero
        elif kind == SWISH:
            for i in range(lo, hi):
                v = x[i]
                out[i] = v / (one + math.exp(-alpha * v))


def apply_activation_inplace(y: np.ndarray, kind: str, alpha: float = 0.0, beta: float = 0.0,
                             gamma: float = 0.0) -> np.ndarray:
    """Apply a pointwise activation to ``y`` in place (for fused epilogues, e.g. Conv + Relu) and return it.

    Args:
        y: a C-contiguous float32 or float64 array (any shape); it is overwritten.
        kind: a key of :data:`KINDS`: ``"Relu"``, ``"LeakyRelu"`` (alpha = slope), ``"Clip"`` (alpha = min,
            beta = max), ``"Sigmoid"``, ``"HardSigmoid"`` (alpha, beta), ``"HardSwish"`` (alpha=1/6, beta=0.5),
            ``"Elu"``/``"Celu"``/``"ThresholdedRelu"``/``"Swish"`` (alpha), ``"Selu"`` (alpha, gamma),
            ``"Tanh"``, ``"Softplus"``, ``"Softsign"``, ``"Gelu"``, ``"GeluTanh"``, ``"Mish"``.
        alpha, beta, gamma: the activation's parameters as the ONNX op names them (see above).

    Raises:
        ValueError: unknown kind, or an array that is not contiguous float32/float64.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown activation {kind!r}; expected one of {', '.join(KINDS)}")
    if y.dtype not in (np.float32, np.float64) or not y.flags.c_contiguous:
        raise ValueError(f"apply_activation_inplace needs a C-contiguous float32/float64 array, got {y.dtype} "
                         f"(contiguous={y.flags.c_contiguous})")
    flat = y.reshape(-1)
    if flat.size:
        _activation_kernel(flat, flat, KINDS[kind], _params(y.dtype, alpha, beta, gamma))
    return y


def _compute_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dt.kind == "V" or dt == np.float16 else dt


def _apply(x: np.ndarray, kind: int, alpha: float, beta: float, gamma: float = 0.0) -> np.ndarray:
    """f_kind(x) as a new array of x's type (float16 / bfloat16 computed in float32)."""
    dt = x.dtype
    cdt = _compute_dtype(dt)
    xc = np.ascontiguousarray(x, dtype=cdt)
    out = np.empty(x.shape, cdt)
    if out.size:
        _activation_kernel(xc.reshape(-1), out.reshape(-1), kind, _params(cdt, alpha, beta, gamma))
    return out.astype(dt, copy=False)


def _check_dtype(node, info: TensorInfo, i: int, allowed) -> None:
    if info.dtype not in allowed:
        names = ", ".join(np.dtype(d).name for d in allowed)
        raise node.error(f"element type {info.dtype.name} is not supported by {node.op_type}-{node.version}; "
                         f"expected one of {names}", input=i)


# ----------------------------------------------------------------------------------------------- pointwise ops

@dataclass(frozen=True)
class ActAttrs:
    kind: int
    alpha: float = 0.0
    beta: float = 0.0
    gamma: float = 0.0


class _Pointwise(Op):
    """One input X, one output Y = f(X) of X's type and shape."""

    kind: int = -1
    #: version from which bfloat16 is accepted (None: never)
    bf16_since: int | None = None
    float_types = _F

    @classmethod
    def params(cls, node) -> dict:
        return {}

    @classmethod
    def parse_attrs(cls, node):
        return ActAttrs(cls.kind, **cls.params(node))

    @classmethod
    def allowed(cls, version: int) -> tuple:
        out = cls.float_types
        if cls.bf16_since is not None and version >= cls.bf16_since:
            out = out + _BF16
        return out

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        _check_dtype(node, x, 0, cls.allowed(node.version))
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [_apply(arrays[0], attrs.kind, attrs.alpha, attrs.beta, attrs.gamma)]


def _alpha(default):
    def params(cls, node):
        return {"alpha": node.attr("alpha", default, "float")}

    return classmethod(params)


@register("Relu", versions=(1, 6, 13, 14))
class Relu(_Pointwise):
    kind, bf16_since = RELU, 13

    @classmethod
    def allowed(cls, version):
        return super().allowed(version) + (_SIGNED if version >= 14 else ())

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        if x.dtype.kind == "i":
            return [np.maximum(x, x.dtype.type(0))]
        return super().run(node, attrs, arrays)


@register("LeakyRelu", versions=(1, 6, 16))
class LeakyRelu(_Pointwise):
    kind, bf16_since, params = LEAKY_RELU, 16, _alpha(0.01)


@register("Elu", versions=(1, 6, 22))
class Elu(_Pointwise):
    kind, bf16_since, params = ELU, 22, _alpha(1.0)


@register("Selu", versions=(1, 6, 22))
class Selu(_Pointwise):
    kind, bf16_since = SELU, 22

    @classmethod
    def params(cls, node):
        return {"alpha": node.attr("alpha", 1.67326319217681884765625, "float"),
                "gamma": node.attr("gamma", 1.05070102214813232421875, "float")}


@register("Celu", versions=(12, 28))
class Celu(_Pointwise):
    kind, bf16_since = CELU, 28

    @classmethod
    def params(cls, node):
        a = node.attr("alpha", 1.0, "float")
        if a == 0.0:
            raise node.error("alpha must be non-zero (Celu divides by it)", attribute="alpha")
        return {"alpha": a}

    @classmethod
    def allowed(cls, version):
        return super().allowed(version) if version >= 28 else (np.dtype(np.float32),)  # Celu-12: float only


@register("Sigmoid", versions=(1, 6, 13))
class Sigmoid(_Pointwise):
    kind, bf16_since = SIGMOID, 13


@register("HardSigmoid", versions=(1, 6, 22))
class HardSigmoid(_Pointwise):
    kind, bf16_since = HARD_SIGMOID, 22

    @classmethod
    def params(cls, node):
        return {"alpha": node.attr("alpha", 0.2, "float"), "beta": node.attr("beta", 0.5, "float")}


@register("HardSwish", versions=(14, 22))
class HardSwish(_Pointwise):
    kind, bf16_since = HARD_SWISH, 22

    @classmethod
    def params(cls, node):
        return {"alpha": 1.0 / 6.0, "beta": 0.5}


@register("Tanh", versions=(1, 6, 13))
class Tanh(_Pointwise):
    kind, bf16_since = TANH, 13


@register("Softplus", versions=(1, 22))
class Softplus(_Pointwise):
    kind, bf16_since = SOFTPLUS, 22


@register("Softsign", versions=(1, 22))
class Softsign(_Pointwise):
    kind, bf16_since = SOFTSIGN, 22


@register("Gelu", versions=(20,))
class Gelu(_Pointwise):
    bf16_since = 20

    @classmethod
    def parse_attrs(cls, node):
        approx = node.attr("approximate", "none", "str")
        if approx not in ("none", "tanh"):
            raise node.error(f"expected 'none' or 'tanh', got {approx!r}", attribute="approximate")
        return ActAttrs(GELU if approx == "none" else GELU_TANH)


@register("Mish", versions=(18, 22))
class Mish(_Pointwise):
    kind, bf16_since = MISH, 22


@register("ThresholdedRelu", versions=(10, 22))
class ThresholdedRelu(_Pointwise):
    kind, bf16_since, params = THRESHOLDED_RELU, 22, _alpha(1.0)


@register("Swish", versions=(24,))
class Swish(_Pointwise):
    kind, bf16_since, params = SWISH, 24, _alpha(1.0)


# ----------------------------------------------------------------------------------------------- PRelu

@register("PRelu", versions=(1, 6, 7, 9, 16))
class PRelu(Op):
    """Y = X where X >= 0, slope * X elsewhere; slope broadcasts unidirectionally to X."""

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        s = require_input(node, inputs, 1, "slope")
        allowed = _F + (_I32_64 if node.version >= 9 else ()) + (_BF16 if node.version >= 16 else ())
        _check_dtype(node, x, 0, allowed)
        if s.dtype != x.dtype:
            raise node.error(f"slope element type {s.dtype.name} differs from X's {x.dtype.name}", input=1)
        ok = s.rank <= x.rank and all(d == t or d == 1 for d, t in zip(reversed(s.shape), reversed(x.shape)))
        if not ok:
            raise node.error(f"slope shape {shape_str(s.shape)} is not unidirectionally broadcastable to X's "
                             f"shape {shape_str(x.shape)} (each trailing dim must equal X's or be 1)", input=1)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, s = arrays
        dt = x.dtype
        cdt = _compute_dtype(dt)
        xc, sc = x.astype(cdt, copy=False), s.astype(cdt, copy=False)
        y = np.where(xc < 0, xc * sc, xc)
        return [y.astype(dt, copy=False)]


# ----------------------------------------------------------------------------------------------- Clip

@dataclass(frozen=True)
class ClipAttrs:
    lo: float | None  # opset < 11: the attributes; later the inputs, read at run time
    hi: float | None


@register("Clip", versions=(1, 6, 11, 12, 13))
class Clip(Op):
    """Y = min(max(X, min), max): bounds are attributes before opset 11, optional scalar inputs from 11."""

    @classmethod
    def parse_attrs(cls, node):
        if node.version >= 11:
            return ClipAttrs(None, None)
        return ClipAttrs(node.attr("min", -math.inf, "float"), node.attr("max", math.inf, "float"))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        allowed = _F + (_INTS if node.version >= 12 else ()) + (_BF16 if node.version >= 13 else ())
        _check_dtype(node, x, 0, allowed)
        if node.version >= 11:
            for i, nm in ((1, "min"), (2, "max")):
                if i < len(inputs) and inputs[i] is not None:
                    b = inputs[i]
                    if b.dtype != x.dtype:
                        raise node.error(f"{nm} element type {b.dtype.name} differs from input's {x.dtype.name}",
                                         input=i)
                    if not (b.rank == 0 or b.shape == (1,)):
                        raise node.error(f"{nm} must be a scalar, got shape {shape_str(b.shape)}", input=i)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        dt = x.dtype
        if node.version >= 11:
            lo = arrays[1] if len(arrays) > 1 and arrays[1] is not None else None
            hi = arrays[2] if len(arrays) > 2 and arrays[2] is not None else None
            lo = None if lo is None else lo.reshape(())[()]
            hi = None if hi is None else hi.reshape(())[()]
        else:
            lo, hi = attrs.lo, attrs.hi
        if dt.kind in "iu":
            y = x
            if lo is not None:
                y = np.maximum(y, dt.type(lo))
            if hi is not None:
                y = np.minimum(y, dt.type(hi))
            return [np.array(y, dtype=dt, copy=True) if y is x else y]
        lo = -math.inf if lo is None else float(lo)
        hi = math.inf if hi is None else float(hi)
        return [_apply(x, CLIP, lo, hi)]


# ----------------------------------------------------------------------------------------------- Softmax

@njit(**KERNEL)
def _softmax_kernel(x, out, outer, n, inner, log):
    """Softmax (or log-softmax) over the middle axis of x viewed as (outer, n, inner); 1-d contiguous views."""
    if inner == 1:
        for o in prange(outer):
            base = o * n
            m = x[base]
            for k in range(1, n):
                if x[base + k] > m:
                    m = x[base + k]
            s = 0.0
            for k in range(n):
                e = math.exp(x[base + k] - m)
                out[base + k] = e
                s += e
            if log:
                ls = math.log(s)
                for k in range(n):
                    out[base + k] = x[base + k] - m - ls
            else:
                r = 1.0 / s
                for k in range(n):
                    out[base + k] = out[base + k] * r
        return
    blk = 256
    nblk = (inner + blk - 1) // blk
    for t in prange(outer * nblk):
        o = t // nblk
        i0 = (t % nblk) * blk
        w = min(blk, inner - i0)
        base = o * n * inner + i0
        m = np.empty(w, x.dtype)
        s = np.zeros(w, np.float64)
        for j in range(w):
            m[j] = x[base + j]
        for k in range(1, n):
            row = base + k * inner
            for j in range(w):
                if x[row + j] > m[j]:
                    m[j] = x[row + j]
        for k in range(n):
            row = base + k * inner
            for j in range(w):
                e = math.exp(x[row + j] - m[j])
                out[row + j] = e
                s[j] += e
        for k in range(n):
            row = base + k * inner
            if log:
                for j in range(w):
                    out[row + j] = x[row + j] - m[j] - math.log(s[j])
            else:
                for j in range(w):
                    out[row + j] = out[row + j] / s[j]


@dataclass(frozen=True)
class SoftmaxAttrs:
    axis: int
    log: bool


class _SoftmaxBase(Op):
    log = False

    @classmethod
    def parse_attrs(cls, node):
        return SoftmaxAttrs(node.attr("axis", 1 if node.version < 13 else -1, "int"), cls.log)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        _check_dtype(node, x, 0, _F + (_BF16 if node.version >= 13 else ()))
        normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        shape = x.shape
        axis = attrs.axis + x.ndim if attrs.axis < 0 else attrs.axis
        if x.ndim == 0:
            outer, n, inner = 1, 1, 1
        elif node.version < 13:
            # opset < 13: X is coerced to 2-d (prod(shape[:axis]), prod(shape[axis:])) and normalised per row
            outer, n, inner = int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64)), 1
        else:
            outer = int(np.prod(shape[:axis], dtype=np.int64))
            n, inner = shape[axis], int(np.prod(shape[axis + 1:], dtype=np.int64))
        dt = x.dtype
        cdt = _compute_dtype(dt)
        xc = np.ascontiguousarray(x, dtype=cdt)
        out = np.empty(shape, cdt)
        if out.size:
            _softmax_kernel(xc.reshape(-1), out.reshape(-1), outer, n, inner, attrs.log)
        return [out.astype(dt, copy=False)]


@register("Softmax", versions=(1, 11, 13))
class Softmax(_SoftmaxBase):
    log = False


@register("LogSoftmax", versions=(1, 11, 13))
class LogSoftmax(_SoftmaxBase):
    log = True
