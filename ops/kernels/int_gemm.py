"""Integer GEMM and im2col for the quantized ops (``ops/quantized_linear.py``): int32 operands, int32 sums.

Numerics only: callers validate every shape and index and allocate the outputs.
"""

from __future__ import annotations

from onnumba.ops._numba import INLINE, KERNEL, njit, prange

#: the GEMM's cache tiles: a task owns _ROWS output rows; columns go in tiles of _NT (four int32 rows of it stay in
#: L1) and the inner dimension in chunks of _KC (a _KC x _NT block of B stays in L2 while the task's rows pass)
_ROWS, _NT, _KC = 16, 256, 128


@njit(**KERNEL)
def int_gemm_kernel(a, b, a_idx, b_idx, out):
    """out[t] = a[a_idx[t]] @ b[b_idx[t]] for int32 (Ba, M, K) and (Bb, K, N) into int32 (Bo, M, N).

    One prange task per _ROWS output rows of one batch entry. The micro-kernel updates four output rows from
    four rows of B at once (16 products per loaded B vector and per stored output vector); leftover rows and
    depths go one at a time. Sums wrap in int32: the products of zero-point-centered 8-bit values fit, only the
    sum may overflow, and wrapping at the store gives the same result as wrapping at every addition.
    """
    nb, m, n = out.shape
    k = a.shape[2]
    mblocks = (m + _ROWS - 1) // _ROWS
    for t in prange(nb * mblocks):
        bi = t // mblocks
        r0 = (t - bi * mblocks) * _ROWS
        r1 = min(r0 + _ROWS, m)
        am = a[a_idx[bi]]
        bm = b[b_idx[bi]]
        om = out[bi]
        for i in range(r0, r1):
            for j in range(n):
                om[i, j] = 0
        for j0 in range(0, n, _NT):
            j1 = min(j0 + _NT, n)
            for k0 in range(0, k, _KC):
                k1 = min(k0 + _KC, k)
                i = r0
                while i < r1:
                    nr = min(4, r1 - i)
                    kk = k0
                    if nr == 4:
                        _micro_4x4(am, bm, om, i, j0, j1, kk, k1)
                        kk += (k1 - k0) // 4 * 4
                    for r in range(i, i + nr):
                        o = om[r, j0:j1]
                        for k2 in range(kk, k1):
                            av = am[r, k2]
                            br = bm[k2, j0:j1]
                            for j in range(j1 - j0):
                                o[j] += av * br[j]
                    i += nr


@njit(**INLINE)
def _micro_4x4(am, bm, om, i, j0, j1, k0, k1):
    """Rows i..i+3 of om[:, j0:j1] += am[i:i+4, kk:kk+4] @ bm[kk:kk+4, j0:j1] for kk = k0, k0 + 4, ... < k1 - 3."""
    o0 = om[i, j0:j1]
    o1 = om[i + 1, j0:j1]
    o2 = om[i + 2, j0:j1]
    o3 = om[i + 3, j0:j1]
    kk = k0
    while kk + 4 <= k1:
        b0 = bm[kk, j0:j1]
        b1 = bm[kk + 1, j0:j1]
        b2 = bm[kk + 2, j0:j1]
        b3 = bm[kk + 3, j0:j1]
        a00, a01, a02, a03 = am[i, kk], am[i, kk + 1], am[i, kk + 2], am[i, kk + 3]
        a10, a11, a12, a13 = am[i + 1, kk], am[i + 1, kk + 1], am[i + 1, kk + 2], am[i + 1, kk + 3]
        a20, a21, a22, a23 = am[i + 2, kk], am[i + 2, kk + 1], am[i + 2, kk + 2], am[i + 2, kk + 3]
        a30, a31, a32, a33 = am[i + 3, kk], am[i + 3, kk + 1], am[i + 3, kk + 2], am[i + 3, kk + 3]
        for j in range(j1 - j0):
            v0 = b0[j]
            v1 = b1[j]
            v2 = b2[j]
            v3 = b3[j]
            o0[j] += a00 * v0 + a01 * v1 + a02 * v2 + a03 * v3
            o1[j] += a10 * v0 + a11 * v1 + a12 * v2 + a13 * v3
            o2[j] += a20 * v0 + a21 * v1 + a22 * v2 + a23 * v3
            o3[j] += a30 * v0 + a31 * v1 + a32 * v2 + a33 * v3
        kk += 4


@njit(**KERNEL)
def int_im2col_kernel(x, cols, kd, kh, kw, sd, sh, sw, dd, dh, dw, pd, ph, pw, od, oh, ow):
    """cols[(c, a, b, e), (z, y, x)] = x[c, z*sd - pd + a*dd, y*sh - ph + b*dh, x*sw - pw + e*dw] or 0 outside.

    ``x`` is one image (C, D, H, W) in int32 with its zero point already subtracted, so padding is 0. 1-d and
    2-d convolutions arrive with size-1 leading spatial axes.
    """
    c_in, d_in, h_in, w_in = x.shape
    khw = kh * kw
    kvol = kd * khw
    for r in prange(c_in * kvol):
        c = r // kvol
        rem = r - c * kvol
        a = rem // khw
        bb = (rem // kw) % kh
        e = rem % kw
        for zo in range(od):
            zi = zo * sd - pd + a * dd
            for yo in range(oh):
                yi = yo * sh - ph + bb * dh
                base = (zo * oh + yo) * ow
                if zi < 0 or zi >= d_in or yi < 0 or yi >= h_in:
                    for xo in range(ow):
                        cols[r, base + xo] = 0
                else:
                    for xo in range(ow):
                        xi = xo * sw - pw + e * dw
                        if xi >= 0 and xi < w_in:
                            cols[r, base + xo] = x[c, zi, yi, xi]
                        else:
                            cols[r, base + xo] = 0
