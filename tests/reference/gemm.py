"""Naive numpy references for Gemm and MatMul, written from the ONNX spec (float64 loops over the inner dim)."""

from __future__ import annotations

import itertools

import numpy as np


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(M, K) @ (K, N) as an explicit sum over K (no BLAS)."""
    m, k = a.shape
    out = np.zeros((m, b.shape[1]), np.float64)
    for j in range(k):
        out += np.outer(a[:, j].astype(np.float64), b[j, :].astype(np.float64))
    return out


def gemm(a, b, c=None, alpha=1.0, beta=1.0, trans_a=0, trans_b=0) -> np.ndarray:
    """alpha * A' B' + beta * C in float64, C broadcast to (M, N)."""
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    y = alpha * _dot(a, b)
    if c is not None:
        y = y + beta * np.broadcast_to(np.asarray(c, np.float64), y.shape)
    return y


def matmul(a, b) -> np.ndarray:
    """numpy.matmul semantics in float64: 1-d operands promoted then removed, batch axes broadcast."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    a1, b1 = a.ndim == 1, b.ndim == 1
    if a1:
        a = a[None, :]
    if b1:
        b = b[:, None]
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    b = np.broadcast_to(b, batch + b.shape[-2:])
    out = np.zeros(batch + (a.shape[-2], b.shape[-1]), np.float64)
    for idx in itertools.product(*(range(d) for d in batch)):
        out[idx] = _dot(a[idx], b[idx])
    if a1:
        out = out[..., 0, :]
    if b1:
        out = out[..., 0]
    return out
