"""A session's optimised plan as an ONNX model (``SessionOptions.optimized_model_filepath``).

The plan is specialised to one input-shape signature, so the model written has those concrete input shapes;
constants folded at plan time are initializers, and only the steps that run are nodes. Fused steps are written
as standard ONNX: a Conv or Gemm with BatchNormalization or per-channel Mul/Add folded in is the node with its
folded weights; an activation fused into a producer's epilogue is written back as its own node after it; a
plan-internal op (domain ``onnumba``, e.g. ``ChannelAffine``) is written by its ``to_onnx`` classmethod when it
has one, else by :data:`_INTERNAL` below. The model passes ``onnx.checker`` and onnxruntime runs it to the
session's results (within float rounding).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from onnumba.errors import ModelError


class _Writer:
    def __init__(self, plan, graph):
        self.plan, self.graph = plan, graph
        self.nodes: list = []
        self.inits: dict = {}
        self.used: set = set()  # every value name in the written graph
        opset = graph.opsets.get("", graph.opsets.get("ai.onnx", 1))
        self.opset = int(opset)

    def fresh(self, hint: str) -> str:
        k = 0
        name = hint
        while name in self.used or name in self.plan.infos or name in self.plan.consts:
            k += 1
            name = f"{hint}_{k}"
        self.used.add(name)
        return name

    def const(self, hint: str, value) -> str:
        name = self.fresh(hint)
        self.inits[name] = np.asarray(value)
        return name

    def use_const(self, name: str) -> None:
        if name and name in self.plan.consts and name not in self.inits:
            self.inits[name] = self.plan.consts[name]

    def node(self, op_type, inputs, outputs, name="", domain="", **attrs):
        self.nodes.append(helper.make_node(op_type, list(inputs), list(outputs), name=name or None,
                                           domain=domain or None, **attrs))

    # ----------------------------------------------------------------------------- epilogues
    def epilogue(self, st, src: str, dst: str) -> None:
        """Write the activation fused into ``st`` as its own node reading ``src`` and writing ``dst``."""
        kind, a0, a1 = _epilogue_of(st.attrs)
        base = f"{st.node.name}_{kind}" if st.node.name else ""
        if kind == "Relu":
            self.node("Relu", [src], [dst], base)
        elif kind == "LeakyRelu":
            self.node("LeakyRelu", [src], [dst], base, alpha=float(a0))
        elif kind == "Clip":
            dtype = self.plan.infos[dst].dtype
            if self.opset >= 11:
                lo = self.const(f"{dst}_clip_min", np.array(a0, dtype))
                hi = self.const(f"{dst}_clip_max", np.array(a1, dtype))
                self.node("Clip", [src, lo, hi], [dst], base)
            else:
                self.node("Clip", [src], [dst], base, min=float(a0), max=float(a1))
        else:
            raise ModelError(f"{st.node.desc}: cannot write its fused activation {kind!r} as ONNX")

    # ----------------------------------------------------------------------------- steps
    def step(self, st) -> None:
        node = st.node
        for n in st.inputs:
            self.use_const(n)
        for n in _subgraph_inputs(node):
            self.use_const(n)
        kind = _epilogue_of(st.attrs)[0]
        outputs = list(st.outputs)
        if kind is not None:
            final = outputs[0]
            outputs[0] = self.fresh(f"{final}_pre_{kind.lower()}")
        custom = getattr(node.impl, "to_onnx", None)
        if node.domain not in ("", "ai.onnx"):
            fn = custom or _INTERNAL.get((node.domain, node.op_type))
            if fn is None:
                raise ModelError(f"{node.desc}: a plan-internal op with no ONNX form; set "
                                 f"graph_optimization_level to ORT_DISABLE_ALL to write the unoptimised plan")
            fn(self, st, list(st.inputs), outputs)
        else:
            proto = node.proto
            attrs = list(proto.attribute) if proto is not None else []
            n = helper.make_node(node.op_type, list(st.inputs), outputs, name=node.name or None,
                                 domain=node.domain or None)
            n.attribute.extend(attrs)
            self.nodes.append(n)
        if kind is not None:
            self.epilogue(st, outputs[0], final)


def _epilogue_of(attrs):
    """(activation op name or None, a0, a1) of a step's fused epilogue."""
    ep = getattr(attrs, "epilogue", None)
    if ep is not None and hasattr(ep, "is_identity"):
        return (None, 0.0, 0.0) if ep.is_identity else (ep.name, ep.a0, ep.a1)
    act = getattr(attrs, "activation", None)  # Conv attrs before the epilogue protocol
    names = {"relu": "Relu", "leakyrelu": "LeakyRelu", "clip": "Clip"}
    if isinstance(act, str) and act in names:
        if act == "clip":
            return "Clip", attrs.clip_min, attrs.clip_max
        return names[act], getattr(attrs, "alpha", 0.0), 0.0
    return None, 0.0, 0.0


def _subgraph_inputs(node) -> set:
    """Outer-scope names read by the node's subgraphs (If / Loop / Scan bodies)."""
    names: set = set()
    proto = node.proto
    if proto is None:
        return names

    def walk(g):
        for n in g.node:
            names.update(i for i in n.input if i)
            for a in n.attribute:
                for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
                    walk(sub)

    for a in proto.attribute:
        for sub in ([a.g] if a.type == onnx.AttributeProto.GRAPH else list(a.graphs)):
            walk(sub)
    return names


def _channel_affine(w: _Writer, st, inputs, outputs) -> None:
    """``(x - m) * a + b`` per channel: a BatchNormalization with scale a, bias b, mean m, var 1, epsilon 0
    (sqrt(1 + 0) is exactly 1, so it computes the same thing)."""
    at = st.attrs
    ones = np.ones_like(at.a)
    names = [w.const(f"{st.outputs[0]}_{k}", v) for k, v in (("scale", at.a), ("bias", at.b), ("mean", at.m),
                                                              ("var", ones))]
    w.node("BatchNormalization", [inputs[0]] + names, outputs[:1], st.node.name, epsilon=0.0)


#: plan-internal ops (domain ``onnumba``) without a ``to_onnx`` classmethod of their own
_INTERNAL = {("onnumba", "ChannelAffine"): _channel_affine}


def plan_to_model(plan, graph) -> onnx.ModelProto:
    """The ONNX model computing ``plan`` (see the module docstring)."""
    w = _Writer(plan, graph)
    for st in plan.steps:
        w.used.update(n for n in st.inputs + st.outputs if n)
    for st in plan.steps:
        w.step(st)
    produced = {o for n in w.nodes for o in n.output if o}
    outputs = []
    for name in plan.output_names:
        w.used.add(name)
    for name in plan.output_names:
        info = plan.infos[name]
        if name not in produced and name in plan.consts and name not in {vi.name for vi in graph.inputs}:
            # a folded graph output: an Identity of an initializer (an initializer is not a node's output)
            src = w.const(f"{name}_value", plan.consts[name])
            w.node("Identity", [src], [name])
        outputs.append(helper.make_tensor_value_info(name, _elem(info.dtype), list(info.shape)))
    inputs = []
    for vi in graph.inputs:
        info = plan.infos.get(vi.name)
        if info is not None and vi.name not in plan.consts:
            inputs.append(helper.make_tensor_value_info(vi.name, _elem(info.dtype), list(info.shape)))
    # initializers fed at run time (overridable ones) are inputs of this plan
    known = produced | set(w.inits) | {vi.name for vi in inputs}
    for name in dict.fromkeys(i for n in w.nodes for i in n.input if i and i not in known):
        if name in plan.infos:
            info = plan.infos[name]
            inputs.append(helper.make_tensor_value_info(name, _elem(info.dtype), list(info.shape)))
    inits = [numpy_helper.from_array(np.asarray(v), k) for k, v in w.inits.items()]
    g = helper.make_graph(w.nodes, graph.model.graph.name or "onnumba_optimized", inputs, outputs, inits)
    model = helper.make_model(g, opset_imports=list(graph.model.opset_import),
                              producer_name="onnumba", doc_string="onnumba's optimised plan")
    # IR 4 lets initializers stay out of the graph inputs (before it, every initializer is also an input)
    model.ir_version = max(int(graph.model.ir_version), 4)
    del model.functions[:]
    model.functions.extend(graph.model.functions)
    return model


def _elem(dtype) -> int:
    dtype = np.dtype(dtype)
    if dtype == object:
        return onnx.TensorProto.STRING
    return helper.np_dtype_to_tensor_dtype(dtype)


def write_plan(plan, graph, path: str) -> None:
    """Write :func:`plan_to_model` to ``path`` (external data for models over 2 GiB)."""
    model = plan_to_model(plan, graph)
    large = sum(np.asarray(v).nbytes for v in plan.consts.values()) > (1 << 31) - (1 << 24)
    onnx.save_model(model, path, save_as_external_data=large)
