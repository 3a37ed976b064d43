"""Shared helpers of the converters tests: export a model, check it, run it on onnxruntime."""

import numpy as np
import onnx
import onnxruntime as ort

from onnumba.converters import Input, Model

_SESSION_OPTIONS = ort.SessionOptions()
_SESSION_OPTIONS.intra_op_num_threads = 1
_SESSION_OPTIONS.inter_op_num_threads = 1
_SESSION_OPTIONS.log_severity_level = 3  # the training_mode initializer-input warning is expected


def run_ort(proto, feeds, outputs=None):
    """Run a ModelProto on onnxruntime (CPU, one thread)."""
    sess = ort.InferenceSession(proto.SerializeToString(), _SESSION_OPTIONS,
                                providers=["CPUExecutionProvider"])
    return sess.run(outputs, feeds)


def export(model, **kwargs):
    """to_onnx + an independent full check of what it returned, and the graph outputs' shapes
    equal to the Keras shapes (batch axis symbolic)."""
    proto = model.to_onnx(**kwargs)
    onnx.checker.check_model(proto, full_check=True)
    model._ensure_graph()
    for vi, t in zip(proto.graph.output, model.outputs):
        dims = [d.dim_value if d.HasField("dim_value") else
                (None if not d.dim_param or d.dim_param.startswith("unk__") else d.dim_param)
                for d in vi.type.tensor_type.shape.dim]
        assert dims == ["batch"] + list(t.shape[1:]), (vi.name, dims, t.shape)
    return proto


def run_model(model, *xs, **kwargs):
    """Export ``model`` and run it on ``xs`` (float32) with onnxruntime; returns the outputs."""
    proto = export(model, **kwargs)
    names = [i.name for i in proto.graph.input if i.name != "training_mode"]
    outs = run_ort(proto, {n: np.asarray(x, dtype=t.dtype) for n, x, t in
                           zip(names, xs, model.inputs)})
    for y, t in zip(outs, model.outputs):  # what runs has the shape Keras announced
        assert len(y.shape) == len(t.shape) and all(
            k is None or k == d for d, k in zip(y.shape[1:], t.shape[1:])), (y.shape, t.shape)
    return outs


def single_layer(layer, shape):
    """Model(Input(shape) -> layer)."""
    x = Input(shape)
    return Model(x, layer(x))


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def op_types(proto):
    return [n.op_type for n in proto.graph.node]


def load_build_script(name):
    """Import models/build_<name>.py as a module (models/ is not a package)."""
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "models", f"build_{name}.py")
    spec = importlib.util.spec_from_file_location(f"build_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
