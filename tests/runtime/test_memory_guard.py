"""The memory guard (issue 13): plans, single ops and feed copies over the session's limit are refused with a
typed error naming the node (or input) and the size, before anything is allocated."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnumba
from onnumba import memory
from onnumba.errors import Fail, MemoryLimitError, ModelError, SessionConfigError

F = TensorProto.FLOAT
GIB = 1 << 30

# outputs declared without a shape (their size is what the test is about) draw a ModelWarning
pytestmark = pytest.mark.filterwarnings("ignore::onnumba.ModelWarning")


def _model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m


def _i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def _opts(limit: int | None = None):
    so = onnumba.SessionOptions()
    if limit is not None:
        so.add_session_config_entry(onnumba.MEMORY_LIMIT_KEY, str(limit))
    return so


class _NoBigAllocation:
    """Asserts that numpy allocated less than ``mib`` inside the block (tracemalloc sees numpy's buffers)."""

    def __init__(self, mib=64):
        self.limit = mib << 20

    def __enter__(self):
        tracemalloc.start()
        return self

    def __exit__(self, *exc):
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < self.limit, f"{peak} bytes were allocated before the refusal"
        return False


def _bombs():
    """(model, feeds, node name, op) whose one node would allocate tens of GiB."""
    x2 = helper.make_tensor_value_info("x", F, [2, 3])
    x1 = helper.make_tensor_value_info("x", F, [1, 3])
    y = helper.make_tensor_value_info("y", F, None)
    return [
        (_model([helper.make_node("ConstantOfShape", ["s"], ["y"], name="cos")], [], [y],
                [_i64("s", [1 << 16, 1 << 16])]),
         {}, "cos", "ConstantOfShape"),
        (_model([helper.make_node("Expand", ["x", "s"], ["y"], name="exp")], [x1], [y], [_i64("s", [1 << 31, 3])]),
         {"x": np.ones((1, 3), np.float32)}, "exp", "Expand"),
        (_model([helper.make_node("Tile", ["x", "r"], ["y"], name="tile")], [x2], [y], [_i64("r", [1 << 30, 1])]),
         {"x": np.ones((2, 3), np.float32)}, "tile", "Tile"),
        (_model([helper.make_node("Pad", ["x", "p"], ["y"], name="pad")], [x2], [y], [_i64("p", [0, 0, 1 << 30, 0])]),
         {"x": np.ones((2, 3), np.float32)}, "pad", "Pad"),
    ]


@pytest.mark.parametrize("case", range(4), ids=["ConstantOfShape", "Expand", "Tile", "Pad"])
def test_one_huge_op_is_refused_before_allocating(case):
    model, feeds, name, op = _bombs()[case]
    with _NoBigAllocation(), pytest.raises(MemoryLimitError) as ei:
        sess = onnumba.InferenceSession(model, _opts(4 * GIB))
        sess.run(None, feeds)
    msg = str(ei.value)
    assert f"Node '{name}' ({op})" in msg and "output 0 'y'" in msg and "refused before allocating" in msg
    assert "onnumba.memory_limit_bytes" in msg
    assert isinstance(ei.value, (ModelError, MemoryError, Fail))


def test_message_gives_the_size_in_bytes():
    model, feeds, _, _ = _bombs()[0]
    with pytest.raises(MemoryLimitError, match=r"float32 \(65536, 65536\) = 17179869184 bytes \(16\.00 GiB\)"):
        onnumba.InferenceSession(model, _opts(GIB))


def test_the_default_limit_applies_without_configuration():
    model, _, _, _ = _bombs()[1]  # 24 GiB of float32
    with pytest.raises(MemoryLimitError):
        onnumba.InferenceSession(model).run(None, {"x": np.ones((1, 3), np.float32)})


def test_zero_turns_the_guard_off_and_small_models_pass_a_small_limit():
    x = helper.make_tensor_value_info("x", F, [2, 3])
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [x], [helper.make_tensor_value_info("y", F, [2, 3])])
    for limit in (1024, 0):
        out = onnumba.InferenceSession(m, _opts(limit)).run(None, {"x": -np.ones((2, 3), np.float32)})[0]
        np.testing.assert_array_equal(out, 0)
    assert memory.limit_from_options(_opts(0)) is None
    with pytest.raises(MemoryLimitError, match=r"Node 'n' \(Relu\)"):
        bad = _model([helper.make_node("Relu", ["x"], ["y"], name="n")], [x],
                     [helper.make_tensor_value_info("y", F, None)])
        onnumba.InferenceSession(bad, _opts(16))  # 24 bytes of output over a 16-byte limit


def test_peak_of_live_buffers_is_checked():
    """Three 4 KiB outputs alive at once: each op fits a 10 KiB limit, the plan (12 KiB) does not."""
    x = helper.make_tensor_value_info("x", F, [1024])
    outs = [helper.make_tensor_value_info(n, F, [1024]) for n in ("a", "b", "c")]
    m = _model([helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Neg", ["x"], ["b"], name="r2"),
                helper.make_node("Abs", ["x"], ["c"], name="r3")], [x], outs)
    with pytest.raises(MemoryLimitError, match=r"Node 'r3' \(Abs\): the plan needs 12288 bytes .* alive at once"):
        onnumba.InferenceSession(m, _opts(10 * 1024))
    # freed buffers do not count: a chain of the same three ops peaks at two buffers (8 KiB)
    chain = _model([helper.make_node("Relu", ["x"], ["a"], name="r1"), helper.make_node("Neg", ["a"], ["b"], name="r2"),
                    helper.make_node("Abs", ["b"], ["c"], name="r3")], [x], outs[2:])
    onnumba.InferenceSession(chain, _opts(10 * 1024))


def test_symbolic_shapes_are_checked_per_run():
    x = helper.make_tensor_value_info("x", F, ["N", 3])
    m = _model([helper.make_node("Tile", ["x", "r"], ["y"], name="tile")], [x],
               [helper.make_tensor_value_info("y", F, None)], [_i64("r", [1 << 20, 1])])
    sess = onnumba.InferenceSession(m, _opts(GIB))
    assert sess.run(None, {"x": np.ones((1, 3), np.float32)})[0].shape == (1 << 20, 3)  # 12 MiB
    with _NoBigAllocation(), pytest.raises(MemoryLimitError, match=r"Node 'tile' \(Tile\)"):
        sess.run(None, {"x": np.ones((1024, 3), np.float32)})  # 12 GiB


def test_a_broadcast_feed_is_not_copied_before_the_check():
    """A stride-0 view of one row as 2**20 rows is read-only, so the session would copy it (4 GiB)."""
    x = helper.make_tensor_value_info("x", F, ["N", 1024])
    m = _model([helper.make_node("Relu", ["x"], ["y"])], [x], [helper.make_tensor_value_info("y", F, ["N", 1024])])
    feed = np.broadcast_to(np.ones((1, 1024), np.float32), (1 << 20, 1024))
    sess = onnumba.InferenceSession(m, _opts(GIB))
    with _NoBigAllocation(), pytest.raises(MemoryLimitError, match=r"input 'x': shape \(1048576, 1024\) float32 must "
                                                                   r"be copied .* 4294967296 bytes"):
        sess.run(None, {"x": feed})


def test_a_declared_workspace_counts(monkeypatch):
    x = helper.make_tensor_value_info("x", F, [2, 3])
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [x], [helper.make_tensor_value_info("y", F, [2, 3])])
    relu = onnumba.registry.resolve("", "Relu", 17)
    monkeypatch.setattr(relu, "workspace_bytes", classmethod(lambda cls, node, attrs, inputs: 5 * GIB), raising=False)
    with pytest.raises(MemoryLimitError, match=r"Node 'r' \(Relu\): would allocate .* plus 5368709120 bytes .* of "
                                               r"temporaries"):
        onnumba.InferenceSession(m, _opts(4 * GIB))


def test_memory_error_inside_a_node_becomes_typed(monkeypatch):
    x = helper.make_tensor_value_info("x", F, [2, 3])
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="r")], [x], [helper.make_tensor_value_info("y", F, [2, 3])])
    sess = onnumba.InferenceSession(m)
    relu = onnumba.registry.resolve("", "Relu", 17)

    def boom(cls, node, attrs, arrays):
        raise MemoryError("Unable to allocate 16.0 GiB")

    monkeypatch.setattr(relu, "run", classmethod(boom))
    with pytest.raises(MemoryLimitError, match=r"Node 'r' \(Relu\): ran out of memory while computing the node"):
        sess.run(None, {"x": np.ones((2, 3), np.float32)})


def test_config_value_is_validated():
    so = onnumba.SessionOptions()
    for bad in ("-1", "lots", "1.5"):
        with pytest.raises(SessionConfigError, match="whole number of bytes"):
            so.add_session_config_entry(onnumba.MEMORY_LIMIT_KEY, bad)
    so.add_session_config_entry(onnumba.MEMORY_LIMIT_KEY, "12345")
    assert memory.limit_from_options(so) == 12345


def test_default_limit_sources(monkeypatch):
    assert 0 < memory.default_limit()
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 10 * GIB)
    monkeypatch.setattr(memory, "_address_space_left", lambda: None)
    assert memory.default_limit() == int(0.8 * 10 * GIB)
    monkeypatch.setattr(memory, "_address_space_left", lambda: 5 * GIB)  # a capped worker: the smaller one
    assert memory.default_limit() == 4 * GIB
    monkeypatch.setattr(memory, "_meminfo_available", lambda: None)
    monkeypatch.setattr(memory, "_address_space_left", lambda: None)
    assert memory.default_limit() == memory.FALLBACK_LIMIT
