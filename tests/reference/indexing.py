"""Naive references for the indexing family, written from the ONNX spec text with explicit loops over
index tuples (no numpy fancy indexing, no take_along_axis), so they do not share the implementation's ideas."""

from __future__ import annotations

import itertools
import math

import numpy as np


def _wrap(i, n):
    return i + n if i < 0 else i


def gather_elements_ref(data, indices, axis):
    out = np.empty(indices.shape, data.dtype)
    for pos in itertools.product(*[range(d) for d in indices.shape]):
        src = list(pos)
        src[axis] = _wrap(int(indices[pos]), data.shape[axis])
        out[pos] = data[tuple(src)]
    return out


def _combine(old, new, reduction):
    if reduction == "add":
        return old + new
    if reduction == "mul":
        return old * new
    if reduction == "max":
        return max(old, new)
    if reduction == "min":
        return min(old, new)
    return new


def scatter_elements_ref(data, indices, updates, axis, reduction="none"):
    out = data.copy()
    for pos in itertools.product(*[range(d) for d in indices.shape]):
        dst = list(pos)
        dst[axis] = _wrap(int(indices[pos]), data.shape[axis])
        dst = tuple(dst)
        out[dst] = _combine(out[dst], updates[pos], reduction)
    return out


def gather_nd_ref(data, indices, batch_dims=0):
    b = batch_dims
    k = indices.shape[-1]
    out_shape = indices.shape[:-1] + data.shape[b + k:]
    out = np.empty(out_shape, data.dtype)
    for pos in itertools.product(*[range(d) for d in indices.shape[:-1]]):
        coords = [_wrap(int(indices[pos + (t,)]), data.shape[b + t]) for t in range(k)]
        src = tuple(pos[:b]) + tuple(coords)
        out[pos] = data[src]
    return out


def scatter_nd_ref(data, indices, updates, reduction="none"):
    out = data.copy()
    k = indices.shape[-1]
    for pos in itertools.product(*[range(d) for d in indices.shape[:-1]]):
        dst = tuple(_wrap(int(indices[pos + (t,)]), data.shape[t]) for t in range(k))
        for rest in itertools.product(*[range(d) for d in data.shape[k:]]):
            out[dst + rest] = _combine(out[dst + rest], updates[pos + rest], reduction)
    return out


def depth_to_space_ref(x, b, mode="DCR"):
    n, c, h, w = x.shape
    co = c // (b * b)
    out = np.empty((n, co, h * b, w * b), x.dtype)
    for i, o, y, z in itertools.product(range(n), range(co), range(h * b), range(w * b)):
        by, bx = y % b, z % b
        ch = (by * b + bx) * co + o if mode == "DCR" else o * b * b + by * b + bx
        out[i, o, y, z] = x[i, ch, y // b, z // b]
    return out


def space_to_depth_ref(x, b, mode="DCR"):
    n, c, h, w = x.shape
    out = np.empty((n, c * b * b, h // b, w // b), x.dtype)
    for i, ch, y, z in itertools.product(range(n), range(c), range(h), range(w)):
        by, bx = y % b, z % b
        o = (by * b + bx) * c + ch if mode == "DCR" else ch * b * b + by * b + bx
        out[i, o, y // b, z // b] = x[i, ch, y, z]
    return out


def one_hot_ref(indices, depth, values, axis=-1):
    r = indices.ndim
    axis = axis + r + 1 if axis < 0 else axis
    out_shape = indices.shape[:axis] + (depth,) + indices.shape[axis:]
    out = np.empty(out_shape, values.dtype)
    for pos in itertools.product(*[range(d) for d in out_shape]):
        j = pos[axis]
        src = pos[:axis] + pos[axis + 1:]
        v = int(indices[src])
        v = v + depth if v < 0 else v
        out[pos] = values[1] if v == j else values[0]
    return out


def trilu_ref(x, k=0, upper=True):
    out = np.zeros_like(x)
    rows, cols = x.shape[-2:]
    for pos in itertools.product(*[range(d) for d in x.shape]):
        i, j = pos[-2:]
        if (j - i >= k) if upper else (j - i <= k):
            out[pos] = x[pos]
    return out


def range_ref(start, limit, delta, dtype):
    n = max(math.ceil((limit - start) / delta), 0)
    return np.array([start + i * delta for i in range(n)], dtype=dtype)


def split_sizes_ref(dim, n_outputs, split=None):
    """The spec's sizes: explicit ``split``, else parts of ceil(dim / n) with a smaller last one."""
    if split is not None:
        return list(split)
    part = -(-dim // n_outputs)
    return [part] * (n_outputs - 1) + [dim - part * (n_outputs - 1)]


def compress_ref(x, condition, axis=None):
    if axis is None:
        flat = x.reshape(-1)
        return np.array([flat[i] for i in range(len(condition)) if condition[i]], x.dtype)
    axis = axis + x.ndim if axis < 0 else axis
    keep = [i for i in range(len(condition)) if condition[i]]
    parts = [np.take(x, [i], axis=axis) for i in keep]
    shape = list(x.shape)
    shape[axis] = 0
    return np.concatenate(parts, axis=axis) if parts else np.empty(shape, x.dtype)


def nonzero_ref(x):
    hits = [pos for pos in itertools.product(*[range(d) for d in x.shape]) if x[pos]]
    return np.array(hits, dtype=np.int64).reshape(-1, x.ndim).T.copy()
