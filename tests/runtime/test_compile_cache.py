"""Kernel cache location, compile progress and warmup, each in a fresh process with an empty cache."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from onnx import TensorProto, helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _relu_model(path) -> str:
    g = helper.make_graph([helper.make_node("Softsign", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    p = os.path.join(path, "softsign.onnx")
    with open(p, "wb") as f:
        f.write(m.SerializeToString())
    return p


def _cli(args, cache, extra_env=None):
    env = dict(os.environ, ONNUMBA_CACHE_DIR=str(cache), **(extra_env or {}))
    env.pop("NUMBA_CACHE_DIR", None)
    return subprocess.run([sys.executable, "-m", "onnumba"] + args, capture_output=True, text=True, env=env,
                          timeout=600)


def _in_tree_cache_files() -> set:
    """Numba index files next to the sources (older versions cached there; none may be added now)."""
    return {(os.path.join(d, f), os.path.getmtime(os.path.join(d, f)))
            for d, _, fs in os.walk(os.path.join(ROOT, "ops")) for f in fs if f.endswith(".nbi")}


def test_cache_goes_to_the_user_cache_folder_keyed_by_cpu(tmp_path):
    model = _relu_model(tmp_path)
    cache = tmp_path / "cache"
    before = _in_tree_cache_files()
    first = _cli(["run", model, "--random"], cache)
    assert first.returncode == 0, first.stderr
    # never silent: the compile is reported on stderr (plain lines when not a terminal)
    assert "compiled kernel 1" in first.stderr and "cached for later runs" in first.stderr
    (version_dir,) = os.listdir(cache)
    assert version_dir.startswith("kernels-")
    (target,) = os.listdir(cache / version_dir)
    import llvmlite.binding as llvm

    assert target.startswith(llvm.get_host_cpu_name() + "-")
    index_files = [f for _, _, fs in os.walk(cache) for f in fs if f.endswith(".nbi")]
    assert index_files, "no kernel was cached"
    new_in_tree = _in_tree_cache_files() - before
    assert not new_in_tree, f"kernel cache files written next to the sources: {sorted(new_in_tree)[:3]}"
    second = _cli(["run", model, "--random"], cache)
    assert second.returncode == 0 and "compiled kernel" not in second.stderr  # loaded from the cache


def test_other_cpu_target_gets_its_own_cache(tmp_path):
    model = _relu_model(tmp_path)
    cache = tmp_path / "cache"
    r = _cli(["run", model, "--random"], cache, {"NUMBA_CPU_NAME": "haswell"})
    assert r.returncode == 0, r.stderr
    (version_dir,) = os.listdir(cache)
    assert [t.split("-")[0] for t in os.listdir(cache / version_dir)] == ["haswell"]


def test_progress_listener_and_logging(caplog):
    import logging

    from onnumba import progress

    seen = []
    remove = progress.add_listener(seen.append)
    try:
        from numba import njit

        @njit(cache=False)
        def _fresh(x):  # a new function: always compiles
            return x * 2 + 1

        with caplog.at_level(logging.INFO, logger="onnumba.compile"):
            assert _fresh(3) == 7
    finally:
        remove()
    assert [e.seconds is None for e in seen] == [True, False]
    assert seen[1].kernel.endswith("_fresh") and seen[1].seconds >= 0
    assert any("compiled" in r.message and "_fresh" in r.message for r in caplog.records)


def test_warmup_command(tmp_path):
    model = _relu_model(tmp_path)
    cache = tmp_path / "cache"
    r = _cli(["warmup", model, "--jobs", "1"], cache)
    assert r.returncode == 0, r.stderr
    assert "warmed 1 of 1 models" in r.stdout and "kernels compiled" in r.stderr
    again = _cli(["run", model, "--random"], cache)
    assert "compiled kernel" not in again.stderr
    bad = _cli(["warmup", str(tmp_path / "missing.onnx")], cache)
    assert bad.returncode == 2 and "no such model file" in bad.stderr


def test_builtin_warmup_set_is_valid():
    import onnx

    from onnumba.warmup import builtin_models

    models = builtin_models()
    assert len({n for n, _ in models}) == len(models) >= 20
    for _, m in models:
        onnx.checker.check_model(m)
    assert np.all([len(m.graph.node) == 1 for _, m in models])
