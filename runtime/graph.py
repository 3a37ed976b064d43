"""ModelProto -> Graph: nodes, initializers, value infos, opsets. No execution happens here.

Loading is defensive: a truncated file, a cycle, an input nothing produces, an unsupported op or external
data that points outside the model's folder each raise an :mod:`onnumba.errors` error naming what is wrong.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from onnumba.attributes import node_attributes
from onnumba.errors import (ModelError, ModelFileNotFoundError, ModelParseError, ModelWarning, UnsupportedOpError,
                            describe_node)
from onnumba.registry import DEFAULT_DOMAINS, resolve


# ----------------------------------------------------------------------------------------------- types

def elem_type_to_dtype(elem_type: int) -> np.dtype:
    """TensorProto element type -> numpy dtype (strings become object arrays)."""
    if elem_type == TensorProto.STRING:
        return np.dtype(object)
    try:
        return np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    except Exception as e:
        raise ModelError(f"unsupported tensor element type {elem_type}") from e


def elem_type_name(elem_type: int) -> str:
    """``'tensor(float)'`` style name used by onnxruntime's NodeArg.type."""
    name = TensorProto.DataType.Name(elem_type).lower() if elem_type else "undefined"
    return f"tensor({name})"


def dtype_to_type_name(dtype: np.dtype) -> str:
    dtype = np.dtype(dtype)
    if dtype == object:
        return "tensor(string)"
    return elem_type_name(onnx.helper.np_dtype_to_tensor_dtype(dtype))


@dataclass(frozen=True)
class ValueInfo:
    """A graph input or output as declared: name, element type, dims (int, str for symbolic, None)."""

    name: str
    elem_type: int
    shape: tuple | None  # None: rank unknown

    @property
    def dtype(self) -> np.dtype:
        return elem_type_to_dtype(self.elem_type)

    @property
    def type_name(self) -> str:
        return elem_type_name(self.elem_type)

    @classmethod
    def from_proto(cls, vi: onnx.ValueInfoProto) -> "ValueInfo":
        t = vi.type
        if t.WhichOneof("value") is None:
            return cls(vi.name, 0, None)  # declared without a type (allowed for graph outputs)
        if not t.HasField("tensor_type"):
            kind = t.WhichOneof("value")
            raise ModelError(f"graph value {vi.name!r} has type {kind!r}; onnumba supports tensors only")
        tt = t.tensor_type
        shape = None
        if tt.HasField("shape"):
            dims = []
            for d in tt.shape.dim:
                if d.HasField("dim_value") and d.dim_value >= 0:
                    dims.append(int(d.dim_value))  # 0 is a static empty dimension (the spec; onnxruntime)
                elif d.HasField("dim_value"):
                    # -1 for "any size" is a common converter habit (onnxruntime accepts it): dynamic
                    dims.append(None)
                elif d.HasField("dim_param") and d.dim_param:
                    dims.append(d.dim_param)
                else:
                    dims.append(None)
            shape = tuple(dims)
        return cls(vi.name, int(tt.elem_type), shape)


# ----------------------------------------------------------------------------------------------- nodes

_ATTR_KINDS = {
    "int": (int,), "float": (float, int), "str": (str,), "ints": (tuple,), "floats": (tuple,),
    "strs": (tuple,), "tensor": (np.ndarray,),
}


@dataclass(eq=False)
class Node:
    """One node of the graph, with its attributes already turned into python values.

    ``version`` is the opset version of the node's domain; ``impl`` the resolved :class:`Op` class.
    """

    name: str
    op_type: str
    domain: str
    inputs: tuple  # '' marks an omitted optional input
    outputs: tuple
    attrs: dict
    version: int
    index: int
    impl: Any = None
    parsed: Any = None
    proto: Any = field(default=None, repr=False)

    @property
    def desc(self) -> str:
        return describe_node(self.name, self.op_type, self.domain)

    def where(self, *, input: int | None = None, output: int | None = None, attribute: str | None = None) -> str:
        """``Node 'n' (Op), input 1 'W'`` / ``..., attribute 'pads'``."""
        s = self.desc
        if input is not None:
            nm = self.inputs[input] if input < len(self.inputs) else ""
            s += f", input {input}" + (f" {nm!r}" if nm else "")
        if output is not None:
            nm = self.outputs[output] if output < len(self.outputs) else ""
            s += f", output {output}" + (f" {nm!r}" if nm else "")
        if attribute is not None:
            s += f", attribute {attribute!r}"
        return s

    def error(self, message: str, *, input: int | None = None, output: int | None = None,
              attribute: str | None = None, cls: type = ModelError) -> Exception:
        """Build (not raise) an error whose message starts with where it happened."""
        return cls(f"{self.where(input=input, output=output, attribute=attribute)}: {message}")

    # -- typed attribute access; every getter checks the kind, so a hostile model gets a clear error
    def attr(self, name: str, default: Any = None, kind: str | None = None) -> Any:
        if name not in self.attrs:
            return default
        v = self.attrs[name]
        if kind is not None and not isinstance(v, _ATTR_KINDS[kind]):
            raise self.error(f"expected a value of kind {kind}, got {type(v).__name__} {v!r}", attribute=name)
        if kind == "float":
            v = float(v)
        if kind in ("ints", "floats", "strs"):
            want = {"ints": int, "floats": (float, int), "strs": str}[kind]
            if not all(isinstance(x, want) for x in v):
                raise self.error(f"expected a list of {kind}, got {v!r}", attribute=name)
        return v

    def has_input(self, i: int) -> bool:
        return i < len(self.inputs) and self.inputs[i] != ""

    @property
    def n_inputs(self) -> int:
        """Number of inputs counting up to the last one present (trailing omitted ones ignored)."""
        n = len(self.inputs)
        while n and self.inputs[n - 1] == "":
            n -= 1
        return n


# ----------------------------------------------------------------------------------------------- graph

@dataclass
class Graph:
    """A loaded, checked, topologically ordered graph."""

    nodes: list
    initializers: dict  # name -> np.ndarray
    inputs: list  # real inputs (ValueInfo), initializers excluded
    overridable: dict  # name -> ValueInfo for initializers that are also graph inputs (IR >= 4)
    outputs: list  # ValueInfo
    opsets: dict  # domain -> version
    ir_version: int
    model: onnx.ModelProto


def _safe_external_path(base_dir: str, location: str, tensor_name: str) -> str:
    """Resolve an external-data location inside ``base_dir`` or raise ModelError."""
    if not location:
        raise ModelError(f"tensor {tensor_name!r}: external data without a location")
    if os.path.isabs(location) or location.startswith(("/", "\\")) or (len(location) > 1 and location[1] == ":"):
        raise ModelError(f"tensor {tensor_name!r}: external data location {location!r} is an absolute path; "
                         f"it must be relative to the model's folder")
    parts = location.replace("\\", "/").split("/")
    if ".." in parts:
        raise ModelError(f"tensor {tensor_name!r}: external data location {location!r} leaves the model's "
                         f"folder ('..' is not allowed)")
    base_real = os.path.realpath(base_dir)
    path = os.path.realpath(os.path.join(base_real, location))
    if os.path.commonpath([base_real, path]) != base_real:
        raise ModelError(f"tensor {tensor_name!r}: external data location {location!r} resolves to {path!r}, "
                         f"outside the model's folder {base_real!r} (symlinks may not leave it)")
    if not os.path.isfile(path):
        raise ModelError(f"tensor {tensor_name!r}: external data file {location!r} not found in {base_real!r}")
    return path


def _tensor_nbytes(t: onnx.TensorProto) -> int | None:
    if t.data_type == TensorProto.STRING:
        return None
    n = 1
    for d in t.dims:
        if d < 0:
            raise ModelError(f"tensor {t.name!r} has a negative dim {d}")
        n *= int(d)
    itemsize = elem_type_to_dtype(t.data_type).itemsize
    if t.data_type in (TensorProto.INT4, TensorProto.UINT4):
        return (n + 1) // 2
    return n * itemsize


def _load_external_tensor(t: onnx.TensorProto, base_dir: str | None) -> None:
    info = {e.key: e.value for e in t.external_data}
    if base_dir is None:
        raise ModelError(f"tensor {t.name!r} stores its data in an external file ({info.get('location')!r}); "
                         f"load the model from its path so the file can be found next to it")
    path = _safe_external_path(base_dir, info.get("location", ""), t.name)
    try:
        offset = int(info.get("offset", 0))
        length = int(info["length"]) if "length" in info else None
    except ValueError as e:
        raise ModelError(f"tensor {t.name!r}: bad external data offset/length {info}") from e
    size = os.path.getsize(path)
    need = _tensor_nbytes(t)
    if length is None:
        length = size - offset if need is None else need
    if offset < 0 or length < 0 or offset + length > size:
        raise ModelError(f"tensor {t.name!r}: external data offset {offset} + length {length} exceeds the file "
                         f"{info.get('location')!r} of {size} bytes")
    if need is not None and length != need:
        raise ModelError(f"tensor {t.name!r}: external data length {length} bytes does not match its dims "
                         f"{list(t.dims)} and type, which need {need} bytes")
    with open(path, "rb") as f:
        f.seek(offset)
        t.raw_data = f.read(length)
    del t.external_data[:]
    t.data_location = TensorProto.DEFAULT


def _iter_graph_tensors(g: onnx.GraphProto):
    yield from g.initializer
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR:
                yield a.t
            elif a.type == onnx.AttributeProto.TENSORS:
                yield from a.tensors
            elif a.type == onnx.AttributeProto.GRAPH:
                yield from _iter_graph_tensors(a.g)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for sg in a.graphs:
                    yield from _iter_graph_tensors(sg)


def load_model(model, *, check: bool = True) -> onnx.ModelProto:
    """Read a model from a path, bytes or ModelProto; load external data safely; run onnx's checker."""
    base_dir = None
    if isinstance(model, onnx.ModelProto):
        proto = onnx.ModelProto()
        proto.CopyFrom(model)
    elif isinstance(model, (bytes, bytearray, memoryview)):
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(bytes(model))
        except Exception as e:
            raise ModelParseError(f"the bytes given are not a valid ONNX model (protobuf parse failed: {e})") from None
    elif isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        if not os.path.isfile(path):
            raise ModelFileNotFoundError(f"model file {path!r} not found")
        base_dir = os.path.dirname(os.path.abspath(path))
        with open(path, "rb") as f:
            data = f.read()
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(data)
        except Exception as e:
            raise ModelParseError(f"{path!r} is not a valid ONNX model: protobuf parse failed ({e}); "
                             f"the file may be truncated or not an .onnx file") from None
    else:
        raise TypeError(f"expected a path, bytes or onnx.ModelProto, got {type(model).__name__}")
    if not proto.HasField("graph"):
        raise ModelError("the model has no graph (empty or truncated file?)")
    for t in _iter_graph_tensors(proto.graph):
        if t.data_location == TensorProto.EXTERNAL:
            _load_external_tensor(t, base_dir)
    if check:
        check_model(proto)
    return proto


def check_model(proto: onnx.ModelProto, graph: "Graph | None" = None) -> None:
    """Run onnx's checker, as strictly as the model's meaning requires.

    Without ``graph`` every complaint is a :class:`ModelError`. With the :class:`Graph` that
    :func:`build_graph` made (so cycles, undefined inputs, duplicate outputs, unreadable initializers and
    external data were already refused with onnumba's own errors), each node is still checked against its
    onnx schema (attribute types, required attributes, input and output counts: a ModelError naming the
    node), while the checker's complaints about the model as a whole that leave it well-defined (an output
    without a shape, IR < 4 initializers not listed as inputs, nodes out of order, ...) become one-line
    :class:`ModelWarning` warnings, as does an initializer no node reads.
    """
    if graph is None:
        try:
            onnx.checker.check_model(proto)
        except Exception as e:
            raise ModelError(f"onnx.checker rejected the model: {_first_line(e)}") from None
        return
    ctx = onnx.checker.C.CheckerContext()
    ctx.ir_version = max(int(proto.ir_version), 3)
    ctx.opset_imports = {("" if o.domain in DEFAULT_DOMAINS else o.domain): int(o.version)
                         for o in proto.opset_import}
    subgraph_kinds = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
    for node in graph.nodes:
        if any(a.type in subgraph_kinds for a in node.proto.attribute):
            continue  # check_node alone cannot see the outer scope a body reads: the model check below covers it
        try:
            onnx.checker.check_node(node.proto, ctx)
        except Exception as e:
            raise node.error(f"onnx.checker rejected the node: {_first_line(e)}") from None
    try:
        onnx.checker.check_model(proto)
    except Exception as e:
        _warn(f"onnx.checker complaint ignored, the graph is well-defined without it: {_first_line(e)}")
    used = {n for node in graph.nodes for n in node.inputs} | {v.name for v in graph.outputs}
    unused = [n for n in graph.initializers if n not in used]
    if unused:
        _warn(f"{len(unused)} initializer(s) no node reads (ignored): {', '.join(repr(n) for n in unused[:5])}"
              + (", ..." if len(unused) > 5 else ""))


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).strip().splitlines() if ln.strip()]
    text = " ".join(lines[:3]) if lines and lines[0].endswith(":") else (lines[0] if lines else type(e).__name__)
    return text


def _warn(message: str) -> None:
    warnings.warn(message, ModelWarning, stacklevel=4)


def build_graph(proto: onnx.ModelProto) -> Graph:
    """Turn a loaded ModelProto into a :class:`Graph`: resolve ops, order nodes, split inputs."""
    g = proto.graph
    opsets = {}
    for o in proto.opset_import:
        opsets["" if o.domain in DEFAULT_DOMAINS else o.domain] = int(o.version)
    if "" not in opsets:
        raise ModelError("the model imports no version of the default ONNX domain (opset_import is empty)")

    initializers = {}
    for t in g.initializer:
        try:
            arr = numpy_helper.to_array(t)
            # to_array may return a read-only view of the protobuf's bytes; kernels are compiled for
            # writeable arrays only (a read-only one is another Numba type: another compile, or a typing error)
            initializers[t.name] = arr if arr.flags.writeable else arr.copy()
        except Exception as e:
            raise ModelError(f"initializer {t.name!r} cannot be read: {e}") from None

    declared_inputs = [ValueInfo.from_proto(vi) for vi in g.input]
    ir = int(proto.ir_version)
    inputs, overridable = [], {}
    for vi in declared_inputs:
        if vi.name in initializers:
            # IR < 4: initializers are listed as inputs and are constants; IR >= 4: overridable defaults
            if ir >= 4:
                overridable[vi.name] = vi
        else:
            inputs.append(vi)
    outputs = [ValueInfo.from_proto(vi) for vi in g.output]

    nodes, unsupported = [], []
    for i, n in enumerate(g.node):
        domain = "" if n.domain in DEFAULT_DOMAINS else n.domain
        name = n.name or f"{n.op_type}_{i}"
        if domain not in opsets:
            unsupported.append(f"{describe_node(name, n.op_type, domain)}: domain {domain!r} is not imported by "
                               f"the model")
            continue
        try:
            impl = resolve(domain, n.op_type, opsets[domain])
        except UnsupportedOpError as e:
            unsupported.append(f"{describe_node(name, n.op_type, domain)}: {e}")
            continue
        try:
            attrs = node_attributes(n)
        except Exception as e:
            raise ModelError(f"{describe_node(name, n.op_type, domain)}: {e}") from None
        nodes.append(Node(name, n.op_type, domain, tuple(n.input), tuple(n.output), attrs, opsets[domain], i,
                          impl, proto=n))
    if unsupported:
        raise UnsupportedOpError(f"{len(unsupported)} node(s) use operators onnumba does not support:\n  "
                                 + "\n  ".join(unsupported))

    nodes = _topological_order(nodes, set(initializers) | {v.name for v in declared_inputs}, outputs)
    for node in nodes:
        node.parsed = node.impl.parse_attrs(node)
    return Graph(nodes, initializers, inputs, overridable, outputs, opsets, ir, proto)


def _topological_order(nodes: list, available: set, outputs: list) -> list:
    """Order nodes so each runs after its producers; a cycle or a dangling input is a ModelError."""
    producer = {}
    for node in nodes:
        for o in node.outputs:
            if o == "":
                continue
            if o in producer:
                raise ModelError(f"{node.desc}: output {o!r} is also produced by {producer[o].desc}")
            if o in available:
                raise ModelError(f"{node.desc}: output {o!r} has the name of a graph input or initializer")
            producer[o] = node
    for node in nodes:
        for i, name in enumerate(node.inputs):
            if name and name not in available and name not in producer:
                raise ModelError(f"{node.where(input=i)}: no node, graph input or initializer produces {name!r}")
    for vi in outputs:
        if vi.name not in available and vi.name not in producer:
            raise ModelError(f"graph output {vi.name!r} is produced by no node, input or initializer")

    order, state = [], {}  # state: 1 visiting, 2 done
    for root in nodes:
        if state.get(id(root)) == 2:
            continue
        stack = [(root, iter(root.inputs))]
        state[id(root)] = 1
        while stack:
            node, it = stack[-1]
            advanced = False
            for name in it:
                dep = producer.get(name)
                if dep is None:
                    continue
                st = state.get(id(dep))
                if st == 1:
                    raise ModelError(f"the graph has a cycle: {dep.desc} depends (through {node.desc}) on its own "
                                     f"output")
                if st is None:
                    state[id(dep)] = 1
                    stack.append((dep, iter(dep.inputs)))
                    advanced = True
                    break
            if not advanced:
                state[id(node)] = 2
                order.append(node)
                stack.pop()
    return order
