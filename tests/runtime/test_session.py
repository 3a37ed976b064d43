"""The session API against onnxruntime's, and every user error the foundation issue lists."""

import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnumba
from tests.helpers import run_ort

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=(), opset=17, ir=8):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def _mlp(batch="N"):
    """x[N, 4] -> Add(b) -> Relu -> Identity, with a symbolic batch dim."""
    b = numpy_helper.from_array(np.array([0.5, -1.0, 2.0, -3.0], np.float32), "b")
    return _model(
        [helper.make_node("Add", ["x", "b"], ["s"], name="add"),
         helper.make_node("Relu", ["s"], ["r"], name="relu"),
         helper.make_node("Identity", ["r"], ["y"], name="id")],
        [helper.make_tensor_value_info("x", F, [batch, 4])],
        [helper.make_tensor_value_info("y", F, [batch, 4]), helper.make_tensor_value_info("s", F, [batch, 4])],
        [b])


def test_ort_style_code_runs_unchanged_with_symbolic_batch():
    import onnxruntime as ort

    model = _mlp().SerializeToString()
    for Session in (onnumba.InferenceSession, ort.InferenceSession):
        sess = Session(model, providers=["CPUExecutionProvider"])
        assert [(i.name, i.shape, i.type) for i in sess.get_inputs()] == [("x", ["N", 4], "tensor(float)")]
        assert [(o.name, o.shape, o.type) for o in sess.get_outputs()] == [
            ("y", ["N", 4], "tensor(float)"), ("s", ["N", 4], "tensor(float)")]
    ours = onnumba.InferenceSession(model)
    theirs = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    for n in (1, 3, 7, 3):
        x = rng.standard_normal((n, 4)).astype(np.float32)
        a, b = ours.run(None, {"x": x}), theirs.run(None, {"x": x})
        assert len(a) == 2
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=1e-6)
        (only_s,) = ours.run(["s"], {"x": x})
        np.testing.assert_allclose(only_s, b[1], rtol=1e-6)
    assert len(ours._plans) == 6  # one plan per (input-shape signature, requested outputs): 3 shapes x 2


def test_model_from_path_bytes_and_proto(tmp_path):
    m = _mlp(2)
    p = tmp_path / "m.onnx"
    onnx.save(m, p)
    x = np.ones((2, 4), np.float32)
    outs = [onnumba.InferenceSession(src).run(None, {"x": x})[0] for src in (str(p), p, m.SerializeToString(), m)]
    for o in outs[1:]:
        np.testing.assert_array_equal(o, outs[0])


def test_modelmeta_and_providers():
    m = _mlp()
    m.producer_name = "unit"
    m.model_version = 3
    helper.set_model_props(m, {"author": "me"})
    meta = onnumba.InferenceSession(m).get_modelmeta()
    assert (meta.producer_name, meta.version, meta.custom_metadata_map) == ("unit", 3, {"author": "me"})
    assert onnumba.InferenceSession(m).get_providers() == ["CPUExecutionProvider"]


def test_unknown_op_lists_all_unsupported_at_once():
    m = _model([helper.make_node("FooOp", ["x"], ["t"], name="n1", domain="my.domain"),
                helper.make_node("BarOp", ["t"], ["y"], name="n2", domain="my.domain")],
               [helper.make_tensor_value_info("x", F, [1])], [helper.make_tensor_value_info("y", F, [1])])
    m.opset_import.append(helper.make_opsetid("my.domain", 1))
    with pytest.raises(onnumba.UnsupportedOpError, match=r"(?s)2 node\(s\).*'n1' \(my.domain::FooOp\)(.|\n)*'n2'"):
        onnumba.InferenceSession(m)


def test_op_from_unimported_domain_is_named():
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="r", domain="com.other")],
               [helper.make_tensor_value_info("x", F, [1])], [helper.make_tensor_value_info("y", F, [1])])
    with pytest.raises(onnumba.UnsupportedOpError, match=r"'r' \(com.other::Relu\): domain 'com.other'"):
        onnumba.InferenceSession(m)


def test_truncated_file(tmp_path):
    data = _mlp().SerializeToString()
    p = tmp_path / "t.onnx"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(onnumba.ModelError, match="t.onnx"):
        onnumba.InferenceSession(str(p))
    with pytest.raises(onnumba.ModelError, match="not found"):
        onnumba.InferenceSession(str(tmp_path / "missing.onnx"))


def test_cycle_names_the_node():
    m = _model([helper.make_node("Add", ["x", "b"], ["a"], name="first"),
                helper.make_node("Relu", ["a"], ["b"], name="second")],
               [helper.make_tensor_value_info("x", F, [1])], [helper.make_tensor_value_info("b", F, [1])])
    with pytest.raises(onnumba.ModelError, match=r"cycle.*'(first|second)'"):
        onnumba.InferenceSession(m)


def test_dangling_input_names_the_node():
    m = _model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="adder")],
               [helper.make_tensor_value_info("x", F, [1])], [helper.make_tensor_value_info("y", F, [1])])
    with pytest.raises(onnumba.ModelError, match=r"'adder' \(Add\), input 1 'nowhere': no node"):
        onnumba.InferenceSession(m)


def _external_model(tmp_path, location, length=None):
    t = numpy_helper.from_array(np.arange(4, dtype=np.float32), "b")
    t.ClearField("raw_data")
    t.data_location = TensorProto.EXTERNAL
    entries = {"location": location, "offset": "0"}
    if length is not None:
        entries["length"] = str(length)
    for k, v in entries.items():
        e = t.external_data.add()
        e.key, e.value = k, v
    m = _model([helper.make_node("Add", ["x", "b"], ["y"], name="add")],
               [helper.make_tensor_value_info("x", F, [4])], [helper.make_tensor_value_info("y", F, [4])], [t])
    d = tmp_path / "model_dir"
    d.mkdir(exist_ok=True)
    p = d / "m.onnx"
    p.write_bytes(m.SerializeToString())
    return d, p


def test_external_data_inside_folder_loads(tmp_path):
    d, p = _external_model(tmp_path, "w.bin", 16)
    (d / "w.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    y = onnumba.InferenceSession(str(p)).run(None, {"x": np.ones(4, np.float32)})[0]
    np.testing.assert_array_equal(y, np.arange(4) + 1)


@pytest.mark.parametrize("location,match", [
    ("../secret.bin", r"leaves the model's folder"),
    ("/etc/passwd", r"absolute path"),
    ("link.bin", r"outside the model's folder"),
])
def test_external_data_outside_folder_refused(tmp_path, location, match):
    secret = tmp_path / "secret.bin"
    secret.write_bytes(np.arange(4, dtype=np.float32).tobytes())
    d, p = _external_model(tmp_path, location, 16)
    os.symlink(secret, d / "link.bin")
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(str(p))


def test_external_data_length_must_match(tmp_path):
    d, p = _external_model(tmp_path, "w.bin", 8)
    (d / "w.bin").write_bytes(np.arange(4, dtype=np.float32).tobytes())
    with pytest.raises(onnumba.ModelError, match=r"length 8 bytes .* need 16"):
        onnumba.InferenceSession(str(p))
    d, p = _external_model(tmp_path, "w.bin", 64)
    with pytest.raises(onnumba.ModelError, match=r"exceeds the file"):
        onnumba.InferenceSession(str(p))


@pytest.mark.parametrize("feeds,exc,match", [
    ({"x": np.ones((2, 4), np.float64)}, onnumba.InputTypeError, r"input 'x': expected element type tensor\(float\)"),
    ({"x": np.ones((2, 4, 1), np.float32)}, onnumba.InputError, r"input 'x': expected rank 2"),
    ({"x": np.ones((2, 5), np.float32)}, onnumba.InputError, r"input 'x': dimension 1 must be 4"),
    ({}, onnumba.InputError, r"missing input\(s\) \['x'\]"),
    ({"x": np.ones((2, 4), np.float32), "z": np.ones(1)}, onnumba.InputError, r"unknown input 'z'"),
])
def test_bad_feeds(feeds, exc, match):
    sess = onnumba.InferenceSession(_mlp())
    with pytest.raises(exc, match=match):
        sess.run(None, feeds)


def test_unknown_output_name():
    sess = onnumba.InferenceSession(_mlp())
    with pytest.raises(onnumba.InputError, match=r"unknown output name 'nope'"):
        sess.run(["nope"], {"x": np.ones((1, 4), np.float32)})


def test_ir3_initializers_listed_as_inputs_are_constants():
    b = numpy_helper.from_array(np.full(4, 2.0, np.float32), "b")
    m = _model([helper.make_node("Add", ["x", "b"], ["y"])],
               [helper.make_tensor_value_info("x", F, [4]), helper.make_tensor_value_info("b", F, [4])],
               [helper.make_tensor_value_info("y", F, [4])], [b], opset=9, ir=3)
    sess = onnumba.InferenceSession(m)
    assert [i.name for i in sess.get_inputs()] == ["x"]
    np.testing.assert_array_equal(sess.run(None, {"x": np.zeros(4, np.float32)})[0], 2.0)


def test_ir4_overridable_initializer():
    b = numpy_helper.from_array(np.full(4, 2.0, np.float32), "b")
    m = _model([helper.make_node("Add", ["x", "b"], ["y"])],
               [helper.make_tensor_value_info("x", F, [4]), helper.make_tensor_value_info("b", F, [4])],
               [helper.make_tensor_value_info("y", F, [4])], [b])
    sess = onnumba.InferenceSession(m)
    assert [i.name for i in sess.get_inputs()] == ["x"]
    assert [i.name for i in sess.get_overridable_initializers()] == ["b"]
    x = np.zeros(4, np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], 2.0)
    np.testing.assert_array_equal(sess.run(None, {"x": x, "b": np.full(4, 5.0, np.float32)})[0], 5.0)
    np.testing.assert_array_equal(run_ort(m, {"x": x, "b": np.full(4, 5.0, np.float32)})[0], 5.0)


def test_shape_chain_is_folded_at_plan_time():
    """Shape -> Reshape on a symbolic batch: the Shape node never runs as a step."""
    m = _model([helper.make_node("Shape", ["x"], ["s"]),
                helper.make_node("Reshape", ["x", "s"], ["r"]),
                helper.make_node("Relu", ["r"], ["y"])],
               [helper.make_tensor_value_info("x", F, ["N", 3])], [helper.make_tensor_value_info("y", F, ["N", 3])])
    sess = onnumba.InferenceSession(m)
    x = -np.arange(6, dtype=np.float32).reshape(2, 3) + 2
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.maximum(x, 0))
    assert [st.op_type for st in sess.get_plan()] == ["Reshape", "Relu"]


def test_intermediates_are_freed_after_last_use():
    sess = onnumba.InferenceSession(_mlp())
    sess.run(["y"], {"x": np.ones((1, 4), np.float32)})
    plan = next(iter(sess._plans.values()))
    freed = [n for st in plan.steps for n in st.free]
    assert "r" in freed and "y" not in freed


def test_thread_option_is_honoured():
    import numba

    opts = onnumba.SessionOptions()
    opts.intra_op_num_threads = 1
    before = numba.get_num_threads()
    sess = onnumba.InferenceSession(_mlp(), opts)
    sess.run(None, {"x": np.ones((1, 4), np.float32)})
    assert numba.get_num_threads() == before


def test_supported_ops_table_lists_versions():
    rows = {r["op_type"]: r for r in onnumba.supported_ops()}
    assert rows["Add"]["versions"] == (1, 6, 7, 13, 14)
    assert rows["Relu"]["domain"] == "ai.onnx"


def test_unimplemented_version_is_refused():
    from onnumba.registry import resolve

    with pytest.raises(onnumba.UnsupportedOpError, match=r"'Add' version .* not implemented|not implemented"):
        resolve("", "NoSuchOp", 17)


def test_profiling_records_each_step_and_writes_a_file(tmp_path):
    import json

    opts = onnumba.SessionOptions()
    opts.enable_profiling = True
    opts.profile_file_prefix = str(tmp_path / "prof_")
    sess = onnumba.InferenceSession(_mlp(), opts)
    for _ in range(3):
        sess.run(None, {"x": np.ones((2, 4), np.float32)})
    summary = sess.profile_summary()
    assert {k: v["calls"] for k, v in summary.items()} == {"Add": 3, "Relu": 3, "Identity": 3}
    path = sess.end_profiling()
    assert path.startswith(str(tmp_path / "prof_")) and path.endswith(".json")
    with open(path) as f:
        data = json.load(f)
    nodes = [e for e in data if e["cat"] == "Node"]
    assert [e["name"] for e in nodes] == ["add_kernel_time", "relu_kernel_time", "id_kernel_time"] * 3
    assert [e["args"]["op_name"] for e in nodes[:3]] == ["Add", "Relu", "Identity"]
    assert [e["name"] for e in data if e["name"] == "model_run"] == ["model_run"] * 3
    assert sess.profile_summary() == {} and sess.end_profiling() == ""  # ended, as in onnxruntime


def test_outputs_never_alias_constants_or_feeds():
    """Identity of an initializer and Identity of the input: writing into the outputs changes nothing inside."""
    b = numpy_helper.from_array(np.full(4, 2.0, np.float32), "b")
    m = _model([helper.make_node("Identity", ["b"], ["yb"]), helper.make_node("Identity", ["x"], ["yx"])],
               [helper.make_tensor_value_info("x", F, [4])],
               [helper.make_tensor_value_info("yb", F, [4]), helper.make_tensor_value_info("yx", F, [4])], [b])
    sess = onnumba.InferenceSession(m)
    x = np.zeros(4, np.float32)
    yb, yx = sess.run(None, {"x": x})
    yb[:] = 99
    yx[:] = 99
    np.testing.assert_array_equal(x, 0)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], 2.0)


def test_concurrent_runs_from_threads_agree():
    """Like onnxruntime's, one session may be run from several Python threads at once."""
    from concurrent.futures import ThreadPoolExecutor

    path = os.path.join(os.path.dirname(__file__), "..", "..", "models", "tiny_cnn.onnx")
    sess = onnumba.InferenceSession(path)
    xs = [np.random.default_rng(i).standard_normal((2, 3, 32, 32)).astype(np.float32) for i in range(8)]
    expected = [sess.run(None, {"x": x})[0] for x in xs]
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda x: sess.run(None, {"x": x})[0], xs * 3))
    # not bitwise: Softmax's vectorised sum depends on the buffer's alignment (an ulp); a race would be far off
    for i, g in enumerate(got):
        np.testing.assert_allclose(g, expected[i % 8], rtol=1e-6, atol=1e-7)


def test_read_only_and_unaligned_feeds_are_accepted():
    """np.frombuffer data (read-only) runs like any other feed; the caller's array is left alone."""
    sess = onnumba.InferenceSession(_mlp())
    x = np.frombuffer(np.arange(8, dtype=np.float32).tobytes(), dtype=np.float32).reshape(2, 4)
    assert not x.flags.writeable
    (y, _) = sess.run(None, {"x": x})
    np.testing.assert_allclose(y, np.maximum(x + np.array([0.5, -1.0, 2.0, -3.0], np.float32), 0))
