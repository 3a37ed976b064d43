"""onnxruntime's Python surface (issue 14): each test runs the same code against onnxruntime and onnumba."""

from __future__ import annotations

import json
import os
import pydoc
import re
import subprocess
import sys
import warnings

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnumba
import onnumba.errors

F = TensorProto.FLOAT
MODULES = pytest.mark.parametrize("rt", [onnxruntime, onnumba], ids=["onnxruntime", "onnumba"])
ERRORS = {onnxruntime: "onnxruntime.capi.onnxruntime_pybind11_state", onnumba: "onnumba.errors"}


def _errors(rt):
    import importlib

    return importlib.import_module(ERRORS[rt])


def _mlp() -> bytes:
    b = numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32), "b")
    g = helper.make_graph([helper.make_node("Add", ["x", "b"], ["s"], name="add"),
                           helper.make_node("Relu", ["s"], ["y"], name="relu")], "g",
                          [helper.make_tensor_value_info("x", F, [2, 3])],
                          [helper.make_tensor_value_info("y", F, [2, 3]),
                           helper.make_tensor_value_info("s", F, [2, 3])],
                          [b])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def _cnn() -> onnx.ModelProto:
    """Conv -> BatchNormalization -> Relu (folds into the Conv), BatchNormalization -> Clip (a ChannelAffine step
    with a Clip epilogue), Gemm: every kind of fused step the optimiser makes."""
    rng = np.random.default_rng(0)

    def t(name, shape, lo=-1.0, hi=1.0):
        return numpy_helper.from_array(rng.uniform(lo, hi, shape).astype(np.float32), name)

    inits = [t("W", (4, 3, 3, 3)), t("B", (4,)), t("s1", (4,), 0.5, 1.5), t("b1", (4,)), t("m1", (4,)),
             t("v1", (4,), 0.5, 1.5), t("s2", (4,), 0.5, 1.5), t("b2", (4,)), t("m2", (4,)), t("v2", (4,), 0.5, 1.5),
             numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
             numpy_helper.from_array(np.array(0.75, np.float32), "hi"), t("G", (4 * 4 * 4, 5)), t("gb", (5,))]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s1", "b1", "m1", "v1"], ["n1"], name="bn1"),
             helper.make_node("Relu", ["n1"], ["r"], name="relu"),
             helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("BatchNormalization", ["p", "s2", "b2", "m2", "v2"], ["n2"], name="bn2"),
             helper.make_node("Clip", ["n2", "lo", "hi"], ["k"], name="clip"),
             helper.make_node("Flatten", ["k"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "G", "gb"], ["y"], name="fc")]
    g = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", F, [2, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", F, [2, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _x(shape=(2, 3)):
    return np.random.default_rng(1).standard_normal(shape).astype(np.float32)


@MODULES
def test_providers_and_device(rt):
    assert "CPUExecutionProvider" in rt.get_available_providers()
    assert rt.get_device() == "CPU"
    if rt is onnumba:
        assert onnumba.get_available_providers() == ["CPUExecutionProvider"]


@MODULES
@pytest.mark.parametrize("providers", [["CPUExecutionProvider"], [("CPUExecutionProvider", {})], None, []])
def test_cpu_provider_accepted(rt, providers):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sess = rt.InferenceSession(_mlp(), providers=providers)
    assert sess.get_providers() == ["CPUExecutionProvider"]
    assert sess.get_provider_options() == {"CPUExecutionProvider": {}}


@MODULES
@pytest.mark.parametrize("providers", [["CUDAExecutionProvider"], ["CUDAExecutionProvider", "CPUExecutionProvider"],
                                       [("TensorrtExecutionProvider", {"device_id": 0})]])
def test_unavailable_provider_warns_and_falls_back(rt, providers):
    with pytest.warns(UserWarning, match="is not in available provider names"):
        sess = rt.InferenceSession(_mlp(), providers=providers)
    assert sess.get_providers() == ["CPUExecutionProvider"]
    np.testing.assert_allclose(sess.run(None, {"x": _x()})[0], np.maximum(_x() + [0.5, -1.0, 2.0], 0), rtol=1e-6)


@MODULES
def test_duplicate_provider_warns(rt):
    with pytest.warns(UserWarning, match="Duplicate provider 'CPUExecutionProvider'"):
        sess = rt.InferenceSession(_mlp(), providers=["CPUExecutionProvider", "CPUExecutionProvider"])
    assert sess.get_providers() == ["CPUExecutionProvider"]


@MODULES
def test_set_providers_fallback_and_profiling_start(rt, tmp_path):
    import time

    so = rt.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / "unused")  # onnxruntime writes it when the session goes
    before = time.time_ns()
    sess = rt.InferenceSession(_mlp(), so, providers=["CPUExecutionProvider"])
    assert abs(sess.get_profiling_start_time_ns() - before) < 60 * 10 ** 9
    sess.set_providers(["CPUExecutionProvider"])
    sess.disable_fallback()
    sess.enable_fallback()
    assert sess.get_providers() == ["CPUExecutionProvider"]
    assert rt.InferenceSession(_mlp(), providers=["CPUExecutionProvider"]).get_profiling_start_time_ns() >= 0


@MODULES
def test_session_config_entries(rt):
    so = rt.SessionOptions()
    so.add_session_config_entry("session.some_key", "1")
    assert so.get_session_config_entry("session.some_key") == "1"
    with pytest.raises(RuntimeError, match="does not have configuration with key: nokey"):
        so.get_session_config_entry("nokey")
    ro = rt.RunOptions()
    with pytest.raises(RuntimeError, match="does not have configuration with key: nokey"):
        ro.get_run_config_entry("nokey")


@MODULES
def test_execution_mode(rt):
    so = rt.SessionOptions()
    assert so.execution_mode == rt.ExecutionMode.ORT_SEQUENTIAL
    assert int(rt.ExecutionMode.ORT_PARALLEL) == 1
    assert str(rt.ExecutionMode.ORT_PARALLEL) == "ExecutionMode.ORT_PARALLEL"
    so.execution_mode = rt.ExecutionMode.ORT_PARALLEL
    assert so.execution_mode == rt.ExecutionMode.ORT_PARALLEL
    sess = rt.InferenceSession(_cnn().SerializeToString(), so, providers=["CPUExecutionProvider"])
    seq = rt.InferenceSession(_cnn().SerializeToString(), providers=["CPUExecutionProvider"])
    x = _x((2, 3, 8, 8))
    np.testing.assert_allclose(sess.run(None, {"x": x})[0], seq.run(None, {"x": x})[0], rtol=1e-5, atol=1e-6)


@MODULES
def test_run_with_empty_output_list_returns_every_output(rt):
    sess = rt.InferenceSession(_mlp(), providers=["CPUExecutionProvider"])
    got = sess.run([], {"x": _x()})
    assert [o.shape for o in got] == [(2, 3), (2, 3)]
    np.testing.assert_allclose(got[1], _x() + [0.5, -1.0, 2.0], rtol=1e-6)


@MODULES
def test_optimized_model_filepath(rt, tmp_path):
    path = str(tmp_path / "optimized.onnx")
    so = rt.SessionOptions()
    so.optimized_model_filepath = path
    x = _x((2, 3, 8, 8))
    sess = rt.InferenceSession(_cnn().SerializeToString(), so, providers=["CPUExecutionProvider"])
    (ours,) = sess.run(None, {"x": x})
    assert os.path.isfile(path)
    (theirs,) = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(theirs, ours, rtol=1e-5, atol=1e-5)
    if rt is onnumba:
        m = onnx.load(path)
        onnx.checker.check_model(m, full_check=True)
        ops = [n.op_type for n in m.graph.node]
        # BN folded into the Conv's weights, Relu written back after it; the second BN as a BatchNormalization
        assert ops == ["Conv", "Relu", "MaxPool", "BatchNormalization", "Clip", "Flatten", "Gemm"]
        assert all(n.domain in ("", "ai.onnx") for n in m.graph.node)


def test_optimized_model_matches_unoptimized_reference(tmp_path):
    """The written plan computes what the original model does (onnx.reference on both)."""
    from onnx.reference import ReferenceEvaluator

    path = str(tmp_path / "o.onnx")
    so = onnumba.SessionOptions()
    so.optimized_model_filepath = path
    onnumba.InferenceSession(_cnn(), so)
    x = _x((2, 3, 8, 8))
    want = ReferenceEvaluator(_cnn()).run(None, {"x": x})[0]
    got = ReferenceEvaluator(onnx.load(path)).run(None, {"x": x})[0]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


_EVENT_KEYS = {"cat", "pid", "tid", "dur", "ts", "ph", "name", "args"}


def _profile(rt, tmp_path) -> list:
    so = rt.SessionOptions()
    so.enable_profiling = True
    so.profile_file_prefix = str(tmp_path / rt.__name__)
    sess = rt.InferenceSession(_mlp(), so, providers=["CPUExecutionProvider"])
    for _ in range(2):
        sess.run(None, {"x": _x()})
    path = sess.end_profiling()
    assert os.path.isfile(path)
    assert re.fullmatch(re.escape(str(tmp_path / rt.__name__)) + r"_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d_\d+\.json", path)
    with open(path) as f:
        return json.load(f)


@MODULES
def test_profile_is_a_chrome_trace(rt, tmp_path):
    events = _profile(rt, tmp_path)
    assert isinstance(events, list)
    for e in events:
        assert set(e) == _EVENT_KEYS and e["ph"] == "X" and e["cat"] in ("Session", "Node")
        assert isinstance(e["ts"], int) and isinstance(e["dur"], int) and e["dur"] >= 0
    nodes = [e for e in events if e["cat"] == "Node"]
    assert [e["name"] for e in nodes] == ["add_kernel_time", "relu_kernel_time"] * 2
    assert [e["args"]["op_name"] for e in nodes] == ["Add", "Relu"] * 2
    assert all(e["args"]["provider"] == "CPUExecutionProvider" for e in nodes)
    assert nodes[0]["args"]["output_type_shape"] == [{"float": [2, 3]}]
    names = {e["name"] for e in events if e["cat"] == "Session"}
    assert {"session_initialization", "model_run"} <= names


def test_profile_node_args_are_a_subset_of_onnxruntimes(tmp_path):
    theirs = [e for e in _profile(onnxruntime, tmp_path) if e["cat"] == "Node"]
    ours = [e for e in _profile(onnumba, tmp_path) if e["cat"] == "Node"]
    for a, b in zip(ours, theirs):
        assert set(a["args"]) <= set(b["args"])
        for k in a["args"]:
            assert type(a["args"][k]) is type(b["args"][k]), k
            if k in ("op_name", "provider", "input_type_shape", "output_type_shape", "output_size"):
                assert a["args"][k] == b["args"][k], k


@MODULES
def test_exception_classes(rt, tmp_path):
    E = _errors(rt)
    with pytest.raises(E.NoSuchFile):
        rt.InferenceSession(str(tmp_path / "missing.onnx"), providers=["CPUExecutionProvider"])
    with pytest.raises(E.InvalidProtobuf):
        rt.InferenceSession(b"not a model at all", providers=["CPUExecutionProvider"])
    g = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", F, [2])],
                          [helper.make_tensor_value_info("y", F, [2])])
    with pytest.raises(E.InvalidGraph):
        rt.InferenceSession(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString(),
                            providers=["CPUExecutionProvider"])
    sess = rt.InferenceSession(_mlp(), providers=["CPUExecutionProvider"])
    with pytest.raises(E.InvalidArgument):
        sess.run(None, {"x": _x().astype(np.float64)})
    with pytest.raises(E.InvalidArgument):
        sess.run(None, {"x": _x((2, 4))})
    with pytest.raises(E.InvalidArgument):
        sess.run(["nope"], {"x": _x()})
    assert issubclass(E.NotImplemented, Exception) and issubclass(E.Fail, Exception)


def test_onnumba_errors_are_fail_and_unsupported_features_are_not_implemented():
    E = onnumba.errors
    for cls in (E.ModelError, E.InputError, E.UnsupportedOpError, E.MemoryLimitError, E.SessionConfigError):
        assert issubclass(cls, E.Fail)
    assert issubclass(E.UnsupportedOpError, E.NotImplemented) and issubclass(E.UnsupportedOpError, E.InvalidGraph)
    assert issubclass(E.InputError, ValueError) and issubclass(E.ModelFileNotFoundError, FileNotFoundError)
    sess = onnumba.InferenceSession(_mlp())
    for call in (lambda: sess.run_with_ort_values(None, {}), sess.io_binding, lambda: sess.run_with_iobinding(None)):
        with pytest.raises(E.NotImplemented, match="not supported"):
            call()


def test_help_has_docstrings_and_no_stray_comments():
    text = pydoc.render_doc(onnumba.InferenceSession, renderer=pydoc.plaintext)
    assert "# ---" not in text and "noqa" not in text
    for name, fn in vars(onnumba.InferenceSession).items():
        if callable(fn) and not name.startswith("_"):
            assert fn.__doc__, f"InferenceSession.{name} has no docstring (help() would show a nearby comment)"


def test_new_names_are_lazy():
    code = ("import sys, onnumba; onnumba.get_available_providers(); onnumba.get_device(); onnumba.ExecutionMode; "
            "onnumba.SessionOptions().add_session_config_entry('a', 'b'); from onnumba.errors import Fail, "
            "InvalidArgument, NoSuchFile, InvalidGraph, NotImplemented; "
            "print(sorted(m for m in ('numba', 'onnx') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_session_installs_compile_logging_and_calls_the_progress_callback(monkeypatch):
    from onnumba import progress

    seen, added = [], []
    real_add = progress.add_listener

    def add(fn):
        remove = real_add(fn)
        added.append(fn)
        progress._emit(progress.CompileEvent("k", 1, 0))  # stands for a compile while the listener is on
        return remove

    monkeypatch.setattr(progress, "add_listener", add)
    so = onnumba.SessionOptions()
    so.compile_progress = seen.append
    sess = onnumba.InferenceSession(_mlp(), so)
    sess.run(None, {"x": _x()})
    assert progress._state["installed"]
    assert added == [seen.append, seen.append] and len(seen) == 2  # once at load, once in the run
    assert seen.append not in progress._listeners  # removed afterwards


@pytest.mark.parametrize("name", ["squeezenet", pytest.param("inception_v2", marks=pytest.mark.slow),
                                  pytest.param("resnet50", marks=pytest.mark.slow)])
def test_optimized_zoo_model_is_valid_onnx_and_runs_on_onnxruntime(name, tmp_path):
    """IR 3 models (initializers listed as inputs) with BatchNormalization folded or turned into ChannelAffine,
    written as standard ONNX (IR >= 4), checked by onnx and run by onnxruntime to onnumba's results."""
    from benchmarks.cases import random_feeds, random_weight_model

    model = random_weight_model(name, seed=1, expose_logits=True)
    feeds = random_feeds(model, seed=2)
    so = onnumba.SessionOptions()
    so.optimized_model_filepath = str(tmp_path / "opt.onnx")
    ours = onnumba.InferenceSession(model, so).run(None, feeds)
    m = onnx.load(so.optimized_model_filepath)
    onnx.checker.check_model(m, full_check=True)
    assert len(m.graph.node) < len(model.graph.node)
    ort_sess = onnxruntime.InferenceSession(so.optimized_model_filepath, providers=["CPUExecutionProvider"])
    theirs = ort_sess.run(None, feeds)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(np.abs(b).max()))
