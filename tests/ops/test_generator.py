"""Constant, ConstantOfShape and Range (ops/generator.py): every Constant attribute form, ConstantOfShape's
values and errors, Range tables vs the naive reference, fed data-dependent sizes, onnxruntime, pinned errors."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import onnumba
from onnumba.errors import ModelError
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, session
from tests.reference.indexing import range_ref

F32 = np.float32


def _i64(v):
    return np.array(v, dtype=np.int64)


# ============================================================================================ Constant

def _constant_model(**attrs):
    node = helper.make_node("Constant", [], ["y"], **attrs)
    g = helper.make_graph([node], "c", [], [helper.make_tensor_value_info("y", TensorProto.UNDEFINED, None)])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    m = onnx.shape_inference.infer_shapes(m)
    if not m.graph.output[0].type.tensor_type.HasField("shape"):
        m.graph.output[0].type.tensor_type.elem_type = TensorProto.FLOAT
        m.graph.output[0].type.tensor_type.shape.SetInParent()
    return m


@pytest.mark.parametrize("attrs,expected", [
    (dict(value=onnx.numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3))),
     np.arange(6, dtype=np.float32).reshape(2, 3)),
    (dict(value_float=1.5), np.array(1.5, np.float32)),
    (dict(value_floats=[1.0, 2.5]), np.array([1.0, 2.5], np.float32)),
    (dict(value_int=7), np.array(7, np.int64)),
    (dict(value_ints=[1, -2, 3]), np.array([1, -2, 3], np.int64)),
    (dict(value_string="ab"), np.array("ab", dtype=object)),
    (dict(value_strings=["a", "b"]), np.array(["a", "b"], dtype=object)),
])
def test_constant_forms(attrs, expected):
    (y,) = session(_constant_model(**attrs)).run(None, {})
    assert y.dtype == expected.dtype and y.shape == expected.shape
    assert y.tolist() == expected.tolist()


def test_constant_sparse_refused():
    sp = helper.make_sparse_tensor(helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]),
                                   helper.make_tensor("i", TensorProto.INT64, [1], [0]), [3])
    with pytest.raises(onnumba.ModelError, match=r"\(Constant\), attribute 'sparse_value': sparse tensors are not "
                                                 r"supported"):
        session(_constant_model(sparse_value=sp))


# ===================================================================================== ConstantOfShape

@pytest.mark.parametrize("shape,value", [((2, 3), None), ((0,), np.array([5], np.int32)), ((), np.array([2.5], np.float64)),
                                         ((1, 2, 2), np.array([True]))])
def test_constant_of_shape(shape, value):
    s = _i64(shape).reshape(-1)
    attrs = {} if value is None else {"value": onnx.numpy_helper.from_array(value)}
    m = make_node_model("ConstantOfShape", {"s": s}, ["y"], attrs, initializers={"s": s})
    (y,) = run_onnumba(m, {})
    exp = np.zeros(shape, np.float32) if value is None else np.full(shape, value[0], value.dtype)
    assert y.dtype == exp.dtype and y.shape == exp.shape
    np.testing.assert_array_equal(y, exp)


@pytest.mark.parametrize("shape,match", [((2, -1), r"negative dimension"), ((2 ** 20, 2 ** 20), r"more than onnumba's limit")])
def test_constant_of_shape_errors(shape, match):
    s = _i64(shape)
    m = make_node_model("ConstantOfShape", {"s": s}, ["y"], initializers={"s": s})
    with pytest.raises(onnumba.ModelError, match=r"\(ConstantOfShape\).*" + match):
        session(m)


# ================================================================================================ Range

def range_model(start, limit, delta, fed=False, opset=27):
    vals = {"s": np.array(start), "l": np.array(limit), "d": np.array(delta)}
    return make_node_model("Range", vals, ["y"], opset=opset, initializers=None if fed else vals)


@pytest.mark.parametrize("start,limit,delta,dtype", [
    (3, 9, 3, np.int64), (10, 4, -2, np.int32), (0, 0, 1, np.int64), (5, 1, 1, np.int16),
    (1.0, 2.0, 0.3, np.float32), (-1.5, 1.0, 0.25, np.float64), (0.0, 10.0, 1.5, np.float16)])
def test_range_table(start, limit, delta, dtype):
    vals = [np.array(v, dtype) for v in (start, limit, delta)]
    (y,) = run_onnumba(range_model(*vals), {})
    ref = range_ref(*(v.item() for v in vals), dtype)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.astype(np.float64), ref.astype(np.float64), rtol=1e-3)


def test_range_fed_inputs_give_data_dependent_sizes():
    vals = [np.array(v, np.int64) for v in (0, 5, 1)]
    s = session(range_model(*vals, fed=True, opset=11))
    assert s.run(None, {"s": vals[0], "l": vals[1], "d": vals[2]})[0].tolist() == [0, 1, 2, 3, 4]
    assert s.run(None, {"s": vals[0], "l": np.array(9), "d": np.array(4)})[0].tolist() == [0, 4, 8]


def test_range_vs_ort():
    vals = [np.array(v, F32) for v in (0.5, 7.25, 0.75)]
    assert_matches_ort(range_model(*vals, opset=11), {})


def test_range_zero_delta_error():
    vals = [np.array(v, np.int64) for v in (0, 5, 0)]
    with pytest.raises(ModelError, match=r"\(Range\), input 2 'd': delta must not be 0"):
        session(range_model(*vals))
