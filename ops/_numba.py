"""The one place that sets Numba's njit flags and thread handling for every kernel.

Kernels use ``@njit(**KERNEL)`` (parallel, for ``prange`` kernels) or ``@njit(**SERIAL)`` (helpers and
kernels too small to benefit from threads). ``cache=True`` so a second process loads compiled code from
``__pycache__`` instead of compiling again; fastmath stays off (results must match onnxruntime).
"""

from __future__ import annotations

import os

import numba
from numba import njit, prange  # noqa: F401  (re-exported for kernels)

_FASTMATH = os.environ.get("ONNUMBA_FASTMATH", "") not in ("", "0")

#: flags for kernels with ``prange`` loops
KERNEL = dict(parallel=True, cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
#: flags for serial kernels and helpers called from kernels
SERIAL = dict(parallel=False, cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)


def num_threads() -> int:
    """Threads the current thread's parallel kernels will use."""
    return numba.get_num_threads()
