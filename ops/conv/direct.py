"""Direct convolution for one input channel per group: depthwise (any channel multiplier) and single-channel convs.

A direct NCHW kernel over a zero-padded copy of the input plane, one output row at a time (3x3 in one pass of
9 taps), vectorised along the row; no layout round trip, so a depthwise Conv followed by a 1x1 Conv (a
separable conv) stays NCHW throughout. Geometry comes as one int64 array ``g`` (``ops/_geometry.G_*``).
"""

from __future__ import annotations

import numpy as np
from numba import uintp

from onnumba.ops._geometry import G_DD, G_DH, G_DW, G_OD, G_OH, G_OW, G_PD, G_PH, G_PW, G_SD, G_SH, G_SW
from onnumba.ops._numba import KERNEL, SERIAL, njit, prange
from onnumba.ops.conv.im2col import _ow_range
from onnumba.ops.kernels.epilogue import activate, epilogue_row

#: the zero-padded plane is skipped (rows accumulate tap by tap over their valid columns instead) when it would
#: exceed this many times the input plane plus the output plane, plus ``_PLANE_SLACK`` elements: huge pads or
#: strides would make the copy cost more than the convolution
_PLANE_RATIO = 4
_PLANE_SLACK = 4096


def padded_plane(in_hw, out3, k3, s3, d3) -> tuple:
    """(HP, WP) of the zero-padded plane ``_conv_kernel_direct`` copies each input plane into: the rows and
    columns the windows reach; (0, 0) to go without it (kernel depth > 1, or a plane far larger than the data)."""
    HP = (out3[1] - 1) * s3[1] + (k3[1] - 1) * d3[1] + 1
    WP = (out3[2] - 1) * s3[2] + (k3[2] - 1) * d3[2] + 1
    if k3[0] != 1 or HP * WP > _PLANE_RATIO * (in_hw[0] * in_hw[1] + out3[1] * out3[2]) + _PLANE_SLACK:
        return 0, 0
    return HP, WP


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
def _conv_kernel_direct(x, w5, bias, out, group, g, HP, WP, per, act, a0, a1):
    """One input channel per group (depthwise, any multiplier): x (N, C, D, H, W), w5 (M, 1, KD, KH, KW),
    out (N, M, OD, OH, OW); one chunk per ``per`` consecutive (n, m, od) jobs, its scratch buffers allocated
    once per chunk (a late depthwise layer has hundreds of channels of a few pixels each).

    With ``HP > 0`` (kernel depth 1; the caller bounds HP * WP) the input plane is first copied into a
    zero-padded (HP, WP) buffer, so every output row is computed over its full width without border
    tests (3x3 in a single pass of 9 taps). Otherwise rows accumulate tap by tap over their valid columns.
    Hot loops run in small helpers over slices indexed from 0, so Numba emits no negative-index
    wraparound and LLVM vectorises them.
    """
    njob = x.shape[0] * w5.shape[0] * g[G_OD]
    for chunk in prange((njob + per - 1) // per):
        _direct_chunk(x, w5, bias, out, group, g, HP, WP, chunk * per, min((chunk + 1) * per, njob), act, a0, a1)


@njit(**SERIAL)
def _conv_direct_serial(x, w5, bias, out, group, g, HP, WP, act, a0, a1):
    """``_conv_kernel_direct`` on the calling thread alone, as one chunk (no parallel region to enter)."""
    _direct_chunk(x, w5, bias, out, group, g, HP, WP, 0, x.shape[0] * w5.shape[0] * g[G_OD], act, a0, a1)


@njit(**SERIAL)
def _direct_chunk(x, w5, bias, out, group, g, HP, WP, j0, j1, act, a0, a1):
    """Jobs j0 .. j1 - 1 of ``_conv_kernel_direct`` with one set of scratch buffers."""
    D, W = x.shape[2], x.shape[4]
    M, KW = w5.shape[0], w5.shape[4]
    sd, sh, sw = g[G_SD], g[G_SH], g[G_SW]
    dh, dw = g[G_DH], g[G_DW]
    pd, ph, pw = g[G_PD], g[G_PH], g[G_PW]
    OD, OW = g[G_OD], g[G_OW]
    Mg = M // group
    buf = np.empty((max(HP, 1), max(WP, 1)), out.dtype)
    acc = np.empty(OW, out.dtype)
    los = np.empty(KW, np.int64)
    his = np.empty(KW, np.int64)
    for kw in range(KW):
        los[kw], his[kw] = _ow_range(kw, W, OW, sw, dw, pw)
    for job in range(j0, j1):
        od = job % OD
        m = (job // OD) % M
        n = job // (OD * M)
        idd = od * sd - pd
        if HP > 0 and idd >= 0 and idd < D:
            _plane_job(x[n, m // Mg, idd], out[n, m, od], w5[m, 0, 0], bias[m], buf, ph, pw, sh, sw, dh, dw,
                       act, a0, a1)
        else:
            _direct_job(x, w5, bias, out, job, Mg, g, HP, WP, buf, acc, los, his, act, a0, a1)


@njit(**SERIAL)
def _plane3x3_s1(buf, o, w, bv, dh, act, a0, a1):
    """o (OH, OW) = activate(3x3 stride-1 conv of the padded plane buf + bv), w (3, 3), row dilation dh: one
    pass per output row over 2-d arrays (no views, shapes from the arrays, so LLVM vectorises the row)."""
    w00, w01, w02 = w[0, 0], w[0, 1], w[0, 2]
    w10, w11, w12 = w[1, 0], w[1, 1], w[1, 2]
    w20, w21, w22 = w[2, 0], w[2, 1], w[2, 2]
    OH, OW = o.shape
    for oh in range(uintp(0), uintp(OH)):
        r1 = oh + dh
        r2 = oh + 2 * dh
        for t in range(uintp(0), uintp(OW)):
            o[oh, t] = activate(bv + w00 * buf[oh, t] + w01 * buf[oh, t + 1] + w02 * buf[oh, t + 2]
                                + w10 * buf[r1, t] + w11 * buf[r1, t + 1] + w12 * buf[r1, t + 2]
                                + w20 * buf[r2, t] + w21 * buf[r2, t + 1] + w22 * buf[r2, t + 2], act, a0, a1)


@njit(**SERIAL)
def _plane_job(xp, o, w, bv, buf, ph, pw, sh, sw, dh, dw, act, a0, a1):
    """One channel plane on 2-d arrays: xp (H, W) input, o (OH, OW) output, w (KH, KW); buf (HP, WP) receives
    the zero-padded plane (the windows never reach past it), then each output row accumulates the taps.
    Geometry in unsigned ints: Numba emits no negative-index wraparound for them, so the row loops vectorise."""
    H, W = xp.shape
    HP, WP = buf.shape
    OH, OW = o.shape
    KH, KW = w.shape
    uph, upw = uintp(ph), uintp(pw)
    ush, usw, udh, udw = uintp(sh), uintp(sw), uintp(dh), uintp(dw)
    for i in range(HP):
        for j in range(WP):
            buf[i, j] = 0.0
    for i in range(uintp(0), uintp(max(min(H, HP - ph), 0))):
        for j in range(uintp(0), uintp(max(min(W, WP - pw), 0))):
            buf[uph + i, upw + j] = xp[i, j]
    if KH == 3 and KW == 3 and sw == 1 and dw == 1:
        _plane3x3_s1(buf, o, w, bv, udh, act, a0, a1)
        return
    for oh in range(uintp(0), uintp(OH)):
        for t in range(OW):
            o[oh, t] = bv
        for kh in range(uintp(0), uintp(KH)):
            r = oh * ush + kh * udh
            for kw in range(uintp(0), uintp(KW)):
                wv = w[kh, kw]
                c = kw * udw
                if sw == 1:
                    for t in range(uintp(0), uintp(OW)):
                        o[oh, t] += wv * buf[r, c + t]
                else:
                    for t in range(uintp(0), uintp(OW)):
                        o[oh, t] += wv * buf[r, c + t * usw]
        if act != 0:
            for t in range(OW):
                o[oh, t] = activate(o[oh, t], act, a0, a1)


@njit(**SERIAL)
def _direct_job(x, w5, bias, out, job, Mg, g, HP, WP, buf, acc, los, his, act, a0, a1):
    """One (n, m, od) job of ``_conv_kernel_direct`` with the chunk's scratch buffers."""
    N, C, D, H, W = x.shape
    M, _, KD, KH, KW = w5.shape
    sd, sh, sw = g[G_SD], g[G_SH], g[G_SW]
    dd, dh, dw = g[G_DD], g[G_DH], g[G_DW]
    pd, ph, pw = g[G_PD], g[G_PH], g[G_PW]
    OD, OH, OW = g[G_OD], g[G_OH], g[G_OW]
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
            return
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
            # 2-d indexing, no row views: each view costs an atomic refcount pair, per row of every channel
            ih = i - ph
            for j in range(ncopy):
                buf[i, pw + j] = x[n, ci, idd0, ih, j]
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
        if three and sw == 1 and dw == 1:
            _plane3x3_s1(buf, out[n, m, od], w5[m, 0, 0], bv, dh, act, a0, a1)
            return
        for oh in range(OH):
            orow = out[n, m, od, oh]
            r = oh * sh
            if three:
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
        return
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


@njit(**KERNEL)
def _conv_kernel_dw_channels(x, wt, bias, out, g, per, act, a0, a1):
    """Depthwise 2-d conv (one output channel per input channel) on a small map, vectorised across channels:
    x (N, C, H, W), wt (KH, KW, C) the weights with the channel last, out (N, C, OH, OW); one chunk per ``per``
    channels of one image. A late mobile-net layer has hundreds of channels of a few pixels each, where a
    row-at-a-time kernel spends its time on per-channel set-up rather than on the few taps."""
    N, C, H, W = x.shape
    KH, KW = wt.shape[0], wt.shape[1]
    sh, sw = g[G_SH], g[G_SW]
    dh, dw = g[G_DH], g[G_DW]
    ph, pw = g[G_PH], g[G_PW]
    OH, OW = g[G_OH], g[G_OW]
    nblk = (C + per - 1) // per
    for job in prange(N * nblk):
        n = job // nblk
        c0 = (job % nblk) * per
        c1 = min(c0 + per, C)
        acc = np.empty(c1 - c0, out.dtype)
        for oh in range(OH):
            for ow in range(OW):
                for j in range(c1 - c0):
                    acc[j] = bias[c0 + j]
                for kh in range(KH):
                    ih = oh * sh - ph + kh * dh
                    if ih < 0 or ih >= H:
                        continue
                    for kw in range(KW):
                        iw = ow * sw - pw + kw * dw
                        if iw < 0 or iw >= W:
                            continue
                        wk = wt[kh, kw, c0:c1]
                        for j in range(c1 - c0):
                            acc[j] += wk[j] * x[n, c0 + j, ih, iw]
                for j in range(c1 - c0):
                    out[n, c0 + j, oh, ow] = activate(acc[j], act, a0, a1)


