"""The run path after the plan is lowered to a slot program: cached plans and feed checks must not skip any
validation, outputs stay the caller's, omitted optional inputs / outputs, frees, profiling and thread counts."""

import numba
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnumba
from onnumba.errors import InputError, InputTypeError

F = TensorProto.FLOAT


def _model(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m.SerializeToString()


def _chain(n=6):
    """x[N, 3] -> (Relu, Add x) alternating n times -> y; also returns the first intermediate as an output."""
    nodes, prev = [], "x"
    for i in range(n):
        nodes.append(helper.make_node("Relu", [prev], [f"t{i}"]) if i % 2 == 0 else
                     helper.make_node("Add", [prev, "x"], [f"t{i}"]))
        prev = f"t{i}"
    return _model(nodes, [helper.make_tensor_value_info("x", F, ["N", 3])],
                  [helper.make_tensor_value_info(prev, F, ["N", 3]), helper.make_tensor_value_info("t0", F, ["N", 3])])


def _chain_ref(x, n=6):
    t = x
    for i in range(n):
        t = np.maximum(t, 0) if i % 2 == 0 else t + x
    return t


def test_results_of_earlier_runs_are_not_overwritten():
    sess = onnumba.InferenceSession(_chain())
    x1 = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
    x2 = -x1 * 3
    y1, a1 = sess.run(None, {"x": x1})
    keep = y1.copy(), a1.copy()
    y2, _ = sess.run(None, {"x": x2})
    np.testing.assert_array_equal(y1, keep[0])
    np.testing.assert_array_equal(a1, keep[1])
    np.testing.assert_array_equal(y2, _chain_ref(x2))
    assert not np.shares_memory(y1, y2)


def test_cached_plan_still_checks_every_feed():
    sess = onnumba.InferenceSession(_chain())
    x = np.ones((2, 3), np.float32)
    sess.run(None, {"x": x})  # the plan for this signature is now cached
    with pytest.raises(InputTypeError, match=r"input 'x': expected element type tensor\(float\), got"):
        sess.run(None, {"x": x.astype(np.float64)})
    with pytest.raises(InputError, match=r"input 'x': dimension 1 must be 3 \(expected shape .*got shape \(2, 4\)"):
        sess.run(None, {"x": np.ones((2, 4), np.float32)})
    with pytest.raises(InputError, match="input 'x': expected rank 2"):
        sess.run(None, {"x": np.ones((2, 3, 1), np.float32)})
    with pytest.raises(InputError, match="missing input"):
        sess.run(None, {})
    with pytest.raises(InputError, match="unknown input 'z'"):
        sess.run(None, {"x": x, "z": x})
    with pytest.raises(InputError, match="unknown output name 'nope'"):
        sess.run(["nope"], {"x": x})
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], _chain_ref(x))


def test_shapes_and_output_subsets_alternate():
    sess = onnumba.InferenceSession(_chain())
    rng = np.random.default_rng(0)
    for n in (1, 4, 1, 7, 4):
        x = rng.standard_normal((n, 3)).astype(np.float32)
        y, t0 = sess.run(None, {"x": x})
        np.testing.assert_allclose(y, _chain_ref(x), rtol=1e-6)
        np.testing.assert_array_equal(t0, np.maximum(x, 0))
        (only,) = sess.run(["t0"], {"x": x})
        np.testing.assert_array_equal(only, np.maximum(x, 0))
        assert [p.output_shapes[0] for p in sess.get_plan()][-1] == (n, 3)


def test_python_list_and_read_only_feeds_on_the_cached_path():
    sess = onnumba.InferenceSession(_chain())
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    sess.run(None, {"x": x})
    ro = x.copy()
    ro.flags.writeable = False
    np.testing.assert_array_equal(sess.run(None, {"x": ro})[0], _chain_ref(x))
    np.testing.assert_array_equal(sess.run(None, {"x": np.broadcast_to(x[:1], (2, 3))})[0],
                                  _chain_ref(np.broadcast_to(x[:1], (2, 3))))


def test_omitted_optional_inputs_and_outputs():
    # Clip with an omitted min ('' input) and a Dropout whose mask output is omitted, then one with its mask kept
    lo = numpy_helper.from_array(np.array(0.5, np.float32), "hi")
    m = _model([helper.make_node("Clip", ["x", "", "hi"], ["c"]),
                helper.make_node("Dropout", ["c"], ["d", ""]),
                helper.make_node("Dropout", ["d"], ["y", "mask"])],
               [helper.make_tensor_value_info("x", F, [2, 3])],
               [helper.make_tensor_value_info("y", F, [2, 3]),
                helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 3])], [lo])
    sess = onnumba.InferenceSession(m)
    x = np.linspace(-2, 2, 6, dtype=np.float32).reshape(2, 3)
    for _ in range(2):
        y, mask = sess.run(None, {"x": x})
        np.testing.assert_array_equal(y, np.minimum(x, 0.5))
        assert mask.dtype == bool and mask.all()


def test_output_that_is_a_feed_or_a_constant_is_a_copy_every_run():
    c = numpy_helper.from_array(np.ones(3, np.float32), "c")
    m = _model([helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Identity", ["c"], ["k"])],
               [helper.make_tensor_value_info("x", F, [3])],
               [helper.make_tensor_value_info("y", F, [3]), helper.make_tensor_value_info("k", F, [3])], [c])
    sess = onnumba.InferenceSession(m)
    x = np.zeros(3, np.float32)
    for _ in range(2):
        y, k = sess.run(None, {"x": x})
        y[:] = 5
        k[:] = 7
        assert not x.any()
    np.testing.assert_array_equal(sess.run(["k"], {"x": x})[0], np.ones(3, np.float32))


def test_thread_count_is_restored_when_a_run_fails():
    opts = onnumba.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = onnumba.InferenceSession(_chain(), opts)
    before = numba.get_num_threads()
    sess.run(None, {"x": np.ones((2, 3), np.float32)})
    assert numba.get_num_threads() == before
    with pytest.raises(InputError):
        sess.run(None, {"x": np.ones((2, 5), np.float32)})
    assert numba.get_num_threads() == before


def test_profiled_runs_record_every_step(tmp_path):
    opts = onnumba.SessionOptions()
    opts.enable_profiling = True
    opts.profile_file_prefix = str(tmp_path / "p")
    sess = onnumba.InferenceSession(_chain(4), opts)
    for _ in range(3):
        np.testing.assert_array_equal(sess.run(None, {"x": np.ones((2, 3), np.float32)})[0],
                                      _chain_ref(np.ones((2, 3), np.float32), 4))
    summary = sess.profile_summary()
    assert summary["Relu"]["calls"] == 6 and summary["Add"]["calls"] == 6


def test_intermediates_are_released_during_the_run():
    # the program frees a slot after its value's last reader, as the plan's last-use lists say: t0 is a graph
    # output, so it is kept; the other intermediates are freed
    from onnumba.planner import lower

    sess = onnumba.InferenceSession(_chain())
    sess.run(None, {"x": np.ones((2, 3), np.float32)})
    plan = sess._last_plan
    prog = lower(plan)
    freed = {k for step in prog.steps for k in step[5]}
    names = {n for st in plan.steps for n in st.free}
    assert len(freed) == len(names) and "t0" not in names and "t1" in names


def test_overridable_plan_value_fed_or_left_to_its_initializer():
    # Reshape's shape is an overridable initializer (IR >= 4 lists it as an input too): left unfed, the plan is
    # looked up by shapes alone; fed, by its value
    shape = numpy_helper.from_array(np.array([3, 2], np.int64), "shape")
    g = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Relu", ["r"], ["y"])],
                          "g", [helper.make_tensor_value_info("x", F, [2, 3]),
                                helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                          [helper.make_tensor_value_info("y", F, ["a", "b"])], [shape])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    sess = onnumba.InferenceSession(m.SerializeToString())
    x = np.arange(6, dtype=np.float32).reshape(2, 3) - 3
    for fed in (None, [6, 1], None, [1, 6], [6, 1]):
        feeds = {"x": x} if fed is None else {"x": x, "shape": np.array(fed, np.int64)}
        (y,) = sess.run(None, feeds)
        np.testing.assert_array_equal(y, np.maximum(x, 0).reshape(fed or (3, 2)))
