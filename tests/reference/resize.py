"""Naive numpy reference for Resize, written from the ONNX spec: every output element is computed on its own
as a weighted sum over the Cartesian product of per-axis taps (no separable passes, no tables)."""

from __future__ import annotations

import itertools
import math

import numpy as np


def _coord(mode, y, in_len, out_len, scale, roi):
    out_width = scale * in_len  # the spec's (possibly fractional) output_width
    if mode == "half_pixel":
        return (y + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adj = out_len / out_width
        return in_len / 2 * (1 - adj) + (y + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (y + 0.5) / scale - 0.5 if out_len > 1 else 0.0
    if mode == "align_corners":
        return 0.0 if out_width == 1 else y * (in_len - 1) / (out_width - 1)
    if mode == "asymmetric":
        return y / scale
    if mode == "tf_half_pixel_for_nn":
        return (y + 0.5) / scale
    if mode == "tf_crop_and_resize":
        s, e = roi
        if out_width == 1:
            return 0.5 * (s + e) * (in_len - 1)
        return s * (in_len - 1) + y * (e - s) * (in_len - 1) / (out_width - 1)
    raise ValueError(mode)


def _nearest(x, nearest_mode, scale):
    if nearest_mode == "simple":  # Upsample / Resize-10 as onnxruntime runs them
        return math.ceil(x) if scale < 1 else math.floor(x)
    f = math.floor(x)
    frac = x - f
    if nearest_mode == "round_prefer_floor":
        return f if frac <= 0.5 else f + 1
    if nearest_mode == "round_prefer_ceil":
        return f if frac < 0.5 else f + 1
    if nearest_mode == "floor":
        return f
    return math.ceil(x)


def _cubic_w(d, a):
    d = abs(d)
    if d <= 1:
        return (a + 2) * d ** 3 - (a + 3) * d ** 2 + 1
    if d < 2:
        return a * d ** 3 - 5 * a * d ** 2 + 8 * a * d - 4 * a
    return 0.0


def _taps(x, in_len, scale, mode, nearest_mode, cubic_a, exclude_outside, antialias):
    """[(index, weight)] for one source coordinate x (indices clamped to the edge)."""
    if mode == "nearest":
        return [(min(max(_nearest(x, nearest_mode, scale), 0), in_len - 1), 1.0)]
    s = min(scale, 1.0) if antialias else 1.0
    support = 1.0 if mode == "linear" else 2.0
    reach = support / s
    taps = []
    # every integer position within the filter's reach of x (half-open on the far side, as the spec's
    # neighbour selection with ratio in (0, 1])
    p = math.ceil(x) - 1
    lo = p + (int(math.floor(-reach) + 1) if antialias else int(1 - support))
    hi = p + (1 - (lo - p)) + 1
    for i in range(lo, hi):
        d = (i - x) * s
        w = max(0.0, 1 - abs(d)) if mode == "linear" else _cubic_w(d, cubic_a)
        taps.append((i, w))
    if antialias:
        tot = sum(w for _, w in taps)
        taps = [(i, w / tot) for i, w in taps]
    if exclude_outside:
        taps = [(i, w if 0 <= i < in_len else 0.0) for i, w in taps]
        tot = sum(w for _, w in taps) or 1.0
        taps = [(i, w / tot) for i, w in taps]
    return [(min(max(i, 0), in_len - 1), w) for i, w in taps]


def output_shape(in_shape, scales=None, sizes=None, axes=None, keep_aspect="stretch"):
    """(out_shape, per-axis scale) from scales or sizes, per the spec."""
    r = len(in_shape)
    axes = list(range(r)) if axes is None else [a % r for a in axes]
    out, sc = list(in_shape), [1.0] * r
    if scales is not None:
        for a, s in zip(axes, scales):
            sc[a] = float(s)
            out[a] = int(math.floor(in_shape[a] * float(s)))
    else:
        ratios = [n / in_shape[a] for a, n in zip(axes, sizes)]
        if keep_aspect == "stretch":
            for a, n, q in zip(axes, sizes, ratios):
                out[a], sc[a] = n, q
        else:
            q = min(ratios) if keep_aspect == "not_larger" else max(ratios)
            for a in axes:
                sc[a] = q
                out[a] = int(q * in_shape[a] + 0.5)
    return tuple(out), sc


def resize(x, scales=None, sizes=None, *, mode="nearest", coordinate_transformation_mode="half_pixel",
           nearest_mode="round_prefer_floor", cubic_coeff_a=-0.75, exclude_outside=0, extrapolation_value=0.0,
           antialias=0, axes=None, keep_aspect_ratio_policy="stretch", roi=None):
    """Resize ``x`` (any rank) per the ONNX spec; float64 result."""
    x = np.asarray(x)
    r = x.ndim
    out_shape, sc = output_shape(x.shape, scales, sizes, axes, keep_aspect_ratio_policy)
    ax = list(range(r)) if axes is None else [a % r for a in axes]
    rois = [(0.0, 1.0)] * r
    if roi is not None:
        for i, a in enumerate(ax):
            rois[a] = (roi[i], roi[len(ax) + i])
    per_axis, outside = [], []
    for a in range(r):
        taps_a, out_a = [], []
        for y in range(out_shape[a]):
            if out_shape[a] == x.shape[a] and sc[a] == 1.0 and coordinate_transformation_mode != "tf_crop_and_resize":
                taps_a.append([(y, 1.0)])
                out_a.append(False)
                continue
            c = _coord(coordinate_transformation_mode, y, x.shape[a], out_shape[a], sc[a], rois[a])
            out_a.append(coordinate_transformation_mode == "tf_crop_and_resize" and not 0 <= c <= x.shape[a] - 1)
            taps_a.append(_taps(c, x.shape[a], sc[a], mode, nearest_mode, cubic_coeff_a, exclude_outside, antialias))
        per_axis.append(taps_a)
        outside.append(out_a)
    y = np.zeros(out_shape, np.float64)
    xf = x.astype(np.float64)
    for o in itertools.product(*(range(n) for n in out_shape)):
        if any(outside[a][o[a]] for a in range(r)):
            y[o] = extrapolation_value
            continue
        acc = 0.0
        for combo in itertools.product(*(per_axis[a][o[a]] for a in range(r))):
            w = 1.0
            for _, wa in combo:
                w *= wa
            acc += w * xf[tuple(i for i, _ in combo)]
        y[o] = acc
    return y
