"""Single-threaded BLAS GEMM callable from inside Numba kernels, including from ``prange`` chunks.

One thread pool per process (see shared/PERFORMANCE.md): Numba's ``prange`` splits the work and each chunk
calls a single-threaded sgemm / dgemm on its own block. BLAS is pinned to one thread while a session runs
(``ops/_numba.BlasPinned``, entered by ``InferenceSession.run``) so BLAS never starts its own pool to spin
against Numba's.

The GEMM is reached through Numba's own C helper ``numba_xxgemm`` (the one ``np.dot`` uses inside
``@njit``), which binds ``scipy.linalg.cython_blas`` sgemm / dgemm by name. Unlike a ctypes function
pointer baked into the code, this keeps the calling kernels cacheable (``cache=True``).

Public helpers (use them from ``@njit`` code):

* :func:`gemm` -- ``C = alpha * op(A) @ op(B) + beta * C`` on row-major 2-d arrays or views whose last axis
  is contiguous (row strides may be anything >= the row length: pass ``out[:, p0:p1]`` slices freely).
* :func:`ensure_ready` -- call once from Python (not from a kernel) before the first kernel that uses
  :func:`gemm`: it imports scipy's BLAS and binds its symbols under the GIL on the main thread.

scipy's BLAS is imported by :func:`ensure_ready`, not by importing this module: ``scipy.linalg`` takes about
0.3 s to import and most float32 models never call BLAS (the packed GEMM is onnumba's own), while compiling or
loading the kernels that call :func:`gemm` from the cache needs only Numba's ``numba_xxgemm`` symbol.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from onnumba.ops._numba import SERIAL, BlasPinned, njit


def _avx512_cpu() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"} <= flags
    except OSError:
        pass
    return False


def _load_scipy_blas() -> None:
    """Import scipy's BLAS; on AVX-512 CPUs that OpenBLAS does not recognise (it falls back to its AVX2
    'Haswell' kernels on e.g. AMD Zen 4/5), ask for its AVX-512 'SkylakeX' kernels: 1.6x faster sgemm
    measured. Only when the user did not choose (OPENBLAS_CORETYPE unset) and scipy's BLAS is not loaded
    yet; the variable is restored right after the library has read it."""
    if "scipy.linalg.cython_blas" in sys.modules or "OPENBLAS_CORETYPE" in os.environ or not _avx512_cpu():
        import scipy.linalg.cython_blas  # noqa: F401, PLC0415
        return
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    try:
        import scipy.linalg.cython_blas  # noqa: F401, PLC0415
    finally:
        del os.environ["OPENBLAS_CORETYPE"]


def load_scipy_blas() -> None:
    """Import scipy's BLAS unless imported already (see :func:`_load_scipy_blas`), and have
    :class:`~onnumba.ops._numba.BlasPinned` pin it: to one thread in the run now in progress and every later
    one. Called by :func:`ensure_ready`, and before Numba's first full context refresh (which imports it)."""
    if "scipy.linalg.cython_blas" not in sys.modules:
        _load_scipy_blas()
        BlasPinned.libraries_loaded()


_ready = False

# int numba_xxgemm(char kind, char transa, char transb, intp m, intp n, intp k, void* alpha, void* a, intp lda,
#                  void* b, intp ldb, void* beta, void* c, intp ldc)   -- column-major (Fortran) semantics
_xxgemm = types.ExternalFunction(
    "numba_xxgemm",
    types.intc(types.char, types.char, types.char, types.intp, types.intp, types.intp, types.voidptr,
               types.voidptr, types.intp, types.voidptr, types.intp, types.voidptr, types.voidptr, types.intp))


@intrinsic
def _data_ptr(typingctx, arr):
    """Address of ``arr``'s first element as ``void*`` (views included)."""
    if not isinstance(arr, types.Array):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(arr)(context, builder, args[0])
        return builder.bitcast(ary.data, cgutils.voidptr_t)

    return types.voidptr(arr), codegen


def _kind(a):  # pragma: no cover - replaced by the overload inside jitted code
    raise NotImplementedError


@overload(_kind)
def _kind_ol(a):
    if a.dtype == types.float32:
        return lambda a: np.int8(115)  # 's'
    if a.dtype == types.float64:
        return lambda a: np.int8(100)  # 'd'
    return None


@njit(**SERIAL)
def _ld(x):
    # leading dimension of a row-major matrix seen by column-major BLAS: its row stride in elements
    ld = x.strides[0] // x.itemsize
    if x.shape[0] <= 1 or ld < x.shape[1]:
        ld = max(ld, x.shape[1])
    return max(ld, 1)


@njit(**SERIAL)
def gemm(a, b, c, alpha=1.0, beta=0.0, trans_a=False, trans_b=False):
    """``c[:] = alpha * op(a) @ op(b) + beta * c`` with single-threaded BLAS (float32 or float64).

    Args:
        a: (M, K) or, with ``trans_a``, (K, M); row-major, last axis contiguous (any row stride).
        b: (K, N) or, with ``trans_b``, (N, K); same layout rule.
        c: (M, N) output, same dtype; may be a view into a larger array (e.g. ``out[m0:m1, p0:p1]``).
        alpha, beta: scalars; with ``beta == 0`` the old contents of ``c`` are ignored (may be garbage).

    The caller guarantees the shapes agree and that every last axis has stride 1; nothing is checked here
    (this runs inside kernels). Safe to call concurrently from ``prange`` iterations on disjoint ``c``.
    """
    m = c.shape[0]
    n = c.shape[1]
    k = a.shape[0] if trans_a else a.shape[1]
    if m == 0 or n == 0:
        return
    if k == 0:
        for i in range(m):
            for j in range(n):
                c[i, j] = c[i, j] * beta if beta != 0.0 else 0.0
        return
    al = np.empty(1, c.dtype)
    be = np.empty(1, c.dtype)
    al[0] = alpha
    be[0] = beta
    # row-major C = op(A) op(B)  <=>  column-major C^T = op(B)^T op(A)^T: swap the operands
    tb = np.int8(84) if trans_b else np.int8(78)  # 'T' / 'N'
    ta = np.int8(84) if trans_a else np.int8(78)
    _xxgemm(_kind(c), tb, ta, n, m, k, _data_ptr(al), _data_ptr(b), _ld(b), _data_ptr(a), _ld(a),
            _data_ptr(be), _data_ptr(c), _ld(c))


def ensure_ready() -> None:
    """Import scipy's BLAS and bind its symbols on the calling (Python) thread; cheap after the first call."""
    global _ready
    if not _ready:
        load_scipy_blas()
        for dt in (np.float32, np.float64):
            a = np.ones((2, 2), dt)
            c = np.empty((2, 2), dt)
            gemm(a, a, c, 1.0, 0.0, False, False)
            if not np.array_equal(c, np.full((2, 2), 2.0, dt)):
                raise RuntimeError("onnumba: the BLAS gemm binding returned a wrong result")
        _ready = True
