"""The loader is as tolerant as onnxruntime where a model's meaning is clear, and no more.

Models are built with onnx.helper and never passed through onnx's checker, so each keeps its defect.
"""

import warnings

import numpy as np
import onnx
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

import onnumba


def _model(nodes, inputs, outputs, *, inits=(), opset=13, ir=8):
    g = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = ir
    return m


def _vi(name, dims, elem=TP.FLOAT):
    return helper.make_tensor_value_info(name, elem, dims)


def _relu(in_dims=(2, 3), out=None):
    return _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", list(in_dims))], [out or _vi("y", [2, 3])])


def _load(model, *, warns: str | None):
    """A session, asserting exactly one ModelWarning matching ``warns`` (or none at all)."""
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        sess = onnumba.InferenceSession(model.SerializeToString())
        if warns is None:  # a plan made at the first run may warn too
            sess.run(None, {i.name: np.ones([d if isinstance(d, int) else 2 for d in i.shape], np.float32)
                            for i in sess.get_inputs()})
    got = [str(w.message) for w in rec if issubclass(w.category, onnumba.ModelWarning)]
    if warns is None:
        assert got == []
    else:
        assert len(got) == 1 and warns in got[0], got
        assert "\n" not in got[0]
    return sess


def _check_relu(sess, shape=(2, 3)):
    x = np.linspace(-1, 1, int(np.prod(shape)), dtype=np.float32).reshape(shape)
    (y,) = sess.run(None, {"x": x})
    np.testing.assert_array_equal(y, np.maximum(x, 0))


# ----------------------------------------------------------------------------------------------- tolerated

@pytest.mark.parametrize("dim", [-1, -7])
def test_negative_dim_value_is_dynamic(dim):
    out = _vi("y", [dim, 3])
    sess = _load(_relu(in_dims=(dim, 3), out=out), warns=None)
    assert sess.get_inputs()[0].shape == [None, 3] and sess.get_outputs()[0].shape == [None, 3]
    _check_relu(sess, (5, 3))
    _check_relu(sess, (1, 3))


def test_zero_dim_value_is_a_static_empty_dimension():
    # the spec and onnxruntime: 0 is a size, not "any size"
    sess = _load(_relu(in_dims=(0, 3), out=_vi("y", [0, 3])), warns=None)
    assert sess.get_inputs()[0].shape == [0, 3]
    assert sess.run(None, {"x": np.zeros((0, 3), np.float32)})[0].shape == (0, 3)
    with pytest.raises(onnumba.InputError, match="dimension 0 must be 0"):
        sess.run(None, {"x": np.zeros((2, 3), np.float32)})


def test_output_without_shape_warns_and_runs():
    y = onnx.ValueInfoProto()
    y.name = "y"
    y.type.tensor_type.elem_type = TP.FLOAT
    _check_relu(_load(_relu(out=y), warns="Field 'shape' of 'type' is required but missing"))


def test_output_without_type_warns_and_runs():
    y = onnx.ValueInfoProto()
    y.name = "y"
    sess = _load(_relu(out=y), warns="Field 'type' of 'value_info' is required but missing")
    assert sess.get_outputs()[0].shape is None
    _check_relu(sess)


def test_ir3_initializer_not_listed_as_input_warns_and_is_a_constant():
    w = numpy_helper.from_array(np.arange(3, dtype=np.float32), "w")
    m = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [2, 3])], [_vi("y", [2, 3])], inits=[w],
               opset=7, ir=3)
    sess = _load(m, warns="w in initializer but not in graph input")
    assert [i.name for i in sess.get_inputs()] == ["x"]
    x = np.ones((2, 3), np.float32)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], x + np.arange(3, dtype=np.float32))


def test_unused_initializer_warns():
    m = _relu()
    m.graph.initializer.append(numpy_helper.from_array(np.ones(4, np.float32), "spare"))
    _check_relu(_load(m, warns="1 initializer(s) no node reads (ignored): 'spare'"))


def test_value_info_that_disagrees_with_inference_warns_at_the_first_plan():
    m = _relu()
    m.graph.value_info.append(_vi("y", [7], TP.INT64))
    with pytest.warns(onnumba.ModelWarning, match=r"1 declared value info\(s\) disagree with shape inference, "
                                                  r"which is used: 'y' declared tensor\(int64\) \(7\), inferred "
                                                  r"tensor\(float\) \(2, 3\)"):
        sess = onnumba.InferenceSession(m.SerializeToString())
    _check_relu(sess)


def test_nodes_out_of_order_warn_and_run():
    m = _model([helper.make_node("Relu", ["t"], ["y"]), helper.make_node("Neg", ["x"], ["t"])],
               [_vi("x", [2, 3])], [_vi("y", [2, 3])])
    sess = _load(m, warns="must be topologically sorted")
    x = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(sess.run(None, {"x": x})[0], np.maximum(-x, 0))


# ----------------------------------------------------------------------------------------------- refused

def _refused(model, cls, match):
    with pytest.raises(cls, match=match):
        onnumba.InferenceSession(model.SerializeToString())


def test_cycle_refused():
    m = _model([helper.make_node("Add", ["x", "y"], ["t"]), helper.make_node("Relu", ["t"], ["y"])],
               [_vi("x", [2])], [_vi("y", [2])])
    _refused(m, onnumba.ModelError, "the graph has a cycle")


def test_undefined_input_refused():
    m = _model([helper.make_node("Add", ["x", "zz"], ["y"])], [_vi("x", [2])], [_vi("y", [2])])
    _refused(m, onnumba.ModelError, r"Node 'Add_0' \(Add\), input 1 'zz': no node, graph input or initializer")


def test_wrong_attribute_type_refused():
    n = helper.make_node("Transpose", ["x"], ["y"])
    n.attribute.append(helper.make_attribute("perm", [1.0, 0.0]))
    m = _model([n], [_vi("x", [2, 3])], [_vi("y", [3, 2])])
    _refused(m, onnumba.ModelError, r"Node 'Transpose_0' \(Transpose\), attribute 'perm'")


def test_node_the_schema_refuses_is_refused_with_its_name():
    # an attribute Relu does not have: the node checker's complaint names the node
    m = _model([helper.make_node("Relu", ["x"], ["y"], name="r", alhpa=1.0)], [_vi("x", [2])], [_vi("y", [2])])
    _refused(m, onnumba.ModelError, r"Node 'r' \(Relu\): onnx.checker rejected the node: Unrecognized attribute: "
                                    r"alhpa")


def test_bad_external_data_refused(tmp_path):
    w = numpy_helper.from_array(np.ones(3, np.float32), "w")
    w.data_location = TP.EXTERNAL
    w.ClearField("raw_data")
    w.external_data.add(key="location", value="../outside.bin")
    m = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [3])], [_vi("y", [3])], inits=[w])
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString())
    with pytest.raises(onnumba.ModelError, match=r"tensor 'w': external data location '../outside.bin' leaves"):
        onnumba.InferenceSession(str(path))
