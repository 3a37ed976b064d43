"""The per-channel affine kernel: ``out[n, c, :] = act((x[n, c, :] - m[c]) * a[c] + b[c])``.

Inference BatchNormalization (``m`` = mean, ``a`` = scale / sqrt(var + epsilon), ``b`` = B) and the plan's
``ChannelAffine`` steps (a BatchNormalization with following per-channel Mul / Add / Sub folded in, and a fused
activation) are this one computation, so folding a chain into one step changes nothing but rounding.

The mean is subtracted before the scale, as the spec writes BatchNormalization: with variance 0 and epsilon 0
(``a`` infinite) an input equal to the mean gives NaN and every other input +-inf, where the folded form
``x * a + (B - mean * a)`` would give NaN everywhere (as onnxruntime does).

Part of the kernel floor: imports numpy, numba and the floor's own modules only.
"""

from __future__ import annotations

from onnumba.ops._numba import INLINE, KERNEL, njit, prange
from onnumba.ops.kernels.epilogue import CLIP, HARD_SIGMOID, LEAKY_RELU, NONE, RELU, activate


@njit(**INLINE)
def _affine_loop(src, dst, mv, av, bv, act, a0, a1):
    for i in range(src.shape[0]):
        dst[i] = activate((src[i] - mv) * av + bv, act, a0, a1)


@njit(**INLINE)
def _affine_row(src, dst, mv, av, bv, act, a0, a1):
    # one call per kind with the kind a constant: once inlined, each loop has the kind's branch folded away and
    # vectorises (NONE folds to the plain affine)
    if act == NONE:
        _affine_loop(src, dst, mv, av, bv, NONE, a0, a1)
    elif act == RELU:
        _affine_loop(src, dst, mv, av, bv, RELU, a0, a1)
    elif act == LEAKY_RELU:
        _affine_loop(src, dst, mv, av, bv, LEAKY_RELU, a0, a1)
    elif act == CLIP:
        _affine_loop(src, dst, mv, av, bv, CLIP, a0, a1)
    elif act == HARD_SIGMOID:
        _affine_loop(src, dst, mv, av, bv, HARD_SIGMOID, a0, a1)
    else:  # every other fusable kind (HARD_SWISH)
        _affine_loop(src, dst, mv, av, bv, act, a0, a1)


@njit(**KERNEL)
def channel_affine_kernel(x3, m, a, b, act, a0, a1, out):
    """out[n, c, :] = activate((x3[n, c, :] - m[c]) * a[c] + b[c], act, a0, a1) over (N, C, R) arrays; m, a,
    b of length C and a0, a1 in x3's type. One parallel task per (n, c) plane; the caller checks the shapes."""
    n_img, n_ch, _ = x3.shape
    for job in prange(n_img * n_ch):
        c = job % n_ch
        n = job // n_ch
        _affine_row(x3[n, c], out[n, c], m[c], a[c], b[c], act, a0, a1)
