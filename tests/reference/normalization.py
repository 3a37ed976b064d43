"""Naive numpy references for BatchNormalization and LRN, written from the ONNX spec."""

from __future__ import annotations

import math

import numpy as np


def _bcast(v, rank):
    return np.asarray(v, np.float64).reshape((-1,) + (1,) * (rank - 2))


def batchnorm_inference(x, scale, bias, mean, var, epsilon=1e-5):
    """Y = (X - mean) / sqrt(var + epsilon) * scale + B, parameters per channel (axis 1)."""
    r = x.ndim
    xf = x.astype(np.float64)
    y = (xf - _bcast(mean, r)) / np.sqrt(_bcast(var, r) + epsilon) * _bcast(scale, r) + _bcast(bias, r)
    return y.astype(x.dtype)


def batchnorm_training(x, scale, bias, mean, var, epsilon=1e-5, momentum=0.9):
    """Returns (Y, running_mean, running_var, batch_mean, batch_var): batch statistics over every axis but 1,
    population variance (divides by the element count, not count - 1)."""
    axes = (0,) + tuple(range(2, x.ndim))
    xf = x.astype(np.float64)
    bm = xf.mean(axis=axes)
    bv = ((xf - _bcast(bm, x.ndim)) ** 2).mean(axis=axes)
    y = batchnorm_inference(x, scale, bias, bm, bv, epsilon)
    run_m = np.asarray(mean, np.float64) * momentum + bm * (1 - momentum)
    run_v = np.asarray(var, np.float64) * momentum + bv * (1 - momentum)
    dt = np.asarray(mean).dtype
    return y, run_m.astype(dt), run_v.astype(dt), bm.astype(dt), bv.astype(dt)


def lrn(x, size, alpha=1e-4, beta=0.75, bias=1.0):
    """square_sum over channels c - floor((size-1)/2) .. c + ceil((size-1)/2), clipped to the channels."""
    xf = x.astype(np.float64)
    c_n = x.shape[1]
    sq = np.zeros_like(xf)
    lo_off, hi_off = math.floor((size - 1) / 2), math.ceil((size - 1) / 2)
    for c in range(c_n):
        lo, hi = max(0, c - lo_off), min(c_n, c + hi_off + 1)
        sq[:, c] = (xf[:, lo:hi] ** 2).sum(axis=1)
    return (xf / (bias + alpha / size * sq) ** beta).astype(x.dtype)
