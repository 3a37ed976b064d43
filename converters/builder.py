"""GraphBuilder: the one place that writes ONNX protos.

Unique value / node names, initializers, opset bookkeeping, and a strict check of every model it
emits (``onnx.shape_inference.infer_shapes(strict_mode=True)`` and
``onnx.checker.check_model(full_check=True)``).
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from onnumba.converters.errors import ExportError

DEFAULT_OPSET = 17
MIN_OPSET = 13
MAX_OPSET = 21

_NP_TO_ONNX = {
    np.dtype("float32"): TensorProto.FLOAT,
    np.dtype("float64"): TensorProto.DOUBLE,
    np.dtype("int64"): TensorProto.INT64,
    np.dtype("int32"): TensorProto.INT32,
    np.dtype("bool"): TensorProto.BOOL,
}


def onnx_dtype(dtype):
    """ONNX elem type of a numpy dtype (float32, float64, int32, int64, bool)."""
    try:
        return _NP_TO_ONNX[np.dtype(dtype)]
    except KeyError:
        raise ExportError(f"dtype {dtype!r} cannot be exported; use float32") from None


class GraphBuilder:
    """Accumulates nodes, initializers, inputs and outputs of one ONNX graph.

    Args:
        opset: default-domain opset of the model (13..21).
        name: graph name.
    """

    def __init__(self, opset=DEFAULT_OPSET, name="graph"):
        if not isinstance(opset, int) or not MIN_OPSET <= opset <= MAX_OPSET:
            raise ExportError(f"opset must be an int in {MIN_OPSET}..{MAX_OPSET}, got {opset!r}")
        self.opset = opset
        self.name = name
        self.nodes = []
        self.initializers = []
        self.inputs = []
        self.outputs = []
        self._names = set()       # value names (inputs, initializers, node outputs)
        self._node_names = set()
        self._const_cache = {}
        self.required_opset = {}  # op description -> minimum opset, for error messages

    # -- names -----------------------------------------------------------------------------
    def unique(self, base):
        """Return ``base`` or ``base_<n>``, never returned before."""
        base = str(base) or "v"
        name, n = base, 1
        while name in self._names:
            name = f"{base}_{n}"
            n += 1
        self._names.add(name)
        return name

    def require(self, opset, what):
        """Record that ``what`` needs at least ``opset``; raise now if the graph's opset is lower."""
        self.required_opset[what] = max(opset, self.required_opset.get(what, 0))
        if self.opset < opset:
            raise ExportError(f"{what} needs opset >= {opset}, but the model is being exported "
                              f"with opset {self.opset}; pass to_onnx(opset={opset}) or higher")

    # -- values ----------------------------------------------------------------------------
    def initializer(self, array, name):
        """Add an initializer; returns its (unique) name."""
        array = np.asarray(array)
        name = self.unique(name)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def const(self, values, dtype=np.int64, name="const"):
        """A shared small constant initializer (pads, shapes, scales...)."""
        array = np.asarray(values, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._const_cache:
            self._const_cache[key] = self.initializer(array, name)
        return self._const_cache[key]

    def input(self, name, dtype, shape):
        """Declare a graph input; ``None`` / str dims become symbolic."""
        name = self.unique(name)
        self.inputs.append(helper.make_tensor_value_info(name, onnx_dtype(dtype), _dims(shape)))
        return name

    def input_with_default(self, name, array):
        """A graph input that is also an initializer (IR >= 4): an overridable default."""
        array = np.asarray(array)
        name = self.initializer(array, name)
        self.inputs.append(helper.make_tensor_value_info(name, onnx_dtype(array.dtype),
                                                         list(array.shape)))
        return name

    def output(self, value, name, dtype, shape):
        """Declare a graph output named ``name`` (an Identity is added if ``value`` differs)."""
        if value != name:
            name = self.unique(name)
            self.node("Identity", [value], [name], name=f"{name}_out")
        self.outputs.append(helper.make_tensor_value_info(name, onnx_dtype(dtype), _dims(shape)))
        return name

    def node(self, op_type, inputs, outputs=1, name=None, **attrs):
        """Add a node. ``outputs`` is a count (fresh names) or a list of names.

        Returns:
            the output name (one output) or the list of output names.
        """
        base = name or op_type.lower()
        if isinstance(outputs, int):
            outputs = [self.unique(f"{base}_out" if outputs == 1 else f"{base}_out{i}")
                       for i in range(outputs)]
        else:
            for o in outputs:
                if o:
                    self._names.add(o)
        attrs = {k: v for k, v in attrs.items() if v is not None}
        node_name, n = base, 1
        while node_name in self._node_names:
            node_name = f"{base}_{n}"
            n += 1
        self._node_names.add(node_name)
        self.nodes.append(helper.make_node(op_type, list(inputs), outputs, name=node_name,
                                           **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    # -- model -----------------------------------------------------------------------------
    def build(self, producer="onnumba.converters", doc=None, check=True):
        """Make, strictly shape-infer and fully check the ModelProto.

        Returns:
            onnx.ModelProto (with inferred value_info).
        """
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                                  initializer=self.initializers)
        opset_ids = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(graph, opset_imports=opset_ids, producer_name=producer)
        model.ir_version = helper.find_min_ir_version_for(opset_ids)
        if doc:
            model.doc_string = doc
        if not check:
            return model
        try:
            inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True,
                                                         data_prop=True)
            onnx.checker.check_model(inferred, full_check=True)
        except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
            raise ExportError(f"the emitted ONNX graph {self.name!r} failed the ONNX checker: "
                              f"{exc}") from exc
        return inferred


def _dims(shape):
    return [d if (d is None or isinstance(d, str)) else int(d) for d in shape]
