"""Naive numpy reference for Pad, written from the ONNX spec text (per output element, no np.pad)."""

from __future__ import annotations

import itertools

import numpy as np


def _src(o, dim, b, e, mode):
    """Input coordinate of output coordinate ``o`` along one axis, or None for the constant fill."""
    lo, hi = max(0, -b), dim - max(0, -e)  # negative pads crop first
    n = hi - lo
    t = o - max(b, 0)
    if 0 <= t < n:
        return lo + t
    if mode == "constant":
        return None
    if mode == "edge":
        return lo + (0 if t < 0 else n - 1)
    if mode == "wrap":
        return lo + t % n
    if mode == "reflect":  # mirrored on the first and last values (pads < n)
        t = -t if t < 0 else 2 * (n - 1) - t
        return lo + t
    raise ValueError(mode)


def pad_ref(x, pads, mode="constant", value=0, axes=None):
    """Pad per the spec; ``pads`` = [begin per axis..., end per axis...] for ``axes`` (default: all)."""
    x = np.asarray(x)
    r = x.ndim
    axes = list(range(r)) if axes is None else [a + r if a < 0 else a for a in axes]
    n = len(axes)
    b, e = [0] * r, [0] * r
    for k, a in enumerate(axes):
        b[a], e[a] = pads[k], pads[n + k]
    shape = [d + bb + ee for d, bb, ee in zip(x.shape, b, e)]
    out = np.empty(shape, dtype=x.dtype)
    for pos in itertools.product(*[range(s) for s in shape]):
        src = [_src(o, d, bb, ee, mode) for o, d, bb, ee in zip(pos, x.shape, b, e)]
        out[pos] = value if any(s is None for s in src) else x[tuple(src)]
    return out
