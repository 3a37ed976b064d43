"""Activations: Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, HardSigmoid, HardSwish, Tanh, Softplus,
Softsign, Gelu, Mish, ThresholdedRelu, Swish, Clip, Softmax and LogSoftmax.

Every pointwise float activation goes through ONE serial Numba loop, ``_activation_loop``, which branches on an
integer ``kind`` once (so each inner loop is branch-free and LLVM vectorises it) and reads its parameters from a
small array of the data's own type (so float32 data is computed in float32, and each dtype is one
specialisation). Large tensors run it over chunks in parallel (``_activation_kernel``); small ones call it
directly, with no thread wake-up. float32 exp / expm1 / tanh / erf are branch-free polynomials (a few float32
ulps, the libm results at inf / NaN / overflow / denormals); float64 keeps math.*. float16 and bfloat16 are
computed in float32 and cast back. Other modules fuse an activation into their own epilogue with
:func:`apply_activation_inplace`; Elementwise's Exp and Erf reuse the loop through :func:`_run_activation`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import normalize_axis, require_input
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from onnumba.ops._numba import INLINE, KERNEL, SERIAL, njit, num_threads, prange
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

# ----------------------------------------------------------------------------------------------- float32 math
# Branch-free float32 exp / expm1 / tanh / erf that LLVM vectorises (math.exp and friends compile to scalar libm
# calls). Each clamps its argument with selects written so that NaN passes through, and reproduces the libm
# results at the edges: exp overflows to inf above 88.72, goes through the denormals to 0 below -87.3.
# float64 data keeps the libm functions (the overloads below dispatch on the type).

_F32 = np.float32
_ONE, _HALF, _TWO, _ZERO = _F32(1.0), _F32(0.5), _F32(2.0), _F32(0.0)
_EXP_HI, _EXP_LO = _F32(100.0), _F32(-110.0)  # beyond these exp is inf / 0 in float32 whatever the polynomial
_LOG2E = _F32(1.4426950408889634)
_ROUND = _F32(12582912.0)  # 1.5 * 2**23: (v + _ROUND) - _ROUND rounds v to the nearest integer for |v| < 2**22
_LN2_HI, _LN2_LO = _F32(0.693359375), _F32(-2.12194440e-4)  # ln 2 = HI + LO, HI exact with few bits (Cody-Waite)
# Taylor coefficients 1/n! of exp(r) on |r| <= ln2/2 (the degree-7 remainder is below float32 rounding)
_E2, _E3, _E4, _E5, _E6, _E7 = (_F32(1 / 2), _F32(1 / 6), _F32(1 / 24), _F32(1 / 120), _F32(1 / 720),
                                _F32(1 / 5040))
_TANH_HI = _F32(10.0)  # tanh(10) rounds to 1 in float32
# erf(x) / x ~ polynomial in x*x for |x| < _ERF_CUT; erfc(x) * exp(x*x) ~ polynomial in t = 1 / (1 + x/2) above
# (least-squares fits on Chebyshev nodes, [0, 0.9] and [0.9, 10.5]; max error about 1.5 float32 ulps)
_ERF_CUT = _F32(0.9)
_ERF_HI = _F32(10.5)  # erfc(10.5) underflows to 0 in float32
_GELU_HI = _F32(14.849242404917497)  # _ERF_HI * sqrt 2
_EA0, _EA1, _EA2, _EA3, _EA4, _EA5 = (_F32(1.1283791065216064), _F32(-0.3761255443096161), _F32(0.11282408982515335),
                                      _F32(-0.026787415146827698), _F32(0.005023307632654905),
                                      _F32(-0.0006144192302599549))
_EB0, _EB1, _EB2, _EB3, _EB4, _EB5, _EB6, _EB7, _EB8 = (
    _F32(-3.5668454074766487e-06), _F32(0.2821882963180542), _F32(0.28108277916908264), _F32(0.25258323550224304),
    _F32(0.15884505212306976), _F32(0.10480473935604095), _F32(0.024157369509339333), _F32(-0.18319985270500183),
    _F32(0.07995307445526123))


@intrinsic
def _scale_pow2(typingctx, p, t):
    """p * 2**k for float32 p, where t = k + _ROUND holds the integer k in [-252, 254] in its low mantissa bits;
    as two exact power-of-two products (so results in the denormal range are rounded once and 2**128-sized
    intermediates do not overflow). No float-to-int conversion: a NaN t gives a finite factor, and p is NaN."""
    if p != types.float32 or t != types.float32:
        return None

    def codegen(context, builder, signature, args):
        pv, tv = args
        i32 = ir.IntType(32)
        ki = builder.sub(builder.bitcast(tv, i32), ir.Constant(i32, 0x4B400000))  # bits of t - bits of _ROUND
        k1 = builder.ashr(ki, ir.Constant(i32, 1))
        k2 = builder.sub(ki, k1)

        def pow2(e):
            bits = builder.shl(builder.add(e, ir.Constant(i32, 127)), ir.Constant(i32, 23))
            return builder.bitcast(bits, ir.FloatType())

        return builder.fmul(builder.fmul(pv, pow2(k1)), pow2(k2))

    return types.float32(types.float32, types.float32), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma: one vfmadd instruction where the CPU has FMA)."""
    if a not in (types.float32, types.float64) or b != a or c != a:
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, args)

    return a(a, a, a), codegen


@intrinsic
def _div(typingctx, a, b):
    """a / b as a plain IEEE division (Numba's ``/`` checks for a zero divisor, which keeps loops scalar)."""
    if a not in (types.float32, types.float64) or b != a:
        return None

    def codegen(context, builder, signature, args):
        return builder.fdiv(args[0], args[1])

    return a(a, a), codegen


@njit(**INLINE)
def _reduce32(x):
    """(t, r) with x = k ln2 + r, |r| <= ln2/2, t = k + _ROUND, x first clamped to [_EXP_LO, _EXP_HI] (NaN stays)."""
    xc = _EXP_HI if x > _EXP_HI else x
    xc = _EXP_LO if xc < _EXP_LO else xc
    t = _fma(xc, _LOG2E, _ROUND)
    k = t - _ROUND
    return t, _fma(k, -_LN2_LO, _fma(k, -_LN2_HI, xc))


@njit(**INLINE)
def _expm1_q32(r):
    """q with expm1(r) = r * q (Horner on the Taylor coefficients)."""
    q = _fma(r, _E7, _E6)
    q = _fma(r, q, _E5)
    q = _fma(r, q, _E4)
    q = _fma(r, q, _E3)
    q = _fma(r, q, _E2)
    return _fma(r, q, _ONE)


@njit(**INLINE)
def _exp32(x):
    t, r = _reduce32(x)
    return _scale_pow2(_fma(r, _expm1_q32(r), _ONE), t)


@njit(**INLINE)
def _expm1_32(x):
    """exp(x) - 1 without cancellation near 0: 2**k expm1(r) + (2**k - 1), exactly expm1(r) when k = 0."""
    t, r = _reduce32(x)
    s = _scale_pow2(_ONE, t)
    return _fma(s, r * _expm1_q32(r), s - _ONE)


@njit(**INLINE)
def _tanh32(x):
    a = abs(x)
    a = _TANH_HI if a > _TANH_HI else a
    e = _expm1_32(a + a)
    return math.copysign(_div(e, e + _TWO), x)


@njit(**INLINE)
def _erf_parts32(a, zh, zl):
    """(erf(a) for a < _ERF_CUT, erfc(a) for a >= _ERF_CUT, a < _ERF_CUT) for a = |z| in [0, _ERF_HI] and
    z * z = zh + zl exactly (the low part corrects exp(-zh), whose argument error would grow with z * z)."""
    small = a * _fma(zh, _fma(zh, _fma(zh, _fma(zh, _fma(zh, _EA5, _EA4), _EA3), _EA2), _EA1), _EA0)
    t = _div(_ONE, _fma(_HALF, a, _ONE))
    q = _fma(t, _fma(t, _fma(t, _fma(t, _EB8, _EB7), _EB6), _EB5), _EB4)
    q = _fma(t, _fma(t, _fma(t, _fma(t, q, _EB3), _EB2), _EB1), _EB0)
    return small, _exp32(-zh) * _fma(-zl, q, q), a < _ERF_CUT


@njit(**INLINE)
def _erf32(x):
    a = abs(x)
    a = _ERF_HI if a > _ERF_HI else a  # NaN stays
    zh = a * a
    small, erfc, is_small = _erf_parts32(a, zh, _fma(a, a, -zh))
    return math.copysign(small if is_small else _ONE - erfc, x)


@njit(**INLINE)
def _gelu32(x):
    """x * (1 + erf(x / sqrt 2)) / 2, with 1 + erf(z) for z <= -_ERF_CUT taken as erfc(|z|) (no cancellation);
    z * z = x * x / 2 is formed from x so that its rounding error stays at one ulp."""
    xa = abs(x)
    xa = _GELU_HI if xa > _GELU_HI else xa
    xx = xa * xa
    a = xa * _F32(0.7071067811865476)
    small, erfc, is_small = _erf_parts32(a, _HALF * xx, _HALF * _fma(xa, xa, -xx))
    big = erfc if x < _ZERO else _TWO - erfc
    return _HALF * x * (_ONE + math.copysign(small, x) if is_small else big)


@njit(**INLINE)
def _gelu64(x):
    return 0.5 * x * (1.0 + math.erf(x * 0.7071067811865476))


def _exp(v):  # pragma: no cover - stubs, replaced by the overloads inside jitted code
    raise NotImplementedError


def _expm1(v):  # pragma: no cover
    raise NotImplementedError


def _tanh(v):  # pragma: no cover
    raise NotImplementedError


def _erf(v):  # pragma: no cover
    raise NotImplementedError


def _gelu(v):  # pragma: no cover
    raise NotImplementedError


def _overload_f32(stub, fast, exact):
    @overload(stub, jit_options=INLINE)
    def ol(v):
        if v == types.float32:
            return lambda v: fast(v)
        return lambda v: exact(v)


_overload_f32(_exp, _exp32, math.exp)
_overload_f32(_expm1, _expm1_32, math.expm1)
_overload_f32(_tanh, _tanh32, math.tanh)
_overload_f32(_erf, _erf32, math.erf)
_overload_f32(_gelu, _gelu32, _gelu64)

# ----------------------------------------------------------------------------------------------- kernel

RELU, LEAKY_RELU, ELU, SELU, CELU, SIGMOID, HARD_SIGMOID, HARD_SWISH, TANH, SOFTPLUS, SOFTSIGN, CLIP, GELU, \
    GELU_TANH, MISH, THRESHOLDED_RELU, SWISH, EXP, ERF = range(19)

#: activation names accepted by :func:`apply_activation_inplace` -> kernel kind
KINDS = {
    "Relu": RELU, "LeakyRelu": LEAKY_RELU, "Elu": ELU, "Selu": SELU, "Celu": CELU, "Sigmoid": SIGMOID,
    "HardSigmoid": HARD_SIGMOID, "HardSwish": HARD_SWISH, "Tanh": TANH, "Softplus": SOFTPLUS,
    "Softsign": SOFTSIGN, "Clip": CLIP, "Gelu": GELU, "GeluTanh": GELU_TANH, "Mish": MISH,
    "ThresholdedRelu": THRESHOLDED_RELU, "Swish": SWISH,
}

_CHUNK = 16384
#: below this many elements a kind runs serially: with OpenMP's passive wait policy (ops/_numba.py) waking the
#: other workers costs about 40 us per parallel region here, more than a memory-bound pass over 2M floats saves
_PAR_MIN_CHEAP = 1 << 21
_PAR_MIN_COSTLY = 1 << 19
_CHEAP = frozenset((RELU, LEAKY_RELU, HARD_SIGMOID, HARD_SWISH, SOFTSIGN, CLIP, THRESHOLDED_RELU))


def _params(dtype, alpha: float, beta: float, gamma: float) -> np.ndarray:
    """Kernel parameters and constants in the data's own type (float literals in Numba are float64)."""
    return np.array([alpha, beta, gamma, 0.0, 1.0, 0.5, math.sqrt(2.0 / math.pi), 0.044715,
                     1.0 / math.sqrt(2.0)], dtype=dtype)


@njit(**SERIAL)
def _activation_loop(x, out, kind, p):
    """out[i] = f_kind(x[i]) over 1-d contiguous arrays; one loop per kind, each free of branches."""
    alpha, beta, gamma, zero, one, half, c_gelu, c_cube = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
    n = x.shape[0]
    if kind == RELU:
        for i in range(n):
            v = x[i]
            out[i] = zero if v < zero else v  # NaN propagates, as in numpy
    elif kind == LEAKY_RELU:
        for i in range(n):
            v = x[i]
            out[i] = alpha * v if v < zero else v
    elif kind == ELU:
        for i in range(n):
            v = x[i]
            out[i] = alpha * _expm1(v) if v < zero else v
    elif kind == SELU:
        for i in range(n):
            v = x[i]
            out[i] = gamma * (alpha * _expm1(v)) if v <= zero else gamma * v
    elif kind == CELU:
        for i in range(n):
            v = x[i]
            out[i] = alpha * _expm1(_div(v, alpha)) if v < zero else v
    elif kind == SIGMOID:
        for i in range(n):
            out[i] = _div(one, one + _exp(-x[i]))  # exp overflow gives inf -> 0, the right limit
    elif kind == HARD_SIGMOID:
        for i in range(n):
            v = alpha * x[i] + beta
            v = one if v > one else v
            out[i] = zero if v < zero else v
    elif kind == HARD_SWISH:
        for i in range(n):
            v = x[i]
            h = alpha * v + beta
            h = one if h > one else h
            out[i] = v * (zero if h < zero else h)
    elif kind == TANH:
        for i in range(n):
            out[i] = _tanh(x[i])
    elif kind == SOFTPLUS:
        for i in range(n):
            v = x[i]
            out[i] = max(v, zero) + math.log1p(math.exp(-abs(v)))
    elif kind == SOFTSIGN:
        for i in range(n):
            v = x[i]
            out[i] = _div(v, one + abs(v))
    elif kind == CLIP:
        for i in range(n):
            v = x[i]
            v = alpha if v < alpha else v
            out[i] = beta if v > beta else v  # min > max gives max everywhere, per the spec
    elif kind == GELU:
        for i in range(n):
            out[i] = _gelu(x[i])
    elif kind == GELU_TANH:
        for i in range(n):
            v = x[i]
            out[i] = half * v * (one + _tanh(c_gelu * (v + c_cube * v * v * v)))
    elif kind == MISH:
        for i in range(n):
            v = x[i]
            out[i] = v * math.tanh(max(v, zero) + math.log1p(math.exp(-abs(v))))
    elif kind == THRESHOLDED_RELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > alpha else zero
    elif kind == SWISH:
        for i in range(n):
            v = x[i]
            out[i] = _div(v, one + _exp(-alpha * v))
    elif kind == EXP:
        for i in range(n):
            out[i] = _exp(x[i])
    elif kind == ERF:
        for i in range(n):
            out[i] = _erf(x[i])


_BLOCK = 2048


@njit(**SERIAL)
def _activation_serial(x, out, kind, p, inplace):
    if not inplace:
        _activation_loop(x, out, kind, p)
        return
    # out is x: LLVM's overlap check would fail and fall back to its scalar loop, so go through a small buffer
    n = x.shape[0]
    tmp = np.empty(min(n, _BLOCK), x.dtype)
    for lo in range(0, n, _BLOCK):
        m = min(_BLOCK, n - lo)
        xs = x[lo:lo + m]
        ts = tmp[:m]
        _activation_loop(xs, ts, kind, p)
        for i in range(m):
            xs[i] = ts[i]


@njit(**KERNEL)
def _activation_kernel(x, out, kind, p, inplace):
    """_activation_serial over chunks of _CHUNK in parallel."""
    n = x.size
    nchunks = (n + _CHUNK - 1) // _CHUNK
    for c in prange(nchunks):
        lo = c * _CHUNK
        hi = min(lo + _CHUNK, n)
        _activation_serial(x[lo:hi], out[lo:hi], kind, p, inplace)


def _run_activation(x: np.ndarray, out: np.ndarray, kind: int, p: np.ndarray) -> None:
    """f_kind over 1-d contiguous x into out (which may be x): serial below the kind's size threshold."""
    n = x.size
    if n == 0:
        return
    inplace = out is x
    if n >= (_PAR_MIN_CHEAP if kind in _CHEAP else _PAR_MIN_COSTLY) and num_threads() > 1:
        _activation_kernel(x, out, kind, p, inplace)
    else:
        _activation_serial(x, out, kind, p, inplace)


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
    _run_activation(flat, flat, KINDS[kind], _params(y.dtype, alpha, beta, gamma))
    return y


def _compute_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(np.float32) if dt.kind == "V" or dt == np.float16 else dt


def _apply(x: np.ndarray, kind: int, alpha: float, beta: float, gamma: float = 0.0) -> np.ndarray:
    """f_kind(x) as a new array of x's type (float16 / bfloat16 computed in float32)."""
    dt = x.dtype
    cdt = _compute_dtype(dt)
    xc = np.ascontiguousarray(x, dtype=cdt)
    out = np.empty(x.shape, cdt)
    _run_activation(xc.reshape(-1), out.reshape(-1), kind, _params(cdt, alpha, beta, gamma))
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

    @staticmethod
    def _slope_shape(node, x_shape: tuple, s_shape: tuple) -> tuple:
        """Before opset 7 a 1-d slope of C values is per channel (axis 1), as PyTorch's old exports use it."""
        if node.version < 7 and len(s_shape) == 1 and len(x_shape) >= 2 and s_shape[0] == x_shape[1] > 1:
            return (s_shape[0],) + (1,) * (len(x_shape) - 2)
        return tuple(s_shape)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        s = require_input(node, inputs, 1, "slope")
        allowed = _F + (_I32_64 if node.version >= 9 else ()) + (_BF16 if node.version >= 16 else ())
        _check_dtype(node, x, 0, allowed)
        if s.dtype != x.dtype:
            raise node.error(f"slope element type {s.dtype.name} differs from X's {x.dtype.name}", input=1)
        ss = cls._slope_shape(node, x.shape, s.shape)
        ok = len(ss) <= x.rank and all(d == t or d == 1 for d, t in zip(reversed(ss), reversed(x.shape)))
        if not ok:
            raise node.error(f"slope shape {shape_str(s.shape)} is not unidirectionally broadcastable to X's "
                             f"shape {shape_str(x.shape)} (each trailing dim must equal X's or be 1)", input=1)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, s = arrays
        s = s.reshape(cls._slope_shape(node, x.shape, s.shape))
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

_SOFTMAX_PAR_MIN = 1 << 19


@intrinsic
def _max_reduce(typingctx, a, b):
    """max(a, b) for a running maximum (llvm.maxnum, nnan): the loop vectoriser turns it into a vector max
    reduction. Which of a NaN and a number wins is left open: Softmax lets NaN through exp(x - max) instead."""
    if a not in (types.float32, types.float64) or b != a:
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.maxnum", [ty], ir.FunctionType(ty, [ty, ty]))
        return builder.call(fn, args, fastmath=("nnan",))

    return a(a, a), codegen


@intrinsic
def _add_reduce(typingctx, a, b):
    """a + b for a running sum that may be reassociated (the loop vectoriser then keeps partial sums in vector
    lanes, like a pairwise sum; NaN and inf propagate as usual)."""
    if a not in (types.float32, types.float64) or b != a:
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1], flags=("reassoc",))

    return a(a, a), codegen


@njit(**SERIAL)
def _softmax_rows(x, out, r0, r1, n, log):
    """Rows r0..r1 of x viewed as (rows, n), softmax along each row."""
    for o in range(r0, r1):
        xr = x[o * n:(o + 1) * n]
        orow = out[o * n:(o + 1) * n]
        m = x.dtype.type(-np.inf)
        for k in range(n):
            m = _max_reduce(xr[k], m)
        s = x.dtype.type(0.0)
        for k in range(n):
            e = _exp(xr[k] - m)  # NaN in the row: NaN here and in the sum, so the whole row is NaN
            orow[k] = e
            s = _add_reduce(s, e)  # vectorised: 64 partial sums, about as accurate as a pairwise sum
        if log:
            # log(sum) sets the absolute error of every output, the near-zero ones included: sum in float64
            s64 = 0.0
            for k in range(n):
                s64 = _add_reduce(s64, np.float64(orow[k]))
            ls = x.dtype.type(math.log(s64))
            for k in range(n):
                orow[k] = (xr[k] - m) - ls
        else:
            r = _div(x.dtype.type(1.0), s)
            for k in range(n):
                orow[k] = orow[k] * r


@njit(**SERIAL)
def _softmax_cols(x, out, o, i0, w, n, inner, log, m, s):
    """Softmax along the middle axis of x viewed as (outer, n, inner) for outer index o and inner i0..i0+w; m is
    scratch of x's type, s of float64 (the sums), both of length >= w."""
    base = o * n * inner + i0
    ms = m[:w]
    ss = s[:w]
    first = x[base:base + w]
    for j in range(w):
        ms[j] = first[j]
        ss[j] = 0.0
    for k in range(1, n):
        xb = x[base + k * inner:base + k * inner + w]
        for j in range(w):
            v = xb[j]
            mj = ms[j]
            ms[j] = v if v > mj else mj
    for k in range(n):
        xb = x[base + k * inner:base + k * inner + w]
        ob = out[base + k * inner:base + k * inner + w]
        for j in range(w):
            e = _exp(xb[j] - ms[j])
            ob[j] = e
            ss[j] += e
    if log:
        for j in range(w):
            ss[j] = math.log(ss[j])
        for k in range(n):
            xb = x[base + k * inner:base + k * inner + w]
            ob = out[base + k * inner:base + k * inner + w]
            for j in range(w):
                ob[j] = (xb[j] - ms[j]) - x.dtype.type(ss[j])
    else:
        for j in range(w):
            ss[j] = _div(1.0, ss[j])
        for k in range(n):
            ob = out[base + k * inner:base + k * inner + w]
            for j in range(w):
                ob[j] = ob[j] * x.dtype.type(ss[j])


_SOFTMAX_BLK = 256


@njit(**SERIAL)
def _softmax_task(x, out, t, ntasks, outer, n, inner, log, b1, b2):
    if inner == 1:
        r0 = t * outer // ntasks
        _softmax_rows(x, out, r0, (t + 1) * outer // ntasks, n, log)
    else:
        nblk = (inner + _SOFTMAX_BLK - 1) // _SOFTMAX_BLK
        for u in range(t * outer * nblk // ntasks, (t + 1) * outer * nblk // ntasks):
            i0 = (u % nblk) * _SOFTMAX_BLK
            _softmax_cols(x, out, u // nblk, i0, min(_SOFTMAX_BLK, inner - i0), n, inner, log, b1, b2)


@njit(**SERIAL)
def _softmax_serial(x, out, outer, n, inner, log):
    if inner == 1:
        _softmax_rows(x, out, 0, outer, n, log)
        return
    b1 = np.empty(_SOFTMAX_BLK, x.dtype)
    b2 = np.empty(_SOFTMAX_BLK, np.float64)
    _softmax_task(x, out, 0, 1, outer, n, inner, log, b1, b2)


@njit(**KERNEL)
def _softmax_kernel(x, out, outer, n, inner, log, ntasks):
    """Softmax (or log-softmax) over the middle axis of x viewed as (outer, n, inner); 1-d contiguous views,
    split into ntasks parallel tasks."""
    for t in prange(ntasks):
        b1 = np.empty(_SOFTMAX_BLK, x.dtype)
        b2 = np.empty(_SOFTMAX_BLK, np.float64)
        _softmax_task(x, out, t, ntasks, outer, n, inner, log, b1, b2)


def _run_softmax(x: np.ndarray, out: np.ndarray, outer: int, n: int, inner: int, log: bool) -> None:
    units = outer if inner == 1 else outer * ((inner + _SOFTMAX_BLK - 1) // _SOFTMAX_BLK)
    threads = num_threads() if x.size >= _SOFTMAX_PAR_MIN and units > 1 else 1
    if threads > 1:
        _softmax_kernel(x, out, outer, n, inner, log, min(units, 4 * threads))
    else:
        _softmax_serial(x, out, outer, n, inner, log)


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
            outer, n, inner = math.prod(shape[:axis]), math.prod(shape[axis:]), 1
        else:
            outer, n, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
        dt = x.dtype
        cdt = _compute_dtype(dt)
        xc = np.ascontiguousarray(x, dtype=cdt)
        out = np.empty(shape, cdt)
        if out.size:
            _run_softmax(xc.reshape(-1), out.reshape(-1), outer, n, inner, attrs.log)
        return [out if cdt == dt else out.astype(dt)]


@register("Softmax", versions=(1, 11, 13))
class Softmax(_SoftmaxBase):
    log = False


@register("LogSoftmax", versions=(1, 11, 13))
class LogSoftmax(_SoftmaxBase):
    log = True
