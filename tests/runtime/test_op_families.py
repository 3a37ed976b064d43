"""Lazy op families: ``onnumba.ops.FAMILIES`` names what each family module registers, and a session imports
only the families (and BLAS) its model needs. Start-up checks run in a fresh interpreter."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys

import pytest

import onnumba.ops
from onnumba import registry

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPS = os.path.join(ROOT, "ops")


def _modules_that_register() -> set:
    """Every module under ops/ whose source applies ``@register(`` (found from the text, so a module missing
    from ``FAMILIES`` is found too)."""
    found = set()
    for d, dirs, files in os.walk(OPS):
        dirs[:] = [x for x in dirs if x != "__pycache__"]
        for f in files:
            if f.endswith(".py"):
                with open(os.path.join(d, f), encoding="utf-8") as fh:
                    if re.search(r"^\s*@register\(", fh.read(), re.M):
                        rel = os.path.relpath(os.path.join(d, f), OPS)[:-3].replace(os.sep, ".")
                        found.add(rel[: -len(".__init__")] if rel.endswith(".__init__") else rel)
    return found


def test_families_name_exactly_what_each_module_registers():
    modules = _modules_that_register()
    assert modules <= set(onnumba.ops.FAMILIES), \
        f"modules registering ops but missing from onnumba.ops.FAMILIES: {sorted(modules - set(onnumba.ops.FAMILIES))}"
    for m in modules:
        importlib.import_module(f"onnumba.ops.{m}")
    registered = {}
    for (domain, op_type), table in registry._REGISTRY.items():
        impl = table[max(table)].impl
        registered.setdefault(impl.__module__.removeprefix("onnumba.ops."), set()).add((domain, op_type))
    declared = {m: {("", op) for op in ops} for m, ops in onnumba.ops.FAMILIES.items()}
    for m in sorted(set(registered) | set(declared)):
        assert registered.get(m, set()) == declared.get(m, set()), \
            f"onnumba.ops.FAMILIES[{m!r}] disagrees with what onnumba.ops.{m} registers: " \
            f"missing {sorted(op for _, op in registered.get(m, set()) - declared.get(m, set()))}, " \
            f"not registered {sorted(op for _, op in declared.get(m, set()) - registered.get(m, set()))}"


def test_each_op_is_declared_once():
    ops = [op for family in onnumba.ops.FAMILIES.values() for op in family]
    assert len(ops) == len(set(ops)), sorted({op for op in ops if ops.count(op) > 1})


def test_family_lookup():
    assert onnumba.ops.family_of("", "Conv") == "conv"
    assert onnumba.ops.family_of("ai.onnx", "Relu") == "activation"
    assert onnumba.ops.family_of("com.example", "Relu") is None
    assert onnumba.ops.family_of("", "NoSuchOp") is None
    assert onnumba.ops.conv.__name__ == "onnumba.ops.conv"  # families stay reachable as attributes
    with pytest.raises(AttributeError, match="no_such_family"):
        onnumba.ops.no_such_family  # noqa: B018


def _fresh(code: str) -> str:
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip().splitlines()[-1]


_LOADED = ("print(sorted(m.split('.')[2] for m in sys.modules if m.startswith('onnumba.ops.') and m.count('.') == 2)"
           " + ['scipy.linalg'] * ('scipy.linalg' in sys.modules))")


def test_a_session_imports_only_the_families_its_model_uses():
    code = ("import sys, numpy as np, onnumba\nfrom onnx import TensorProto, helper\n"
            "g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g',\n"
            "    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3])],\n"
            "    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 3])])\n"
            "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 14)])\n"
            "s = onnumba.InferenceSession(m.SerializeToString())\n"
            "y = s.run(None, {'x': np.array([[-1, 2, -3], [4, -5, 6]], np.float32)})[0]\n"
            "assert y.tolist() == [[0, 2, 0], [4, 0, 6]]\n" + _LOADED)
    _fresh(code)  # may compile the Relu kernel (a compile loads Numba's registries and with them scipy's BLAS)
    loaded = eval(_fresh(code))  # noqa: S307  (our own child's printed list)
    assert "activation" in loaded and "fusion" in loaded
    assert not {"conv", "recurrent", "einsum", "quantized_linear", "scipy.linalg"} & set(loaded), loaded


def test_cached_kernels_load_without_numbas_compiler_registries():
    # the first child may compile the Relu kernel into the cache; the second loads it
    code = ("import sys, numpy as np, onnumba\nfrom onnx import TensorProto, helper\n"
            "g = helper.make_graph([helper.make_node('Relu', ['x'], ['y'])], 'g',\n"
            "    [helper.make_tensor_value_info('x', TensorProto.FLOAT, [2, 3])],\n"
            "    [helper.make_tensor_value_info('y', TensorProto.FLOAT, [2, 3])])\n"
            "m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 14)])\n"
            "s = onnumba.InferenceSession(m.SerializeToString())\n"
            "y = s.run(None, {'x': np.array([[-1, 2, -3], [4, -5, 6]], np.float32)})[0]\n"
            "assert y.tolist() == [[0, 2, 0], [4, 0, 6]]\n"
            "light = 'numba.np.arraymath' not in sys.modules and 'scipy.linalg' not in sys.modules\n"
            # a compile after a light load gets Numba's full set-up (np.dot needs scipy's BLAS and the registries)
            "import numba\n@numba.njit\ndef f(a):\n    d = {1: a.sum()}\n    return np.dot(a, a)[0, 0] + d[1]\n"
            "a = np.ones((3, 3))\nassert f(a) == 12.0, f(a)\n"
            "assert 'scipy.linalg.cython_blas' in sys.modules\n"
            "print('light' if light else 'full')")
    _fresh(code)
    assert _fresh(code) == "light"


def test_an_op_missing_from_families_still_resolves():
    code = ("import sys, onnumba.ops\nfrom onnumba import registry\n"
            "onnumba.ops._FAMILY_OF.pop('Relu')\n"  # as if a family forgot to declare it
            "assert registry.resolve('', 'Relu', 14).__name__\nassert registry._OPS_LOADED\n"
            "try:\n    registry.resolve('', 'NoSuchOp', 14)\nexcept Exception as e:\n    print(type(e).__name__)")
    assert _fresh(code) == "UnsupportedOpError"


def test_scipy_blas_loads_on_first_use_and_is_pinned_in_a_run():
    code = ("import sys\nfrom threadpoolctl import threadpool_info\n"
            "from onnumba.ops._numba import BlasPinned\nfrom onnumba.ops.kernels import blas\n"
            "assert 'scipy.linalg' not in sys.modules\n"
            "def blas_threads():\n"
            "    return {i['filepath']: i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'}\n"
            "before = blas_threads()\n"
            "with BlasPinned():\n    blas.ensure_ready()\n    inside = blas_threads()\n"
            "after = blas_threads()\n"
            "assert 'scipy.linalg.cython_blas' in sys.modules\n"
            "assert set(inside) > set(before) and set(inside.values()) == {1}, (before, inside)\n"
            "assert all(after[k] == v for k, v in before.items()), (before, after)\n"
            "print('ok', len(inside) - len(before))")
    assert _fresh(code).startswith("ok")
