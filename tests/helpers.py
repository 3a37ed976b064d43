"""Test helpers: one-node models, running them on onnumba and onnxruntime side by side."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper

import onnumba


def np_to_elem(dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def make_node_model(op_type: str, inputs: dict, outputs, attrs: dict | None = None, *, opset: int = 17,
                    initializers: dict | None = None, domain: str = "", output_types: dict | None = None,
                    ir_version: int | None = None) -> onnx.ModelProto:
    """A one-node model.

    Args:
        inputs: ordered name -> array for graph inputs ('' names an omitted optional input, value None).
        outputs: output names (their types are left to shape inference unless ``output_types`` gives them).
        initializers: name -> array for constant inputs (listed in the node's input order with ``inputs``).
    """
    initializers = initializers or {}
    node_inputs = list(inputs)
    graph_inputs = [helper.make_tensor_value_info(n, np_to_elem(a.dtype), a.shape)
                    for n, a in inputs.items() if n and n not in initializers]
    inits = [onnx.numpy_helper.from_array(np.asarray(a), n) for n, a in initializers.items()]
    outs = []
    for o in outputs:
        t = (output_types or {}).get(o)
        outs.append(helper.make_tensor_value_info(o, t, None) if t else helper.make_empty_tensor_value_info(o))
    node = helper.make_node(op_type, node_inputs, list(outputs), domain=domain, **(attrs or {}))
    graph = helper.make_graph([node], f"{op_type}_test", graph_inputs, outs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(domain, opset)])
    model.ir_version = ir_version or min(model.ir_version, 8)
    return with_inferred_output_types(model)


def with_inferred_output_types(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give untyped graph outputs the type onnx's shape inference finds (onnx's checker wants one)."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:
        return model
    known = {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        vi = known.get(out.name)
        if not out.type.HasField("tensor_type") and vi is not None and vi.type.tensor_type.HasField("shape"):
            out.CopyFrom(vi)
    return model


def run_onnumba(model, feeds: dict, **kw):
    return onnumba.InferenceSession(model.SerializeToString(), **kw).run(None, feeds)


def run_ort(model, feeds: dict):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)


def assert_matches_ort(model, feeds: dict, rtol=1e-4, atol=1e-4, check_dtype=True):
    """Run ``model`` on both runtimes and compare every output (shape, dtype and values)."""
    ours = run_onnumba(model, feeds)
    theirs = run_ort(model, feeds)
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert a.shape == b.shape, f"output {i}: shape {a.shape} vs onnxruntime {b.shape}"
        if check_dtype:
            assert a.dtype == b.dtype, f"output {i}: dtype {a.dtype} vs onnxruntime {b.dtype}"
        np.testing.assert_allclose(a.astype(np.float64) if a.dtype.kind == "f" else a,
                                   b.astype(np.float64) if b.dtype.kind == "f" else b,
                                   rtol=rtol, atol=atol, err_msg=f"output {i}")
    return ours
