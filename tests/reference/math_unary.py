"""Naive references for math_unary's ops, written from the ONNX spec text (per element, python's math module)."""

from __future__ import annotations

import itertools
import math

import numpy as np

FUNCS = {"Sin": math.sin, "Cos": math.cos, "Tan": math.tan, "Asin": math.asin, "Acos": math.acos,
         "Atan": math.atan, "Sinh": math.sinh, "Cosh": math.cosh, "Asinh": math.asinh, "Acosh": math.acosh,
         "Atanh": math.atanh, "Round": round}


def unary_ref(op: str, x) -> np.ndarray:
    """``op`` per element in float64 (NaN outside the domain, inf on overflow), cast to x's type."""
    f = FUNCS[op]
    x = np.asarray(x)
    out = np.empty(x.shape, np.float64)
    for idx in itertools.product(*[range(d) for d in x.shape]):
        v = float(x[idx])
        try:
            out[idx] = float(f(v)) if math.isfinite(v) or op in ("Atan", "Asinh", "Sinh", "Cosh", "Round") \
                else float("nan")
        except ValueError:  # outside the domain, or atanh(+-1)
            out[idx] = math.copysign(float("inf"), v) if op == "Atanh" and abs(v) == 1 else float("nan")
        except OverflowError:
            out[idx] = math.copysign(float("inf"), v) if op == "Sinh" else float("inf")
    return out.astype(x.dtype)


def mod_ref(a, b, fmod: int) -> np.ndarray:
    """fmod 0: a - floor(a / b) * b (sign of b; python's %); fmod 1: a - trunc(a / b) * b (C fmod)."""
    a, b = np.broadcast_arrays(np.asarray(a), np.asarray(b))
    out = np.empty(a.shape, a.dtype)
    for idx in itertools.product(*[range(d) for d in a.shape]):
        x, y = a[idx].item(), b[idx].item()
        if a.dtype.kind in "iu":
            if fmod:  # truncated division, exact in python integers
                q = abs(x) // abs(y)
                out[idx] = x - (q if (x >= 0) == (y > 0) else -q) * y
            else:
                out[idx] = x % y
        else:
            out[idx] = math.fmod(x, y) if fmod and y != 0 and math.isfinite(x) else \
                (float("nan") if y == 0 or not math.isfinite(x) or y != y else _floor_mod(x, y))
    return out


def _floor_mod(x: float, y: float) -> float:
    if math.isinf(y):
        return x if x == 0 or (x > 0) == (y > 0) else y
    r = math.fmod(x, y)
    if r != 0 and (r < 0) != (y < 0):
        r += y
    return r if r != 0 else math.copysign(0.0, y)


def hardmax_ref(x, axis: int, legacy: bool) -> np.ndarray:
    """1 at the first maximum along ``axis`` (opset 13) or over the flattened ``shape[axis:]`` (before 13)."""
    x = np.asarray(x)
    y = np.zeros_like(x)
    if x.size == 0:
        return y
    if legacy:
        rows = int(np.prod(x.shape[:axis], dtype=np.int64))
        x2, y2 = x.reshape(rows, -1), y.reshape(rows, -1)
        for r in range(rows):
            y2[r, _first_max(list(x2[r]))] = 1
        return y
    xm, ym = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    for idx in itertools.product(*[range(d) for d in xm.shape[:-1]]):
        ym[idx + (_first_max(list(xm[idx])),)] = 1
    return y


def _first_max(vals) -> int:
    best = 0
    for i, v in enumerate(vals):
        if v != v:  # NaN counts as the largest (numpy's argmax)
            return i
        if v > vals[best]:
            best = i
    return best


def shrink_ref(x, lambd: float, bias: float) -> np.ndarray:
    x = np.asarray(x)
    out = np.empty(x.shape, x.dtype)
    for idx in itertools.product(*[range(d) for d in x.shape]):
        v = float(x[idx])
        r = v + bias if v < -lambd else (v - bias if v > lambd else 0.0)
        out[idx] = math.trunc(r) if x.dtype.kind in "iu" else r
    return out
