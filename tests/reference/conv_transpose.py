"""Naive numpy reference for ConvTranspose, written from the ONNX spec text (scatter loops, explicit pads)."""

from __future__ import annotations

import itertools

import numpy as np


def conv_transpose_pads(in_sizes, kernel, strides, dilations, *, auto_pad="NOTSET", pads=None,
                        output_padding=None, output_shape=None):
    """The spec's output sizes and (begin, end) pads; ``total/2`` is floor division (onnx's reference and
    node cases: test_convtranspose_output_shape has total -1 and extends the end)."""
    n = len(in_sizes)
    if output_shape is not None and len(output_shape) == n + 2:  # given with N and C
        output_shape = output_shape[2:]
    op = list(output_padding) if output_padding else [0] * n
    full = [s * (i - 1) + o + (k - 1) * d + 1 for i, k, s, d, o in zip(in_sizes, kernel, strides, dilations, op)]
    if output_shape is not None or auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = list(output_shape) if output_shape is not None else [i * s for i, s in zip(in_sizes, strides)]
        begins, ends = [], []
        for f, o in zip(full, out):
            total = f - o
            b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
            begins.append(b)
            ends.append(total - b)
        return out, begins, ends
    if auto_pad == "VALID" or not pads:
        pads = [0] * (2 * n)
    begins, ends = list(pads[:n]), list(pads[n:])
    return [f - b - e for f, b, e in zip(full, begins, ends)], begins, ends


def conv_transpose_ref(x, w, b=None, *, group=1, strides=None, dilations=None, **geometry):
    """y[n, g*Mg + m, i*s + k*d - pad_begin] += x[n, g*Cg + c, i] * w[g*Cg + c, m, k] (float64 accumulate)."""
    x = np.asarray(x, np.float64)
    w = np.asarray(w, np.float64)
    N, C = x.shape[:2]
    nsp = x.ndim - 2
    kernel = w.shape[2:]
    strides = list(strides or [1] * nsp)
    dilations = list(dilations or [1] * nsp)
    out_sizes, begins, _ = conv_transpose_pads(x.shape[2:], kernel, strides, dilations, **geometry)
    Cg, Mg = C // group, w.shape[1]
    y = np.zeros((N, Mg * group, *out_sizes))
    for n, c in itertools.product(range(N), range(C)):
        g = c // Cg
        for i in itertools.product(*[range(s) for s in x.shape[2:]]):
            v = x[(n, c) + i]
            for k in itertools.product(*[range(s) for s in kernel]):
                o = tuple(ii * s + kk * d - p for ii, kk, s, d, p in zip(i, k, strides, dilations, begins))
                if all(0 <= oo < sz for oo, sz in zip(o, out_sizes)):
                    y[(n, slice(g * Mg, (g + 1) * Mg)) + o] += v * w[(c, slice(None)) + k]
    if b is not None:
        y += np.asarray(b, np.float64).reshape((1, -1) + (1,) * nsp)
    return y
