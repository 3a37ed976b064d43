"""Naive references for the elementwise ops, written from the ONNX spec with explicit index loops (no numpy
broadcasting), so they check onnumba's broadcasting and dtype rules independently."""

from __future__ import annotations

import math

import numpy as np


def broadcast_shape(*shapes) -> tuple:
    """Multidirectional (numpy-style) broadcasting per the ONNX spec's Broadcasting.md."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for k in range(rank):
        dims = {s[len(s) - rank + k] for s in shapes if len(s) - rank + k >= 0}
        big = dims - {1}
        if len(big) > 1:
            raise ValueError(f"shapes {shapes} do not broadcast")
        out.append(big.pop() if big else 1)
    return tuple(out)


def _source_index(out_idx: tuple, shape: tuple) -> tuple:
    """The element of an input of ``shape`` that output element ``out_idx`` reads (size-1 dims repeat)."""
    off = len(out_idx) - len(shape)
    return tuple(0 if d == 1 else out_idx[off + k] for k, d in enumerate(shape))


def elementwise(fn, arrays, out_dtype) -> np.ndarray:
    """Apply the scalar function ``fn`` to every broadcast tuple of input elements."""
    shape = broadcast_shape(*[a.shape for a in arrays])
    out = np.empty(shape, dtype=out_dtype)
    for idx in np.ndindex(*shape):
        vals = [a[_source_index(idx, a.shape)] for a in arrays]
        out[idx] = fn(*vals)
    return out


def _wrap(v, dtype):
    """A python number -> ``dtype`` with C-style wrap-around for integers."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        bits = dtype.itemsize * 8
        v = int(v) % (1 << bits)
        if dtype.kind == "i" and v >= 1 << (bits - 1):
            v -= 1 << bits
    return np.array(v).astype(dtype)[()]


def _int_div(a, b):
    q = abs(int(a)) // abs(int(b))
    return q if (a < 0) == (b < 0) else -q


def binary(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Add / Sub / Mul / Div / Pow with the output of ``a``'s type (Pow: exponent of any numeric type)."""
    dt = a.dtype
    if dt.kind == "f":
        work = np.float64
        def fns(x, y):
            x, y = work(x), work(y)
            with np.errstate(all="ignore"):
                return {"Add": x + y, "Sub": x - y, "Mul": x * y, "Div": x / y if y != 0 else work(np.divide(x, y)),
                        "Pow": work(np.power(x, y))}[op]
    else:
        def fns(x, y):
            x = int(x)
            if op == "Pow":
                if np.dtype(type(y)).kind == "f" or y < 0:
                    return _wrap(math.trunc(float(x) ** float(y)), dt)
                return _wrap(x ** int(y), dt)
            y = int(y)
            return _wrap({"Add": x + y, "Sub": x - y, "Mul": x * y, "Div": _int_div(x, y) if y else 0}[op], dt)
    return elementwise(fns, [a, b], dt)


def legacy_binary(op: str, a: np.ndarray, b: np.ndarray, broadcast: int, axis=None) -> np.ndarray:
    """Opset < 7 form: with broadcast=1, B is a one-element tensor or matches A's dims starting at ``axis``."""
    if broadcast:
        if b.size == 1:
            b = b.reshape(())
        else:
            ax = a.ndim - b.ndim if axis is None else (axis + a.ndim if axis < 0 else axis)
            b = b.reshape(b.shape + (1,) * (a.ndim - ax - b.ndim))
    return binary(op, a, b)


def variadic(op: str, arrays) -> np.ndarray:
    """Sum / Mean / Max / Min over broadcast inputs; float16 accumulates in float64 here."""
    dt = arrays[0].dtype

    def fn(*vals):
        if op in ("Max", "Min"):
            if any(isinstance(v, (float, np.floating)) and math.isnan(v) for v in vals):
                return np.nan
            return max(vals) if op == "Max" else min(vals)
        s = sum(float(v) for v in vals)
        return s / len(vals) if op == "Mean" else s

    return elementwise(fn, list(arrays), dt)


_UNARY = {
    "Exp": math.exp, "Log": lambda v: math.log(v) if v > 0 else (-math.inf if v == 0 else math.nan),
    "Sqrt": lambda v: math.sqrt(v) if v >= 0 else math.nan, "Neg": lambda v: -v, "Abs": abs,
    "Reciprocal": lambda v: 1.0 / v if v != 0 else math.copysign(math.inf, v), "Erf": math.erf,
    "Floor": math.floor, "Ceil": math.ceil, "Sign": lambda v: (v > 0) - (v < 0),
}


def unary(op: str, x: np.ndarray) -> np.ndarray:
    """The unary math ops, computed in python floats/ints and stored in ``x``'s type."""
    fn = _UNARY[op]
    out = np.empty(x.shape, x.dtype)
    for idx in np.ndindex(*x.shape):
        v = x[idx]
        if x.dtype.kind == "f":
            v = float(v)
            with np.errstate(all="ignore"):
                r = math.nan if math.isnan(v) else (fn(v) if not (math.isinf(v) and op in ("Floor", "Ceil"))
                                                    else v)
            out[idx] = r
        else:
            r = fn(int(v))
            out[idx] = _wrap(math.trunc(r), x.dtype)
    return out
