"""Winograd F(2x2, 3x3) for 2-d 3x3 convs with stride 1, dilation 1 and one group: 2.25x fewer multiplications.

Per ``prange`` chunk (image, run of rows of 2x2 output tiles): input transform B^T d B, 16 GEMMs of the
transformed weights u[i] (M, C) by the transformed tiles v[i] (C, T), output transform A^T z A with bias and
activation; the GEMMs are ``ops/kernels/gemm_block.py``'s (float32: the packed GEMM; float64: single-threaded
BLAS).
W's transform (:func:`winograd_weights`, and its packed form :func:`winograd_packed`) is made once at plan time
when W is a constant. Geometry comes as one int64 array ``g`` (``ops/_geometry.G_*``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import uintp

from onnumba.ops._geometry import G_OH, G_OW, G_PH, G_PW
from onnumba.ops._numba import KERNEL, SERIAL, njit, prange
from onnumba.ops.kernels import packed_gemm as _gemm
from onnumba.ops.kernels.epilogue import epilogue_row
from onnumba.ops.kernels.gemm_block import gemm_block


@njit(**SERIAL)
def _winograd_input(x, v, rows, n, th0, th1, ph, pw, TW, WP, ncopy):
    """Input transform B^T d B of the tiles in tile rows [th0, th1) of image n into v (16, C, tiles)."""
    C, H = x.shape[1], x.shape[2]
    for c in range(C):
        for th in range(th0, th1):
            for i in range(4):
                ih = 2 * th - ph + i
                ri = rows[i]
                if ih < 0 or ih >= H:
                    for j in range(WP):
                        ri[j] = 0.0
                    continue
                xi = x[n, c, ih]
                for j in range(min(pw, WP)):
                    ri[j] = 0.0
                for j in range(uintp(0), uintp(ncopy)):
                    ri[uintp(pw) + j] = xi[j]
                for j in range(pw + ncopy, WP):
                    ri[j] = 0.0
            k0 = (th - th0) * TW
            p0 = rows[0]
            p1 = rows[1]
            p2 = rows[2]
            p3 = rows[3]
            for tw in range(TW):
                q = 2 * tw
                # B^T d: combine the four rows, for each of the tile's four columns
                a0_, a1_, a2_, a3_ = p0[q] - p2[q], p1[q] + p2[q], p2[q] - p1[q], p1[q] - p3[q]
                b0_, b1_, b2_, b3_ = (p0[q + 1] - p2[q + 1], p1[q + 1] + p2[q + 1], p2[q + 1] - p1[q + 1],
                                      p1[q + 1] - p3[q + 1])
                c0_, c1_, c2_, c3_ = (p0[q + 2] - p2[q + 2], p1[q + 2] + p2[q + 2], p2[q + 2] - p1[q + 2],
                                      p1[q + 2] - p3[q + 2])
                d0_, d1_, d2_, d3_ = (p0[q + 3] - p2[q + 3], p1[q + 3] + p2[q + 3], p2[q + 3] - p1[q + 3],
                                      p1[q + 3] - p3[q + 3])
                k = k0 + tw
                # (B^T d) B: combine the columns
                v[0, c, k] = a0_ - c0_
                v[1, c, k] = b0_ + c0_
                v[2, c, k] = c0_ - b0_
                v[3, c, k] = b0_ - d0_
                v[4, c, k] = a1_ - c1_
                v[5, c, k] = b1_ + c1_
                v[6, c, k] = c1_ - b1_
                v[7, c, k] = b1_ - d1_
                v[8, c, k] = a2_ - c2_
                v[9, c, k] = b2_ + c2_
                v[10, c, k] = c2_ - b2_
                v[11, c, k] = b2_ - d2_
                v[12, c, k] = a3_ - c3_
                v[13, c, k] = b3_ + c3_
                v[14, c, k] = c3_ - b3_
                v[15, c, k] = b3_ - d3_


@njit(**SERIAL)
def _winograd_output(z, bias, out, n, th0, th1, OH, OW, TW, act, a0, a1):
    """Output transform A^T z A of z (16, M, tiles), plus bias and activation, into out[n]."""
    M = z.shape[1]
    for m in range(M):
        bv = bias[m]
        for th in range(th0, th1):
            k0 = (th - th0) * TW
            oh = 2 * th
            two_rows = oh + 1 < OH
            for tw in range(TW):
                k = k0 + tw
                # A^T z A
                s0 = z[0, m, k] + z[4, m, k] + z[8, m, k]
                s1 = z[1, m, k] + z[5, m, k] + z[9, m, k]
                s2 = z[2, m, k] + z[6, m, k] + z[10, m, k]
                s3 = z[3, m, k] + z[7, m, k] + z[11, m, k]
                e0 = z[4, m, k] - z[8, m, k] - z[12, m, k]
                e1 = z[5, m, k] - z[9, m, k] - z[13, m, k]
                e2 = z[6, m, k] - z[10, m, k] - z[14, m, k]
                e3 = z[7, m, k] - z[11, m, k] - z[15, m, k]
                y00 = s0 + s1 + s2 + bv
                y01 = s1 - s2 - s3 + bv
                y10 = e0 + e1 + e2 + bv
                y11 = e1 - e2 - e3 + bv
                ow = 2 * tw
                out[n, m, oh, ow] = y00
                if ow + 1 < OW:
                    out[n, m, oh, ow + 1] = y01
                if two_rows:
                    out[n, m, oh + 1, ow] = y10
                    if ow + 1 < OW:
                        out[n, m, oh + 1, ow + 1] = y11
            if act != 0:
                epilogue_row(out[n, m, oh], a0, False, act, a0, a1)
                if two_rows:
                    epilogue_row(out[n, m, oh + 1], a0, False, act, a0, a1)


@njit(**SERIAL)
def _winograd_padded_tiles(nt, C, M):
    """Tile-axis length for the v (16, C, .) and z (16, M, .) buffers: the 16 slices v[i] (and z[i]) are read and
    written together at one (c, k), so their stride must not be a multiple of 4 KiB, or all 16 land in one L1
    cache set (benchmarks/PERFORMANCE.md, "Winograd buffer padding")."""
    for d in range(32):
        ntp = nt + d
        ok = True
        for stride in (C * ntp, M * ntp):
            seen = np.zeros(64, np.bool_)
            for i in range(16):
                line = ((i * stride) // 16) % 64  # 64-byte line index within a 4 KiB page
                if seen[line]:
                    ok = False
                    break
                seen[line] = True
            if not ok:
                break
        if ok:
            return ntp
    return nt


#: int64 zero and boolean false for kernel-to-kernel calls: literal arguments would compile another GEMM
_ZERO = np.int64(0)
_FALSE = np.bool_(False)


@njit(**SERIAL)
def _winograd_jobs(x, wa, bias, out, M, g, rows_per_job, act, a0, a1, j0, j1):
    """Jobs j0..j1 of :func:`_conv_kernel_winograd` (a job: one image and run of rows of 2x2 output tiles)."""
    N, C, H, W = x.shape
    ph, pw, OH, OW = g[G_PH], g[G_PW], g[G_OH], g[G_OW]
    TH = (OH + 1) // 2
    TW = (OW + 1) // 2
    WP = 2 * TW + 2
    njob_img = (TH + rows_per_job - 1) // rows_per_job
    ncopy = max(min(W, WP - pw), 0)
    for job in range(j0, j1):
        n = job // njob_img
        th0 = (job % njob_img) * rows_per_job
        th1 = min(th0 + rows_per_job, TH)
        nt = (th1 - th0) * TW
        ntp = _winograd_padded_tiles(nt, C, M)
        v1 = np.empty(16 * C * ntp, x.dtype)
        z1 = np.empty(16 * M * ntp, x.dtype)
        rows = np.zeros((4, WP), x.dtype)
        _winograd_input(x, v1.reshape((16, C, ntp)), rows, n, th0, th1, ph, pw, TW, WP, ncopy)
        for i in range(16):
            # z[i] = u[i] @ v[i]; bias and activation come after the output transform
            gemm_block(wa, i, M, C, v1, i * C, _ZERO, ntp, nt, z1, i * M, _ZERO, ntp, bias, _ZERO, _FALSE, _ZERO,
                       a0, a1)
        _winograd_output(z1.reshape((16, M, ntp)), bias, out, n, th0, th1, OH, OW, TW, act, a0, a1)


@njit(**KERNEL)
def _winograd_parallel(x, wa, bias, out, M, g, rows_per_job, act, a0, a1, njob):
    for job in prange(njob):
        _winograd_jobs(x, wa, bias, out, M, g, rows_per_job, act, a0, a1, job, job + 1)


def _conv_kernel_winograd(x, wa, bias, out, M, g, rows_per_job, act, a0, a1):
    """Winograd F(2x2, 3x3) for 3x3, stride 1, dilation 1, group 1: 2.25x fewer multiplications than im2col.

    x (N, C, H, W); wa the transformed weights G g G^T for ``ops/kernels/gemm_block.py`` (float32:
    :func:`winograd_packed`, (16, packed A of u[i]); float64: u (16, M, C) as (16 * M, C)); out (N, M, OH, OW).
    One job per (n, run of rows of 2x2 output tiles): input transform B^T d B into v (16, C, T), 16 GEMMs
    u[i] @ v[i] into z (16, M, T), then output transform A^T z A, bias and activation. The transforms loop over
    the tiles of a tile row (contiguous in v and z), reading four zero-padded input rows, so they vectorise. On
    one thread the jobs run in the serial kernel directly (see ``im2col._conv_kernel_im2col``).
    """
    OH = int(g[G_OH])
    njob = x.shape[0] * -(-((OH + 1) // 2) // rows_per_job)
    if numba.get_num_threads() == 1:
        _winograd_jobs(x, wa, bias, out, M, g, rows_per_job, act, a0, a1, 0, njob)
    else:
        _winograd_parallel(x, wa, bias, out, M, g, rows_per_job, act, a0, a1, njob)


def winograd_weights(w):
    """G g G^T for every (m, c): (M, C, 3, 3) -> (16, M, C), in w's dtype (float16 -> float32).

    Computed once at plan time when W is a constant (see ``Conv.bind``); pass it to :func:`conv_nchw`.
    """
    g = np.asarray(w, np.float64)
    cdt = np.float32 if w.dtype == np.float16 else w.dtype
    u = np.empty((16,) + g.shape[:2], cdt)

    def rows_of_g(a0, a1, a2):  # G applied along one axis: 3 values -> 4
        return a0, 0.5 * (a0 + a1 + a2), 0.5 * (a0 - a1 + a2), a2

    t = rows_of_g(g[:, :, 0, :], g[:, :, 1, :], g[:, :, 2, :])
    for i in range(4):
        for j, col in enumerate(rows_of_g(t[i][:, :, 0], t[i][:, :, 1], t[i][:, :, 2])):
            u[4 * i + j] = col
    return u


def winograd_packed(u):
    """:func:`winograd_weights` ``u`` (16, M, C) packed for the float32 GEMM of ``ops/kernels/packed_gemm.py``:
    (16, size)."""
    return np.concatenate([_gemm.pack_a(u[i]) for i in range(16)])
