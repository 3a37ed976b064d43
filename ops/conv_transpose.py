"""ConvTranspose (opsets 1, 11, 22): 1-d, 2-d and 3-d, groups, dilations, strides, pads, auto_pad,
output_padding and output_shape.

Two stride-2 fast paths (2-d, group 1, float32 / float16, output exactly twice the input):

* ``k2s2`` -- kernel 2x2, no padding (the U-Net upsampling): every input pixel owns one 2x2 output block, so
  the op is four 1x1 convolutions (one per tap) whose results interleave.
* ``k3s2`` -- kernel 3x3, begin pads 1 (pads 1 + output_padding 1, or SAME_LOWER): the sub-pixel split of
  the transposed convolution into four small ordinary convolutions, one per output phase (1, 2, 2 and 4
  taps), reading the input at (iy, ix), (iy, ix+1), (iy+1, ix), (iy+1, ix+1).

Both keep a tile of (output channels x taps or phases x 32 input positions) in registers as 16-lane float32
vectors, start it from the bias, run over the input channels with one broadcast FMA per weight, then store
even and odd output columns interleaved straight into the NCHW output: no GEMM, no column buffer, no
col2im scatter-add. Tasks are (image, chunk of positions, channel block) with the channel block fastest, so a
chunk of the input stays in cache. The tile is 2.5-3x faster than OpenBLAS's AVX2 sgemm on these shapes.

Every other geometry runs the generic path (shared/PERFORMANCE.md): for each (image n, group g, chunk of
output channels) a ``prange`` task computes ``cols = W_g[:, chunk]^T @ X[n, g]`` with single-threaded BLAS
(``ops/kernels/blas.py``) into a task-local buffer, then scatters ``cols`` into its own output channels (col2im).
1-d and 2-d inputs run through it as 3-d with leading unit spatial axes. float32 and float64 are computed
natively, float16 in float32. W is rearranged for its kernel once at plan time when it is a constant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from onnumba.ops.kernels import blas as _blas
from onnumba.ops._common import FLOATS, check_dtype, check_size, require_input
from onnumba.ops._geometry import AUTO_PADS, GeometryError, Padding, check_window, conv_transpose_geometry
from onnumba.ops._numba import KERNEL, SERIAL, njit, num_threads, prange
# 16-lane float32 vectors (see ops/kernels/simd.py): the stride-2 paths keep their tile of accumulators in registers
from onnumba.ops.kernels.simd import vfma as _vfma, vload as _vload, vsplat as _vsplat, vstore as _vstore, \
    vstore_lanes as _vstore_lanes, vzip_hi as _vzip_hi, vzip_lo as _vzip_lo
from onnumba.registry import Op, TensorInfo, register

#: largest column buffer of one task, in elements (float32: 8 MiB)
_COLS_MAX = 2 * 1024 * 1024


@dataclass(frozen=True)
class ConvTransposeAttrs:
    auto_pad: str = "NOTSET"
    group: int = 1
    kernel_shape: tuple | None = None
    strides: tuple | None = None
    dilations: tuple | None = None
    pads: tuple | None = None
    output_padding: tuple | None = None
    output_shape: tuple | None = None
    #: filled by ``bind``: resolved geometry, padded to 3 spatial axes (leading unit axes for 1-d / 2-d)
    out_shape: tuple | None = None
    geom: tuple | None = None
    #: filled by ``bind``: which kernel runs ("k2s2", "k3s2" or "generic", see ``_fast_path``)
    path: str = "generic"
    #: (W it was packed from, packed W) when W is a plan-time constant, so ``run`` does not repack it
    packed: tuple | None = field(default=None, compare=False, repr=False)


# ----------------------------------------------------------------------------------------------- stride-2 kernels
#: output channels per register tile: 3x3 kernel (2 channels x 4 phases x 32 positions) and 2x2 kernel (3
#: channels x 4 taps x 32 positions: 24 accumulators, half a broadcast per FMA; 260 vs 220 GFLOP/s measured)
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
        n = t // (PB * MB)
        r = t - n * PB * MB
        pb = r // MB
        mb = r - pb * MB
        x = xp[n]
        w = wp[mb]
        m0 = mb * _MR2
        q0 = pb * P
        iy = q0 // W
        ix = q0 - iy * W
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
        n = t // (PB * MB)
        r = t - n * PB * MB
        pb = r // MB
        mb = r - pb * MB
        x = xp[n]
        w = wp[mb]
        m0 = mb * _MR3
        q0 = pb * P
        iy = q0 // W1
        ix = q0 - iy * W1
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
def _conv_transpose_kernel(x, wt, bias, out, mc, ID, IH, IW, OD, OH, OW, KD, KH, KW, sd, sh, sw, dd, dh, dw,
                           pd, ph, pw):
    """out[n, g*Mg + m] = bias[...] + col2im(wt[g, m*K:(m+1)*K] @ x[n, g]).

    x: (N, G, Cg, Lin); wt: (G, Mg*K, Cg); bias: (M,); out: (N, M, Lout) -- every array C-contiguous.
    Tasks: (n, g, chunk of ``mc`` output channels of the group), each with its own column buffer.
    """
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


# ----------------------------------------------------------------------------------------------- op

def _ints(node, name):
    v = node.attr(name, None, "ints")
    return None if v is None else tuple(v)


@register("ConvTranspose", versions=(1, 11, 22))
class ConvTranspose(Op):
    """Transposed convolution: X (N, C, D1, ...) with W (C, M/group, k1, ...) and optional B (M,).

    Output sizes and pads follow the spec (``ops/_geometry.conv_transpose_geometry``): explicit pads crop
    the full result ``s*(in-1) + output_padding + (k-1)*d + 1``; ``output_shape`` (spatial sizes, or N, C
    and the spatial sizes) derives the pads, and a negative total (an output larger than the full result)
    extends it with zeros (plus bias); SAME_* gives ``in*s``. 1 to 3 spatial axes.
    """

    @classmethod
    def parse_attrs(cls, node) -> ConvTransposeAttrs:
        auto_pad = node.attr("auto_pad", "NOTSET", "str")
        if auto_pad not in AUTO_PADS:
            raise node.error(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", attribute="auto_pad")
        group = node.attr("group", 1, "int")
        if group < 1:
            raise node.error(f"group must be >= 1, got {group}", attribute="group")
        return ConvTransposeAttrs(auto_pad, group, _ints(node, "kernel_shape"), _ints(node, "strides"),
                                  _ints(node, "dilations"), _ints(node, "pads"), _ints(node, "output_padding"),
                                  _ints(node, "output_shape"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx) -> ConvTransposeAttrs:
        x = require_input(node, inputs, 0, "X")
        w = require_input(node, inputs, 1, "W")
        check_dtype(node, x, 0, FLOATS, "X")
        if w.dtype != x.dtype:
            raise node.error(f"W has element type {w.dtype.name} but X has {x.dtype.name}; they must match",
                             input=1)
        if x.rank < 3 or x.rank > 5:
            raise node.error(f"X must have shape (N, C, D1[, D2[, D3]]) with 1 to 3 spatial axes, got shape "
                             f"{list(x.shape)}", input=0)
        n = x.rank - 2
        N, C = x.shape[:2]
        in_sizes = x.shape[2:]
        G = attrs.group
        if w.rank != x.rank:
            raise node.error(f"W must have rank {x.rank} (C, M/group, k1, ...) like X, got shape {list(w.shape)}",
                             input=1)
        if C % G:
            raise node.error(f"group {G} does not divide the {C} input channels of X", attribute="group")
        if w.shape[0] != C:
            raise node.error(f"W must have shape (C, M/group, k...) with C={C} (X's channels), got "
                             f"{list(w.shape)}", input=1)
        kernel = tuple(w.shape[2:])
        if attrs.kernel_shape is not None and tuple(attrs.kernel_shape) != kernel:
            raise node.error(f"kernel_shape {list(attrs.kernel_shape)} does not match W's spatial shape "
                             f"{list(kernel)}", attribute="kernel_shape")
        if any(d < 1 for d in in_sizes):
            raise node.error(f"X has an empty spatial axis: shape {list(x.shape)}", input=0)
        M = w.shape[1] * G
        if node.has_input(2):
            b = inputs[2]
            if b.dtype != x.dtype or b.shape != (M,):
                raise node.error(f"B must be a 1-d tensor of {M} {x.dtype.name} values (one per output channel), "
                                 f"got {b.dtype.name}{list(b.shape)}", input=2)
        out_shape_attr = attrs.output_shape
        if out_shape_attr is not None and len(out_shape_attr) == n + 2:
            if tuple(out_shape_attr[:2]) != (N, M):
                raise node.error(f"output_shape {list(out_shape_attr)} gives (N, C) = {list(out_shape_attr[:2])}"
                                 f" but the output has ({N}, {M})", attribute="output_shape")
            out_shape_attr = out_shape_attr[2:]
        try:
            _, strides, dilations = check_window(kernel, attrs.strides or (1,) * n, attrs.dilations or (1,) * n, n)
            out_sizes, padding = _conv_transpose_geometry(
                in_sizes, kernel, strides, dilations, auto_pad=attrs.auto_pad, pads=attrs.pads,
                output_padding=attrs.output_padding, output_shape=out_shape_attr)
        except GeometryError as e:
            raise node.error(str(e), attribute=e.attribute) from None
        out_shape = (N, M) + tuple(out_sizes)
        check_size(node, out_shape)
        lead = 3 - n
        pad3 = lambda v, fill: (fill,) * lead + tuple(v)  # noqa: E731
        geom = (pad3(in_sizes, 1), pad3(out_sizes, 1), pad3(kernel, 1), pad3(strides, 1), pad3(dilations, 1),
                pad3(padding.begins, 0))
        path = _fast_path(geom, G, x.dtype)
        w_const = consts[1] if len(consts) > 1 else None
        packed = None if w_const is None else (w_const, _pack(path, w_const, G, x.dtype))
        return ConvTransposeAttrs(attrs.auto_pad, G, attrs.kernel_shape, tuple(strides), tuple(dilations),
                                  padding.onnx_pads, attrs.output_padding, attrs.output_shape, out_shape, geom,
                                  path, packed)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        dtype = x.dtype
        cdt = np.float32 if dtype == np.float16 else dtype
        ins, outs, ks, ss, ds, ps = attrs.geom
        G = attrs.group
        N, C = x.shape[:2]
        M = w.shape[1] * G
        lin = ins[0] * ins[1] * ins[2]
        lout = outs[0] * outs[1] * outs[2]
        packed = attrs.packed
        wp = packed[1] if packed is not None and packed[0] is w else _pack(attrs.path, w, G, dtype)
        bias = np.zeros(M, cdt) if b is None else np.ascontiguousarray(b, dtype=cdt)
        out = np.empty((N, M, lout), dtype=cdt)
        if out.size == 0:
            pass
        elif attrs.path == "k2s2":
            H, W = ins[1], ins[2]
            L = -(-lin // 16) * 16
            if L == lin:
                xp = np.ascontiguousarray(x, dtype=np.float32)
            else:
                xp = np.zeros((N, C, L), np.float32)
                xp[:, :, :lin] = x.reshape(N, C, lin)
            _conv_transpose_kernel_k2s2(xp.reshape(N, C * L), wp, _pad_bias(bias, wp.shape[0], _MR2), out, C, L, H, W,
                                        _chunk_positions(C, L))
        elif attrs.path == "k3s2":
            H, W = ins[1], ins[2]
            Q = -(-(H * (W + 1)) // 32) * 32
            L = Q + W + 18
            xp = np.zeros((N, C, L), np.float32)
            xp[:, :, :H * (W + 1)].reshape(N, C, H, W + 1)[..., :W] = x.reshape(N, C, H, W)
            _conv_transpose_kernel_k3s2(xp.reshape(N, C * L), wp, _pad_bias(bias, wp.shape[0], _MR3), out, C, L, H, W, Q,
                                        _chunk_positions(C, Q))
        else:
            Cg = C // G
            x4 = np.ascontiguousarray(x.reshape(N, G, Cg, lin), dtype=cdt)
            mc = _chunk_channels(N * G, M // G, ks[0] * ks[1] * ks[2] * lin)
            _blas.ensure_ready()
            _conv_transpose_kernel(x4, wp, bias, out, mc, *ins, *outs, *ks, *ss, *ds, *ps)
        out = out.reshape(attrs.out_shape)
        return [out.astype(dtype) if dtype != cdt else out]


def _fast_path(geom, group, dtype) -> str:
    """The kernel for a resolved geometry: "k2s2" (2-d, kernel 2x2, stride 2, no padding: the U-Net
    upsampling), "k3s2" (2-d, kernel 3x3, stride 2, begin pads 1, output twice the input), else "generic"
    (GEMM + col2im: every other geometry, groups, dilations, float64)."""
    ins, outs, ks, ss, ds, ps = geom
    if group != 1 or dtype not in (np.float32, np.float16) or ks[0] != 1 or ins[0] != 1:
        return "generic"
    if ss[1:] != (2, 2) or outs[1:] != (2 * ins[1], 2 * ins[2]):
        return "generic"
    if ks[1:] == (2, 2) and ps[1:] == (0, 0):
        return "k2s2"
    if ks[1:] == (3, 3) and ps[1:] == (1, 1) and ds[1:] == (1, 1):
        return "k3s2"
    return "generic"


def _chunk_positions(C, L) -> int:
    """Input positions per task of the stride-2 kernels (``L`` positions in all): a multiple of 32 whose ``C``
    channels take at most about 256 KiB, so the chunk stays in L2 while every channel block reads it; chunks
    of equal size, so the threads' shares of the tasks are equal too."""
    most = max(32, (65536 // max(C, 1)) // 32 * 32)
    chunks = -(-L // most)
    return -(-(-(-L // chunks)) // 32) * 32


def _pad_bias(bias, MB, mr):
    """The bias as float32 padded with zeros to the ``MB`` blocks of ``mr`` channels of a stride-2 kernel."""
    bz = np.zeros(MB * mr, np.float32)
    bz[:bias.shape[0]] = bias
    return bz


#: kernel taps of the "k3s2" path in the order its kernel reads them, as (kh, kw)
_K3S2_TAPS = ((1, 1), (1, 2), (1, 0), (2, 1), (0, 1), (2, 2), (2, 0), (0, 2), (0, 0))


def _pack(path, w, group, dtype) -> np.ndarray:
    """W (C, M/group, k...) rearranged for the path's kernel (see the kernels' docstrings)."""
    cdt = np.float32 if dtype == np.float16 else dtype
    if path == "generic":
        C, Mg = w.shape[:2]
        K = int(np.prod(w.shape[2:]))
        # (C, Mg, K) -> (G, Mg*K, Cg): rows are (output channel, kernel offset), the GEMM's left operand
        return np.ascontiguousarray(w.reshape(group, C // group, Mg * K).transpose(0, 2, 1), dtype=cdt)
    C, M = w.shape[:2]
    mr = _MR2 if path == "k2s2" else _MR3
    MB = -(-M // mr)
    if path == "k2s2":
        taps = w.reshape(C, M, 4)
    else:
        taps = np.stack([w[:, :, kh, kw] for kh, kw in _K3S2_TAPS], axis=-1)
    T = taps.shape[-1]
    wz = np.zeros((C, MB * mr, T), np.float32)
    wz[:, :M] = taps
    return np.ascontiguousarray(wz.reshape(C, MB, mr * T).transpose(1, 0, 2)).reshape(MB, C * mr * T)


def _conv_transpose_geometry(in_sizes, kernel, strides, dilations, *, auto_pad, pads, output_padding,
                             output_shape) -> tuple:
    """``_geometry.conv_transpose_geometry`` (validation, output sizes) with the spec's ``total/2`` read as
    floor division when output_shape or SAME_* derive the pads.

    A negative odd total (output larger than the full result) then puts the extra zero row at the end for
    NOTSET / SAME_LOWER and at the start for SAME_UPPER: this is what onnx's reference implementation and
    its node case ``test_convtranspose_output_shape`` (total -1, zero row last) do. The shared function
    truncates toward zero, which fails that case.
    """
    out, padding = conv_transpose_geometry(in_sizes, kernel, strides, dilations, auto_pad=auto_pad, pads=pads,
                                           output_padding=output_padding, output_shape=output_shape)
    if not output_shape and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        return out, padding
    op = tuple(output_padding) if output_padding else (0,) * len(in_sizes)
    begins, ends = [], []
    for i, k, s, d, o, size in zip(in_sizes, kernel, strides, dilations, op, out):
        total = s * (i - 1) + o + (k - 1) * d + 1 - size
        b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        begins.append(b)
        ends.append(total - b)
    return out, Padding(tuple(begins), tuple(ends))


def _chunk_channels(tasks_outer: int, Mg: int, per_channel: int) -> int:
    """Output channels per task: as many as possible (BLAS is most efficient on tall GEMMs: one task of 32
    channels ran 2.5x faster than 32 tasks of one at 1 thread), split only so every thread gets a task, and
    capped so one task's column buffer stays under ``_COLS_MAX`` elements."""
    threads = max(1, num_threads())
    splits = -(-threads // max(tasks_outer, 1))  # chunks per (n, g) so that tasks >= threads
    mc = -(-Mg // splits)
    return max(1, min(mc, _COLS_MAX // max(per_channel, 1)))
