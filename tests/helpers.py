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
    """A one-node model whose graph outputs all carry a type and a shape (onnx's checker, which the session
    runs, refuses them without).

    Args:
        inputs: ordered name -> array for graph inputs ('' names an omitted optional input, value None).
        outputs: output names. Typed by ``output_types`` if given there, else by onnx's shape inference;
            where inference cannot tell (the invalid models of error tests), an output gets the first given
            input's element type and rank, with symbolic dims.
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
    like = next((a for a in inputs.values() if a is not None), None)
    return with_inferred_output_types(model, like)


def with_inferred_output_types(model: onnx.ModelProto, like=None) -> onnx.ModelProto:
    """Give untyped graph outputs the type onnx's shape inference finds (onnx's checker wants one).

    With ``like`` (an array), an output still without a shape afterwards gets the element type inference
    found, else ``like``'s, and ``like``'s rank with symbolic dims ``<output>_d<k>``.
    """
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:
        inferred = None
    known = {} if inferred is None else \
        {vi.name: vi for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    for out in model.graph.output:
        vi = known.get(out.name)
        if not out.type.HasField("tensor_type") and vi is not None and vi.type.tensor_type.HasField("shape"):
            out.CopyFrom(vi)
        tt = out.type.tensor_type
        if like is None or tt.HasField("shape"):
            continue
        tt.elem_type = tt.elem_type or (vi.type.tensor_type.elem_type if vi is not None else 0) or \
            np_to_elem(np.asarray(like).dtype)
        tt.shape.SetInParent()
        for k in range(np.ndim(like)):
            tt.shape.dim.add().dim_param = f"{out.name}_d{k}"
    return model


def session(model: onnx.ModelProto, **kw) -> onnumba.InferenceSession:
    """An onnumba session for a ModelProto (``kw`` as for ``onnumba.InferenceSession``)."""
    return onnumba.InferenceSession(model.SerializeToString(), **kw)


def bind_single_node(model, feeds: dict):
    """``(node, attrs)`` of a one-node model, bound for ``feeds``' shapes through the Op contract
    (``parse_attrs`` at load, then ``bind``) the way the planner calls it, with initializers as constants.

    For op-level tests that inspect or re-run an op's bound attributes; tests of what a session planned use
    the public ``InferenceSession.get_plan()`` instead.
    """
    from onnumba.graph import build_graph, load_model
    from onnumba.registry import PlanContext, TensorInfo

    graph = build_graph(load_model(model.SerializeToString() if isinstance(model, onnx.ModelProto) else model))
    (node,) = graph.nodes
    infos = [None if not n else (TensorInfo(feeds[n].dtype, feeds[n].shape) if n in feeds else
                                 TensorInfo(graph.initializers[n].dtype, graph.initializers[n].shape))
             for n in node.inputs]
    consts = [graph.initializers.get(n) if n else None for n in node.inputs]
    return node, node.impl.bind(node, node.parsed, infos, consts, PlanContext())


def run_onnumba(model, feeds: dict, **kw):
    return session(model, **kw).run(None, feeds)


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
