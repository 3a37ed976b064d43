"""converters/ stays independent of the runtime: it imports onnumba.converters, onnx and numpy
only (h5py lazily, inside functions; the runtime lazily, in running.py only, for predict), and
every imported name is used."""

import ast
import os

import pytest

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "converters")
FILES = sorted(os.path.join(d, f) for d, _, fs in os.walk(ROOT) for f in fs if f.endswith(".py"))
STDLIB = {"argparse", "collections", "hashlib", "importlib", "inspect", "io", "json", "math",
          "os", "re", "sys", "warnings", "zipfile"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: os.path.relpath(p, ROOT))
def test_imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | \
        {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute)
         and isinstance(n.value, ast.Name)}
    exported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__"
                                                for t in node.targets):
            exported = {e.value for e in node.value.elts}
    module_level = {id(n) for n in tree.body}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
            names = [(a.asname or a.name).split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module]
            names = [a.asname or a.name for a in node.names]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if module == "onnumba" and os.path.basename(path) == "running.py":
                assert id(node) not in module_level, f"{path}: the runtime is imported lazily"
            elif module.startswith("onnumba"):
                assert module.startswith("onnumba.converters"), f"{path}: imports {module}"
            elif top == "h5py":
                assert id(node) not in module_level, f"{path}: h5py must be imported lazily"
            else:
                assert top in STDLIB | {"numpy", "onnx"}, f"{path}: imports {module}"
        if os.path.basename(path) != "__init__.py":
            for name in names:
                assert name in used or name in exported, f"{path}: unused import {name}"
