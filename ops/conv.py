"""Conv (opsets 1, 11, 22): 1-d, 2-d and 3-d, groups, depthwise, dilations, strides, pads, auto_pad, bias.

Everything runs on one internal 3-d layout: 1-d and 2-d inputs are viewed as (N, C, 1, 1, W) and
(N, C, 1, H, W), so one kernel of each kind serves every rank. Four kernels:

* ``_conv_kernel_1x1``: 1x1 kernel, stride 1, no pads: a GEMM straight on the input (no im2col).
* ``_conv_kernel_winograd``: 2-d 3x3, stride 1, dilation 1, one group, >= 32 in and out channels:
  Winograd F(2x2, 3x3), 16 GEMMs on transformed tiles (2.25x fewer multiplications); W's transform is made
  once at plan time when W is a constant.
* ``_conv_kernel_im2col``: every other dense / grouped conv: per ``prange`` chunk (image, group, tile of
  output rows) an im2col tile is built with row copies into a chunk-local buffer that stays in cache, then
  multiplied by the group's weights with a single-threaded BLAS GEMM (``ops/kernels/blas.py``), and the epilogue
  (bias, activation) is applied to the freshly written output tile. A strided 1x1 conv is this kernel with
  K = C: a strided gather, then the GEMM.
* ``_conv_kernel_direct``: one input channel per group (depthwise with any channel multiplier, and
  single-channel convs): a direct NCHW kernel over a zero-padded copy of the input plane, one output row
  at a time (3x3 in one pass of 9 taps), vectorised along the row; no layout round trip, so a depthwise
  Conv followed by a 1x1 Conv (a separable conv) stays NCHW throughout.

Threads: one pool. Every kernel is a ``prange`` over independent chunks; GEMMs inside a chunk call a
single-threaded BLAS (``ops/kernels/blas.py`` pins BLAS to one thread).

Numba note: hot loops index from 0 over slices, or with unsigned (``uintp``) offsets. A signed index that
Numba cannot prove non-negative gets a wraparound test that stops LLVM from vectorising (measured 3-6x).

float32 and float64 are computed natively; float16 in float32 and cast back.

The fused epilogue (``activation`` of :class:`ConvAttrs`, applied by every kernel): a graph optimizer may
fuse a following Relu / LeakyRelu / Clip into the Conv by replacing ``activation`` (and ``alpha`` or
``clip_min`` / ``clip_max``) with ``dataclasses.replace``; a BatchNormalization is folded by rewriting W
and B, which needs nothing here. :func:`conv_nchw` is the same computation as a plain function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numba
import numpy as np
from numba import uintp

from onnumba.ops.kernels import blas as _blas, packed_gemm as _gemm
from onnumba.ops._common import FLOATS, check_dtype, check_rank, check_same_dtype, check_size, memo_by_array, require_input
from onnumba.ops._geometry import AUTO_PADS, MAX_DIM, GeometryError, Padding, check_pads, check_window, \
    resolve_padding, window_output_sizes
from onnumba.ops._numba import KERNEL, SERIAL, njit, prange
from onnumba.ops.kernels.epilogue import epilogue_row, epilogue_rows
from onnumba.registry import Op, TensorInfo, register

#: activation codes of the fused epilogue
ACTIVATIONS = {"none": 0, "relu": 1, "leakyrelu": 2, "clip": 3}

#: Winograd F(2x2, 3x3) is used for 3x3 stride-1 dense convs with at least this many in and out channels
_WINOGRAD_MIN_CHANNELS = 32
#: ... and at least this many output pixels per image: on small maps the 2x2 tiles are too few to fill the GEMM
#: (measured 1 thread, 512->512 at 7x7: Winograd 3.9 ms, im2col 1.9 ms; 256->256 at 14x14: 1.06 vs 1.72 ms)
_WINOGRAD_MIN_PIXELS = 100
#: most 2x2 output tiles per Winograd chunk (measured: 196-392 best at 64 channels, 49-98 at 256)
_WINO_TILES = 256

#: float32 im2col / 1x1 convs use the packed AVX-512 GEMM of ops/kernels/packed_gemm.py (else single-threaded BLAS)
_PACKED_GEMM = True

#: float32 one-group convs with at most this many output pixels per image pack B once per image and split the
#: output channels over the chunks (``_conv_kernel_smalln_packed``; measured 1 thread, 1x1 1024->256 at 14x14:
#: 0.69 -> 0.57 ms)
_SMALLN_MAX_PIXELS = 400

#: 1x1 GEMM tile budget in elements (about 1 MiB of float32: stays in L2/L3 while the GEMM reads it)
_TILE_ELEMS = 2 ** 18
#: Threads are woken per conv only when the conv is big enough to repay it. With passive OpenMP waiting
#: (ops/_numba.py) waking the second worker costs about 40-150 us per parallel region on a 2-vCPU VM, so a
#: conv whose estimated 1-thread time is below ``_PAR_MIN_US`` runs on the calling thread alone (measured per
#: conv, 1 vs 2 threads: 1x1 convs of 2-12 MFLOP 0.35-0.93x, 3x3 28 MFLOP 0.97x, 50 MFLOP 1.06x, 55 MFLOP
#: 1.45x). The estimate (microseconds, 1 thread): GEMM at ~130 GFLOP/s, plus writing the output and, for
#: im2col paths, building the column tiles (shufflenet's 3-channel stem: 16 MFLOP but 225 us, 1.41x at 2).
#: Whole models at 2 threads (in-process A/B, medians of 25-31): thresholds 150 and 250 us tie within noise on
#: shufflenet / squeezenet; 150 was 1-3 % faster on inception_v2 and densenet121, whose 150-250 us convs lose a
#: little alone but less inside a model, where the worker was woken recently.
_PAR_MIN_US = 150.0
_US_PER_FLOP = 1 / 1.3e5
_US_PER_OUT = 1 / 6e3
_US_PER_COL = 1 / 3e3
#: one-input-channel (depthwise) convs are memory bound: parallel from this many input + output elements
#: (measured: 112 ch 56x56 -> 28x28, 439K elements, 1.29x at 2 threads; 136 ch 28x28, 213K, 0.93x)
_PAR_MIN_DIRECT_ELEMS = 300_000

#: im2col tiles: at least this many output columns (the GEMM amortises packing W) ...
_IM2COL_MIN_COLS = 448
#: ... else about this many elements of im2col tile + output tile (256 KiB of float32)
_IM2COL_TILE_ELEMS = 65536


@dataclass(frozen=True)
class ConvAttrs:
    """Conv attributes with defaults filled in; ``bind`` adds the resolved ``padding`` and ``out_sizes``.

    ``kernel_shape``/``strides``/``dilations``/``pads`` are None where the model omits them (their length
    depends on the input rank, known in ``bind``). ``activation`` is one of ``ACTIVATIONS``: 'none' unless
    a graph optimizer fused an activation ('leakyrelu' uses ``alpha``, 'clip' uses ``clip_min``/``clip_max``).
    """

    kernel_shape: tuple | None = None
    strides: tuple | None = None
    dilations: tuple | None = None
    pads: tuple | None = None
    auto_pad: str = "NOTSET"
    group: int = 1
    activation: str = "none"
    alpha: float = 0.01
    clip_min: float = -math.inf
    clip_max: float = math.inf
    # filled by bind
    padding: Padding | None = None
    out_sizes: tuple | None = None
    #: Winograd-transformed weights when W is a plan-time constant and the Winograd path applies
    winograd_u: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: ``winograd_u`` packed for ops/kernels/packed_gemm.py (:func:`winograd_packed`), float32 / float16 only
    winograd_up: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: W packed for ops/kernels/packed_gemm.py (:func:`packed_weights`) when W is a plan-time constant and the path uses it
    packed_w: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: set by bind when the conv is too small to repay waking a second thread (see ``_PAR_MIN_US``)
    serial: bool = False


# ------------------------------------------------------------------------------------------------ kernels

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
def _im2col_tile(x, col, n, ci0, Cg, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw, OH, OW, q0, q1):
    """col[(c*KD + kd)*KH*KW + kh*KW + kw, (q - q0)*OW + ow] = x[n, ci0 + c, input position] (0 in padding)
    for output rows q0 <= q < q1 (q = od*OH + oh)."""
    N, C, D, H, W = x.shape
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


@njit(**KERNEL)
def _conv_kernel_im2col(x, w2, bias, has_bias, out, group, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw,
                        OD, OH, OW, rows_per_tile, act, a0, a1):
    """x (N, C, D, H, W); w2 (M, C/group*KD*KH*KW); out (N, M, OD*OH*OW); one chunk per (n, g, tile)."""
    N, C, D, H, W = x.shape
    M = w2.shape[0]
    Cg = C // group
    Mg = M // group
    KK = w2.shape[1]
    R = OD * OH
    ntile = (R + rows_per_tile - 1) // rows_per_tile
    for job in prange(N * group * ntile):
        t = job % ntile
        g = (job // ntile) % group
        n = job // (ntile * group)
        q0 = t * rows_per_tile
        q1 = min(q0 + rows_per_tile, R)
        ncol = (q1 - q0) * OW
        col = np.empty((KK, ncol), x.dtype)
        _im2col_tile(x, col, n, g * Cg, Cg, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw, OH, OW, q0, q1)
        p0 = q0 * OW
        y = out[n, g * Mg:(g + 1) * Mg, p0:p0 + ncol]
        _blas.gemm(w2[g * Mg:(g + 1) * Mg], col, y, 1.0, 0.0, False, False)
        epilogue_rows(y, bias[g * Mg:(g + 1) * Mg], has_bias, act, a0, a1)


@njit(**KERNEL)
def _conv_kernel_im2col_packed(x, ap, Mg, KK, bias, has_bias, out, group, KD, KH, KW, sd, sh, sw, dd, dh, dw,
                               pd, ph, pw, OD, OH, OW, rows_per_tile, act, a0, a1):
    """float32 ``_conv_kernel_im2col`` with the packed GEMM (``ops/kernels/packed_gemm.py``): ap (group, packed A of the
    group's (Mg, KK) weights); out (N*M*OD*OH*OW,) flat; bias, activation fused into the GEMM's epilogue."""
    N, C, D, H, W = x.shape
    Cg = C // group
    M = Mg * group
    R = OD * OH
    P = R * OW
    ntile = (R + rows_per_tile - 1) // rows_per_tile
    for job in prange(N * group * ntile):
        t = job % ntile
        g = (job // ntile) % group
        n = job // (ntile * group)
        q0 = t * rows_per_tile
        q1 = min(q0 + rows_per_tile, R)
        ncol = (q1 - q0) * OW
        col1 = np.empty(KK * ncol, np.float32)
        col = col1.reshape((KK, ncol))
        _im2col_tile(x, col, n, g * Cg, Cg, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw, OH, OW, q0, q1)
        _gemm.gemm(ap[g], Mg, KK, col1, 0, ncol, ncol, out, (n * M + g * Mg) * P + q0 * OW, P, bias, g * Mg,
                   has_bias, act, a0, a1)


@njit(**KERNEL)
def _conv_kernel_smalln_packed(x, ap, M, KK, bias, has_bias, out, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw,
                               OD, OH, OW, direct, pan_per_job, act, a0, a1):
    """float32 one-group conv on a small output map (P = OD*OH*OW pixels): per image, B (KK x P: x itself when
    ``direct``, i.e. a 1x1 stride-1 conv without pads, else its im2col) is packed once for the packed GEMM, then
    the chunks split the output channels (``pan_per_job`` panels of 8 each), so each chunk multiplies all P
    columns and reads its rows of the weights ``ap`` (packed A, one group) once."""
    N, C, D, H, W = x.shape
    P = OD * OH * OW
    npan = (M + _gemm.MR - 1) // _gemm.MR
    njob = (npan + pan_per_job - 1) // pan_per_job
    bp = np.empty(KK * ((P + _gemm.NR - 1) // _gemm.NR * _gemm.NR), np.float32)
    xf = x.reshape(-1)
    col1 = np.empty(0 if direct else KK * P, np.float32)
    for n in range(N):
        if direct:
            _gemm.pack_b(xf, n * C * P, P, KK, P, bp)
        else:
            _im2col_tile(x, col1.reshape((KK, P)), n, 0, C, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw, OH, OW,
                         0, OD * OH)
            _gemm.pack_b(col1, 0, P, KK, P, bp)
        for job in prange(njob):
            ip0 = job * pan_per_job
            _gemm.gemm_prepacked(ap, M, KK, bp, P, out, n * M * P, P, ip0, min(ip0 + pan_per_job, npan), bias, 0,
                                 has_bias, act, a0, a1)


@njit(**KERNEL)
def _conv_kernel_1x1(x3, w2, bias, has_bias, out, group, cols_per_tile, act, a0, a1):
    """1x1, stride 1, no pads: x3 (N, C, P); w2 (M, C/group); out (N, M, P); one chunk per (n, g, tile)."""
    N, C, P = x3.shape
    M = w2.shape[0]
    Cg = C // group
    Mg = M // group
    ntile = (P + cols_per_tile - 1) // cols_per_tile
    for job in prange(N * group * ntile):
        t = job % ntile
        g = (job // ntile) % group
        n = job // (ntile * group)
        p0 = t * cols_per_tile
        p1 = min(p0 + cols_per_tile, P)
        y = out[n, g * Mg:(g + 1) * Mg, p0:p1]
        _blas.gemm(w2[g * Mg:(g + 1) * Mg], x3[n, g * Cg:(g + 1) * Cg, p0:p1], y, 1.0, 0.0, False, False)
        epilogue_rows(y, bias[g * Mg:(g + 1) * Mg], has_bias, act, a0, a1)


@njit(**KERNEL)
def _conv_kernel_1x1_packed(x, ap, Mg, Cg, P, bias, has_bias, out, N, group, cols_per_tile, act, a0, a1):
    """float32 ``_conv_kernel_1x1`` with the packed GEMM: x (N*C*P,) and out (N*M*P,) flat; ap (group, packed
    A of the group's (Mg, Cg) weights)."""
    C = Cg * group
    M = Mg * group
    ntile = (P + cols_per_tile - 1) // cols_per_tile
    for job in prange(N * group * ntile):
        t = job % ntile
        g = (job // ntile) % group
        n = job // (ntile * group)
        p0 = t * cols_per_tile
        p1 = min(p0 + cols_per_tile, P)
        _gemm.gemm(ap[g], Mg, Cg, x, (n * C + g * Cg) * P + p0, P, p1 - p0, out, (n * M + g * Mg) * P + p0, P,
                   bias, g * Mg, has_bias, act, a0, a1)


@njit(**SERIAL)
def _axpy_strided(acc, xs, s, wv):
    """acc[t] += wv * xs[t * s]."""
    if s == 1:
        for t in range(acc.shape[0]):
            acc[t] += wv * xs[t]
    else:
        for t in range(acc.shape[0]):
            acc[t] += wv * xs[t * s]


@njit(**KERNEL)
def _conv_kernel_direct(x, w5, bias, out, group, sd, sh, sw, dd, dh, dw, pd, ph, pw, OD, OH, OW, HP, WP,
                        act, a0, a1):
    """One input channel per group (depthwise, any multiplier): x (N, C, D, H, W), w5 (M, 1, KD, KH, KW),
    out (N, M, OD, OH, OW); one chunk per (n, m, od).

    With ``HP > 0`` (kernel depth 1; the caller bounds HP * WP) the input plane is first copied into a
    zero-padded (HP, WP) buffer, so every output row is computed over its full width without border
    tests (3x3 in a single pass of 9 taps). Otherwise rows accumulate tap by tap over their valid columns.
    Hot loops run in small helpers over slices indexed from 0, so Numba emits no negative-index
    wraparound and LLVM vectorises them.
    """
    N, C, D, H, W = x.shape
    M, _, KD, KH, KW = w5.shape
    Mg = M // group
    for job in prange(N * M * OD):
        od = job % OD
        m = (job // OD) % M
        n = job // (OD * M)
        ci = m // Mg
        bv = bias[m]
        idd0 = od * sd - pd
        if HP > 0:
            if idd0 < 0 or idd0 >= D:
                for oh in range(OH):
                    orow = out[n, m, od, oh]
                    for j in range(OW):
                        orow[j] = bv
                    epilogue_row(orow, a0, False, act, a0, a1)
                continue
            buf = np.empty((HP, WP), out.dtype)
            ncopy = max(min(W, WP - pw), 0)
            nrows = max(min(H, HP - ph), 0)
            # zero only the padding around the copied plane
            for i in range(HP):
                if i < ph or i >= ph + nrows:
                    for j in range(WP):
                        buf[i, j] = 0.0
                    continue
                # a pad may exceed the width the windows reach (huge stride): never write past WP
                for j in range(min(pw, WP)):
                    buf[i, j] = 0.0
                bi = buf[i]
                xi = x[n, ci, idd0, i - ph]
                for j in range(uintp(0), uintp(ncopy)):
                    bi[uintp(pw) + j] = xi[j]
                for j in range(pw + ncopy, WP):
                    buf[i, j] = 0.0
            three = KH == 3 and KW == 3
            w00 = w01 = w02 = w10 = w11 = w12 = w20 = w21 = w22 = w5[m, 0, 0, 0, 0]
            if three:
                w01, w02 = w5[m, 0, 0, 0, 1], w5[m, 0, 0, 0, 2]
                w10, w11, w12 = w5[m, 0, 0, 1, 0], w5[m, 0, 0, 1, 1], w5[m, 0, 0, 1, 2]
                w20, w21, w22 = w5[m, 0, 0, 2, 0], w5[m, 0, 0, 2, 1], w5[m, 0, 0, 2, 2]
            # unsigned index arithmetic: Numba emits no negative-index wraparound for it
            su = uintp(sw)
            du = uintp(dw)
            uOW = uintp(OW)
            for oh in range(OH):
                orow = out[n, m, od, oh]
                r = oh * sh
                if three and sw == 1 and dw == 1:
                    # 2-d indexing, no row views: each view costs an atomic refcount pair per row
                    r1 = r + dh
                    r2 = r + 2 * dh
                    for t in range(OW):
                        out[n, m, od, oh, t] = (bv + w00 * buf[r, t] + w01 * buf[r, t + 1] + w02 * buf[r, t + 2]
                                                + w10 * buf[r1, t] + w11 * buf[r1, t + 1] + w12 * buf[r1, t + 2]
                                                + w20 * buf[r2, t] + w21 * buf[r2, t + 1] + w22 * buf[r2, t + 2])
                elif three:
                    p = buf[r]
                    q = buf[r + dh]
                    u = buf[r + 2 * dh]
                    for t in range(uintp(0), uOW):
                        c = t * su
                        orow[t] = (bv + w00 * p[c] + w01 * p[c + du] + w02 * p[c + 2 * du]
                                   + w10 * q[c] + w11 * q[c + du] + w12 * q[c + 2 * du]
                                   + w20 * u[c] + w21 * u[c + du] + w22 * u[c + 2 * du])
                else:
                    for t in range(OW):
                        orow[t] = bv
                    for kh in range(KH):
                        brow = buf[r + kh * dh]
                        for kw in range(KW):
                            wv = w5[m, 0, 0, kh, kw]
                            off = uintp(kw) * du
                            if sw == 1:
                                for t in range(uintp(0), uOW):
                                    orow[t] += wv * brow[t + off]
                            else:
                                for t in range(uintp(0), uOW):
                                    orow[t] += wv * brow[t * su + off]
                if act != 0:
                    epilogue_row(orow, a0, False, act, a0, a1)
            continue
        acc = np.empty(OW, out.dtype)
        los = np.empty(KW, np.int64)
        his = np.empty(KW, np.int64)
        for kw in range(KW):
            los[kw], his[kw] = _ow_range(kw, W, OW, sw, dw, pw)
        for oh in range(OH):
            orow = out[n, m, od, oh]
            ih0 = oh * sh - ph
            for j in range(OW):
                acc[j] = bv
            for kd in range(KD):
                idd = idd0 + kd * dd
                if idd < 0 or idd >= D:
                    continue
                for kh in range(KH):
                    ih = ih0 + kh * dh
                    if ih < 0 or ih >= H:
                        continue
                    xrow = x[n, ci, idd, ih]
                    for kw in range(KW):
                        lo = los[kw]
                        hi = his[kw]
                        if hi > lo:
                            _axpy_strided(acc[lo:hi], xrow[lo * sw + kw * dw - pw:], sw, w5[m, 0, kd, kh, kw])
            for j in range(OW):
                orow[j] = acc[j]
            epilogue_row(orow, a0, False, act, a0, a1)


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
    cache set (measured: 64->64 3x3 at 48x48 took 2.0 ms with 240 tiles of 64 channels, 1.2 ms by im2col)."""
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


@njit(**KERNEL)
def _conv_kernel_winograd(x, u, bias, has_bias, out, ph, pw, OH, OW, rows_per_job, act, a0, a1):
    """Winograd F(2x2, 3x3) for 3x3, stride 1, dilation 1, group 1: 2.25x fewer multiplications than im2col.

    x (N, C, H, W); u (16, M, C) transformed weights G g G^T; out (N, M, OH, OW). One chunk per (n, run of
    rows of 2x2 output tiles): input transform B^T d B into v (16, C, T), 16 GEMMs u[i] @ v[i] into
    z (16, M, T), then output transform A^T z A, bias and activation. The transforms loop over the tiles
    of a tile row (contiguous in v and z), reading four zero-padded input rows, so they vectorise.
    """
    N, C, H, W = x.shape
    M = u.shape[1]
    TH = (OH + 1) // 2
    TW = (OW + 1) // 2
    WP = 2 * TW + 2
    njob_img = (TH + rows_per_job - 1) // rows_per_job
    ncopy = max(min(W, WP - pw), 0)
    for job in prange(N * njob_img):
        n = job // njob_img
        th0 = (job % njob_img) * rows_per_job
        th1 = min(th0 + rows_per_job, TH)
        nt = (th1 - th0) * TW
        ntp = _winograd_padded_tiles(nt, C, M)
        v = np.empty((16, C, ntp), x.dtype)
        z = np.empty((16, M, ntp), x.dtype)
        rows = np.zeros((4, WP), x.dtype)
        _winograd_input(x, v, rows, n, th0, th1, ph, pw, TW, WP, ncopy)
        for i in range(16):
            _blas.gemm(u[i], v[i, :, :nt], z[i, :, :nt], 1.0, 0.0, False, False)
        _winograd_output(z, bias, out, n, th0, th1, OH, OW, TW, act, a0, a1)


@njit(**KERNEL)
def _conv_kernel_winograd_packed(x, up, bias, out, M, ph, pw, OH, OW, rows_per_job, act, a0, a1):
    """float32 ``_conv_kernel_winograd`` with the packed GEMM (``ops/kernels/packed_gemm.py``): up (16, packed A of u[i])."""
    N, C, H, W = x.shape
    TH = (OH + 1) // 2
    TW = (OW + 1) // 2
    WP = 2 * TW + 2
    njob_img = (TH + rows_per_job - 1) // rows_per_job
    ncopy = max(min(W, WP - pw), 0)
    for job in prange(N * njob_img):
        n = job // njob_img
        th0 = (job % njob_img) * rows_per_job
        th1 = min(th0 + rows_per_job, TH)
        nt = (th1 - th0) * TW
        ntp = _winograd_padded_tiles(nt, C, M)
        v1 = np.empty(16 * C * ntp, np.float32)
        z1 = np.empty(16 * M * ntp, np.float32)
        v = v1.reshape((16, C, ntp))
        z = z1.reshape((16, M, ntp))
        rows = np.zeros((4, WP), np.float32)
        _winograd_input(x, v, rows, n, th0, th1, ph, pw, TW, WP, ncopy)
        for i in range(16):
            _gemm.gemm(up[i], M, C, v1, i * C * ntp, ntp, nt, z1, i * M * ntp, ntp, bias, 0, False, 0, a0, a1)
        _winograd_output(z, bias, out, n, th0, th1, OH, OW, TW, act, a0, a1)


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
    """:func:`winograd_weights` ``u`` (16, M, C) packed for the float32 GEMM of ``ops/kernels/packed_gemm.py``: (16, size)."""
    return np.concatenate([_gemm.pack_a(u[i]) for i in range(16)])


def packed_weights(w, group):
    """W (M, C/group, k...) packed per group for the float32 GEMM of ``ops/kernels/packed_gemm.py``: (group, packed size)."""
    return _gemm.pack_a(np.asarray(w).reshape(w.shape[0], -1), group)


# ------------------------------------------------------------------------------------------------ entry

def _tiles(units: int, outer_jobs: int, unit_cost: int, budget: int | None = None) -> int:
    """Units (output rows or columns) per tile: within ``budget`` elements of buffer, and enough tiles that
    every thread gets work, balanced across threads."""
    threads = max(1, numba.get_num_threads())
    budget = _TILE_ELEMS if budget is None else budget
    per = max(1, min(units, budget // max(unit_cost, 1)))
    ntile = -(-units // per)
    if outer_jobs * ntile < 2 * threads:
        ntile = min(units, max(ntile, -(-2 * threads // max(outer_jobs, 1))))
    # balance: grow the tile count until the jobs divide evenly over the threads (while tiles stay >= 1 unit)
    for extra in range(threads):
        cand = ntile + extra
        if cand > units:
            break
        if (outer_jobs * cand) % threads == 0:
            ntile = cand
            break
    return -(-units // max(ntile, 1))


def run_serially(x_shape, w_shape, group, strides, pads, out_sizes) -> bool:
    """True when a conv of these concrete shapes is estimated too small to repay waking a second thread."""
    N, C = x_shape[:2]
    M, Cg = w_shape[:2]
    P = math.prod(out_sizes)
    out = N * M * P
    if Cg == 1:
        return math.prod(x_shape) + out < _PAR_MIN_DIRECT_ELEMS
    # the packed GEMM computes whole panels of _gemm.NR columns: a 1x1 map (a conv as a fully connected layer,
    # densenet's 1024 -> 1000 classifier: 2 MFLOP but 305 us, 1.41x at 2 threads) costs NR columns
    Pg = -(-P // _gemm.NR) * _gemm.NR
    flops = 2.0 * N * M * Pg * Cg * math.prod(w_shape[2:])
    est = flops * _US_PER_FLOP + out * _US_PER_OUT
    is1x1 = all(k == 1 for k in w_shape[2:]) and all(s == 1 for s in strides) and not any(pads)
    if not is1x1:
        est += N * group * Cg * math.prod(w_shape[2:]) * P * _US_PER_COL  # im2col elements written
    return est < _PAR_MIN_US


def _winograd_ok(x5, w5, s3, d3, group) -> bool:
    """3x3 (2-d), stride 1, dilation 1, one group, enough channels that the 16 GEMMs dominate."""
    return (w5.shape[2:] == (1, 3, 3) and x5.shape[2] == 1 and s3 == (1, 1, 1) and d3 == (1, 1, 1) and group == 1
            and w5.shape[1] >= _WINOGRAD_MIN_CHANNELS and w5.shape[0] >= _WINOGRAD_MIN_CHANNELS)


def conv_nchw(x, w, b=None, strides=None, dilations=None, pads_begin=None, pads_end=None, group=1,
              activation="none", alpha=0.01, clip_min=-math.inf, clip_max=math.inf, winograd=True,
              winograd_u=None, packed_w=None, winograd_up=None):
    """Convolution of NC[D][H]W ``x`` (1 to 3 spatial axes) with ``w`` (M, C/group, k...), plus bias.

    Args:
        x: (N, C, *spatial) float16/32/64 array.
        w: (M, C/group, *kernel) of the same dtype.
        b: (M,) bias or None.
        strides, dilations: per spatial axis (default 1).
        pads_begin, pads_end: explicit pads per spatial axis (default 0); resolve auto_pad with
            ``ops/_geometry.resolve_padding`` first.
        group: number of groups; C and M must be multiples of it.
        activation: fused epilogue, one of 'none', 'relu', 'leakyrelu' (slope ``alpha``), 'clip'
            (``clip_min``, ``clip_max``), applied after the bias.
        winograd: allow Winograd F(2x2, 3x3) for 3x3 stride-1 dense convs with >= 32 in and out channels.
        winograd_u: :func:`winograd_weights` of ``w``, precomputed (else computed here on each call).
        packed_w: :func:`packed_weights` of ``w``, precomputed (else packed here on each call).
        winograd_up: :func:`winograd_packed` of ``winograd_u``, precomputed (else packed here on each call).

    Returns:
        (N, M, *out) array of x's dtype. Shapes are NOT validated here (the op's ``infer`` does that);
        callers outside the op must pass consistent arguments.
    """
    nsp = x.ndim - 2
    one = (1,) * nsp
    strides = tuple(strides or one)
    dilations = tuple(dilations or one)
    pads_begin = tuple(pads_begin or (0,) * nsp)
    pads_end = tuple(pads_end or (0,) * nsp)
    ksz = tuple(w.shape[2:])
    out_sp = window_output_sizes(x.shape[2:], ksz, strides, dilations, Padding(pads_begin, pads_end))
    dtype = x.dtype
    cdt = np.float32 if dtype == np.float16 else dtype
    N, C = x.shape[:2]
    M = w.shape[0]
    pad3 = (3 - nsp)
    x5 = np.ascontiguousarray(x, dtype=cdt).reshape((N, C) + (1,) * pad3 + tuple(x.shape[2:]))
    w5 = np.ascontiguousarray(w, dtype=cdt).reshape((M, w.shape[1]) + (1,) * pad3 + ksz)
    has_bias = b is not None
    # always M values (zeros without B), and epilogue scalars in the compute dtype, so no float64 promotion
    bias = np.ascontiguousarray(b, dtype=cdt) if has_bias else np.zeros(M, cdt)
    s3 = (1,) * pad3 + strides
    d3 = (1,) * pad3 + dilations
    p3 = (0,) * pad3 + pads_begin
    o3 = (1,) * pad3 + out_sp
    k3 = w5.shape[2:]
    act = ACTIVATIONS[activation]
    a0, a1 = (alpha, 0.0) if act == 2 else (clip_min, clip_max)
    a0, a1 = np.dtype(cdt).type(a0), np.dtype(cdt).type(a1)
    P = o3[0] * o3[1] * o3[2]
    out = np.empty((N, M, P), cdt)
    Cg = C // group
    if N * M * P and Cg == 1:
        out5 = out.reshape((N, M) + o3)
        # zero-padded plane per chunk: rows/cols the windows reach; skipped for kernel depth > 1 or huge pads
        HP = (o3[1] - 1) * s3[1] + (k3[1] - 1) * d3[1] + 1
        WP = (o3[2] - 1) * s3[2] + (k3[2] - 1) * d3[2] + 1
        if k3[0] != 1 or HP * WP > 4 * (x5.shape[3] * x5.shape[4] + o3[1] * o3[2]) + 4096:
            HP = WP = 0
        _conv_kernel_direct(x5, w5, bias, out5, group, *s3, *d3, *p3, *o3, HP, WP, act, a0, a1)
    elif (N * M * P and winograd and _winograd_ok(x5, w5, s3, d3, group) and P >= _WINOGRAD_MIN_PIXELS
          and (winograd_u is not None or N * P >= 1024)):  # transforming W per call pays off on large outputs only
        TW = (o3[2] + 1) // 2
        # tiles per chunk: v and z buffers (16 * (C + M) per tile) within about 2 MiB of float32
        TH = (o3[1] + 1) // 2
        budget = max(min(_WINO_TILES, 2 ** 19 // (16 * (C + M))), TW)
        threads = max(1, numba.get_num_threads())
        if threads > 1:
            # one run of tile rows per thread: splitting further shrinks the 16 GEMMs' widths below what the
            # packed GEMM runs well (measured 2 threads, 128->32 at 28x28: 4 jobs 657 us, 2 jobs 273 us; 1
            # thread 315 us; 96->128 at 14x14: 2 jobs 161 us vs 1 thread 174 us)
            per = min(max(1, budget // TW), -(-TH // -(-threads // N)))
        else:
            per = _tiles(TH, N, TW, budget=budget)
        out4 = out.reshape(N, M, o3[1], o3[2])
        u = winograd_weights(w5[:, :, 0]) if winograd_u is None else winograd_u
        x4 = x5.reshape(N, C, x5.shape[3], x5.shape[4])
        if cdt == np.float32 and _PACKED_GEMM:
            up = winograd_packed(u) if winograd_up is None or winograd_u is None else winograd_up
            _conv_kernel_winograd_packed(x4, up, bias, out4, M, p3[1], p3[2], o3[1], o3[2], per, act, a0, a1)
        else:
            _blas.ensure_ready()
            _conv_kernel_winograd(x4, u, bias, has_bias, out4, p3[1], p3[2], o3[1], o3[2], per, act, a0, a1)
    elif N * M * P:
        w2 = w5.reshape(M, -1)
        packed = cdt == np.float32 and _PACKED_GEMM
        if packed:
            ap = _gemm.pack_a(w2, group) if packed_w is None else packed_w
        else:
            _blas.ensure_ready()
        is1x1 = k3 == (1, 1, 1) and s3 == (1, 1, 1) and p3 == (0, 0, 0) and o3 == x5.shape[2:]
        if packed and group == 1 and P <= _SMALLN_MAX_PIXELS:
            npan = -(-M // _gemm.MR)
            threads = max(1, numba.get_num_threads())
            _conv_kernel_smalln_packed(x5, ap, M, w2.shape[1], bias, has_bias, out.reshape(-1), *k3, *s3, *d3, *p3,
                                       *o3, is1x1, -(-npan // threads), act, a0, a1)
        elif is1x1:
            cols = _tiles(P, N * group, Cg)
            if packed:
                _conv_kernel_1x1_packed(x5.reshape(-1), ap, M // group, Cg, P, bias, has_bias, out.reshape(-1), N,
                                        group, cols, act, a0, a1)
            else:
                _conv_kernel_1x1(x5.reshape(N, C, P), w2, bias, has_bias, out, group, cols, act, a0, a1)
        else:
            # tile width: at least ~448 columns so the GEMM amortises packing W, else about 256 KiB of
            # im2col + output tile (measured: small-K convs such as a 3-channel stem like small tiles)
            KK = w2.shape[1]
            cols = max(_IM2COL_MIN_COLS, _IM2COL_TILE_ELEMS // (KK + M // group))
            rows = _tiles(o3[0] * o3[1], N * group, o3[2], budget=max(cols, o3[2]))
            if packed:
                _conv_kernel_im2col_packed(x5, ap, M // group, KK, bias, has_bias, out.reshape(-1), group, *k3, *s3,
                                           *d3, *p3, *o3, rows, act, a0, a1)
            else:
                _conv_kernel_im2col(x5, w2, bias, has_bias, out, group, *k3, *s3, *d3, *p3, *o3, rows, act, a0,
                                    a1)
    out = out.reshape((N, M) + out_sp)
    return out.astype(dtype) if cdt != dtype else out


# ------------------------------------------------------------------------------------------------ op

def _ints_attr(node, name):
    v = node.attr(name, None, "ints")
    return None if v is None else tuple(int(i) for i in v)


@register("Conv", versions=(1, 11, 22))
class Conv(Op):
    """ONNX Conv: Y = conv(X, W) + B, with groups, dilations, strides, pads or auto_pad."""

    @classmethod
    def parse_attrs(cls, node) -> ConvAttrs:
        auto_pad = node.attr("auto_pad", "NOTSET", "str")
        if isinstance(auto_pad, bytes):
            auto_pad = auto_pad.decode()
        if auto_pad not in AUTO_PADS:
            raise node.error(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", attribute="auto_pad")
        group = int(node.attr("group", 1, "int"))
        if group < 1 or group > MAX_DIM:
            raise node.error(f"must be >= 1, got {group}", attribute="group")
        a = ConvAttrs(kernel_shape=_ints_attr(node, "kernel_shape"), strides=_ints_attr(node, "strides"),
                      dilations=_ints_attr(node, "dilations"), pads=_ints_attr(node, "pads"),
                      auto_pad=auto_pad, group=group)
        for name, lo in (("kernel_shape", 1), ("strides", 1), ("dilations", 1), ("pads", 0)):
            vals = getattr(a, name)
            if vals is not None and any(v < lo or v > MAX_DIM for v in vals):
                raise node.error(f"values must be in [{lo}, {MAX_DIM}], got {list(vals)}", attribute=name)
        return a

    @classmethod
    def bind(cls, node, attrs: ConvAttrs, inputs, consts, ctx) -> ConvAttrs:
        x = require_input(node, inputs, 0, "X")
        w = require_input(node, inputs, 1, "W")
        check_dtype(node, x, 0, FLOATS)
        check_same_dtype(node, inputs, (0, 1, 2))
        check_rank(node, x, 0, min_rank=3, what="X (N, C, spatial...)")
        nsp = x.rank - 2
        if nsp > 3:
            raise node.error(f"onnumba's Conv supports 1 to 3 spatial axes, got input shape {x.shape}", input=0)
        if w.rank != x.rank:
            raise node.error(f"expected rank {x.rank} (M, C/group, kernel...) like X, got shape {w.shape}",
                             input=1)
        kernel = tuple(w.shape[2:])
        if attrs.kernel_shape is not None and tuple(attrs.kernel_shape) != kernel:
            raise node.error(f"{list(attrs.kernel_shape)} does not match W's spatial shape {list(kernel)} "
                             f"(W has shape {w.shape})", attribute="kernel_shape")
        if any(k < 1 for k in kernel):
            raise node.error(f"expected kernel sizes >= 1, got shape {w.shape}", input=1)
        one = (1,) * nsp
        try:
            _, strides, dilations = check_window(kernel, attrs.strides or one, attrs.dilations or one, nsp)
            if attrs.auto_pad == "NOTSET" and attrs.pads is not None:
                check_pads(attrs.pads, nsp)
            padding = resolve_padding(attrs.auto_pad, attrs.pads, x.shape[2:], kernel, strides, dilations)
            out_sizes = window_output_sizes(x.shape[2:], kernel, strides, dilations, padding)
        except GeometryError as e:
            raise node.error(str(e), attribute=e.attribute) from None
        u = None
        wc = consts[1] if len(consts) > 1 else None
        if (wc is not None and nsp == 2 and kernel == (3, 3) and strides == (1, 1) and dilations == (1, 1)
                and attrs.group == 1 and x.shape[1] == w.shape[1] and min(w.shape[:2]) >= _WINOGRAD_MIN_CHANNELS
                and out_sizes[0] * out_sizes[1] >= _WINOGRAD_MIN_PIXELS):
            u = memo_by_array(wc, "winograd_u", winograd_weights)
        pw = up = None
        if u is not None and u.dtype == np.float32 and _PACKED_GEMM:
            up = memo_by_array(wc, "winograd_up", lambda _: winograd_packed(u))
        if (wc is not None and u is None and _PACKED_GEMM and wc.dtype in (np.float32, np.float16)
                and w.shape[1] > 1 and x.shape[1] == w.shape[1] * attrs.group and w.shape[0] % attrs.group == 0):
            pw = memo_by_array(wc, f"packed_w/{attrs.group}", lambda a: packed_weights(a, attrs.group))
        serial = run_serially(x.shape, w.shape, attrs.group, strides, tuple(padding.begins) + tuple(padding.ends),
                              out_sizes)
        return replace(attrs, kernel_shape=kernel, strides=strides, dilations=dilations, padding=padding,
                       out_sizes=out_sizes, winograd_u=u, packed_w=pw, winograd_up=up, serial=serial)

    @classmethod
    def infer(cls, node, attrs: ConvAttrs, inputs, consts):
        x, w = inputs[0], inputs[1]
        N, C = x.shape[:2]
        M, Cg = w.shape[:2]
        g = attrs.group
        if C % g:
            raise node.error(f"group {g} does not divide the {C} input channels of X {x.shape}",
                             attribute="group")
        if M % g:
            raise node.error(f"group {g} does not divide the {M} output channels (W's first axis, W shape "
                             f"{w.shape})", attribute="group")
        if Cg != C // g:
            want = (M, C // g) + tuple(w.shape[2:])
            raise node.error(f"expected shape (M, C/group, kernel...) = {want} with C/group={C // g} "
                             f"(C={C}, group={g}), got {w.shape}", input=1)
        if node.has_input(2) and len(inputs) > 2 and inputs[2] is not None:
            b = inputs[2]
            if b.shape != (M,):
                raise node.error(f"expected shape ({M},) (one bias per output channel), got {b.shape}", input=2)
        if attrs.activation not in ACTIVATIONS:
            raise node.error(f"internal: unknown fused activation {attrs.activation!r}")
        out = (N, M) + tuple(attrs.out_sizes)
        check_size(node, out)
        return [TensorInfo(x.dtype, out)]

    @classmethod
    def run(cls, node, attrs: ConvAttrs, arrays):
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        p = attrs.padding
        if attrs.serial:
            threads = numba.get_num_threads()
            if threads > 1:
                # thread-local (about 1 us); restored even if the kernel raises
                numba.set_num_threads(1)
                try:
                    return cls._run(attrs, x, w, b, p)
                finally:
                    numba.set_num_threads(threads)
        return cls._run(attrs, x, w, b, p)

    @staticmethod
    def _run(attrs: ConvAttrs, x, w, b, p):
        return [conv_nchw(x, w, b, attrs.strides, attrs.dilations, p.begins, p.ends, attrs.group,
                          attrs.activation, attrs.alpha, attrs.clip_min, attrs.clip_max, winograd_u=attrs.winograd_u,
                          packed_w=attrs.packed_w, winograd_up=attrs.winograd_up)]
