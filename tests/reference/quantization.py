"""Naive references for the quantization ops, written from the ONNX spec text (per element, python rounding).

Python's ``round`` rounds halves to even, as the spec asks; float arithmetic is float64 unless a test passes
values whose quotient is exact in the op's own precision.
"""

from __future__ import annotations

import itertools

import numpy as np

from tests.reference.conv import conv

RANGES = {np.dtype(np.int8): (-128, 127), np.dtype(np.uint8): (0, 255), np.dtype(np.int16): (-32768, 32767),
          np.dtype(np.uint16): (0, 65535)}


def _param_at(p, idx, axis, block_size):
    """The scale / zero point that applies at input index ``idx``."""
    p = np.asarray(p)
    if p.size == 1:
        return p.reshape(-1)[0]
    if not block_size:
        return p[idx[axis]]
    j = list(idx)
    j[axis] //= block_size
    return p[tuple(j)]


def saturate(v: float, dtype) -> int:
    lo, hi = RANGES[np.dtype(dtype)]
    if v != v:  # NaN: the low end, as onnxruntime (pinned in the tests)
        return lo
    return int(min(max(v, lo), hi))


def quantize_ref(x, scale, zp=None, axis=1, block_size=0, out_dtype=np.uint8, work=np.float32):
    """y = saturate(round_half_even(x / scale) + zp), the division in ``work`` precision."""
    x = np.asarray(x)
    axis = axis % max(x.ndim, 1)
    dt = np.dtype(zp.dtype) if zp is not None else np.dtype(out_dtype)
    y = np.empty(x.shape, dt)
    for idx in itertools.product(*[range(d) for d in x.shape]):
        s = work(_param_at(scale, idx, axis, block_size))
        with np.errstate(all="ignore"):
            q = float(work(x[idx]) / s)
        z = 0 if zp is None else int(_param_at(zp, idx, axis, block_size))
        y[idx] = saturate(q if q != q or abs(q) == float("inf") else round(q) + z, dt)
    return y


def dequantize_ref(x, scale, zp=None, axis=1, block_size=0, out_dtype=None):
    """y = (x - zp) * scale, in float32, cast to the scale's type (or ``out_dtype``)."""
    x = np.asarray(x)
    axis = axis % max(x.ndim, 1)
    y = np.empty(x.shape, out_dtype or np.asarray(scale).dtype)
    for idx in itertools.product(*[range(d) for d in x.shape]):
        z = 0 if zp is None else int(_param_at(zp, idx, axis, block_size))
        y[idx] = np.float32(int(x[idx]) - z) * np.float32(_param_at(scale, idx, axis, block_size))
    return y


def dynamic_quantize_ref(x):
    """The spec's DynamicQuantizeLinear (uint8), with scale 1 for an all-zero range (pinned in the tests)."""
    x = np.asarray(x, np.float32)
    hi = np.float32(max(0.0, float(x.max()))) if x.size else np.float32(0)
    lo = np.float32(min(0.0, float(x.min()))) if x.size else np.float32(0)
    scale = np.float32(1) if hi == lo else np.float32(hi - lo) / np.float32(255)
    zp = round(min(max(float(np.float32(0) - lo / scale), 0.0), 255.0))
    y = quantize_ref(x, np.array(scale), np.array(zp, np.uint8))
    return y, np.array(scale, np.float32), np.array(zp, np.uint8)


def wrap_int32(v) -> np.ndarray:
    """Integers taken modulo 2**32 into int32 (the spec lets int32 accumulation overflow)."""
    v = np.asarray(v, dtype=object if np.asarray(v).dtype == object else np.int64)
    return ((v.astype(np.int64) + 2 ** 31) % 2 ** 32 - 2 ** 31).astype(np.int32)


def matmul_integer_ref(a, b, azp=None, bzp=None):
    """(A - a_zp) @ (B - b_zp) with exact int64 sums, wrapped to int32. Zero points are given already shaped to
    broadcast against A and B."""
    a64 = np.asarray(a, np.int64) - (0 if azp is None else np.asarray(azp, np.int64))
    b64 = np.asarray(b, np.int64) - (0 if bzp is None else np.asarray(bzp, np.int64))
    return wrap_int32(np.matmul(a64, b64))


def requantize_ref(acc, mult, y_zp, dtype):
    """saturate(round_half_even(acc * mult) + y_zp) per element (mult broadcast against acc)."""
    acc = np.asarray(acc)
    mult = np.broadcast_to(np.asarray(mult, np.float64), acc.shape)
    zp = np.broadcast_to(np.asarray(y_zp, np.int64), acc.shape)
    out = np.empty(acc.shape, dtype)
    for idx in itertools.product(*[range(d) for d in acc.shape]):
        out[idx] = saturate(round(float(acc[idx]) * float(mult[idx])) + int(zp[idx]), dtype)
    return out


def conv_integer_ref(x, w, xzp=0, wzp=0, **kw):
    """conv(x - x_zp, w - w_zp) in exact integers (float64 sums of small integers), as int32. ``wzp`` may be
    per output channel."""
    wzp = np.asarray(wzp, np.int64)
    if wzp.ndim == 1 and wzp.size > 1:
        wzp = wzp.reshape((-1,) + (1,) * (np.ndim(w) - 1))
    xs = np.asarray(x, np.int64) - int(np.asarray(xzp).reshape(-1)[0])
    ws = np.asarray(w, np.int64) - wzp
    return np.rint(conv(xs, ws, **kw)).astype(np.int64).astype(np.int32)
