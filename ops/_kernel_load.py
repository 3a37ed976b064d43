"""Loading onnumba's cached kernels without Numba's compiler set-up.

Before Numba loads a compiled function from its cache it calls ``BaseContext.refresh()``, whose first call
imports some forty Numba modules (the typing and lowering registries of everything Numba can compile) and, with
``numba.np.arraymath``, scipy's BLAS: measured 0.6-0.9 s of a 1.6-2.5 s warm ``onnumba run`` of tiny_cnn on a
busy 2-vCPU machine. Code loaded from the cache needs none of it: it needs the NRT runtime
(``rtsys.initialize``: its C symbols and compiled helpers, which cached code links against), the C helper and
math symbols that creating the CPU context registered, the threading layer (started by the cached library's own
``reload_init``), and the hash-secret symbols ``numba.cpython.hashing`` registers when imported. So until Numba's
first full refresh, loading one of onnumba's kernels initialises only those. The first compile (Numba's compiler
refreshes both contexts) or a cache load of a function that is not onnumba's does the full refresh as before.

Numba's full refresh imports scipy's BLAS (``numba.np.linalg.ensure_blas``); ``kernels/blas.py`` loads it first,
with onnumba's choice of OpenBLAS kernels, pinned to one thread inside runs (``blas.load_scipy_blas``).
"""

from __future__ import annotations

import os

_FULL_REFRESH = False  # Numba's registries are loaded in this process (its first refresh ran or is running)


def install(pkg_root: str) -> None:
    """Patch Numba's cache loading and context refresh once per process (idempotent)."""
    from numba.core import base, caching  # noqa: PLC0415
    from numba.core.cpu import CPUContext  # noqa: PLC0415
    from numba.core.typing import context as typing_context  # noqa: PLC0415

    if getattr(caching.Cache.load_overload, "_onnumba", False):
        return
    load_overload = caching.Cache.load_overload
    prefix = os.path.abspath(pkg_root) + os.sep

    def light_load_overload(self, sig, target_context):
        py_file = getattr(self._impl.locator, "_py_file", "")
        if _FULL_REFRESH or type(target_context) is not CPUContext or not os.path.abspath(py_file).startswith(prefix):
            return load_overload(self, sig, target_context)
        _light_refresh(target_context)
        return self._load_overload(sig, target_context)  # what Numba's load_overload does after its refresh

    light_load_overload._onnumba = True
    caching.Cache.load_overload = light_load_overload
    for cls in (base.BaseContext, typing_context.BaseContext):
        cls.refresh = _before_full_refresh(cls.refresh)


def _light_refresh(target_context) -> None:
    from numba.core.runtime import rtsys  # noqa: PLC0415

    import numba.cpython.hashing  # noqa: F401, PLC0415  (registers the hash-secret symbols cached code may use)

    rtsys.initialize(target_context)


def _before_full_refresh(refresh):
    def wrapped(self):
        global _FULL_REFRESH
        if not _FULL_REFRESH:
            _FULL_REFRESH = True
            from onnumba.ops.kernels.blas import load_scipy_blas  # noqa: PLC0415

            load_scipy_blas()
        return refresh(self)

    wrapped.__wrapped__ = refresh
    return wrapped
