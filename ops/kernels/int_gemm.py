"""Integer GEMM and im2col for the quantized ops (``ops/quantized_linear.py``): int32 operands, int32 sums.

Numerics only: callers validate every shape and index and allocate the outputs.
"""

from __future__ import annotations

from onnumba.ops._numba import KERNEL, njit, prange

#: the GEMM's cache tiles: a task owns _ROWS output rows; columns go in tiles of _NT (four int32 rows of it stay in
#: L1) and the inner dimension in chunks of _KC (a _KC x _NT block of B stays in L2 while the task's rows pass)
_ROWS, _NT, _KC = 16, 256, 128


@njit(**KERNEL)
def int_gemm_kernel(a, b, a_idx, b_idx, out):
    """out[t] = a[a_idx[t]] @ b[b_idx[t]] for int32 (Ba, M, K) and (Bb, K, N) into int32 (Bo, M, N).

    One prange task per _ROWS output rows of one batch entry; four rows at a time share each load of B. Sums
    wrap in int32 (the products of zero-point-centered 8-bit values fit; only the sum may overflow).
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
                while i + 4 <= r1:
                    o0 = om[i, j0:j1]
                    o1 = om[i + 1, j0:j1]
                    o2 = om[i + 2, j0:j1]
                    o3 = om[i + 3, j0:j1]
                    for kk in range(k0, k1):
                        a0 = am[i, kk]
                        a1 = am[i + 1, kk]
                        a2 = am[i + 2, kk]
                        a3 = am[i + 3, kk]
                        br = bm[kk, j0:j1]
                        for j in range(j1 - j0):
                            bv = br[j]
                            o0[j] += a0 * bv
                            o1[j] += a1 * bv
                            o2[j] += a2 * bv
                            o3[j] += a3 * bv
                    i += 4
                while i < r1:
                    o0 = om[i, j0:j1]
                    for kk in range(k0, k1):
                        a0 = am[i, kk]
                        br = bm[kk, j0:j1]
                        for j in range(j1 - j0):
                            o0[j] += a0 * br[j]
                    i += 1


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
