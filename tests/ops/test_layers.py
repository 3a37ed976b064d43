"""The layers of ops/ (issue 8): the kernel floor (ops/kernels/) is numerics only and imports nothing above it;
op families never reach into the session; no ops module grows past the size where it should become a package."""

from __future__ import annotations

import ast
import os

import pytest

OPS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "ops")
FILES = sorted(os.path.join(d, f) for d, _, fs in os.walk(OPS) for f in fs if f.endswith(".py"))
KERNELS = [f for f in FILES if os.sep + "kernels" + os.sep in f]

#: what the kernel floor may import: numerics libraries, the standard library, and the floor itself
FLOOR_OK = ("numpy", "numba", "llvmlite", "scipy", "onnumba.ops.kernels", "onnumba.ops._numba")
#: runtime modules no op module may import (ops know nothing about sessions, plans or the command line)
ABOVE_OPS = ("onnumba.session", "onnumba.planner", "onnumba.cli", "onnumba.batch", "onnumba.backend",
             "onnumba.conformance", "onnumba.warmup")
MAX_LINES = 520  # "about 500": a module past it becomes a package with one module per algorithm


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield ("." * node.level) + node.module


def test_the_floor_exists():
    names = {os.path.basename(f) for f in KERNELS}
    assert {"simd.py", "packed_gemm.py", "blas.py", "epilogue.py", "mathf32.py", "pointwise.py"} <= names


@pytest.mark.parametrize("path", KERNELS, ids=lambda p: os.path.relpath(p, OPS))
def test_kernel_floor_imports_nothing_above_it(path):
    import sys

    for mod in _imports(path):
        top = mod.split(".")[0]
        if top in sys.stdlib_module_names or top == "__future__":
            continue
        assert mod.startswith(FLOOR_OK), f"{os.path.relpath(path, OPS)} imports {mod}: the kernel floor imports " \
                                         f"only numerics and itself, never the registry, graph, session or ops"


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, OPS))
def test_ops_never_import_the_session_layer(path):
    bad = [m for m in _imports(path) if m.startswith(ABOVE_OPS)]
    assert not bad, f"{os.path.relpath(path, OPS)} imports {bad}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, OPS))
def test_no_ops_module_over_about_500_lines(path):
    with open(path, encoding="utf-8") as f:
        n = sum(1 for _ in f)
    assert n <= MAX_LINES, f"{os.path.relpath(path, OPS)} has {n} lines: split it (a package per family)"
