"""Naive numpy pooling references written from the ONNX spec (MaxPool, AveragePool, global pools).

Deliberately slow and literal: every output position enumerates its window's taps one by one.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def pool_geometry(in_sizes, kernel, strides=None, dilations=None, pads=None, auto_pad="NOTSET", ceil_mode=0):
    """Output sizes and (begin, end) pads per spatial axis, per the spec's formulas."""
    n = len(in_sizes)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    pads = list(pads or [0] * (2 * n))
    out, begins, ends = [], [], []
    for a in range(n):
        i, k, s, d = in_sizes[a], kernel[a], strides[a], dilations[a]
        ext = (k - 1) * d + 1
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            o = math.ceil(i / s)
            total = (o - 1) * s + ext - i  # not clamped: a kernel smaller than its stride gets a negative pad
            # odd unit to the end (UPPER) / beginning (LOWER); a negative total rounds toward zero (as onnxruntime)
            pb = int(total / 2) if auto_pad == "SAME_UPPER" else int((total + 1) / 2)
            pe = total - pb
        elif auto_pad == "VALID":
            o = (i - ext) // s + 1  # ceil_mode does not change a VALID output
            pb = pe = 0
        else:
            pb, pe = pads[a], pads[a + n]
            span = i + pb + pe - ext
            if ceil_mode:
                o = math.ceil(span / s) + 1
                if (o - 1) * s >= i + pb:  # a window starting in the end padding is dropped
                    o -= 1
            else:
                o = span // s + 1
        out.append(o)
        begins.append(pb)
        ends.append(pe)
    return out, begins, ends


def _windows(x_spatial, kernel, strides, dilations, begins, ends, out):
    """For each output index: (list of valid input indices, number of taps inside the padded input)."""
    n = len(x_spatial)
    for o in itertools.product(*[range(v) for v in out]):
        per_axis_valid, per_axis_padded = [], []
        for a in range(n):
            start = o[a] * strides[a] - begins[a]
            pos = [start + j * dilations[a] for j in range(kernel[a])]
            per_axis_valid.append([p for p in pos if 0 <= p < x_spatial[a]])
            per_axis_padded.append(sum(1 for p in pos if -begins[a] <= p < x_spatial[a] + ends[a]))
        yield o, list(itertools.product(*per_axis_valid)), int(np.prod(per_axis_padded))


def max_pool(x, kernel_shape, strides=None, dilations=None, pads=None, auto_pad="NOTSET", ceil_mode=0,
             storage_order=0):
    """Returns (Y, Indices); Indices flattened over N*C*spatial (row or column major over spatial axes)."""
    kernel = list(kernel_shape)
    n = len(kernel)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    sp = x.shape[2:]
    out, begins, ends = pool_geometry(sp, kernel, strides, dilations, pads, auto_pad, ceil_mode)
    y = np.empty(x.shape[:2] + tuple(out), x.dtype)
    ind = np.empty(y.shape, np.int64)
    plane = int(np.prod(sp))
    for o, taps, _ in _windows(sp, kernel, strides, dilations, begins, ends, out):
        for b in range(x.shape[0]):
            for c in range(x.shape[1]):
                best, arg = None, -1
                for t in taps:  # row-major window order, strict '>': the first maximum wins; NaN is a maximum
                    v = x[(b, c) + t]
                    if best is None or (best == best and (v > best or v != v)):
                        best, arg = v, t
                if best is None:
                    best = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
                    flat = -1
                elif storage_order == 0:
                    flat = int(np.ravel_multi_index(arg, sp, order="C"))
                else:
                    flat = int(np.ravel_multi_index(arg, sp, order="F"))
                y[(b, c) + o] = best
                ind[(b, c) + o] = flat + (b * x.shape[1] + c) * plane if flat >= 0 else -1
    return y, ind


def average_pool(x, kernel_shape, strides=None, dilations=None, pads=None, auto_pad="NOTSET", ceil_mode=0,
                 count_include_pad=0):
    """AveragePool: sum of the valid taps over the valid-tap count, or the count inside the padded input."""
    kernel = list(kernel_shape)
    n = len(kernel)
    strides = list(strides or [1] * n)
    dilations = list(dilations or [1] * n)
    sp = x.shape[2:]
    out, begins, ends = pool_geometry(sp, kernel, strides, dilations, pads, auto_pad, ceil_mode)
    xf = x.astype(np.float64)
    y = np.empty(x.shape[:2] + tuple(out), np.float64)
    for o, taps, padded in _windows(sp, kernel, strides, dilations, begins, ends, out):
        for b in range(x.shape[0]):
            for c in range(x.shape[1]):
                s = sum(xf[(b, c) + t] for t in taps)
                cnt = padded if count_include_pad else len(taps)
                y[(b, c) + o] = s / cnt if cnt else np.nan
    return y.astype(x.dtype)


def global_average_pool(x):
    axes = tuple(range(2, x.ndim))
    return x.astype(np.float64).mean(axis=axes, keepdims=True).astype(x.dtype)


def global_max_pool(x):
    axes = tuple(range(2, x.ndim))
    return x.max(axis=axes, keepdims=True)
