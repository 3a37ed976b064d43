"""Linear quantize / dequantize / requantize loops for the quantization ops: one pass, scales looked up per element.

The input is viewed as ``(O, D, I)`` with ``D`` the quantization axis; the scale and zero point as
``(So, Sd, Si)`` with ``So`` 1 or ``O`` and ``Si`` 1 or ``I``, read at ``[o, d // block, i]``: per tensor is
``(1, 1, 1)`` with ``D = 1``, per axis ``(1, D, 1)`` with ``block = 1``, blocked ``(O, ceil(D / block), I)``.
Work is split into equal runs of the flattened input, so a per-tensor quantization parallelises too.
Numerics only: callers validate the shapes and allocate ``out``.
"""

from __future__ import annotations

import numpy as np
from numba import types
from numba.extending import overload

from onnumba.ops._numba import INLINE, KERNEL, SERIAL, njit, num_threads, prange

#: below this many elements one thread does the whole pass (waking a worker costs more than it saves)
PAR_MIN = 1 << 16


@njit(**SERIAL)
def _span(e, e1, d_len, i_len, block, per_o):
    """The run of flat elements from ``e`` (before ``e1``) that stays in one (o, d) row of the (O, D, I) layout:
    ``(base, i0, i1, so, sd)`` with the run being ``base + i0 .. base + i1`` and its scale row ``[so, sd]``."""
    row = e // i_len
    i0 = e - row * i_len
    i1 = min(i_len, i0 + e1 - e)
    o = row // d_len
    d = row - o * d_len
    return row * i_len, i0, i1, (o if per_o else 0), d // block


#: 1.5 * 2**52: adding and subtracting it rounds a float64 of magnitude <= 2**51 to an integer, halves to even
_MAGIC = 6755399441055744.0


@njit(**INLINE)
def _round_clamp(v, z, lo, hi):
    """round_half_even(clamp(v, lo - z, hi - z)) + z, all float64: the one rounding of quantize and requantize
    (one specialisation for both). Equal to clamp(round_half_even(v) + z, lo, hi) since the bounds are integers,
    and exact: the clamped value is far below 2**51. A NaN ``v`` fails the first comparison and lands on lo."""
    c = v if v > lo - z else lo - z
    c = c if c < hi - z else hi - z
    return ((c + _MAGIC) - _MAGIC) + z


def _run(x, out, s, z, lo, hi, i0, i1):  # pragma: no cover - a stub, replaced by the overload inside jitted code
    raise NotImplementedError


@overload(_run, jit_options=SERIAL)
def _run_ol(x, out, s, z, lo, hi, i0, i1):
    """``out[i0:i1]`` from ``x[i0:i1]`` with one scale ``s`` and zero point ``z``. The operation follows from the
    types when Numba types the call (float output: dequantize; float input: quantize; else requantize), so the
    one layout walk (:func:`_units`) serves all three and compiles once per type set it meets, with no flag."""
    if isinstance(out.dtype, types.Float):
        def dequantize_run(x, out, s, z, lo, hi, i0, i1):
            for i in range(i0, i1):
                # z is float32 for 8- and 16-bit x (the difference is exact and vectorises), int64 for int32 x
                out[i] = np.float32(x[i] - z) * s
        return dequantize_run
    if isinstance(x.dtype, types.Float):
        def quantize_run(x, out, s, z, lo, hi, i0, i1):
            for i in range(i0, i1):
                # the quotient in float32 (the spec divides in the input's type), rounded in float64: exact
                out[i] = _round_clamp(np.float64(x[i] / s), z, lo, hi)
        return quantize_run

    def requantize_run(x, out, s, z, lo, hi, i0, i1):
        for i in range(i0, i1):
            out[i] = _round_clamp(np.float64(x[i]) * s, z, lo, hi)
    return requantize_run


@njit(**SERIAL)
def _units(x, s3, z3, out, d_len, i_len, block, lo, hi, e0, e1):
    """Flat elements e0..e1 through :func:`_run`, each run of elements with its scale and zero point."""
    per_o = s3.shape[0] > 1
    e = e0
    while e < e1:
        base, i0, i1, so, sd = _span(e, e1, d_len, i_len, block, per_o)
        if s3.shape[2] > 1:
            for i in range(i0, i1):
                _run(x, out, s3[so, sd, i], z3[so, sd, i], lo, hi, base + i, base + i + 1)
        else:
            _run(x, out, s3[so, sd, 0], z3[so, sd, 0], lo, hi, base + i0, base + i1)
        e += i1 - i0


@njit(**KERNEL)
def _quantize_kernel(x, s3, z3, out, d_len, i_len, block, lo, hi, ntasks):
    """:func:`_units` over ``ntasks`` equal runs of the flat input in parallel (all three operations)."""
    n = x.shape[0]
    for t in prange(ntasks):
        _units(x, s3, z3, out, d_len, i_len, block, lo, hi, t * n // ntasks, (t + 1) * n // ntasks)


def check_layout(x: np.ndarray, s3: np.ndarray, z3: np.ndarray, out: np.ndarray, d_len: int, i_len: int,
                 block: int) -> None:
    """Refuse a layout the loops would read outside of (Numba does not bounds-check): callers validate the
    model, this is the last line before raw indexing."""
    n = x.shape[0]
    o_len = n // (d_len * i_len) if d_len * i_len else 0
    so, sd, si = s3.shape
    ok = (out.shape[0] == n and o_len * d_len * i_len == n and z3.shape == s3.shape and block >= 1
          and so in (1, o_len) and si in (1, i_len) and sd >= -(-d_len // block))
    if not ok:
        raise ValueError(f"quantize layout mismatch: x {n} elements as (O, {d_len}, {i_len}), block {block}, "
                         f"scale {s3.shape}, zero point {z3.shape}, out {out.shape[0]}")


def _launch(x, s3, z3, out, d_len, i_len, block, lo, hi) -> None:
    n = x.shape[0]
    if n < PAR_MIN or num_threads() == 1:
        _units(x, s3, z3, out, d_len, i_len, block, lo, hi, 0, n)
    else:
        _quantize_kernel(x, s3, z3, out, d_len, i_len, block, lo, hi, 4 * num_threads())


def quantize(x: np.ndarray, s3: np.ndarray, z3: np.ndarray, out: np.ndarray, d_len: int, i_len: int, block: int,
             lo: int, hi: int) -> None:
    """Flat float32 ``x`` -> flat ``out`` (an integer type); ``s3`` float32 and ``z3`` integer, both 3-d."""
    n = x.shape[0]
    if n == 0:
        return
    check_layout(x, s3, z3, out, d_len, i_len, block)
    z3 = z3.astype(np.float64)  # exact: zero points are 16-bit
    _launch(x, s3, z3, out, d_len, i_len, block, float(lo), float(hi))


def dequantize(x: np.ndarray, s3: np.ndarray, z3: np.ndarray, out: np.ndarray, d_len: int, i_len: int,
               block: int) -> None:
    """Flat integer ``x`` -> flat float32 ``out``; ``s3`` float32 and ``z3`` integer, both 3-d."""
    n = x.shape[0]
    if n == 0:
        return
    check_layout(x, s3, z3, out, d_len, i_len, block)
    z3 = z3.astype(np.int64 if x.dtype == np.int32 else np.float32)
    _launch(x, s3, z3, out, d_len, i_len, block, 0.0, 0.0)


def requantize(acc: np.ndarray, m3: np.ndarray, z3: np.ndarray, out: np.ndarray, d_len: int, i_len: int, lo: int,
               hi: int) -> None:
    """Flat int32 ``acc`` laid out (O, D, I) -> flat ``out``; multiplier ``m3`` and zero point ``z3`` of shape
    (1, 1 or D, 1 or I), both float64."""
    n = acc.shape[0]
    if n == 0:
        return
    # a multiplier of one row along D is read at d // d_len = 0, as a per-axis one is at d // 1 = d
    block = 1 if m3.shape[1] > 1 else d_len
    check_layout(acc, m3, z3, out, d_len, i_len, block)
    if m3.shape[0] != 1:
        raise ValueError(f"requantize multiplier must be (1, D or 1, I or 1), got {m3.shape}")
    _launch(acc, m3, z3, out, d_len, i_len, block, float(lo), float(hi))
