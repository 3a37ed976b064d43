"""Numpy reference for Dropout, written from the ONNX spec and onnx's test-data recipe."""

from __future__ import annotations

import numpy as np


def dropout(x, ratio=0.5, training=False, seed=None, mask_dtype=bool):
    """Returns (output, mask). Inference or ratio 0: identity and an all-true mask. Training:
    mask = RandomState(seed).uniform(0, 1, shape) >= ratio, output = x * mask / (1 - ratio)."""
    if not training or ratio == 0:
        return x.copy(), np.ones(x.shape, mask_dtype)
    mask = np.random.RandomState(seed).uniform(0, 1, x.shape) >= ratio
    y = (x.astype(np.float64) * mask / (1 - ratio)).astype(x.dtype)
    return y, mask.astype(mask_dtype)
