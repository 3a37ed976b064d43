"""One GEMM step for kernels that run on float32 and float64 alike: ``C block = epilogue(A block @ B block)``.

float32 goes to the packed GEMM (``packed_gemm.gemm``, epilogue fused into its stores, A packed by
``packed_gemm.pack_a``); float64 to a single-threaded BLAS GEMM (``blas.gemm``) followed by the epilogue, A being
the plain weights. The choice is made when Numba types the call (an overload on the weights' dtype), so a kernel
that calls :func:`gemm_block` is written once and compiled once per dtype it actually meets, with no flag.

Arguments (row-major blocks of flat, C-contiguous arrays, so callers pass any block of a larger array):

* ``wa``: float32 packed A, one row per group (``pack_a(w2, groups)``), or float64 ``w2`` (groups * Mg, K);
  ``gi`` selects the group: packed row ``gi``, or rows ``gi * Mg ..`` of ``w2``.
* ``b``: ``B[k, j] = b[(brow + k) * ldb + bcol + j]`` for k < K, j < N (``b.size`` a multiple of ``ldb``).
* ``c``: ``C[i, j] = c[(crow + i) * ldc + ccol + j]`` for i < Mg (``c.size`` a multiple of ``ldc``).
* epilogue: ``+ bias[bias_off + i]`` when ``has_bias``, then activation ``act`` (``a0``, ``a1``), as defined
  in ``ops/kernels/epilogue.py``.

Nothing is checked: the caller guarantees shapes and offsets. Callers pass offsets and flags as variables
(e.g. an ``np.int64`` global for 0): a literal argument would type, and compile, the whole GEMM once more.
"""

from __future__ import annotations

from numba import types
from numba.extending import overload

from onnumba.ops._numba import SERIAL
from onnumba.ops.kernels import blas as _blas, packed_gemm as _gemm
from onnumba.ops.kernels.epilogue import epilogue_rows


def gemm_block(wa, gi, Mg, K, b, brow, bcol, ldb, N, c, crow, ccol, ldc, bias, bias_off, has_bias, act, a0,
               a1):  # pragma: no cover - a stub, replaced by the overload inside jitted code
    raise NotImplementedError


@overload(gemm_block, jit_options=SERIAL)
def _gemm_block_ol(wa, gi, Mg, K, b, brow, bcol, ldb, N, c, crow, ccol, ldc, bias, bias_off, has_bias, act, a0, a1):
    if wa.dtype == types.float32:
        def packed(wa, gi, Mg, K, b, brow, bcol, ldb, N, c, crow, ccol, ldc, bias, bias_off, has_bias, act, a0, a1):
            _gemm.gemm(wa[gi], Mg, K, b, brow * ldb + bcol, ldb, N, c, crow * ldc + ccol, ldc, bias, bias_off,
                       has_bias, act, a0, a1)
        return packed

    def with_blas(wa, gi, Mg, K, b, brow, bcol, ldb, N, c, crow, ccol, ldc, bias, bias_off, has_bias, act, a0, a1):
        y = c.reshape((-1, ldc))[crow:crow + Mg, ccol:ccol + N]
        _blas.gemm(wa[gi * Mg:(gi + 1) * Mg], b.reshape((-1, ldb))[brow:brow + K, bcol:bcol + N], y, 1.0, 0.0,
                   False, False)
        epilogue_rows(y, bias[bias_off:bias_off + Mg], has_bias, act, a0, a1)
    return with_blas
