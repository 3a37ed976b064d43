"""AttributeProto -> plain python values. The only place that reads AttributeProto."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import AttributeProto, numpy_helper


def _writeable(a: np.ndarray) -> np.ndarray:
    """to_array may return a read-only view of the protobuf's bytes; kernels take writeable arrays only."""
    return a if a.flags.writeable else a.copy()


def attribute_value(attr: AttributeProto):
    """Convert one attribute to a python value.

    INT -> int, FLOAT -> float, STRING -> str, TENSOR -> np.ndarray, INTS -> tuple[int, ...],
    FLOATS -> tuple[float, ...], STRINGS -> tuple[str, ...], GRAPH -> onnx.GraphProto (kept as is).
    """
    t = attr.type
    if t == AttributeProto.INT:
        return int(attr.i)
    if t == AttributeProto.FLOAT:
        return float(np.float32(attr.f))
    if t == AttributeProto.STRING:
        return attr.s.decode("utf-8", errors="replace")
    if t == AttributeProto.TENSOR:
        return _writeable(numpy_helper.to_array(attr.t))
    if t == AttributeProto.INTS:
        return tuple(int(v) for v in attr.ints)
    if t == AttributeProto.FLOATS:
        return tuple(float(np.float32(v)) for v in attr.floats)
    if t == AttributeProto.STRINGS:
        return tuple(s.decode("utf-8", errors="replace") for s in attr.strings)
    if t == AttributeProto.GRAPH:
        return attr.g
    if t == AttributeProto.SPARSE_TENSOR:
        return attr.sparse_tensor
    if t == AttributeProto.TENSORS:
        return tuple(_writeable(numpy_helper.to_array(x)) for x in attr.tensors)
    if t == AttributeProto.GRAPHS:
        return tuple(attr.graphs)
    if t == AttributeProto.UNDEFINED and attr.ref_attr_name:
        raise ValueError(f"attribute {attr.name!r} refers to a function attribute; functions are not supported")
    return onnx.helper.get_attribute_value(attr)


def node_attributes(node: onnx.NodeProto) -> dict:
    """All attributes of a node as ``{name: python value}``."""
    return {a.name: attribute_value(a) for a in node.attribute}
