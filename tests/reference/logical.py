"""Naive references for the logical / comparison ops: python operators element by element after broadcasting."""

from __future__ import annotations

import math
import operator

import numpy as np

BINARY = {
    "Equal": operator.eq, "Less": operator.lt, "LessOrEqual": operator.le, "Greater": operator.gt,
    "GreaterOrEqual": operator.ge, "And": lambda a, b: a and b, "Or": lambda a, b: a or b,
    "Xor": lambda a, b: a != b,
}


def binary_ref(op: str, a, b) -> np.ndarray:
    """bool result of ``op`` on every broadcast pair, computed on python values."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    fn = BINARY[op]
    out = np.empty(a.shape, bool)
    for idx in np.ndindex(a.shape):
        out[idx] = bool(fn(a[idx].item(), b[idx].item()))
    return out


def where_ref(c, x, y) -> np.ndarray:
    c, x, y = np.broadcast_arrays(np.asarray(c), np.asarray(x), np.asarray(y))
    out = np.empty(c.shape, x.dtype)
    for idx in np.ndindex(c.shape):
        out[idx] = x[idx] if c[idx] else y[idx]
    return out


def isinf_ref(x, detect_negative=True, detect_positive=True) -> np.ndarray:
    out = np.empty(np.shape(x), bool)
    for idx in np.ndindex(out.shape):
        v = float(x[idx])
        out[idx] = math.isinf(v) and ((v > 0 and detect_positive) or (v < 0 and detect_negative))
    return out


def bitshift_ref(x, y, left: bool) -> np.ndarray:
    """The opset-28 rule: shifts by a negative amount or by >= the width give 0, or -1 for a right shift of a
    negative value; signed right shifts are arithmetic; left shifts drop the bits pushed out."""
    x, y = np.broadcast_arrays(np.asarray(x), np.asarray(y))
    bits = x.dtype.itemsize * 8
    out = np.empty(x.shape, x.dtype)
    for idx in np.ndindex(x.shape):
        v, s = int(x[idx]), int(y[idx])
        if s < 0 or s >= bits:
            r = -1 if (not left and v < 0) else 0
        elif left:
            r = (v << s) % (1 << bits)
            if x.dtype.kind == "i" and r >= 1 << (bits - 1):
                r -= 1 << bits
        else:
            r = v >> s  # python's >> on ints is arithmetic
        out[idx] = r
    return out
