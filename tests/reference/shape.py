"""Naive references for the shape / plumbing ops, written from the ONNX spec (explicit index loops where the
op moves data, so they check onnumba independently of the numpy calls it uses)."""

from __future__ import annotations

import numpy as np


def reshape_shape(in_shape, spec, allowzero=0) -> tuple:
    """Reshape's output shape: 0 copies the input dim (allowzero=0), -1 takes the remaining elements."""
    out = [in_shape[k] if (d == 0 and not allowzero) else d for k, d in enumerate(spec)]
    total = int(np.prod(in_shape, dtype=np.int64))
    if -1 in out:
        known = int(np.prod([d for d in out if d != -1], dtype=np.int64))
        out[out.index(-1)] = total // known
    assert int(np.prod(out, dtype=np.int64)) == total
    return tuple(out)


def reshape(x, spec, allowzero=0):
    """Row-major element order is kept: copy the flat sequence into the new shape."""
    flat = [x[idx] for idx in np.ndindex(*x.shape)]
    out = np.empty(reshape_shape(x.shape, spec, allowzero), x.dtype)
    for k, idx in enumerate(np.ndindex(*out.shape)):
        out[idx] = flat[k]
    return out


def flatten(x, axis=1):
    axis = axis + x.ndim if axis < 0 else axis
    a = int(np.prod(x.shape[:axis], dtype=np.int64))
    return reshape(x, (a, -1) if a else (0, int(np.prod(x.shape[axis:], dtype=np.int64))))


def transpose(x, perm=None):
    perm = tuple(range(x.ndim - 1, -1, -1)) if perm is None else tuple(perm)
    out = np.empty(tuple(x.shape[p] for p in perm), x.dtype)
    for idx in np.ndindex(*out.shape):
        src = [0] * x.ndim
        for k, p in enumerate(perm):
            src[p] = idx[k]
        out[idx] = x[tuple(src)]
    return out


def squeeze(x, axes=None):
    axes = [a + x.ndim if a < 0 else a for a in axes] if axes is not None else \
        [k for k, d in enumerate(x.shape) if d == 1]
    assert all(x.shape[a] == 1 for a in axes)
    return x.reshape([d for k, d in enumerate(x.shape) if k not in axes])


def unsqueeze(x, axes):
    r = x.ndim + len(axes)
    axes = sorted(a + r if a < 0 else a for a in axes)
    shape, it = [], iter(x.shape)
    for k in range(r):
        shape.append(1 if k in axes else next(it))
    return x.reshape(shape)


def concat(arrays, axis):
    axis = axis + arrays[0].ndim if axis < 0 else axis
    shape = list(arrays[0].shape)
    shape[axis] = sum(a.shape[axis] for a in arrays)
    out = np.empty(shape, arrays[0].dtype)
    off = 0
    for a in arrays:
        for idx in np.ndindex(*a.shape):
            dst = list(idx)
            dst[axis] += off
            out[tuple(dst)] = a[idx]
        off += a.shape[axis]
    return out


def gather(x, indices, axis=0):
    """out[i_0..i_{axis-1}, j..., i_{axis+1}..] = x[i_0.., indices[j...], ..]; negative indices wrap once."""
    axis = axis + x.ndim if axis < 0 else axis
    shape = x.shape[:axis] + indices.shape + x.shape[axis + 1:]
    out = np.empty(shape, x.dtype)
    q = indices.ndim
    for idx in np.ndindex(*shape):
        j = int(indices[idx[axis:axis + q]])
        if j < 0:
            j += x.shape[axis]
        out[idx] = x[idx[:axis] + (j,) + idx[axis + q:]]
    return out


def shape_of(x, start=0, end=None):
    r = x.ndim
    def clamp(v):
        v = v + r if v < 0 else v
        return min(max(v, 0), r)
    s, e = clamp(start), (r if end is None else clamp(end))
    return np.array(x.shape[s:max(s, e)], np.int64)


def expand(x, shape):
    from tests.reference.elementwise import broadcast_shape, elementwise

    out_shape = broadcast_shape(x.shape, tuple(shape))
    dummy = np.zeros(out_shape, np.int8)
    return elementwise(lambda v, _: v, [x, dummy], x.dtype)


def cast(x, dtype):
    """Per the spec: float -> int truncates toward zero; anything -> bool is x != 0."""
    dtype = np.dtype(dtype)
    out = np.empty(x.shape, dtype)
    for idx in np.ndindex(*x.shape):
        v = x[idx]
        if dtype == np.bool_:
            out[idx] = bool(v != 0)
        elif dtype.kind in "iu":
            out[idx] = int(v)  # int() truncates toward zero
        else:
            out[idx] = dtype.type(v)
    return out
