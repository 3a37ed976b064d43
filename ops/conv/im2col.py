"""Conv by im2col + GEMM: every dense or grouped conv that is neither 1x1-stride-1 nor Winograd nor depthwise.

Per ``prange`` chunk (image, group, tile of output rows) an im2col tile is built with row copies into a
chunk-local buffer that stays in cache, multiplied by the group's weights, and the epilogue (bias, activation)
is applied to the freshly written output tile. A strided 1x1 conv is this kernel with K = C: a strided gather,
then the GEMM of ``ops/kernels/gemm_block.py`` (float32: the packed GEMM with the epilogue fused into its stores;
float64: a single-threaded BLAS GEMM followed by the epilogue).

``_conv_kernel_smalln_packed`` is the float32 path for small output maps: B (x itself for a 1x1 stride-1
conv, else its im2col) is packed once per image and the chunks split the output channels instead of the
columns, so every chunk multiplies all of the few columns.

Kernels take the window geometry as one int64 array ``g`` (layout: ``ops/_geometry.G_*``).

Numba note: hot loops index from 0 over slices, or with unsigned (``uintp``) offsets. A signed index that
Numba cannot prove non-negative gets a wraparound test that stops LLVM from vectorising.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import uintp

from onnumba.ops._geometry import G_DD, G_DH, G_DW, G_KD, G_KH, G_KW, G_OD, G_OH, G_OW, G_PD, G_PH, G_PW, G_SD, \
    G_SH, G_SW
from onnumba.ops._numba import KERNEL, SERIAL, njit, prange
from onnumba.ops.kernels import packed_gemm as _gemm
from onnumba.ops.kernels.gemm_block import gemm_block


@njit(**SERIAL)
def _ow_range(kw, W, OW, sw, dw, pw):
    """Output columns [lo, hi) whose input column ow*sw + kw*dw - pw lies inside [0, W)."""
    off = kw * dw - pw
    # lo: smallest ow with ow*sw + off >= 0
    lo = 0 if off >= 0 else (-off + sw - 1) // sw
    # hi: one past the largest ow with ow*sw + off <= W - 1
    last = W - 1 - off
    hi = 0 if last < 0 else last // sw + 1
    lo = min(lo, OW)
    hi = max(min(hi, OW), lo)
    return lo, hi


@njit(**SERIAL)
def _im2col_tile(x, col, n, ci0, Cg, g, q0, q1):
    """col[(c*KD + kd)*KH*KW + kh*KW + kw, (q - q0)*OW + ow] = x[n, ci0 + c, input position] (0 in padding)
    for output rows q0 <= q < q1 (q = od*OH + oh)."""
    N, C, D, H, W = x.shape
    KD, KH, KW = g[G_KD], g[G_KH], g[G_KW]
    sd, sh, sw = g[G_SD], g[G_SH], g[G_SW]
    dd, dh, dw = g[G_DD], g[G_DH], g[G_DW]
    pd, ph, pw = g[G_PD], g[G_PH], g[G_PW]
    OH, OW = g[G_OH], g[G_OW]
    uOW = uintp(OW)
    usw = uintp(sw)
    r = 0
    for c in range(Cg):
        ci = ci0 + c
        for kd in range(KD):
            for kh in range(KH):
                for kw in range(KW):
                    lo, hi = _ow_range(kw, W, OW, sw, dw, pw)
                    ulo = uintp(lo)
                    uhi = uintp(hi)
                    # first input column read, for ow = lo (>= 0 whenever lo < hi)
                    s0 = uintp(max(lo * sw + kw * dw - pw, 0))
                    for q in range(q0, q1):
                        od = q // OH
                        oh = q - od * OH
                        idd = od * sd - pd + kd * dd
                        ih = oh * sh - ph + kh * dh
                        base = uintp((q - q0) * OW)
                        if idd < 0 or idd >= D or ih < 0 or ih >= H:
                            for j in range(uintp(0), uOW):
                                col[r, base + j] = 0.0
                            continue
                        for j in range(uintp(0), ulo):
                            col[r, base + j] = 0.0
                        if sw == 1:
                            for j in range(uintp(0), uhi - ulo):
                                col[r, base + ulo + j] = x[n, ci, idd, ih, s0 + j]
                        else:
                            for j in range(uintp(0), uhi - ulo):
                                col[r, base + ulo + j] = x[n, ci, idd, ih, s0 + j * usw]
                        for j in range(uhi, uOW):
                            col[r, base + j] = 0.0
                    r += 1


@njit(**SERIAL)
def tile_of_job(job, ntile, group, per, units):
    """``(n, gi, lo, hi)`` of chunk ``job`` in the (image, group, tile) job order of the GEMM-based conv kernels:
    image n, group gi, and units (output rows or columns) lo .. hi - 1 of tiles of ``per`` units."""
    t = job % ntile
    lo = t * per
    return job // (ntile * group), (job // ntile) % group, lo, min(lo + per, units)


#: an int64 zero for kernel-to-kernel calls (a numpy int64 global is typed int64, a literal 0 is typed Literal[int](0))
_ZERO = np.int64(0)


@njit(**SERIAL)
def _im2col_jobs(x, wa, Mg, KK, bias, has_bias, out, group, g, rows_per_tile, act, a0, a1, j0, j1):
    """Jobs j0..j1 of :func:`_conv_kernel_im2col` (a job: one image, group and tile of output rows)."""
    C = x.shape[1]
    OW = g[G_OW]
    Cg = C // group
    M = Mg * group
    R = g[G_OD] * g[G_OH]
    ntile = (R + rows_per_tile - 1) // rows_per_tile
    for job in range(j0, j1):
        n, gi, q0, q1 = tile_of_job(job, ntile, group, rows_per_tile, R)
        ncol = (q1 - q0) * OW
        col1 = np.empty(KK * ncol, x.dtype)
        _im2col_tile(x, col1.reshape((KK, ncol)), n, gi * Cg, Cg, g, q0, q1)
        gemm_block(wa, gi, Mg, KK, col1, _ZERO, _ZERO, ncol, ncol, out, n * M + gi * Mg, q0 * OW, R * OW, bias,
                   gi * Mg, has_bias, act, a0, a1)


def _njobs(x, group, g, rows_per_tile):
    R = int(g[G_OD]) * int(g[G_OH])
    return x.shape[0] * group * ((R + rows_per_tile - 1) // rows_per_tile)


@njit(**KERNEL)
def _im2col_parallel(x, wa, Mg, KK, bias, has_bias, out, group, g, rows_per_tile, act, a0, a1, njob):
    for job in prange(njob):
        _im2col_jobs(x, wa, Mg, KK, bias, has_bias, out, group, g, rows_per_tile, act, a0, a1, job, job + 1)


def _conv_kernel_im2col(x, wa, Mg, KK, bias, has_bias, out, group, g, rows_per_tile, act, a0, a1):
    """x (N, C, D, H, W); out (N*M*OD*OH*OW,) flat; wa the weights for ``ops/kernels/gemm_block.py`` (float32:
    (group, packed A of the group's (Mg, KK) weights); float64: (M, KK)); bias and activation fused.

    On one thread (a conv that ``schedule.run_serially`` keeps on the calling thread, or a 1-thread process) the
    jobs run in the serial kernel directly, in the same order: a model whose convs are all small never compiles
    the parallel driver (compile time, see benchmarks/PERFORMANCE.md).
    """
    njob = _njobs(x, group, g, rows_per_tile)
    if numba.get_num_threads() == 1:
        _im2col_jobs(x, wa, Mg, KK, bias, has_bias, out, group, g, rows_per_tile, act, a0, a1, 0, njob)
    else:
        _im2col_parallel(x, wa, Mg, KK, bias, has_bias, out, group, g, rows_per_tile, act, a0, a1, njob)


@njit(**SERIAL)
def _smalln_pack(x, n, direct, g, KK, col1, bp):
    """Image n's B (KK x P) for :func:`_conv_kernel_smalln_packed`, packed into bp."""
    N, C, D, H, W = x.shape
    OD, OH, OW = g[G_OD], g[G_OH], g[G_OW]
    P = OD * OH * OW
    zero = _ZERO  # a literal 0 argument would compile one more specialisation of the callee
    if direct:
        _gemm.pack_b(x.reshape(-1), n * C * P, P, KK, P, bp)
    else:
        _im2col_tile(x, col1.reshape((KK, P)), n, zero, C, g, zero, OD * OH)
        _gemm.pack_b(col1, zero, P, KK, P, bp)


@njit(**SERIAL)
def _smalln_packed_serial(x, ap, M, KK, bias, has_bias, out, g, direct, act, a0, a1):
    N = x.shape[0]
    P = g[G_OD] * g[G_OH] * g[G_OW]
    npan = (M + _gemm.MR - 1) // _gemm.MR
    bp = np.empty(KK * ((P + _gemm.NR - 1) // _gemm.NR * _gemm.NR), np.float32)
    col1 = np.empty(0 if direct else KK * P, np.float32)
    zero = _ZERO
    for n in range(N):
        _smalln_pack(x, n, direct, g, KK, col1, bp)
        _gemm.gemm_prepacked(ap[0], M, KK, bp, P, out, n * M * P, P, zero, npan, bias, zero, has_bias, act, a0, a1)


@njit(**KERNEL)
def _smalln_packed_parallel(x, ap, M, KK, bias, has_bias, out, g, direct, pan_per_job, act, a0, a1):
    N = x.shape[0]
    P = g[G_OD] * g[G_OH] * g[G_OW]
    npan = (M + _gemm.MR - 1) // _gemm.MR
    njob = (npan + pan_per_job - 1) // pan_per_job
    bp = np.empty(KK * ((P + _gemm.NR - 1) // _gemm.NR * _gemm.NR), np.float32)
    col1 = np.empty(0 if direct else KK * P, np.float32)
    zero = _ZERO
    for n in range(N):
        _smalln_pack(x, n, direct, g, KK, col1, bp)
        for job in prange(njob):
            ip0 = job * pan_per_job
            _gemm.gemm_prepacked(ap[0], M, KK, bp, P, out, n * M * P, P, ip0, min(ip0 + pan_per_job, npan), bias,
                                 zero, has_bias, act, a0, a1)


def _conv_kernel_smalln_packed(x, ap, M, KK, bias, has_bias, out, g, direct, pan_per_job, act, a0, a1):
    """float32 one-group conv on a small output map (P = OD*OH*OW pixels): per image, B (KK x P: x itself when
    ``direct``, i.e. a 1x1 stride-1 conv without pads, else its im2col) is packed once for the packed GEMM, then
    the chunks split the output channels (``pan_per_job`` panels of ``MR`` rows each), so each chunk multiplies
    all P columns and reads its rows of the weights ``ap`` (packed A of the one group, passed on as ``ap[0]``, the
    1-d array the im2col path passes: one specialisation of the GEMM for both) once. On one thread the serial
    kernel runs every panel (see :func:`_conv_kernel_im2col`)."""
    if numba.get_num_threads() == 1:
        _smalln_packed_serial(x, ap, M, KK, bias, has_bias, out, g, direct, act, a0, a1)
    else:
        _smalln_packed_parallel(x, ap, M, KK, bias, has_bias, out, g, direct, pan_per_job, act, a0, a1)


def packed_weights(w, group):
    """W (M, C/group, k...) packed per group for the float32 GEMM of ``ops/kernels/packed_gemm.py``:
    (group, packed size). Made once at plan time when W is a constant."""
    return _gemm.pack_a(np.asarray(w).reshape(w.shape[0], -1), group)
