"""Compile progress: never a silent wait while Numba compiles kernels.

A first run in a fresh environment compiles every kernel its plan uses (later processes load them from the
cache). This module reports each top-level kernel compile:

* through :mod:`logging`, logger ``onnumba.compile`` (INFO: "compiled <kernel> in 2.1 s");
* to callbacks registered with :func:`add_listener` (a :class:`CompileEvent` at each start and end);
* on stderr for the CLI, with :func:`stderr_reporter` (a redrawn status line on a terminal, with the
  elapsed time ticking while a kernel compiles; one plain line per kernel otherwise).

Helpers compiled as part of a kernel are not reported separately (their time counts in the kernel's).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

log = logging.getLogger("onnumba.compile")


@dataclass(frozen=True)
class CompileEvent:
    """One top-level kernel compile starting (``seconds`` None) or finished.

    Attributes:
        kernel: ``module.function`` of the kernel, e.g. ``onnumba.ops.conv.im2col._conv_kernel_im2col``.
        started: kernels started so far in this process (this one included).
        finished: kernels finished so far (this one included once it finished).
        seconds: compile time of this kernel, None at its start.
        total: the number of kernels expected, when the caller knows it (warmup), else None.
    """

    kernel: str
    started: int
    finished: int
    seconds: float | None = None
    total: int | None = None


_lock = threading.Lock()
_listeners: list = []
_state = {"installed": False, "started": 0, "finished": 0, "total": None}
_depth = threading.local()


def _name(dispatcher) -> str:
    f = getattr(dispatcher, "py_func", None)
    if f is None:
        return repr(dispatcher)
    return f"{f.__module__}.{f.__qualname__}"


def _emit(ev: CompileEvent) -> None:
    for fn in list(_listeners):
        try:
            fn(ev)
        except Exception:  # noqa: BLE001  (a broken progress callback must not break a run)
            log.exception("compile progress callback failed")


def _install() -> None:
    """Hook Numba's compile events once (imports numba: call only where kernels will be compiled anyway)."""
    with _lock:
        if _state["installed"]:
            return
        _state["installed"] = True
    from numba.core import event  # noqa: PLC0415

    class _Listener(event.Listener):
        def on_start(self, ev):
            d = getattr(_depth, "n", 0)
            _depth.n = d + 1
            if d:
                return
            _depth.t0 = time.perf_counter()
            with _lock:
                _state["started"] += 1
                e = CompileEvent(_name(ev.data["dispatcher"]), _state["started"], _state["finished"],
                                 None, _state["total"])
            log.debug("compiling %s", e.kernel)
            _emit(e)

        def on_end(self, ev):
            _depth.n = max(getattr(_depth, "n", 1) - 1, 0)
            if _depth.n:
                return
            dt = time.perf_counter() - getattr(_depth, "t0", time.perf_counter())
            with _lock:
                _state["finished"] += 1
                e = CompileEvent(_name(ev.data["dispatcher"]), _state["started"], _state["finished"], dt,
                                 _state["total"])
            log.info("compiled %s in %.1f s", e.kernel, dt)
            _emit(e)

    event.register("numba:compile", _Listener())


def ensure_installed() -> None:
    """Start reporting compiles (the session calls this before planning; cheap after the first call)."""
    if not _state["installed"]:
        _install()


def add_listener(fn: Callable[[CompileEvent], None]) -> Callable[[], None]:
    """Call ``fn(event)`` at the start and end of every kernel compile; returns a function that removes it."""
    ensure_installed()
    _listeners.append(fn)

    def remove() -> None:
        if fn in _listeners:
            _listeners.remove(fn)

    return remove


def set_expected_total(n: int | None) -> None:
    """Tell listeners how many kernel compiles to expect (``CompileEvent.total``); None when unknown."""
    _state["total"] = n


def compiled_count() -> int:
    """Top-level kernel compiles finished in this process so far."""
    return _state["finished"]


class stderr_reporter:  # noqa: N801  (used as a context manager, like a function)
    """Context manager: show compile progress on ``stream`` (stderr) while the block runs.

    On a terminal one status line is redrawn (kernel, n of m when known, elapsed time, ticking every half
    second); otherwise one plain line per compiled kernel. Prints nothing when nothing compiles.
    """

    def __init__(self, stream=None, prefix: str = "onnumba"):
        self.stream = stream or sys.stderr
        self.prefix = prefix
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._current: CompileEvent | None = None
        self._t0 = self._t_kernel = 0.0
        self._stop = threading.Event()
        self._shown = False
        self._remove = None
        self._ticker = None
        self._done = 0

    def _line(self) -> str:
        e = self._current
        if e is None:
            return ""
        of = f" of {e.total}" if e.total else ""
        return (f"{self.prefix}: compiling kernels (first run; cached afterwards): {e.started}{of} "
                f"{e.kernel.rsplit('.', 1)[-1]} {time.perf_counter() - self._t_kernel:4.1f} s, "
                f"{time.perf_counter() - self._t0:5.1f} s in all")

    def _draw(self) -> None:
        self.stream.write("\r\033[K" + self._line())
        self.stream.flush()
        self._shown = True

    def _on(self, e: CompileEvent) -> None:
        if e.seconds is None:
            if not self._t0:
                self._t0 = time.perf_counter()
            self._current, self._t_kernel = e, time.perf_counter()
            if self.tty:
                self._draw()
            return
        self._done += 1
        if not self.tty:
            of = f"/{e.total}" if e.total else ""
            self.stream.write(f"{self.prefix}: compiled kernel {e.finished}{of} {e.kernel.rsplit('.', 1)[-1]} "
                              f"in {e.seconds:.1f} s\n")
            self.stream.flush()
            self._shown = True

    def _tick(self) -> None:
        while not self._stop.wait(0.5):
            if self._current is not None:
                self._draw()

    def __enter__(self):
        self._remove = add_listener(self._on)
        if self.tty:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self._remove is not None:
            self._remove()
        if self._shown and self._t0:
            end = "\r\033[K" if self.tty else ""
            self.stream.write(f"{end}{self.prefix}: compiled {self._done} kernels in {time.perf_counter() - self._t0:.1f} s (cached for later runs)\n")
            self.stream.flush()
        return False
