"""Naive numpy reference for Slice, written from the ONNX spec text (element by element, no numpy slicing)."""

from __future__ import annotations

import itertools

import numpy as np


def _clamp(dim, start, end, step):
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start, end = min(max(start, 0), dim), min(max(end, 0), dim)
    else:
        start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
    return start, end


def slice_ref(x, starts, ends, axes=None, steps=None):
    """Slice per the spec: indices start, start+step, ... while < end (step > 0) or > end (step < 0)."""
    x = np.asarray(x)
    axes = list(range(len(starts))) if axes is None else [a + x.ndim if a < 0 else a for a in axes]
    steps = [1] * len(starts) if steps is None else list(steps)
    idx = [list(range(d)) for d in x.shape]
    for a, s, e, st in zip(axes, starts, ends, steps):
        s, e = _clamp(x.shape[a], s, e, st)
        sel = []
        i = s
        while (i < e) if st > 0 else (i > e):
            sel.append(i)
            i += st
        idx[a] = sel
    out = np.empty([len(i) for i in idx], dtype=x.dtype)
    for pos in itertools.product(*[range(len(i)) for i in idx]):
        out[pos] = x[tuple(idx[a][p] for a, p in enumerate(pos))]
    return out
