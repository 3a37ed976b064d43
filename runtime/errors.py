"""Error classes of onnumba and helpers that build messages naming node, op, input or attribute.

Every message says what happened, where, what was expected and, where it helps, how to fix it:
``Node 'conv_3' (Conv), input 1 'W': expected shape (M, C/group, kH, kW) with C/group=16, got (32, 8, 3, 3).``
"""

from __future__ import annotations


class OnnumbaError(Exception):
    """Base class of every error onnumba raises on purpose."""


class ModelError(OnnumbaError, ValueError):
    """The model itself is invalid: unreadable file, cycle, bad attribute, inconsistent shapes."""


class UnsupportedOpError(ModelError):
    """The model uses an operator (or an opset of it, or a domain) that onnumba does not implement."""


class InputError(OnnumbaError, ValueError):
    """A feed or requested output passed to ``run`` does not match what the model declares."""


class InputTypeError(InputError, TypeError):
    """A feed has the wrong element type."""


class ModelWarning(UserWarning):
    """The model breaks a rule of the ONNX spec in a way that leaves its meaning clear; onnumba runs it anyway."""


def describe_node(name: str, op_type: str, domain: str = "") -> str:
    """``Node 'name' (OpType)``; the domain is shown when it is not the default one."""
    op = op_type if domain in ("", "ai.onnx") else f"{domain}::{op_type}"
    return f"Node {name!r} ({op})"


def shape_str(shape) -> str:
    """Render a shape like ``(1, 3, 'N', None)``; a 1-tuple without the trailing comma."""
    return "(" + ", ".join(repr(d) if isinstance(d, str) else str(d) for d in shape) + ")"
