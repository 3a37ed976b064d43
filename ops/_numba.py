"""The one place that sets Numba's njit flags and thread handling for every kernel.

Kernels use ``@njit(**KERNEL)`` (parallel, for ``prange`` kernels) or ``@njit(**SERIAL)`` (helpers and
kernels too small to benefit from threads). ``cache=True`` so a second process loads compiled code from
``__pycache__`` instead of compiling again; fastmath stays off (results must match onnxruntime).
"""

from __future__ import annotations

import os

# Numba's OpenMP workers busy-wait between parallel regions by default. On a shared 2-core machine that is a
# trap: measured here with one other busy process, a 2-thread Conv took 12.0 ms instead of 1.7 ms (Relu 11.9
# ms instead of 0.08), while with passive waiting 2 threads cost at most 1.1x of 1 thread. A runtime must not
# collapse when the machine is busy, so passive waiting is the default unless the user chose a policy. It is
# read when libgomp loads, i.e. at the first parallel kernel, so setting it here (at import) takes effect.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402
from numba import njit, prange  # noqa: F401, E402  (re-exported for kernels)

_FASTMATH = os.environ.get("ONNUMBA_FASTMATH", "") not in ("", "0")

#: flags for kernels with ``prange`` loops
KERNEL = dict(parallel=True, cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
#: flags for serial kernels and helpers called from kernels
SERIAL = dict(parallel=False, cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
#: small helpers called inside kernel loops: LLVM must inline them, or the calling loop stays scalar
INLINE = dict(SERIAL, forceinline=True)


def num_threads() -> int:
    """Threads the current thread's parallel kernels will use."""
    return numba.get_num_threads()


class BlasPinned:
    """Context manager: every loaded BLAS library runs single-threaded inside it, restored on exit.

    Kernels call a single-threaded GEMM from inside Numba's ``prange`` chunks (one thread pool per process,
    see PERFORMANCE.md), and ops that call numpy's BLAS from Python must not wake a second pool either. The
    pin is scoped to ``InferenceSession.run`` so that importing onnumba leaves the user's numpy as it was.
    Costs a few microseconds per run.
    """

    _libs = None

    @classmethod
    def _controllers(cls):
        if cls._libs is None:
            try:
                from threadpoolctl import ThreadpoolController  # noqa: PLC0415

                cls._libs = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
            except Exception:  # threadpoolctl cannot inspect this platform: nothing to pin
                cls._libs = []
        return cls._libs

    def __enter__(self):
        self._saved = []
        for lib in self._controllers():
            n = lib.num_threads
            if n != 1:
                lib.set_num_threads(1)
                self._saved.append((lib, n))
        return self

    def __exit__(self, *exc):
        for lib, n in self._saved:
            lib.set_num_threads(n)
        return False
