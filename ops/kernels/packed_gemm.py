"""Packed single-threaded float32 GEMM in Numba, with a fused epilogue; callable inside ``prange`` chunks.

``C[M, N] = epilogue(A[M, K] @ B[K, N])`` where A is the weights (M = output channels), packed once by
:func:`pack_a` (at plan time when constant), and B the activations or im2col columns (N = output pixels).

Why not BLAS: OpenBLAS runs its AVX2 'Haswell' kernels here (``OPENBLAS_CORETYPE`` is the user's choice and is
respected), and its edge kernels sum some rows in a different order, so output channels with identical weights
can differ by a few ulps (softmax over logits of 1e10 turns that into 0 / 1). This GEMM computes every output
element ``C[i, j]`` the same way wherever it falls in the tiling:

    acc = 0;  for k in 0..K-1:  acc = fma(A[i, k], B[k, j], acc);  C[i, j] = epilogue(acc)

one fused multiply-add per k, in order, whatever the tile (K blocks continue the same chain through C, an
exact float32 round trip). Edge tiles run the same full-width code on zero-padded packed panels and store
with masked stores. So rows of A that are equal give bitwise-equal rows of C.

Layout (a register tile of MR rows x NR columns, chosen per ISA below):

* packed A: K blocks of KC (the last may be shorter, ``kc``), each holding every row panel ``p`` of MR rows
  contiguously: ``ap[p0 * Mp + p * kc * MR + k * MR + r] = A[p * MR + r, p0 + k]`` with ``Mp`` = M rounded up
  to MR (rows past M zero), so the A block of one K block is one sequential stream.
* B is copied per (NC columns x KC rows) block into NR-column strips ``bp[(s * kc + k) * NR + j]``
  (columns past N zero), which stay in L2 while each A micro-panel (MR x KC) sits in L1.

Calling convention (flat arrays plus offsets, so kernels pass any block of a larger C-contiguous array):
:func:`gemm` ``(ap, M, K, b, boff, ldb, N, c, coff, ldc, bias, bias_off, has_bias, act, a0, a1)`` with
``b``/``c`` 1-d C-contiguous float32 arrays (e.g. ``x.reshape(-1)``): ``B[k, j] = b[boff + k*ldb + j]``,
``C[i, j] = c[coff + i*ldc + j]``. Epilogue: ``+ bias[bias_off + i]`` when ``has_bias``, then activation
``act`` with parameters ``a0``/``a1`` (float32), as defined once in ``ops/kernels/epilogue.py``.
Nothing is checked (kernels call it): the caller guarantees shapes, offsets and strides.
"""

from __future__ import annotations

import numpy as np

from onnumba.ops._numba import INLINE, SERIAL, njit
from onnumba.ops.kernels import isa
from onnumba.ops.kernels.epilogue import epilogue_vec
from onnumba.ops.kernels.simd import sload, vfma, vload, vload_lanes, vstore, vstore_lanes, vzero

#: the register tile, rows (output channels) x columns (output pixels), per ISA (ops/kernels/isa.py): AVX-512,
#: 8 x 32 = two 16-lane vectors a row, 16 zmm accumulators of 32; AVX2, 6 x 16 = one 16-lane vector (two ymm) a
#: row, 12 ymm accumulators of 16 plus the B vector and the broadcast (8 x 32 would need 32 ymm and spill)
MR, NR = isa.gemm_tile()
AVX512 = (MR, NR) == (8, 32)  # the 8 x 32 micro-kernel (else 6 x 16)
#: K block: an A micro-panel of MR x KC floats (8 KiB) stays in L1
KC = 256
#: N block: a packed B block of KC x NC floats (384 KiB) stays in L2
NC = 384


def pack_a(a, groups: int = 1) -> np.ndarray:
    """Pack weights for :func:`gemm`: ``a`` (groups * Mg, K) -> (groups, ceil(Mg / MR) * K * MR) float32.

    Row ``g`` of the result is the packed A of group ``g`` (rows ``g * Mg .. (g + 1) * Mg - 1`` of ``a``).
    """
    a = np.asarray(a, np.float32)
    M, K = a.shape
    mg = M // groups
    npan = -(-mg // MR)
    ap = np.zeros((groups, npan * MR, K), np.float32)
    ap[:, :mg] = a.reshape(groups, mg, K)
    out = np.empty((groups, npan * MR * K), np.float32)
    for p0 in range(0, K, KC):
        kc = min(KC, K - p0)
        # (g, p, r, k) -> (g, p, k, r) for this K block
        blk = ap[:, :, p0:p0 + kc].reshape(groups, npan, MR, kc).transpose(0, 1, 3, 2)
        out[:, p0 * npan * MR:(p0 + kc) * npan * MR] = blk.reshape(groups, -1)
    return out


@njit(**SERIAL)
def _ld(c, off, n):
    """Lanes j < n of c[off + j] (zeros past n)."""
    if n >= 16:
        return vload(c, off)
    if n > 0:
        return vload_lanes(c, off, n)
    return vzero()


@njit(**SERIAL)
def _st(c, off, v, n):
    """c[off + j] = v[j] for lanes j < n."""
    if n >= 16:
        vstore(c, off, v)
    elif n > 0:
        vstore_lanes(c, off, v, 0, n)


@njit(**INLINE)
def _bv(bias, i, hi, has_bias):
    """The bias of a row: bias[min(i, hi)], or 0 without bias (then ``bias`` is not read). A row past the tile's
    mv stores nothing but is handed bias[hi], the tile's last row's, so the read stays inside the array."""
    return bias[min(i, hi)] if has_bias else np.float32(0.0)


@njit(**SERIAL)
def _row_out(c, off, x0, x1, nv, on, last, bv, has_bias, act, a0, a1):
    """Store a C row of two vectors when ``on`` (the row is < mv), after the epilogue when ``last``."""
    if on:
        if last:
            x0 = epilogue_vec(x0, bv, has_bias, act, a0, a1)
            x1 = epilogue_vec(x1, bv, has_bias, act, a0, a1)
        _st(c, off, x0, nv)
        _st(c, off + 16, x1, nv - 16)


@njit(**SERIAL)
def _row_in(c, off, nv, on):
    # ``on`` (accumulate and the row is < mv) is computed by the caller: a literal row number passed here would
    # type, and compile, this helper once per row
    if on:
        return _ld(c, off, nv), _ld(c, off + 16, nv - 16)
    return vzero(), vzero()


@njit(**SERIAL)
def _row_out1(c, off, x, nv, on, last, bv, has_bias, act, a0, a1):
    """Store a C row of one vector when ``on`` (the row is < mv), after the epilogue when ``last``."""
    if on:
        if last:
            x = epilogue_vec(x, bv, has_bias, act, a0, a1)
        _st(c, off, x, nv)


@njit(**SERIAL)
def _row_in1(c, off, nv, on):
    if on:
        return _ld(c, off, nv)
    return vzero()


@njit(**SERIAL)
def _micro_6x16(ap, aoff, bp, boff, kc, c, coff, ldc, mv, nv, accumulate, last, bias, bo, has_bias, act, a0, a1):
    """The AVX2 tile: 6 x 16, the same contract and summation order as :func:`_micro_8x32`."""
    x0 = _row_in1(c, coff, nv, accumulate)
    x1 = _row_in1(c, coff + ldc, nv, accumulate and mv > 1)
    x2 = _row_in1(c, coff + 2 * ldc, nv, accumulate and mv > 2)
    x3 = _row_in1(c, coff + 3 * ldc, nv, accumulate and mv > 3)
    x4 = _row_in1(c, coff + 4 * ldc, nv, accumulate and mv > 4)
    x5 = _row_in1(c, coff + 5 * ldc, nv, accumulate and mv > 5)
    a = aoff
    b = boff
    for _ in range(kc):
        u = vload(bp, b)
        x0 = vfma(x0, u, sload(ap, a))
        x1 = vfma(x1, u, sload(ap, a + 1))
        x2 = vfma(x2, u, sload(ap, a + 2))
        x3 = vfma(x3, u, sload(ap, a + 3))
        x4 = vfma(x4, u, sload(ap, a + 4))
        x5 = vfma(x5, u, sload(ap, a + 5))
        a += 6
        b += 16
    bl = bo + mv - 1
    _row_out1(c, coff, x0, nv, mv > 0, last, _bv(bias, bo, bl, has_bias), has_bias, act, a0, a1)
    _row_out1(c, coff + ldc, x1, nv, mv > 1, last, _bv(bias, bo + 1, bl, has_bias), has_bias, act, a0, a1)
    _row_out1(c, coff + 2 * ldc, x2, nv, mv > 2, last, _bv(bias, bo + 2, bl, has_bias), has_bias, act, a0, a1)
    _row_out1(c, coff + 3 * ldc, x3, nv, mv > 3, last, _bv(bias, bo + 3, bl, has_bias), has_bias, act, a0, a1)
    _row_out1(c, coff + 4 * ldc, x4, nv, mv > 4, last, _bv(bias, bo + 4, bl, has_bias), has_bias, act, a0, a1)
    _row_out1(c, coff + 5 * ldc, x5, nv, mv > 5, last, _bv(bias, bo + 5, bl, has_bias), has_bias, act, a0, a1)


@njit(**SERIAL)
def _micro_8x32(ap, aoff, bp, boff, kc, c, coff, ldc, mv, nv, accumulate, last, bias, bo, has_bias, act, a0, a1):
    """One MR x NR tile: rows < mv and columns < nv of C at c[coff + r*ldc + j]; continues from C's contents
    when ``accumulate``; applies the epilogue when ``last``."""
    x00, x01 = _row_in(c, coff, nv, accumulate)
    x10, x11 = _row_in(c, coff + ldc, nv, accumulate and mv > 1)
    x20, x21 = _row_in(c, coff + 2 * ldc, nv, accumulate and mv > 2)
    x30, x31 = _row_in(c, coff + 3 * ldc, nv, accumulate and mv > 3)
    x40, x41 = _row_in(c, coff + 4 * ldc, nv, accumulate and mv > 4)
    x50, x51 = _row_in(c, coff + 5 * ldc, nv, accumulate and mv > 5)
    x60, x61 = _row_in(c, coff + 6 * ldc, nv, accumulate and mv > 6)
    x70, x71 = _row_in(c, coff + 7 * ldc, nv, accumulate and mv > 7)
    a = aoff
    b = boff
    for _ in range(kc):
        u = vload(bp, b)
        v = vload(bp, b + 16)
        s = sload(ap, a); x00 = vfma(x00, u, s); x01 = vfma(x01, v, s)  # noqa: E702
        s = sload(ap, a + 1); x10 = vfma(x10, u, s); x11 = vfma(x11, v, s)  # noqa: E702
        s = sload(ap, a + 2); x20 = vfma(x20, u, s); x21 = vfma(x21, v, s)  # noqa: E702
        s = sload(ap, a + 3); x30 = vfma(x30, u, s); x31 = vfma(x31, v, s)  # noqa: E702
        s = sload(ap, a + 4); x40 = vfma(x40, u, s); x41 = vfma(x41, v, s)  # noqa: E702
        s = sload(ap, a + 5); x50 = vfma(x50, u, s); x51 = vfma(x51, v, s)  # noqa: E702
        s = sload(ap, a + 6); x60 = vfma(x60, u, s); x61 = vfma(x61, v, s)  # noqa: E702
        s = sload(ap, a + 7); x70 = vfma(x70, u, s); x71 = vfma(x71, v, s)  # noqa: E702
        a += 8
        b += 32
    bl = bo + mv - 1
    _row_out(c, coff, x00, x01, nv, mv > 0, last, _bv(bias, bo, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + ldc, x10, x11, nv, mv > 1, last, _bv(bias, bo + 1, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + 2 * ldc, x20, x21, nv, mv > 2, last, _bv(bias, bo + 2, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + 3 * ldc, x30, x31, nv, mv > 3, last, _bv(bias, bo + 3, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + 4 * ldc, x40, x41, nv, mv > 4, last, _bv(bias, bo + 4, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + 5 * ldc, x50, x51, nv, mv > 5, last, _bv(bias, bo + 5, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + 6 * ldc, x60, x61, nv, mv > 6, last, _bv(bias, bo + 6, bl, has_bias), has_bias, act, a0, a1)
    _row_out(c, coff + 7 * ldc, x70, x71, nv, mv > 7, last, _bv(bias, bo + 7, bl, has_bias), has_bias, act, a0, a1)


#: the micro-kernel of this ISA's tile
_micro = _micro_8x32 if AVX512 else _micro_6x16


@njit(**SERIAL)
def _pack_b(b, boff, ldb, kc, nc, bp, bpoff=0):
    """bp[bpoff + (s * kc + k) * NR + j] = B[k, s * NR + j] for the kc x nc block at b[boff + k*ldb + j]; zeros
    past nc."""
    nstr = (nc + NR - 1) // NR
    for k in range(kc):
        src = boff + k * ldb
        for s in range(nstr):
            d = bpoff + (s * kc + k) * NR
            n = nc - s * NR
            if n >= NR:
                for h in range(0, NR, 16):
                    vstore(bp, d + h, vload(b, src + h))
            else:
                for h in range(0, NR, 16):
                    vstore(bp, d + h, vload_lanes(b, src + h, n - h))
            src += NR


@njit(**SERIAL)
def gemm(ap, M, K, b, boff, ldb, N, c, coff, ldc, bias, bias_off, has_bias, act, a0, a1):
    """``C = epilogue(A @ B)`` with A packed by :func:`pack_a`; see the module docstring for the arguments."""
    if M <= 0 or N <= 0:
        return
    npan = (M + MR - 1) // MR
    kcmax = max(min(K, KC), 1)
    ncmax = min((N + NR - 1) // NR, NC // NR) * NR
    bp = np.empty(kcmax * ncmax, np.float32)
    # K blocks outermost: the A block (M x KC) stays in L2 across the N blocks
    p0 = 0
    while True:
        kc = min(KC, K - p0)
        accumulate = p0 > 0
        last = p0 + kc >= K
        for j0 in range(0, N, NC):
            nc = min(NC, N - j0)
            nstr = (nc + NR - 1) // NR
            # bpoff left at its default: compiled with a constant 0, this copy runs faster than with an int64
            _pack_b(b, boff + p0 * ldb + j0, ldb, kc, nc, bp)
            for ip in range(npan):
                mv = min(MR, M - ip * MR)
                aoff = p0 * npan * MR + ip * kc * MR
                crow = coff + ip * MR * ldc + j0
                for s in range(nstr):
                    _micro(ap, aoff, bp, s * kc * NR, kc, c, crow + s * NR, ldc, mv, min(NR, nc - s * NR),
                           accumulate, last, bias, bias_off + ip * MR, has_bias, act, a0, a1)
        p0 += kc
        if p0 >= K:
            break


@njit(**SERIAL)
def pack_b(b, boff, ldb, K, N, bp):
    """Pack a whole (K, N) B at b[boff + k*ldb + j] for :func:`gemm_prepacked` into ``bp`` of K * Np floats
    (``Np`` = N rounded up to NR): K block ``p0`` (``kc`` rows) holds the 32-column strips
    ``bp[p0 * Np + (s * kc + k) * NR + j]``, columns past N zero."""
    np_ = (N + NR - 1) // NR * NR
    for p0 in range(0, K, KC):
        kc = min(KC, K - p0)
        _pack_b(b, boff + p0 * ldb, ldb, kc, N, bp, p0 * np_)


@njit(**SERIAL)
def gemm_prepacked(ap, M, K, bp, N, c, coff, ldc, ip0, ip1, bias, bias_off, has_bias, act, a0, a1):
    """Row panels ``ip0 <= ip < ip1`` (rows ``ip * MR ..``) of ``C = epilogue(A @ B)`` over all N columns, with A
    packed by :func:`pack_a` and B by :func:`pack_b`; otherwise the arguments and the summation order of
    :func:`gemm`.

    For small N (a few hundred columns): B is packed once and shared by every chunk of row panels, and each
    chunk reads its rows of A once (K blocks outermost: the B block, KC x Np, stays in L1/L2).
    """
    if ip1 <= ip0 or N <= 0:
        return
    npan = (M + MR - 1) // MR
    np_ = (N + NR - 1) // NR * NR
    nstr = np_ // NR
    p0 = 0
    while True:
        kc = min(KC, K - p0)
        accumulate = p0 > 0
        last = p0 + kc >= K
        for ip in range(ip0, ip1):
            mv = min(MR, M - ip * MR)
            aoff = p0 * npan * MR + ip * kc * MR
            crow = coff + ip * MR * ldc
            for s in range(nstr):
                _micro(ap, aoff, bp, p0 * np_ + s * kc * NR, kc, c, crow + s * NR, ldc, mv, min(NR, N - s * NR),
                       accumulate, last, bias, bias_off + ip * MR, has_bias, act, a0, a1)
        p0 += kc
        if p0 >= K:
            break
