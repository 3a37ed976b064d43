"""The public plan view (``InferenceSession.get_plan``) and empty batches (steps with empty outputs run no kernel)."""

import dataclasses
import os

import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

import onnumba

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models", "tiny_cnn.onnx")


def _off():
    o = onnumba.SessionOptions()
    o.graph_optimization_level = onnumba.GraphOptimizationLevel.ORT_DISABLE_ALL
    return o


def test_plan_view_shows_fused_nodes_and_shapes():
    sess = onnumba.InferenceSession(TINY)
    steps = sess.get_plan({"x": (2, 3, 32, 32)})
    assert all(isinstance(s, onnumba.PlanStep) for s in steps)
    by_name = {s.name: s for s in steps}
    conv1 = by_name["conv1"]
    assert conv1.op_type == "Conv" and conv1.output_shapes == ((2, 16, 32, 32),)
    assert conv1.fused == (("bn1", "BatchNormalization"), ("relu1", "Relu"))
    assert conv1.epilogue is not None and "relu" in conv1.epilogue.lower()
    assert by_name["conv2"].fused == (("relu2", "Relu"),)
    assert by_name["softmax"].fused == () and by_name["softmax"].epilogue is None
    assert steps[-1].outputs == ("probs",) and steps[-1].output_shapes == ((2, 10),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        conv1.name = "x"


def test_plan_view_without_optimisation_lists_every_node():
    steps = onnumba.InferenceSession(TINY, _off()).get_plan({"x": (1, 3, 32, 32)})
    assert [s.op_type for s in steps][:3] == ["Conv", "BatchNormalization", "Relu"]
    assert all(s.fused == () for s in steps)


def test_plan_of_the_latest_run():
    sess = onnumba.InferenceSession(TINY)
    with pytest.raises(onnumba.InputError, match=r"no plan yet: the model has inputs with symbolic dims"):
        sess.get_plan()
    sess.run(None, {"x": np.zeros((3, 3, 32, 32), np.float32)})
    assert sess.get_plan()[0].output_shapes == ((3, 16, 32, 32),)
    assert sess.get_plan() == sess.get_plan({"x": (3, 3, 32, 32)})


@pytest.mark.parametrize("shapes,match", [
    ({"x": (2, 4, 32, 32)}, r"input 'x': shape \(2, 4, 32, 32\) does not match the declared \('N', 3, 32, 32\)"),
    ({"x": (2, 3, 32)}, r"does not match the declared"),
    ({}, r"input 'x': a concrete shape is needed to make a plan, got \('N', 3, 32, 32\)"),
    ({"x": (1, 3, 32, 32), "z": (1,)}, r"unknown input\(s\) \['z'\]"),
])
def test_plan_view_errors(shapes, match):
    with pytest.raises(onnumba.InputError, match=match):
        onnumba.InferenceSession(TINY).get_plan(shapes)


# ----------------------------------------------------------------------------------------------- empty batch

@pytest.mark.parametrize("optimize", [True, False])
def test_tiny_cnn_runs_an_empty_batch(optimize):
    sess = onnumba.InferenceSession(TINY, None if optimize else _off())
    (probs,) = sess.run(None, {"x": np.zeros((0, 3, 32, 32), np.float32)})
    assert probs.shape == (0, 10) and probs.dtype == np.float32
    assert sess.get_plan() == []  # every step's outputs are empty: nothing runs
    (probs,) = sess.run(None, {"x": np.ones((1, 3, 32, 32), np.float32)})  # other shapes still plan and run
    assert probs.shape == (1, 10)


def test_ops_with_non_empty_outputs_still_run_on_empty_inputs():
    # Shape of an empty tensor is not empty, and Concat with a non-empty operand is not either
    x = helper.make_tensor_value_info("x", TP.FLOAT, ["N", 3])
    outs = [helper.make_tensor_value_info("s", TP.INT64, [2]), helper.make_tensor_value_info("c", TP.FLOAT, [None, 3]),
            helper.make_tensor_value_info("r", TP.FLOAT, [None, 3])]
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Concat", ["x", "k"], ["c"], axis=0),
             helper.make_node("Relu", ["x"], ["r"])]
    k = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "k")
    m = helper.make_model(helper.make_graph(nodes, "g", [x], outs, initializer=[k]),
                          opset_imports=[helper.make_opsetid("", 13)])
    sess = onnumba.InferenceSession(m.SerializeToString())
    s, c, r = sess.run(None, {"x": np.zeros((0, 3), np.float32)})
    np.testing.assert_array_equal(s, [0, 3])
    np.testing.assert_array_equal(c, np.arange(6, dtype=np.float32).reshape(2, 3))
    assert r.shape == (0, 3) and r.dtype == np.float32
    assert [st.op_type for st in sess.get_plan()] == ["Concat"]  # Shape folds; Relu's output is empty
