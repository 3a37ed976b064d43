"""Naive references for the reductions, ArgMax / ArgMin, CumSum and TopK, written from the ONNX spec text.

Reductions loop over output positions in python and reduce each group of input elements in float64 (integers
exactly, in python ints, then wrapped to the type): slow, obviously right, for small shapes only.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

#: op -> (reduce a python list of float64 / int values, value of an empty reduction for float types)
_OPS = {
    "ReduceSum": (lambda v: sum(v), 0.0),
    "ReduceMean": (lambda v: sum(v) / len(v), math.nan),
    "ReduceMax": (lambda v: _nanmax(v), -math.inf),
    "ReduceMin": (lambda v: -_nanmax([-t for t in v]), math.inf),
    "ReduceProd": (lambda v: math.prod(v), 1.0),
    "ReduceL1": (lambda v: sum(abs(t) for t in v), 0.0),
    "ReduceL2": (lambda v: math.sqrt(sum(t * t for t in v)), 0.0),
    "ReduceSumSquare": (lambda v: sum(t * t for t in v), 0.0),
    "ReduceLogSum": (lambda v: math.log(sum(v)) if sum(v) > 0 else (-math.inf if sum(v) == 0 else math.nan),
                     -math.inf),
    "ReduceLogSumExp": (lambda v: _lse(v), -math.inf),
}


def _nanmax(v):
    if any(t != t for t in v):
        return math.nan
    return max(v)


def _lse(v):
    m = max(v)
    if math.isinf(m):
        return m
    return m + math.log(sum(math.exp(t - m) for t in v))


def reduce_ref(op: str, x, axes=None, keepdims=True, noop_with_empty_axes=False) -> np.ndarray:
    """``op`` (e.g. "ReduceSum") over ``axes`` of ``x``, the result in ``x``'s type."""
    x = np.asarray(x)
    if not axes:
        if noop_with_empty_axes:
            return x.copy()
        axes = range(x.ndim)
    axes = sorted({a + x.ndim if a < 0 else a for a in axes})
    kept = [a for a in range(x.ndim) if a not in axes]
    fn, empty = _OPS[op]
    out_shape = tuple(x.shape[a] for a in kept)
    out = np.empty(out_shape, np.float64 if x.dtype.kind == "f" else object)
    for pos in itertools.product(*(range(x.shape[a]) for a in kept)):
        vals = []
        for rpos in itertools.product(*(range(x.shape[a]) for a in axes)):
            idx = [0] * x.ndim
            for a, p in zip(kept, pos):
                idx[a] = p
            for a, p in zip(axes, rpos):
                idx[a] = p
            v = x[tuple(idx)]
            vals.append(float(v) if x.dtype.kind == "f" else int(v))
        if not vals:
            out[pos] = empty if x.dtype.kind == "f" else _int_empty(op, x.dtype)
        elif x.dtype.kind == "f":
            out[pos] = fn(vals)
        else:
            r = fn([float(t) for t in vals]) if op in ("ReduceL2", "ReduceLogSum", "ReduceLogSumExp") else fn(vals)
            if op == "ReduceMean":
                s = sum(vals)
                r = abs(s) // len(vals) * (1 if s >= 0 else -1)  # C integer division truncates toward zero
            out[pos] = int(r) if x.dtype != bool else bool(r)
    if x.dtype.kind in "iu":
        bits = x.dtype.itemsize * 8
        wrap = np.vectorize(lambda t: (t % (1 << bits)) - ((1 << bits) if x.dtype.kind == "i" and
                                                          (t % (1 << bits)) >= (1 << (bits - 1)) else 0),
                            otypes=[object])
        out = wrap(out) if out.size else out
    y = np.asarray(out.astype(x.dtype) if out.size else np.empty(out_shape, x.dtype))
    if keepdims:
        y = y.reshape(tuple(1 if a in axes else d for a, d in enumerate(x.shape)))
    return y


def _int_empty(op, dtype):
    if op == "ReduceMax":
        return False if dtype == bool else int(np.iinfo(dtype).min)
    if op == "ReduceMin":
        return True if dtype == bool else int(np.iinfo(dtype).max)
    return 1 if op == "ReduceProd" else 0


def arg_ref(x, axis=0, keepdims=True, select_last_index=False, largest=True) -> np.ndarray:
    """Index of the first (or last) maximum (minimum) along ``axis``, element by element; NaN wins."""
    x = np.asarray(x)
    axis = axis + x.ndim if axis < 0 else axis
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape[:-1], np.int64)
    for pos in itertools.product(*(range(d) for d in moved.shape[:-1])):
        lane = [float(v) for v in moved[pos]]
        if any(v != v for v in lane):
            cands = [i for i, v in enumerate(lane) if v != v]
        else:
            best = max(lane) if largest else min(lane)
            cands = [i for i, v in enumerate(lane) if v == best]
        out[pos] = cands[-1] if select_last_index else cands[0]
    return np.expand_dims(out, axis) if keepdims else out


def cumsum_ref(x, axis, exclusive=False, reverse=False) -> np.ndarray:
    """Running sums along ``axis`` in python numbers, in ``x``'s type (integers wrap)."""
    x = np.asarray(x)
    axis = axis + x.ndim if axis < 0 else axis
    moved = np.moveaxis(x, axis, -1)
    out = np.empty(moved.shape, x.dtype)
    for pos in itertools.product(*(range(d) for d in moved.shape[:-1])):
        lane = moved[pos].tolist()
        n = len(lane)
        order = range(n - 1, -1, -1) if reverse else range(n)
        acc = 0
        for r in order:
            if exclusive:
                out[pos + (r,)] = np.array(acc).astype(x.dtype) if x.dtype.kind == "f" else _wrap(acc, x.dtype)
                acc += lane[r]
            else:
                acc += lane[r]
                out[pos + (r,)] = np.array(acc).astype(x.dtype) if x.dtype.kind == "f" else _wrap(acc, x.dtype)
    return np.moveaxis(out, -1, axis)


def _wrap(v: int, dtype) -> int:
    bits = np.dtype(dtype).itemsize * 8
    v %= 1 << bits
    if np.dtype(dtype).kind == "i" and v >= 1 << (bits - 1):
        v -= 1 << bits
    return v


def topk_ref(x, k, axis=-1, largest=True):
    """(values, int64 indices) of the k largest (smallest) along ``axis``; equal values: lower index first."""
    x = np.asarray(x)
    axis = axis + x.ndim if axis < 0 else axis
    moved = np.moveaxis(x, axis, -1)
    vals = np.empty(moved.shape[:-1] + (k,), x.dtype)
    idx = np.empty(moved.shape[:-1] + (k,), np.int64)
    for pos in itertools.product(*(range(d) for d in moved.shape[:-1])):
        lane = moved[pos].tolist()
        order = sorted(range(len(lane)), key=lambda i: ((-lane[i] if largest else lane[i]), i))[:k]
        for j, i in enumerate(order):
            vals[pos + (j,)] = lane[i]
            idx[pos + (j,)] = i
    return np.moveaxis(vals, -1, axis), np.moveaxis(idx, -1, axis)
