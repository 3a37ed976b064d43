"""The supported-ops table without importing the operators: what ``onnumba ops`` and ``onnumba info`` read.

The registry is filled by importing ``onnumba.ops``, which compiles or loads every Numba kernel module and
takes seconds. The table it yields depends only on the source of ``ops/``, so it is cached as JSON in the
user cache folder under a hash of that source (and onnumba's version): the first lookup after a change
imports the operators and writes the file; later processes read it. Any failure to read or write the cache
falls back to the live registry, so the table is never stale and never missing.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
import tempfile

#: environment variable naming the cache folder (default: ``$XDG_CACHE_HOME/onnumba`` or ``~/.cache/onnumba``)
CACHE_ENV = "ONNUMBA_CACHE_DIR"


_ROWS: list | None = None  # the table read or computed by this process


def cache_dir() -> str:
    d = os.environ.get(CACHE_ENV)
    if d:
        return d
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "onnumba")


def _ops_fingerprint() -> str | None:
    """sha256 of every ``.py`` file of the ``onnumba.ops`` package (found without importing it)."""
    try:
        spec = importlib.util.find_spec("onnumba.ops")
        roots = list(spec.submodule_search_locations or [])
    except (ImportError, AttributeError, ValueError):
        return None
    import onnumba  # noqa: PLC0415

    h = hashlib.sha256(onnumba.__version__.encode())
    for root in roots:
        for d, dirs, files in os.walk(root):
            dirs[:] = sorted(x for x in dirs if x != "__pycache__")
            for f in sorted(files):
                if f.endswith(".py"):
                    path = os.path.join(d, f)
                    h.update(os.path.relpath(path, root).encode() + b"\0")
                    with open(path, "rb") as fh:
                        h.update(fh.read())
    return h.hexdigest()[:20]


def _live_rows() -> list[dict]:
    from onnumba.registry import supported_ops  # noqa: PLC0415

    return [dict(r, versions=list(r["versions"])) for r in supported_ops()]


def supported_ops_table() -> list[dict]:
    """Rows like :func:`onnumba.registry.supported_ops` (``versions`` as tuples), from the cache when fresh."""
    global _ROWS
    registry = sys.modules.get("onnumba.registry")  # not imported here: a cache hit needs not even onnx
    loaded = registry is not None and registry._OPS_LOADED
    if _ROWS is not None and not loaded:
        rows = _ROWS
    elif loaded:
        rows = _live_rows()
    else:
        fp = _ops_fingerprint()
        path = os.path.join(cache_dir(), f"optable-{fp}.json") if fp else None
        rows = None
        if path and os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as f:
                    rows = json.load(f)
            except (OSError, ValueError):
                rows = None
        if rows is None:
            rows = _live_rows()
            if path:
                _write_atomic(path, rows)
        _ROWS = rows
    return [dict(r, versions=tuple(r["versions"])) for r in rows]


def _write_atomic(path: str, rows: list) -> None:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".optable-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(rows, f)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home folder: the next process imports the operators again


def check_supported(domain: str, op_type: str, opset: int) -> None:
    """Raise :class:`onnumba.errors.UnsupportedOpError` as ``registry.resolve`` would, from the table."""
    from onnumba.registry import _norm_domain, select_version  # noqa: PLC0415

    want = (_norm_domain(domain) or "ai.onnx", op_type)
    versions = next((r["versions"] for r in supported_ops_table() if (r["domain"], r["op_type"]) == want), ())
    select_version(domain, op_type, opset, set(versions))
