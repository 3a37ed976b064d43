"""Pooling kernels (the ops, their geometry and the tap tables are in ``ops/pool.py``).

One kernel per reduction handles 1, 2 and 3 spatial axes on (N*C, D0, D1, D2) with leading size-1 axes. The
valid taps of every window are precomputed per axis (``lo[o] <= j < hi[o]``), so the kernels loop over
in-bounds taps only and never test bounds. The loops go "rows then window": for one output row, each
contributing input row is swept once and every output column reduces its taps from that row.
"""

from __future__ import annotations

import numpy as np

from onnumba.ops._geometry import G_DD, G_DH, G_DW, G_PD, G_PH, G_PW, G_SD, G_SH, G_SW
from onnumba.ops._numba import INLINE, KERNEL, SERIAL_IEEE, njit, prange



@njit(**INLINE)
def _fmax(a, b):
    """max(a, b) with NaN propagating from either side (IEEE maximum, numpy's max, the spec's max pooling);
    a plain ``a if a > b else b`` keeps or drops a NaN depending on the argument order."""
    return a if (a > b or a != a) else b


@njit(**INLINE)
def _accumulate(acc, src, n, is_max):
    """acc[i] = max(src[i], acc[i]) (NaN propagating) or acc[i] + src[i] for i < n: one more window row."""
    if is_max:
        for i in range(n):
            u = src[i]
            z = acc[i]
            acc[i] = _fmax(u, z)
    else:
        for i in range(n):
            acc[i] += src[i]

@njit(**SERIAL_IEEE)
def _pool_planes(x, out, pl0, pl1, lo1, hi1, s1, d1, p1, den1, k2, s2, d2, p2, den2, is_max, init):
    """Max / average pooling over the last two axes of x (P, H, W) -> out (P, OH, OW), planes pl0..pl1.

    Serial; :func:`_pool_kernel_plane` runs it on chunks of planes in parallel. Separable: per output row, the
    window's in-bounds input rows (``lo1 <= j < hi1``) are reduced into the row buffer ``v`` (contiguous,
    vectorized), whose cell ``i`` holds input column ``i - p2``; its pad cells hold the identity, written once,
    so the pass along W needs no bounds test. The common windows (2 or 3 rows; 2 or 3 columns at stride 1 or 2)
    have their own loops with literal offsets, which LLVM vectorizes. ``den1``/``den2`` are the per-axis
    divisors of an average (NaN where a window counts no tap).
    """
    w_n = x.shape[2]
    oh_n, ow_n = out.shape[1], out.shape[2]
    wp = (ow_n - 1) * s2 + (k2 - 1) * d2 + 1
    c0 = min(max(p2, 0), wp)
    c1 = max(min(p2 + w_n, wp), c0)
    w0 = max(c0 - p2, 0)
    m = c1 - c0
    hmode = 0
    if d2 == 1 and k2 == 2 and s2 == 2:
        hmode = 1
    elif d2 == 1 and k2 == 3 and s2 == 2:
        hmode = 2
    elif d2 == 1 and k2 == 3 and s2 == 1:
        hmode = 3
    v = np.empty(wp, out.dtype)
    for i in range(c0):
        v[i] = init
    for i in range(c1, wp):
        v[i] = init
    vm = v[c0:c1]
    for pl in range(pl0, pl1):
        xs = x[pl]
        o = out[pl]
        for oh in range(oh_n):
            lo = lo1[oh]
            nr = hi1[oh] - lo
            r = oh * s1 - p1 + lo * d1
            # along H: the window's nr in-bounds rows r, r + d1, ... into vm
            if nr <= 0:
                for i in range(m):
                    vm[i] = init
            elif nr == 1:
                a = xs[r, w0:]
                for i in range(m):
                    vm[i] = a[i]
            elif nr == 2:
                a = xs[r, w0:]
                b = xs[r + d1, w0:]
                if is_max:
                    for i in range(m):
                        vm[i] = _fmax(a[i], b[i])
                else:
                    for i in range(m):
                        vm[i] = a[i] + b[i]
            elif nr == 3:
                a = xs[r, w0:]
                b = xs[r + d1, w0:]
                e = xs[r + 2 * d1, w0:]
                if is_max:
                    for i in range(m):
                        u = _fmax(a[i], b[i])
                        vm[i] = _fmax(u, e[i])
                else:
                    for i in range(m):
                        vm[i] = a[i] + b[i] + e[i]
            else:
                a = xs[r, w0:]
                for i in range(m):
                    vm[i] = a[i]
                for j in range(1, nr):
                    _accumulate(vm, xs[r + j * d1, w0:], m, is_max)
            # along W: windows of k2 cells of v at stride s2
            dst = o[oh]
            if hmode == 1:
                if is_max:
                    for q in range(ow_n):
                        j = 2 * q
                        dst[q] = _fmax(v[j], v[j + 1])
                else:
                    for q in range(ow_n):
                        j = 2 * q
                        dst[q] = v[j] + v[j + 1]
            elif hmode == 2:
                if is_max:
                    for q in range(ow_n):
                        j = 2 * q
                        u = _fmax(v[j], v[j + 1])
                        dst[q] = _fmax(u, v[j + 2])
                else:
                    for q in range(ow_n):
                        j = 2 * q
                        dst[q] = v[j] + v[j + 1] + v[j + 2]
            elif hmode == 3:
                if is_max:
                    for q in range(ow_n):
                        u = _fmax(v[q], v[q + 1])
                        dst[q] = _fmax(u, v[q + 2])
                else:
                    for q in range(ow_n):
                        dst[q] = v[q] + v[q + 1] + v[q + 2]
            else:
                for q in range(ow_n):
                    dst[q] = v[q * s2]
                for j in range(1, k2):
                    off = j * d2
                    if is_max:
                        for q in range(ow_n):
                            u = v[q * s2 + off]
                            z = dst[q]
                            dst[q] = _fmax(u, z)
                    else:
                        for q in range(ow_n):
                            dst[q] += v[q * s2 + off]
            if not is_max:
                dh = den1[oh]
                for q in range(ow_n):
                    dst[q] = dst[q] / (dh * den2[q])


@njit(**KERNEL)
def _pool_kernel_plane(x, out, lo1, hi1, s1, d1, p1, den1, k2, s2, d2, p2, den2, is_max, init, n_chunks):
    """:func:`_pool_planes` over n_chunks chunks of planes in parallel (a small driver: Numba's parallel
    passes never see the reduction loops, which are compiled once, serially)."""
    p_n = x.shape[0]
    per = (p_n + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        _pool_planes(x, out, c * per, min(p_n, (c + 1) * per), lo1, hi1, s1, d1, p1, den1, k2, s2, d2, p2, den2,
                     is_max, init)


@njit(**KERNEL)
def _pool_kernel_outer(x, out, lo, hi, s, d, p, den, is_max, init):
    """Max / average pooling along the middle axis of x (A, L, B) -> out (A, O, B) (the first of 3 spatial
    axes), vectorized over the contiguous B."""
    a_n, b_n = x.shape[0], x.shape[2]
    o_n = out.shape[1]
    for t in prange(a_n * o_n):
        a = t // o_n
        o = t - a * o_n
        dst = out[a, o]
        for q in range(b_n):
            dst[q] = init
        for j in range(lo[o], hi[o]):
            _accumulate(dst, x[a, o * s - p + j * d], b_n, is_max)
        if not is_max:
            dv = den[o]
            for q in range(b_n):
                dst[q] = dst[q] / dv


@njit(**KERNEL)
def _maxpool_kernel_indices(x, out, idx, lo0, hi0, lo1, hi1, lo2, hi2, g, init, col_major):
    """MaxPool with its Indices output: x (NC, D0, D1, D2) -> out, idx (NC, O0, O1, O2); lo*/hi* the valid taps
    per output position and axis, ``g`` the strides, dilations and begin pads (``ops/_geometry.window_array``)."""
    s0, s1, s2 = g[G_SD], g[G_SH], g[G_SW]
    d0, d1, d2 = g[G_DD], g[G_DH], g[G_DW]
    p0, p1, p2 = g[G_PD], g[G_PH], g[G_PW]
    nc_n, n0, n1, n2 = x.shape
    o0_n, o1_n, o2_n = out.shape[1], out.shape[2], out.shape[3]
    plane = n0 * n1 * n2
    for t in prange(nc_n * o0_n * o1_n):
        nc = t // (o0_n * o1_n)
        r = t - nc * (o0_n * o1_n)
        o0 = r // o1_n
        o1 = r - o0 * o1_n
        orow = out[nc, o0, o1]
        irow = idx[nc, o0, o1]
        for o2 in range(o2_n):
            orow[o2] = init
            irow[o2] = -1
        # row-major window order with a strict '>': the first maximum wins (a NaN counts as the maximum, as in
        # the max of the other paths)
        for j0 in range(lo0[o0], hi0[o0]):
            i0 = o0 * s0 - p0 + j0 * d0
            for j1 in range(lo1[o1], hi1[o1]):
                i1 = o1 * s1 - p1 + j1 * d1
                row = x[nc, i0, i1]
                for o2 in range(o2_n):
                    base = o2 * s2 - p2
                    m = orow[o2]
                    best = irow[o2]
                    for j2 in range(lo2[o2], hi2[o2]):
                        i2 = base + j2 * d2
                        v = row[i2]
                        if best < 0 or (m == m and (v > m or v != v)):  # the first NaN wins and stays
                            m = v
                            if col_major:
                                best = i0 + i1 * n0 + i2 * n0 * n1
                            else:
                                best = (i0 * n1 + i1) * n2 + i2
                    orow[o2] = m
                    irow[o2] = best
        for o2 in range(o2_n):
            if irow[o2] >= 0:
                irow[o2] += nc * plane


@njit(**SERIAL_IEEE)
def _global_pool_rows(x, out, r0, r1, scale, is_max):
    """out[r] = max of x[r], or sum of x[r] / scale, for the contiguous rows r0..r1 of x (R, n).

    Each row is reduced in 16 independent lanes (a fixed-length inner loop LLVM turns into one vector
    operation), then the lanes are combined.
    """
    n = x.shape[1]
    n16 = n - n % 16
    acc = np.empty(16, x.dtype)
    for r in range(r0, r1):
        src = x[r]
        if is_max:
            if n16 == 0:
                m = src[0]
            else:
                for ln in range(16):
                    acc[ln] = src[ln]
                for i in range(16, n16, 16):
                    for ln in range(16):
                        v = src[i + ln]
                        # a NaN is taken and then kept (v > NaN is false): max propagates NaN, as the spec's max
                        acc[ln] = v if (v > acc[ln] or v != v) else acc[ln]
                m = acc[0]
                for ln in range(1, 16):
                    m = acc[ln] if (acc[ln] > m or acc[ln] != acc[ln]) else m
            for i in range(n16, n):
                v = src[i]
                m = v if (v > m or v != v) else m
            out[r] = m
        else:
            for ln in range(16):
                acc[ln] = 0
            s = acc[0]  # a zero of the data's type (not acc[0] - acc[0] after summing: inf - inf is NaN)
            for i in range(0, n16, 16):
                for ln in range(16):
                    acc[ln] += src[i + ln]
            for i in range(n16, n):
                s += src[i]
            for ln in range(0, 16, 2):
                s += acc[ln] + acc[ln + 1]
            out[r] = s / scale


@njit(**KERNEL)
def _global_pool_kernel(x, out, scale, is_max, n_chunks):
    """:func:`_global_pool_rows` over n_chunks chunks of rows in parallel."""
    rows = x.shape[0]
    per = (rows + n_chunks - 1) // n_chunks
    for c in prange(n_chunks):
        _global_pool_rows(x, out, c * per, min(rows, (c + 1) * per), scale, is_max)
