"""Naive numpy reference of ONNX Conv, written from the spec text (float64 accumulation).

Y[n, m, o...] = B[m] + sum_{c, k...} X_padded[n, g*C/group + c, o*s + k*d] * W[m, c, k...], g = m // (M/group)
"""

from __future__ import annotations

import itertools

import numpy as np


def same_pads(in_sizes, kernel, strides, dilations, upper: bool):
    """Spec SAME_*: out = ceil(in / s); total = (out - 1) * s + (k - 1) * d + 1 - in; odd unit at the end
    for SAME_UPPER, at the start for SAME_LOWER."""
    begins, ends = [], []
    for i, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-i // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - i, 0)
        begins.append(total // 2 if upper else total - total // 2)
        ends.append(total - total // 2 if upper else total // 2)
    return begins + ends


def conv(x, w, b=None, *, strides=None, dilations=None, pads=None, group=1, auto_pad="NOTSET"):
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    nsp = x.ndim - 2
    kernel = w.shape[2:]
    strides = list(strides or [1] * nsp)
    dilations = list(dilations or [1] * nsp)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        pads = same_pads(x.shape[2:], kernel, strides, dilations, auto_pad == "SAME_UPPER")
    elif auto_pad == "VALID" or pads is None:
        pads = [0] * (2 * nsp)
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + nsp]) for i in range(nsp)])
    N, C = x.shape[:2]
    M = w.shape[0]
    Cg, Mg = C // group, M // group
    out_sp = [(xp.shape[2 + i] - ((kernel[i] - 1) * dilations[i] + 1)) // strides[i] + 1 for i in range(nsp)]
    y = np.zeros([N, M] + out_sp)
    for g in range(group):
        xg = xp[:, g * Cg:(g + 1) * Cg]
        wg = w[g * Mg:(g + 1) * Mg]
        for ks in itertools.product(*[range(k) for k in kernel]):
            sl = tuple(slice(ks[i] * dilations[i], ks[i] * dilations[i] + (out_sp[i] - 1) * strides[i] + 1, strides[i])
                       for i in range(nsp))
            patch = xg[(slice(None), slice(None)) + sl]  # (N, Cg, out...)
            y[:, g * Mg:(g + 1) * Mg] += np.einsum("nc...,mc->nm...", patch, wg[(slice(None), slice(None)) + ks])
    if b is not None:
        y += np.asarray(b, np.float64).reshape([1, M] + [1] * nsp)
    return y
