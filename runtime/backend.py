"""``onnx.backend.base.Backend`` for onnumba, so onnx's own backend test machinery can drive it.

    from onnumba import backend
    rep = backend.prepare(model)          # BackendRep
    outputs = rep.run([x])                # list in graph-output order
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import onnx
from onnx import helper
from onnx.backend.base import Backend, BackendRep

from onnumba.errors import InputError
from onnumba.providers import get_device
from onnumba.session import InferenceSession, SessionOptions


class OnnumbaRep(BackendRep):
    def __init__(self, session: InferenceSession):
        self.session = session
        self._input_names = [i.name for i in session.get_inputs()]
        self._output_names = [o.name for o in session.get_outputs()]

    def run(self, inputs, **kwargs):
        if isinstance(inputs, dict):
            feeds = dict(inputs)
        elif isinstance(inputs, np.ndarray) or not isinstance(inputs, (list, tuple)):
            feeds = {self._input_names[0]: inputs}
        else:
            if len(inputs) > len(self._input_names):
                # IR < 4 style models may list initializers as inputs; feed the leading real ones
                inputs = inputs[: len(self._input_names)]
            feeds = dict(zip(self._input_names, inputs))
        outs = self.session.run(None, feeds)
        Out = namedtuple("Outputs", [f"o{i}" for i in range(len(outs))], rename=True)
        return Out(*outs)


class OnnumbaBackend(Backend):
    @classmethod
    def is_compatible(cls, model, device: str = "CPU", **kwargs) -> bool:
        return cls.supports_device(device)

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return str(device).upper().startswith(get_device())

    @classmethod
    def prepare(cls, model, device: str = "CPU", **kwargs) -> OnnumbaRep:
        if not cls.supports_device(device):
            raise InputError(f"onnumba runs on the CPU only, not on {device!r}")
        opts = SessionOptions()
        for k, v in kwargs.items():
            if hasattr(opts, k):
                setattr(opts, k, v)
        return OnnumbaRep(InferenceSession(model, opts))

    @classmethod
    def run_model(cls, model, inputs, device: str = "CPU", **kwargs):
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node, inputs, device: str = "CPU", outputs_info=None, **kwargs):
        """Run a single NodeProto on ``inputs`` (a list of arrays, in the node's input order)."""
        opset = kwargs.pop("opset_version", None) or onnx.defs.onnx_opset_version()
        names = [n for n in node.input if n]
        arrays = [np.asarray(a) for a in inputs]
        graph_inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape)
                        for n, a in zip(names, arrays)]
        outs = [helper.make_empty_tensor_value_info(o) for o in node.output if o]
        graph = helper.make_graph([node], "run_node", graph_inputs, outs)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid(node.domain or "", opset)])
        inferred = onnx.shape_inference.infer_shapes(model)
        del model.graph.output[:]
        model.graph.output.extend(inferred.graph.output)
        rep = cls.prepare(model, device, **kwargs)
        return rep.run(dict(zip(names, arrays)))


prepare = OnnumbaBackend.prepare
run_model = OnnumbaBackend.run_model
run_node = OnnumbaBackend.run_node
supports_device = OnnumbaBackend.supports_device
