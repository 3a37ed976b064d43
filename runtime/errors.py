"""Error classes of onnumba and helpers that build messages naming node, op, input or attribute.

Every message says what happened, where, what was expected and, where it helps, how to fix it:
``Node 'conv_3' (Conv), input 1 'W': expected shape (M, C/group, kH, kW) with C/group=16, got (32, 8, 3, 3).``
"""

from __future__ import annotations


# ------------------------------------------------------------------ onnxruntime's names
# The exception classes of ``onnxruntime.capi.onnxruntime_pybind11_state`` that code written for onnxruntime
# catches. onnumba's own errors below subclass them, so ``except InvalidArgument`` (imported from here instead
# of from onnxruntime) catches what onnumba raises in the same situation.


class Fail(Exception):
    """onnxruntime's generic failure; every :class:`OnnumbaError` is one."""


class InvalidArgument(Exception):
    """onnxruntime: a bad feed, output name or option (onnumba: :class:`InputError`)."""


class NoSuchFile(Exception):
    """onnxruntime: the model file does not exist (onnumba: :class:`ModelFileNotFoundError`)."""


class InvalidGraph(Exception):
    """onnxruntime: the model is invalid (onnumba: :class:`ModelError`)."""


class InvalidProtobuf(Exception):
    """onnxruntime: the model bytes do not parse (onnumba: :class:`ModelParseError`)."""


class NotImplemented(Exception):  # noqa: A001  (onnxruntime's name)
    """onnxruntime: no implementation of an op or feature (onnumba: :class:`UnsupportedOpError`,
    :class:`UnsupportedFeatureError`)."""


class RuntimeException(Exception):
    """onnxruntime: a failure while running, e.g. an allocation (onnumba: :class:`MemoryLimitError`)."""


# ------------------------------------------------------------------ onnumba's family


class OnnumbaError(Fail):
    """Base class of every error onnumba raises on purpose."""


class ModelError(OnnumbaError, InvalidGraph, ValueError):
    """The model itself is invalid: unreadable file, cycle, bad attribute, inconsistent shapes."""


class ModelFileNotFoundError(ModelError, NoSuchFile, FileNotFoundError):
    """The model path names no file."""


class ModelParseError(ModelError, InvalidProtobuf):
    """The model's bytes are not a valid ONNX protobuf."""


class UnsupportedOpError(ModelError, NotImplemented):
    """The model uses an operator (or an opset of it, or a domain) that onnumba does not implement."""


class InputError(OnnumbaError, InvalidArgument, ValueError):
    """A feed or requested output passed to ``run`` does not match what the model declares."""


class InputTypeError(InputError, TypeError):
    """A feed has the wrong element type."""


class MemoryLimitError(ModelError, RuntimeException, MemoryError):
    """A plan, an op or a feed copy would allocate more than the session's memory limit (refused before the
    allocation); or, as a last resort, an allocation failed inside a node (the message says which)."""


class UnsupportedFeatureError(OnnumbaError, NotImplemented, NotImplementedError):
    """An onnxruntime API onnumba does not provide (IOBinding, OrtValue runs)."""


class SessionConfigError(OnnumbaError, RuntimeError):
    """An unknown session config key was read, or a config value is invalid (onnxruntime raises
    RuntimeError for the first)."""


class ModelWarning(UserWarning):
    """The model breaks a rule of the ONNX spec in a way that leaves its meaning clear; onnumba runs it anyway."""


def describe_node(name: str, op_type: str, domain: str = "") -> str:
    """``Node 'name' (OpType)``; the domain is shown when it is not the default one."""
    op = op_type if domain in ("", "ai.onnx") else f"{domain}::{op_type}"
    return f"Node {name!r} ({op})"


def shape_str(shape) -> str:
    """Render a shape like ``(1, 3, 'N', None)``; a 1-tuple without the trailing comma."""
    return "(" + ", ".join(repr(d) if isinstance(d, str) else str(d) for d in shape) + ")"
