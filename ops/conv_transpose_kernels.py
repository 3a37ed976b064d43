"""ConvTranspose kernels (the op, its geometry and path choice are in ``ops/conv_transpose.py``).

* ``_conv_transpose_kernel_k2s2`` and ``_conv_transpose_kernel_k3s2``: the 2-d stride-2 fast paths (float32).
  They keep a tile of (output channels x taps or phases x 32 input positions) in registers as 16-lane
  float32 vectors (``ops/kernels/simd.py``), start it from the bias, run over the input channels with one
  broadcast FMA per weight, then store even and odd output columns interleaved straight into the NCHW
  output: no GEMM, no column buffer, no col2im scatter-add.
* ``_conv_transpose_kernel``: every other geometry. Per (image, group, chunk of output channels) a
  single-threaded BLAS GEMM (``ops/kernels/blas.py``) into a task-local column buffer, then col2im into the
  task's own output channels. Geometry comes as one int64 array (``ops/_geometry.window_array``).
"""

from __future__ import annotations

import numpy as np

from onnumba.ops._geometry import G_DD, G_DH, G_DW, G_ID, G_IH, G_IW, G_KD, G_KH, G_KW, G_OD, G_OH, G_OW, G_PD, \
    G_PH, G_PW, G_SD, G_SH, G_SW
from onnumba.ops._numba import INLINE, KERNEL, SERIAL, njit, prange
from onnumba.ops.kernels import blas as _blas
from onnumba.ops.kernels.simd import vfma as _vfma, vload as _vload, vsplat as _vsplat, vstore as _vstore, \
    vstore_lanes as _vstore_lanes, vzip_hi as _vzip_hi, vzip_lo as _vzip_lo


# ----------------------------------------------------------------------------------------------- stride 2
#: output channels per register tile: 3x3 kernel (2 channels x 4 phases x 32 positions) and 2x2 kernel (3
#: channels x 4 taps x 32 positions: 24 accumulators, half a broadcast per FMA)
_MR3 = 2
_MR2 = 3


@njit(**SERIAL)
def _store_half(o, v, a, iy, ix, H, W, rowlen, OW):
    """Store ``v`` (8 flat input positions from (iy, ix), each an (even, odd) output column pair) into output
    rows ``2*iy + a`` of ``o`` (one channel, flat), row by row with masked stores. Positions are numbered with
    row length ``rowlen``; only ``ix < W`` and ``iy < H`` are real."""
    lane = 0
    while lane < 16 and iy < H:
        n = min((16 - lane) >> 1, rowlen - ix)
        nv = min(n, W - ix)
        if nv > 0:
            _vstore_lanes(o, (2 * iy + a) * OW + 2 * ix - lane, v, lane, lane + 2 * nv)
        lane += 2 * n
        ix += n
        if ix == rowlen:
            ix = 0
            iy += 1


@njit(**SERIAL)
def _store_channel(out, n, m, M, e0, o0, e1, o1, iy, ix, H, W, rowlen, OW):
    """Output channel ``m`` of image ``n`` for 16 flat input positions from (iy, ix): ``e0``/``o0`` are its
    even/odd output columns of the even output rows (2*iy), ``e1``/``o1`` of the odd rows (2*iy + 1)."""
    if m >= M:
        return
    o = out[n, m]
    if ix + 16 <= W and iy < H:
        # all 16 positions in one input row: four plain stores
        d0 = 2 * iy * OW + 2 * ix
        _vstore(o, d0, _vzip_lo(e0, o0))
        _vstore(o, d0 + 16, _vzip_hi(e0, o0))
        _vstore(o, d0 + OW, _vzip_lo(e1, o1))
        _vstore(o, d0 + OW + 16, _vzip_hi(e1, o1))
        return
    iy2 = iy
    ix2 = ix + 8
    while ix2 >= rowlen:
        ix2 -= rowlen
        iy2 += 1
    _store_half(o, _vzip_lo(e0, o0), 0, iy, ix, H, W, rowlen, OW)
    _store_half(o, _vzip_hi(e0, o0), 0, iy2, ix2, H, W, rowlen, OW)
    _store_half(o, _vzip_lo(e1, o1), 1, iy, ix, H, W, rowlen, OW)
    _store_half(o, _vzip_hi(e1, o1), 1, iy2, ix2, H, W, rowlen, OW)


@njit(**SERIAL)
def _advance(iy, ix, k, rowlen):
    """(row, column) of the flat position ``k`` places after (iy, ix)."""
    ix += k
    while ix >= rowlen:
        ix -= rowlen
        iy += 1
    return iy, ix


@njit(**INLINE)
def _tile_task(t, xp, wp, PB, MR, P, rowlen):
    """Task ``t`` of the stride-2 kernels' (image, chunk of ``P`` positions, block of ``MR`` output channels)
    space, the channel block varying fastest: (n, chunk pb, first channel m0, first position q0 and its (row,
    column) with row length ``rowlen``, the image's input xp[n], the block's packed weights wp[mb])."""
    MB = wp.shape[0]
    n = t // (PB * MB)
    r = t - n * PB * MB
    pb = r // MB
    mb = r - pb * MB
    q0 = pb * P
    iy = q0 // rowlen
    return n, pb, mb * MR, q0, iy, q0 - iy * rowlen, xp[n], wp[mb]


@njit(**KERNEL)
def _conv_transpose_kernel_k2s2(xp, wp, bias, out, C, L, H, W, P):
    """Kernel 2x2, stride 2, no padding: each input pixel owns one 2x2 output block, out = 2H x 2W.

    xp: (N, C*L) input, channel c at [c*L, c*L + H*W), L a multiple of 16; wp: (MB, C*12) packed weights,
    wp[mb, c*12 + m*4 + kh*2 + kw] = W[c, mb*3 + m, kh, kw]; bias: (MB*3,); out: (N, M, 4*H*W). Tasks: (n,
    chunk of ``P`` positions (a multiple of 32), block of 3 output channels), the channel block varying
    fastest so one chunk of the input stays in cache for all of them; each computes 32 input positions x 3
    channels x 4 taps in registers (16 for a last odd block of 16), starting from the bias, and stores them
    straight into the output rows.
    """
    N = xp.shape[0]
    MB = wp.shape[0]
    M = out.shape[1]
    L32 = L - L % 32
    OW = 2 * W
    PB = -(-L // P)
    for t in prange(N * PB * MB):
        n, pb, m0, q0, iy, ix, x, w = _tile_task(t, xp, wp, PB, _MR2, P, W)
        for q in range(q0, min(q0 + P, L32), 32):
            # a, b, c: channels m0..m0+2 at positions q..q+15; e, f, g: the same at q+16..q+31; digit = kh*2 + kw
            a0 = _vsplat(bias[m0]); a1 = a0; a2 = a0; a3 = a0; e0 = a0; e1 = a0; e2 = a0; e3 = a0  # noqa: E702
            b0 = _vsplat(bias[m0 + 1]); b1 = b0; b2 = b0; b3 = b0; f0 = b0; f1 = b0; f2 = b0; f3 = b0  # noqa: E702
            c0 = _vsplat(bias[m0 + 2]); c1 = c0; c2 = c0; c3 = c0; g0 = c0; g1 = c0; g2 = c0; g3 = c0  # noqa: E702
            for c in range(C):
                v = _vload(x, c * L + q)
                u = _vload(x, c * L + q + 16)
                k = c * 12
                s = w[k]; a0 = _vfma(a0, v, s); e0 = _vfma(e0, u, s)  # noqa: E702
                s = w[k + 1]; a1 = _vfma(a1, v, s); e1 = _vfma(e1, u, s)  # noqa: E702
                s = w[k + 2]; a2 = _vfma(a2, v, s); e2 = _vfma(e2, u, s)  # noqa: E702
                s = w[k + 3]; a3 = _vfma(a3, v, s); e3 = _vfma(e3, u, s)  # noqa: E702
                s = w[k + 4]; b0 = _vfma(b0, v, s); f0 = _vfma(f0, u, s)  # noqa: E702
                s = w[k + 5]; b1 = _vfma(b1, v, s); f1 = _vfma(f1, u, s)  # noqa: E702
                s = w[k + 6]; b2 = _vfma(b2, v, s); f2 = _vfma(f2, u, s)  # noqa: E702
                s = w[k + 7]; b3 = _vfma(b3, v, s); f3 = _vfma(f3, u, s)  # noqa: E702
                s = w[k + 8]; c0 = _vfma(c0, v, s); g0 = _vfma(g0, u, s)  # noqa: E702
                s = w[k + 9]; c1 = _vfma(c1, v, s); g1 = _vfma(g1, u, s)  # noqa: E702
                s = w[k + 10]; c2 = _vfma(c2, v, s); g2 = _vfma(g2, u, s)  # noqa: E702
                s = w[k + 11]; c3 = _vfma(c3, v, s); g3 = _vfma(g3, u, s)  # noqa: E702
            iy2, ix2 = _advance(iy, ix, 16, W)
            # output row 2*iy + kh, column 2*ix + kw
            _store_channel(out, n, m0, M, a0, a1, a2, a3, iy, ix, H, W, W, OW)
            _store_channel(out, n, m0, M, e0, e1, e2, e3, iy2, ix2, H, W, W, OW)
            _store_channel(out, n, m0 + 1, M, b0, b1, b2, b3, iy, ix, H, W, W, OW)
            _store_channel(out, n, m0 + 1, M, f0, f1, f2, f3, iy2, ix2, H, W, W, OW)
            _store_channel(out, n, m0 + 2, M, c0, c1, c2, c3, iy, ix, H, W, W, OW)
            _store_channel(out, n, m0 + 2, M, g0, g1, g2, g3, iy2, ix2, H, W, W, OW)
            iy, ix = _advance(iy2, ix2, 16, W)
        if L32 < L and pb == PB - 1:
            q = L32
            a0 = _vsplat(bias[m0]); a1 = a0; a2 = a0; a3 = a0  # noqa: E702
            b0 = _vsplat(bias[m0 + 1]); b1 = b0; b2 = b0; b3 = b0  # noqa: E702
            c0 = _vsplat(bias[m0 + 2]); c1 = c0; c2 = c0; c3 = c0  # noqa: E702
            for c in range(C):
                v = _vload(x, c * L + q)
                k = c * 12
                a0 = _vfma(a0, v, w[k]); a1 = _vfma(a1, v, w[k + 1])  # noqa: E702
                a2 = _vfma(a2, v, w[k + 2]); a3 = _vfma(a3, v, w[k + 3])  # noqa: E702
                b0 = _vfma(b0, v, w[k + 4]); b1 = _vfma(b1, v, w[k + 5])  # noqa: E702
                b2 = _vfma(b2, v, w[k + 6]); b3 = _vfma(b3, v, w[k + 7])  # noqa: E702
                c0 = _vfma(c0, v, w[k + 8]); c1 = _vfma(c1, v, w[k + 9])  # noqa: E702
                c2 = _vfma(c2, v, w[k + 10]); c3 = _vfma(c3, v, w[k + 11])  # noqa: E702
            _store_channel(out, n, m0, M, a0, a1, a2, a3, iy, ix, H, W, W, OW)
            _store_channel(out, n, m0 + 1, M, b0, b1, b2, b3, iy, ix, H, W, W, OW)
            _store_channel(out, n, m0 + 2, M, c0, c1, c2, c3, iy, ix, H, W, W, OW)


@njit(**SERIAL)
def _phases(ee, eo, oe, oo, v00, v01, v10, v11, w, k):
    """Add one input channel's contribution to the four output phases of one output channel: ``v00``..``v11``
    are the input at (iy, ix), (iy, ix+1), (iy+1, ix), (iy+1, ix+1); ``w[k:k+9]`` the packed taps."""
    ee = _vfma(ee, v00, w[k])
    eo = _vfma(_vfma(eo, v00, w[k + 1]), v01, w[k + 2])
    oe = _vfma(_vfma(oe, v00, w[k + 3]), v10, w[k + 4])
    oo = _vfma(_vfma(_vfma(_vfma(oo, v00, w[k + 5]), v01, w[k + 6]), v10, w[k + 7]), v11, w[k + 8])
    return ee, eo, oe, oo


@njit(**KERNEL)
def _conv_transpose_kernel_k3s2(xp, wp, bias, out, C, L, H, W, Q, P):
    """Kernel 3x3, stride 2, begin pads 1, out = 2H x 2W (pads 1 with output_padding 1, or SAME_LOWER).

    Output pixel (2*iy + a, 2*ix + b) takes kernel row 1 from input row iy when a = 0, rows 2 and 0 from
    input rows iy and iy+1 when a = 1; the same for columns. xp: (N, C*L) input, channel c stored from c*L
    with one zero column and one zero row appended (row length W+1), position q = iy*(W+1) + ix; L >= Q + W
    + 18 with zeros after the data; Q: positions computed, a multiple of 32 >= H*(W+1). wp: (MB, C*18) packed
    weights, per channel m of the block the taps [11, 12, 10, 21, 01, 22, 20, 02, 00] (kh kw) at
    wp[mb, c*18 + m*9 : c*18 + m*9 + 9]; bias: (MB*2,). Tasks: (n, chunk of ``P`` positions, block of 2
    output channels), the channel block varying fastest; each keeps 2 channels x 4 phases x 32 positions in
    registers.
    """
    N = xp.shape[0]
    MB = wp.shape[0]
    M = out.shape[1]
    W1 = W + 1
    OW = 2 * W
    PB = -(-Q // P)
    for t in prange(N * PB * MB):
        n, pb, m0, q0, iy, ix, x, w = _tile_task(t, xp, wp, PB, _MR3, P, W1)
        for q in range(q0, min(q0 + P, Q), 32):
            # channel m0: ee (even output row, even column), eo, oe, oo at positions q..q+15, then (p) q+16..q+31
            ee0 = _vsplat(bias[m0]); eo0 = ee0; oe0 = ee0; oo0 = ee0  # noqa: E702
            pee0 = ee0; peo0 = ee0; poe0 = ee0; poo0 = ee0  # noqa: E702
            ee1 = _vsplat(bias[m0 + 1]); eo1 = ee1; oe1 = ee1; oo1 = ee1  # noqa: E702
            pee1 = ee1; peo1 = ee1; poe1 = ee1; poo1 = ee1  # noqa: E702
            for c in range(C):
                p = c * L + q
                v00 = _vload(x, p)
                v01 = _vload(x, p + 1)
                v10 = _vload(x, p + W1)
                v11 = _vload(x, p + W1 + 1)
                u00 = _vload(x, p + 16)
                u01 = _vload(x, p + 17)
                u10 = _vload(x, p + W1 + 16)
                u11 = _vload(x, p + W1 + 17)
                k = c * 18
                ee0, eo0, oe0, oo0 = _phases(ee0, eo0, oe0, oo0, v00, v01, v10, v11, w, k)
                pee0, peo0, poe0, poo0 = _phases(pee0, peo0, poe0, poo0, u00, u01, u10, u11, w, k)
                ee1, eo1, oe1, oo1 = _phases(ee1, eo1, oe1, oo1, v00, v01, v10, v11, w, k + 9)
                pee1, peo1, poe1, poo1 = _phases(pee1, peo1, poe1, poo1, u00, u01, u10, u11, w, k + 9)
            # positions with ix == W (the appended zero column) or iy >= H are computed but not stored
            iy2, ix2 = _advance(iy, ix, 16, W1)
            _store_channel(out, n, m0, M, ee0, eo0, oe0, oo0, iy, ix, H, W, W1, OW)
            _store_channel(out, n, m0, M, pee0, peo0, poe0, poo0, iy2, ix2, H, W, W1, OW)
            _store_channel(out, n, m0 + 1, M, ee1, eo1, oe1, oo1, iy, ix, H, W, W1, OW)
            _store_channel(out, n, m0 + 1, M, pee1, peo1, poe1, poo1, iy2, ix2, H, W, W1, OW)
            iy, ix = _advance(iy2, ix2, 16, W1)


@njit(**SERIAL)
def _col2im_channel(cols, r0, o, ID, IH, IW, OD, OH, OW, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw):
    """Scatter-add the K rows ``cols[r0:r0+K]`` (one output channel) into ``o`` (its flat spatial output)."""
    for kd in range(KD):
        for kh in range(KH):
            for kw in range(KW):
                c = cols[r0 + (kd * KH + kh) * KW + kw]
                ow0 = kw * dw - pw
                # input columns iw whose output column iw*sw + ow0 falls inside [0, OW)
                iw_lo = 0 if ow0 >= 0 else (-ow0 + sw - 1) // sw
                iw_hi = 0 if OW - 1 - ow0 < 0 else min(IW, (OW - 1 - ow0) // sw + 1)
                if iw_hi <= iw_lo:
                    continue
                for iz in range(ID):
                    oz = iz * sd + kd * dd - pd
                    if oz < 0 or oz >= OD:
                        continue
                    for iy in range(IH):
                        oy = iy * sh + kh * dh - ph
                        if oy < 0 or oy >= OH:
                            continue
                        ob = (oz * OH + oy) * OW + ow0
                        ib = (iz * IH + iy) * IW
                        if sw == 1:
                            for iw in range(iw_lo, iw_hi):
                                o[ob + iw] += c[ib + iw]
                        elif sw == 2:
                            for iw in range(iw_lo, iw_hi):
                                o[ob + 2 * iw] += c[ib + iw]
                        else:
                            for iw in range(iw_lo, iw_hi):
                                o[ob + iw * sw] += c[ib + iw]


@njit(**KERNEL)
def _conv_transpose_kernel(x, wt, bias, out, mc, geo):
    """out[n, g*Mg + m] = bias[...] + col2im(wt[g, m*K:(m+1)*K] @ x[n, g]).

    x: (N, G, Cg, Lin); wt: (G, Mg*K, Cg); bias: (M,); out: (N, M, Lout) -- every array C-contiguous; geo: the
    window geometry (``ops/_geometry.window_array``: kernel, strides, dilations, begin pads, output and input
    sizes). Tasks: (n, g, chunk of ``mc`` output channels of the group), each with its own column buffer.
    """
    ID, IH, IW = geo[G_ID], geo[G_IH], geo[G_IW]
    OD, OH, OW = geo[G_OD], geo[G_OH], geo[G_OW]
    KD, KH, KW = geo[G_KD], geo[G_KH], geo[G_KW]
    sd, sh, sw = geo[G_SD], geo[G_SH], geo[G_SW]
    dd, dh, dw = geo[G_DD], geo[G_DH], geo[G_DW]
    pd, ph, pw = geo[G_PD], geo[G_PH], geo[G_PW]
    N = x.shape[0]
    G = x.shape[1]
    lin = x.shape[3]
    K = KD * KH * KW
    Mg = wt.shape[1] // K
    nchunks = (Mg + mc - 1) // mc
    for t in prange(N * G * nchunks):
        n = t // (G * nchunks)
        rem = t - n * G * nchunks
        g = rem // nchunks
        m0 = (rem - g * nchunks) * mc
        m1 = min(Mg, m0 + mc)
        rows = (m1 - m0) * K
        cols = np.empty((rows, lin), dtype=out.dtype)
        _blas.gemm(wt[g, m0 * K:m1 * K, :], x[n, g], cols, 1.0, 0.0, False, False)
        for m in range(m0, m1):
            o = out[n, g * Mg + m]
            o[:] = bias[g * Mg + m]
            _col2im_channel(cols, (m - m0) * K, o, ID, IH, IW, OD, OH, OW, KD, KH, KW, sd, sh, sw, dd, dh, dw,
                            pd, ph, pw)
