"""The one place that sets Numba's njit flags and thread handling for every kernel.

Kernels use ``@njit(**KERNEL)`` (parallel, for ``prange`` kernels) or ``@njit(**SERIAL)`` (helpers and
kernels too small to benefit from threads). ``cache=True`` so a second process loads compiled code from
``__pycache__`` instead of compiling again; fastmath stays off (results must match onnxruntime).
"""

from __future__ import annotations

import os

# Numba's OpenMP workers busy-wait between parallel regions by default, which on a busy machine makes every
# 2-thread kernel wait for a descheduled spinner (measurements: benchmarks/PERFORMANCE.md, "Threads"). A runtime
# must not collapse when the machine is busy, so passive waiting is the default unless the user chose a policy.
# It is read when libgomp loads, i.e. at the first parallel kernel, so setting it here (at import) takes effect.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numba  # noqa: E402

from onnumba.ops import _kernel_load  # noqa: E402
from numba import njit, prange  # noqa: F401, E402  (re-exported for kernels)

_FASTMATH = os.environ.get("ONNUMBA_FASTMATH", "") not in ("", "0")

# --------------------------------------------------------------------------------------------- kernel cache
# Compiled kernels are cached in a user cache folder, one sub-folder per onnumba version and CPU target:
# never next to the installed sources (site-packages may be read-only, and a cache folder left in
# site-packages by a regular install shadows a later editable install), and never shared between machines
# whose CPUs differ (a shared home directory). ``ONNUMBA_CACHE_DIR`` moves it; a user's ``NUMBA_CACHE_DIR``
# still wins, as Numba documents.


_HOST_CPU: tuple = ()


def _cpu_target() -> str:
    """``<cpu name>-<short hash of its features>``: the code Numba generates depends on both."""
    global _HOST_CPU
    import hashlib  # noqa: PLC0415

    from numba.core import config  # noqa: PLC0415

    if not _HOST_CPU:  # asked once: about 1 ms, and every cached kernel's locator asks at import
        import llvmlite.binding as llvm  # noqa: PLC0415

        _HOST_CPU = (llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    name = config.CPU_NAME or _HOST_CPU[0]
    feats = config.CPU_FEATURES or _HOST_CPU[1]
    tile = os.environ.get("ONNUMBA_GEMM_TILE", "").strip().lower()  # a forced GEMM tile is other code too
    return f"{name}-{hashlib.sha1(feats.encode()).hexdigest()[:8]}" + (f"-tile{tile}" if tile else "")


def cache_dir() -> str:
    """The folder that holds this machine's compiled onnumba kernels."""
    base = os.environ.get("ONNUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "onnumba")
    from onnumba import __version__  # noqa: PLC0415

    return os.path.join(base, f"kernels-{__version__}", _cpu_target())


_PKG_ROOT = os.path.dirname(os.path.abspath(__file__))  # ops/ (or site-packages/onnumba/ops)
_IMPORT_RE = None
_STAMPS: dict = {}
_WRITABLE: set = set()  # cache folders found writable by this process
_IMPORTS: dict = {}  # module file -> the onnumba.ops module files it imports


def _ops_imports(path: str) -> set:
    """Files of the ``onnumba.ops`` modules that ``path`` imports (from its source text, no import)."""
    global _IMPORT_RE
    import re  # noqa: PLC0415

    if _IMPORT_RE is None:
        _IMPORT_RE = re.compile(r"^\s*from\s+onnumba\.ops((?:\.\w+)*)\s+import\s+\(?([^)\n]*(?:\n[^)\n]*)*?)\)?\s*$"
                                r"|^\s*import\s+onnumba\.ops((?:\.\w+)+)", re.M)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return set()
    found = set()

    def add(dotted: str) -> None:
        base = os.path.join(_PKG_ROOT, *[p for p in dotted.split(".") if p])
        for cand in (base + ".py", os.path.join(base, "__init__.py")):
            if os.path.isfile(cand):
                found.add(cand)
                return

    for m in _IMPORT_RE.finditer(text):
        mod = m.group(1) if m.group(1) is not None else m.group(3)
        add(mod)
        for name in (m.group(2) or "").replace("\n", " ").split(","):  # submodules imported by name
            name = name.split("#")[0].split(" as ")[0].strip()
            if name:
                add(f"{mod}.{name}")
    return found


def _source_stamp(path: str) -> str:
    """Hash of ``path`` and every onnumba.ops module it imports, transitively: Numba inlines the kernels a
    kernel calls, so its cached code is stale when any of them changes (Numba itself only looks at the
    kernel's own file)."""
    import hashlib  # noqa: PLC0415

    path = os.path.abspath(path)
    if path in _STAMPS:
        return _STAMPS[path]
    seen, todo = set(), [path]
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            if f not in _IMPORTS:  # each module's imports are parsed once, not once per kernel file using it
                _IMPORTS[f] = _ops_imports(f)
            todo += _IMPORTS[f]
    h = hashlib.sha1()
    for f in sorted(seen):
        try:
            with open(f, "rb") as fh:
                h.update(f.encode() + b"\0" + fh.read())
        except OSError:
            pass
    _STAMPS[path] = stamp = h.hexdigest()
    return stamp


def _install_cache_locator() -> None:
    from numba.core import caching  # noqa: PLC0415

    pkg_root = _PKG_ROOT

    class _OnnumbaCacheLocator(caching.UserProvidedCacheLocator):
        """Numba's user-provided-folder locator, pointed at :func:`cache_dir`, for onnumba's own kernels."""

        def __init__(self, py_func, py_file):
            super().__init__(py_func, py_file)
            rel = os.path.relpath(os.path.abspath(py_file), pkg_root)  # e.g. conv/im2col.py
            self._cache_path = os.path.join(cache_dir(), os.path.splitext(rel)[0])

        def get_source_stamp(self):
            return _source_stamp(self._py_file)

        def ensure_cache_path(self):
            # Numba creates and deletes a temporary file per kernel to prove the folder writable: once per folder
            if self._cache_path not in _WRITABLE or not os.path.isdir(self._cache_path):
                super().ensure_cache_path()
                _WRITABLE.add(self._cache_path)

        @classmethod
        def from_function(cls, py_func, py_file):
            if not os.path.abspath(py_file).startswith(pkg_root + os.sep):
                return None
            return super(caching.UserProvidedCacheLocator, cls).from_function(py_func, py_file)

    classes = caching.CacheImpl._locator_classes
    if not any(c.__name__ == "_OnnumbaCacheLocator" for c in classes):
        at = 1 if classes and classes[0] is caching.UserProvidedCacheLocator else 0
        classes.insert(at, _OnnumbaCacheLocator)


_install_cache_locator()
_kernel_load.install(_PKG_ROOT)  # cached kernels load without Numba's compile-time registries

#: flags for kernels with ``prange`` loops
KERNEL = dict(parallel=True, cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
#: flags for serial kernels and helpers called from kernels
SERIAL = dict(parallel=False, cache=True, fastmath=_FASTMATH, nogil=True, boundscheck=False)
#: serial kernels whose float divisions must vectorise: a division by zero gives IEEE inf / NaN instead of
#: raising (what Numba already does inside ``prange`` loops); the default per-division zero test is a branch
#: that keeps LLVM from vectorising the loop around it. Integer divisors must be validated before the call.
SERIAL_IEEE = dict(SERIAL, error_model="numpy")
#: small helpers called inside kernel loops: LLVM must inline them, or the calling loop stays scalar
INLINE = dict(SERIAL, forceinline=True)
#: serial helpers whose float sums may be reassociated into SIMD lanes (as onnxruntime's reductions sum): only a
#: sum's rounding changes; NaN and Inf propagate as without the flag
REASSOC = dict(SERIAL, fastmath=True if _FASTMATH else {"reassoc"})


_GET_THREADS = None  # Numba's ctypes getter, bound by the first num_threads() call


def num_threads() -> int:
    """Threads the current thread's parallel kernels will use.

    Called on every run of many ops: numba.get_num_threads takes two locks per call (microseconds), so once it has
    launched the pool this calls the ctypes getter Numba binds then (the same thread-local count).
    """
    get = _GET_THREADS
    if get is None:
        get = _bind_get_threads()
    return get()


def _bind_get_threads():
    global _GET_THREADS
    n = numba.get_num_threads()  # launches the pool
    try:
        from numba.np.ufunc import parallel  # noqa: PLC0415

        get = parallel._get_num_threads
        _GET_THREADS = get if callable(get) and get() == n else numba.get_num_threads
    except (ImportError, AttributeError):
        _GET_THREADS = numba.get_num_threads
    return _GET_THREADS


class BlasPinned:
    """Context manager: every loaded BLAS library runs single-threaded inside it, restored on exit.

    Kernels call a single-threaded GEMM from inside Numba's ``prange`` chunks (one thread pool per process,
    see PERFORMANCE.md), and ops that call numpy's BLAS from Python must not wake a second pool either. The
    pin is scoped to ``InferenceSession.run`` so that importing onnumba leaves the user's numpy as it was.
    Costs a few microseconds per run.
    """

    _libs = None
    #: contexts entered and not yet exited (a library loaded meanwhile is pinned in the outermost)
    _active: list = []

    @classmethod
    def libraries_loaded(cls) -> None:
        """Call after loading a BLAS library (``kernels/blas.py`` imports scipy's on first use): list the
        libraries again, and pin the new ones now if a context is entered (its exit restores them)."""
        if cls._libs is None:
            return
        known = {lib.filepath: lib for lib in cls._libs}
        cls._libs = None
        cls._libs = [known.get(lib.filepath, lib) for lib in cls._controllers()]  # the known keep their objects
        for lib in cls._libs:
            n = lib.num_threads
            if lib.filepath not in known and cls._active and n != 1:
                lib.set_num_threads(1)
                cls._active[0]._saved.append((lib, n))

    @classmethod
    def _controllers(cls):
        if cls._libs is None:
            try:
                from threadpoolctl import ThreadpoolController  # noqa: PLC0415

                cls._libs = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
            except Exception:  # threadpoolctl cannot inspect this platform: nothing to pin
                cls._libs = []
        return cls._libs

    #: controller -> (get, set): OpenBLAS's own ctypes entry points when its pool is its own pthreads (what
    #: threadpoolctl calls too, after resolving the symbol and checking the calling thread: ~4 us per library per
    #: run), else the controller's methods
    _calls: dict = {}

    @classmethod
    def _get_set(cls, lib):
        calls = cls._calls.get(lib)
        if calls is None:
            calls = (lambda: lib.num_threads), lib.set_num_threads
            try:
                if lib.internal_api == "openblas" and lib.threading_layer != "openmp":
                    get, set_ = lib._get_symbol("openblas_get_num_threads"), lib._get_symbol("openblas_set_num_threads")
                    if get is not None and set_ is not None and get() == lib.num_threads:
                        calls = get, set_
            except Exception:  # another threadpoolctl: its public methods
                pass
            cls._calls[lib] = calls
        return calls

    def __enter__(self):
        self._saved = []
        for lib in self._controllers():
            get, set_ = self._get_set(lib)
            n = get()
            if n != 1:
                set_(1)
                self._saved.append((lib, n))
        self._active.append(self)
        return self

    def __exit__(self, *exc):
        self._active.remove(self)
        for lib, n in self._saved:
            self._get_set(lib)[1](n)
        return False
