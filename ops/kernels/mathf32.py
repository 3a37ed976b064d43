"""float32 math functions for kernels: branch-free exp / expm1 / tanh / erf / gelu that LLVM vectorises.

``math.exp`` and friends compile to scalar libm calls, which keep a loop scalar. The float32 versions here are
polynomials (a few float32 ulps) that clamp their argument with selects written so that NaN passes through and
reproduce the libm results at the edges: exp overflows to inf above 88.72 and goes through the denormals to 0
below -87.3. Kernels call the type-generic names (:func:`exp`, :func:`expm1`, :func:`tanh`, :func:`erf`,
:func:`gelu`): float32 arguments get the polynomial, float64 ones keep the libm function. :func:`fma`,
:func:`fdiv`, :func:`max_reduce` and :func:`add_reduce` are LLVM-level helpers for vectorisable loops.

Part of the kernel floor: imports numpy, numba and llvmlite only.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic, overload

from onnumba.ops._numba import INLINE, njit


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
def fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma: one vfmadd instruction where the CPU has FMA)."""
    if a not in (types.float32, types.float64) or b != a or c != a:
        return None

    def codegen(context, builder, signature, args):
        ty = args[0].type
        fn = builder.module.declare_intrinsic("llvm.fma", [ty], ir.FunctionType(ty, [ty, ty, ty]))
        return builder.call(fn, args)

    return a(a, a, a), codegen


@intrinsic
def fdiv(typingctx, a, b):
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
    t = fma(xc, _LOG2E, _ROUND)
    k = t - _ROUND
    return t, fma(k, -_LN2_LO, fma(k, -_LN2_HI, xc))


@njit(**INLINE)
def _expm1_q32(r):
    """q with expm1(r) = r * q (Horner on the Taylor coefficients)."""
    q = fma(r, _E7, _E6)
    q = fma(r, q, _E5)
    q = fma(r, q, _E4)
    q = fma(r, q, _E3)
    q = fma(r, q, _E2)
    return fma(r, q, _ONE)


@njit(**INLINE)
def exp32(x):
    t, r = _reduce32(x)
    return _scale_pow2(fma(r, _expm1_q32(r), _ONE), t)


@njit(**INLINE)
def expm1_32(x):
    """exp(x) - 1 without cancellation near 0: 2**k expm1(r) + (2**k - 1), exactly expm1(r) when k = 0."""
    t, r = _reduce32(x)
    s = _scale_pow2(_ONE, t)
    return fma(s, r * _expm1_q32(r), s - _ONE)


@njit(**INLINE)
def tanh32(x):
    a = abs(x)
    a = _TANH_HI if a > _TANH_HI else a
    e = expm1_32(a + a)
    return math.copysign(fdiv(e, e + _TWO), x)


@njit(**INLINE)
def _erf_parts32(a, zh, zl):
    """(erf(a) for a < _ERF_CUT, erfc(a) for a >= _ERF_CUT, a < _ERF_CUT) for a = |z| in [0, _ERF_HI] and
    z * z = zh + zl exactly (the low part corrects exp(-zh), whose argument error would grow with z * z)."""
    small = a * fma(zh, fma(zh, fma(zh, fma(zh, fma(zh, _EA5, _EA4), _EA3), _EA2), _EA1), _EA0)
    t = fdiv(_ONE, fma(_HALF, a, _ONE))
    q = fma(t, fma(t, fma(t, fma(t, _EB8, _EB7), _EB6), _EB5), _EB4)
    q = fma(t, fma(t, fma(t, fma(t, q, _EB3), _EB2), _EB1), _EB0)
    return small, exp32(-zh) * fma(-zl, q, q), a < _ERF_CUT


@njit(**INLINE)
def erf32(x):
    a = abs(x)
    a = _ERF_HI if a > _ERF_HI else a  # NaN stays
    zh = a * a
    small, erfc, is_small = _erf_parts32(a, zh, fma(a, a, -zh))
    return math.copysign(small if is_small else _ONE - erfc, x)


@njit(**INLINE)
def gelu32(x):
    """x * (1 + erf(x / sqrt 2)) / 2, with 1 + erf(z) for z <= -_ERF_CUT taken as erfc(|z|) (no cancellation);
    z * z = x * x / 2 is formed from x so that its rounding error stays at one ulp."""
    xa = abs(x)
    xa = _GELU_HI if xa > _GELU_HI else xa
    xx = xa * xa
    a = xa * _F32(0.7071067811865476)
    small, erfc, is_small = _erf_parts32(a, _HALF * xx, _HALF * fma(xa, xa, -xx))
    big = erfc if x < _ZERO else _TWO - erfc
    return _HALF * x * (_ONE + math.copysign(small, x) if is_small else big)


@njit(**INLINE)
def gelu64(x):
    return 0.5 * x * (1.0 + math.erf(x * 0.7071067811865476))


def exp(v):  # pragma: no cover - stubs, replaced by the overloads inside jitted code
    raise NotImplementedError


def expm1(v):  # pragma: no cover
    raise NotImplementedError


def tanh(v):  # pragma: no cover
    raise NotImplementedError


def erf(v):  # pragma: no cover
    raise NotImplementedError


def gelu(v):  # pragma: no cover
    raise NotImplementedError


def _overload_f32(stub, fast, exact):
    @overload(stub, jit_options=INLINE)
    def ol(v):
        if v == types.float32:
            return lambda v: fast(v)
        return lambda v: exact(v)


_overload_f32(exp, exp32, math.exp)
_overload_f32(expm1, expm1_32, math.expm1)
_overload_f32(tanh, tanh32, math.tanh)
_overload_f32(erf, erf32, math.erf)
_overload_f32(gelu, gelu32, gelu64)


@intrinsic
def max_reduce(typingctx, a, b):
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
def add_reduce(typingctx, a, b):
    """a + b for a running sum that may be reassociated (the loop vectoriser then keeps partial sums in vector
    lanes, like a pairwise sum; NaN and inf propagate as usual)."""
    if a not in (types.float32, types.float64) or b != a:
        return None

    def codegen(context, builder, signature, args):
        return builder.fadd(args[0], args[1], flags=("reassoc",))

    return a(a, a), codegen

