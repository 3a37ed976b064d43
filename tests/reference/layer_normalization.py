"""Naive float64 references for the per-sample normalizations, written from the ONNX spec."""

from __future__ import annotations

import numpy as np


def layer_norm_ref(x, scale, bias=None, axis=-1, epsilon=1e-5):
    """Returns (Y, Mean, InvStdDev); statistics over axes ``axis..rank-1``, kept as size-1 dims."""
    axis = axis + x.ndim if axis < 0 else axis
    axes = tuple(range(axis, x.ndim))
    xf = x.astype(np.float64)
    mean = xf.mean(axis=axes, keepdims=True)
    var = ((xf - mean) ** 2).mean(axis=axes, keepdims=True)
    inv = 1.0 / np.sqrt(var + epsilon)
    y = (xf - mean) * inv * scale.astype(np.float64)
    if bias is not None:
        y = y + bias.astype(np.float64)
    return y, mean, inv


def group_norm_ref(x, scale, bias, num_groups, epsilon=1e-5, per_group_params=False):
    """Statistics per (n, group of C / num_groups channels); scale/bias per channel, or per group (opset 18)."""
    n, c = x.shape[:2]
    xf = x.astype(np.float64).reshape(n, num_groups, -1)
    mean = xf.mean(axis=2, keepdims=True)
    var = ((xf - mean) ** 2).mean(axis=2, keepdims=True)
    xn = ((xf - mean) / np.sqrt(var + epsilon)).reshape(x.shape)
    sc = np.asarray(scale, np.float64)
    bi = np.asarray(bias, np.float64)
    if per_group_params:
        sc, bi = np.repeat(sc, c // num_groups), np.repeat(bi, c // num_groups)
    shape = (1, c) + (1,) * (x.ndim - 2)
    return xn * sc.reshape(shape) + bi.reshape(shape)


def instance_norm_ref(x, scale, bias, epsilon=1e-5):
    return group_norm_ref(x, scale, bias, x.shape[1], epsilon)


def mvn_ref(x, axes=(0, 2, 3)):
    """(X - mean) / (sqrt(var) + 1e-9) over ``axes`` (onnx's function body)."""
    xf = x.astype(np.float64)
    mean = xf.mean(axis=tuple(axes), keepdims=True)
    std = np.sqrt(((xf - mean) ** 2).mean(axis=tuple(axes), keepdims=True))
    return (xf - mean) / (std + 1e-9)


def lp_norm_ref(x, axis=-1, p=2):
    """x / ||x||_p along axis (|x| summed for p=1); 0 where the norm is 0."""
    xf = x.astype(np.float64)
    norm = (np.abs(xf) ** p).sum(axis=axis, keepdims=True) ** (1.0 / p)
    safe = np.where(norm == 0, 1.0, norm)
    return np.where(norm == 0, 0.0, xf / safe)
