"""Conv with a 1x1 kernel, stride 1 and no pads: a GEMM straight on the input, no im2col.

x is read as (N, C, P) with P the flattened output map; each ``prange`` chunk (image, group, tile of columns)
multiplies the group's weights (Mg, Cg) by its column tile with the GEMM of ``ops/kernels/gemm_block.py``
(float32: the packed GEMM with the epilogue fused into its stores; float64: single-threaded BLAS, then the
epilogue). A float32 1x1 conv with only a few output columns per batch (squeeze-excitation convs on a 1x1 map,
the last stages of small-input nets) runs ``_conv_kernel_gemv`` instead: a row of dot products per output
channel, so no GEMM panel is padded from a few columns to ``NR``.
"""

from __future__ import annotations

import numba
import numpy as np

from onnumba.ops._geometry import G_DD, G_DH, G_DW, G_KD, G_KH, G_KW, G_OD, G_OH, G_OW, G_PD, G_PH, G_PW, G_SD, \
    G_SH, G_SW
from onnumba.ops._numba import KERNEL, REASSOC, SERIAL, njit, prange
from onnumba.ops.conv.im2col import tile_of_job
from onnumba.ops.kernels.epilogue import activate
from onnumba.ops.kernels.gemm_block import gemm_block

#: output channels per chunk of ``_conv_kernel_gemv``
GEMV_ROWS = 64


@njit(**REASSOC)
def _dot32(a, b):
    """float32 dot product of two equal-length 1-d arrays; the sum is reassociated into SIMD lanes."""
    s = np.float32(0.0)
    for k in range(a.shape[0]):
        s += a[k] * b[k]
    return s


@njit(**KERNEL)
def _conv_kernel_gemv(xt, w2, bias, out, act, a0, a1):
    """float32 1x1 conv as dot products: xt (N * P, C) the input columns made contiguous, w2 (M, C), bias (M,),
    out (N, M, P); ``out[n, m, p] = activate(w2[m] . xt[n * P + p] + bias[m])``. One chunk per ``GEMV_ROWS``
    output channels."""
    M = out.shape[1]
    nchunk = (M + GEMV_ROWS - 1) // GEMV_ROWS
    for c in prange(nchunk):
        gemv_rows(xt, w2, bias, out, c * GEMV_ROWS, min((c + 1) * GEMV_ROWS, M), act, a0, a1)


@njit(**SERIAL)
def gemv_rows(xt, w2, bias, out, m0, m1, act, a0, a1):
    """Output channels m0 .. m1 - 1 of ``_conv_kernel_gemv`` (called directly when one thread runs it: no
    parallel region to enter)."""
    N, M, P = out.shape
    for m in range(m0, m1):
        wm = w2[m]
        bv = bias[m]
        for q in range(N * P):
            out[q // P, m, q % P] = activate(_dot32(wm, xt[q]) + bv, act, a0, a1)


@njit(**SERIAL)
def _pointwise_jobs(x, wa, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1, j0, j1):
    """Jobs j0..j1 of :func:`_conv_kernel_1x1` (a job: one image, group and tile of output columns)."""
    ntile = (P + cols_per_tile - 1) // cols_per_tile
    for job in range(j0, j1):
        n, gi, p0, p1 = tile_of_job(job, ntile, group, cols_per_tile, P)
        gemm_block(wa, gi, Mg, Cg, x, (n * group + gi) * Cg, p0, P, p1 - p0, out, (n * group + gi) * Mg, p0, P,
                   bias, gi * Mg, has_bias, act, a0, a1)


@njit(**KERNEL)
def _pointwise_parallel(x, wa, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1, njob):
    for job in prange(njob):
        _pointwise_jobs(x, wa, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1, job, job + 1)


def _conv_kernel_1x1(x, wa, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1):
    """x (N*C*P,) and out (N*M*P,) flat; wa the weights for ``ops/kernels/gemm_block.py`` (float32: (group, packed
    A of the group's (Mg, Cg) weights); float64: (M, Cg)). On one thread the jobs run in the serial kernel
    directly (see ``im2col._conv_kernel_im2col``)."""
    njob = N * group * ((P + cols_per_tile - 1) // cols_per_tile)
    if numba.get_num_threads() == 1:
        _pointwise_jobs(x, wa, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1, 0, njob)
    else:
        _pointwise_parallel(x, wa, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1, njob)


@njit(**KERNEL)
def _conv_kernel_patch_dot(x, w2, bias, out, group, g, act, a0, a1):
    """float32 conv of any kernel and group count on a map of very few output pixels, as dot products:
    x (N, C, D, H, W), w2 (M, Cg * KD * KH * KW), out (N, M, OD * OH * OW). Each chunk (image, output pixel)
    gathers each group's input patch into a contiguous column (zeros where the window leaves the input),
    then every output channel of the group is one dot product with it: no GEMM panel padded to NR columns."""
    N, C, D, H, W = x.shape
    M, K = w2.shape
    Cg = C // group
    Mg = M // group
    OD, OH, OW = g[G_OD], g[G_OH], g[G_OW]
    KD, KH, KW = g[G_KD], g[G_KH], g[G_KW]
    P = OD * OH * OW
    for job in prange(N * P):
        n = job // P
        p = job % P
        od = p // (OH * OW)
        oh = (p // OW) % OH
        ow = p % OW
        col = np.empty(K, np.float32)
        for gi in range(group):
            k = 0
            for c in range(Cg):
                for kd in range(KD):
                    idd = od * g[G_SD] - g[G_PD] + kd * g[G_DD]
                    for kh in range(KH):
                        ih = oh * g[G_SH] - g[G_PH] + kh * g[G_DH]
                        for kw in range(KW):
                            iw = ow * g[G_SW] - g[G_PW] + kw * g[G_DW]
                            inside = idd >= 0 and idd < D and ih >= 0 and ih < H and iw >= 0 and iw < W
                            col[k] = x[n, gi * Cg + c, idd, ih, iw] if inside else np.float32(0.0)
                            k += 1
            for m in range(gi * Mg, (gi + 1) * Mg):
                out[n, m, p] = activate(_dot32(w2[m], col) + bias[m], act, a0, a1)
