"""Keras activations by name, each written as ONNX nodes.

``emit(builder, name, x, channel_axis, prefix)`` writes the activation ``name`` applied to value
``x``; ``channel_axis`` is the ONNX axis of Keras's last axis (softmax / log_softmax act there).
Constants are Keras 3's (checked against keras.io / tensorflow.org for Keras 3.15):
``leaky_relu`` negative_slope 0.2 (the LeakyReLU *layer* uses 0.3), ``hard_sigmoid`` =
relu6(x + 3) / 6 (slope 1/6), ``gelu`` approximate=False, ``elu`` alpha 1.0, ``selu`` the
self-normalising constants (ONNX Selu defaults are the same numbers).
"""

import math

import numpy as np

from onnumba.converters.errors import LayerArgumentError

SELU_ALPHA = 1.67326324235437728481
SELU_SCALE = 1.05070098735548049342


def _f(b, value):
    return b.const(np.float32(value), dtype=np.float32, name="c")


def _relu(b, x, axis, p):
    return b.node("Relu", [x], name=p)


def _relu6(b, x, axis, p):
    return b.node("Clip", [x, _f(b, 0.0), _f(b, 6.0)], name=p)


def _sigmoid(b, x, axis, p):
    return b.node("Sigmoid", [x], name=p)


def _hard_sigmoid(b, x, axis, p):
    # Keras 3: relu6(x + 3) / 6, i.e. slope 1/6 (Keras 2 used 0.2)
    return b.node("HardSigmoid", [x], name=p, alpha=1.0 / 6.0, beta=0.5)


def _hard_silu(b, x, axis, p):
    if b.opset >= 14:
        return b.node("HardSwish", [x], name=p)
    return b.node("Mul", [x, _hard_sigmoid(b, x, axis, p)], name=p)


def _softmax(b, x, axis, p):
    return b.node("Softmax", [x], name=p, axis=axis)


def _log_softmax(b, x, axis, p):
    return b.node("LogSoftmax", [x], name=p, axis=axis)


def _softplus(b, x, axis, p):
    return b.node("Softplus", [x], name=p)


def _softsign(b, x, axis, p):
    return b.node("Softsign", [x], name=p)


def _tanh(b, x, axis, p):
    return b.node("Tanh", [x], name=p)


def _selu(b, x, axis, p):
    return b.node("Selu", [x], name=p, alpha=SELU_ALPHA, gamma=SELU_SCALE)


def _elu(b, x, axis, p):
    return b.node("Elu", [x], name=p, alpha=1.0)


def _gelu(b, x, axis, p):
    # Keras 3 activations.gelu default approximate=False: 0.5 * x * (1 + erf(x / sqrt(2)))
    scaled = b.node("Mul", [x, _f(b, 1.0 / math.sqrt(2.0))], name=p)
    one_plus = b.node("Add", [b.node("Erf", [scaled], name=p), _f(b, 1.0)], name=p)
    return b.node("Mul", [b.node("Mul", [x, _f(b, 0.5)], name=p), one_plus], name=p)


def _silu(b, x, axis, p):
    return b.node("Mul", [x, b.node("Sigmoid", [x], name=p)], name=p)


def _mish(b, x, axis, p):
    return b.node("Mul", [x, b.node("Tanh", [b.node("Softplus", [x], name=p)], name=p)], name=p)


def _exponential(b, x, axis, p):
    return b.node("Exp", [x], name=p)


def _leaky_relu(b, x, axis, p):
    # Keras 3 activations.leaky_relu default negative_slope=0.2
    return b.node("LeakyRelu", [x], name=p, alpha=0.2)


def _linear(b, x, axis, p):
    return x


def _log_sigmoid(b, x, axis, p):
    neg = b.node("Neg", [x], name=p)
    return b.node("Neg", [b.node("Softplus", [neg], name=p)], name=p)


def _hard_tanh(b, x, axis, p):
    return b.node("Clip", [x, _f(b, -1.0), _f(b, 1.0)], name=p)


ACTIVATIONS = {
    "relu": _relu, "relu6": _relu6, "sigmoid": _sigmoid, "hard_sigmoid": _hard_sigmoid,
    "softmax": _softmax, "log_softmax": _log_softmax, "softplus": _softplus,
    "softsign": _softsign, "tanh": _tanh, "selu": _selu, "elu": _elu, "gelu": _gelu,
    "silu": _silu, "swish": _silu, "hard_silu": _hard_silu, "hard_swish": _hard_silu,
    "mish": _mish, "exponential": _exponential, "leaky_relu": _leaky_relu, "linear": _linear,
    "log_sigmoid": _log_sigmoid, "hard_tanh": _hard_tanh,
}


def get(identifier, argument="activation"):
    """Canonical activation name for ``identifier`` (None means 'linear')."""
    if identifier is None:
        return "linear"
    if isinstance(identifier, str) and identifier in ACTIVATIONS:
        return identifier
    if isinstance(identifier, dict) and identifier.get("class_name") in ACTIVATIONS:
        return identifier["class_name"]
    name = getattr(identifier, "__name__", None)
    if name in ACTIVATIONS:
        return name
    raise LayerArgumentError(f"unknown {argument}={identifier!r}; known: {sorted(ACTIVATIONS)}")


def emit(builder, name, x, channel_axis=-1, prefix="act"):
    """Write activation ``name`` applied to ONNX value ``x``; returns the output value name."""
    return ACTIVATIONS[name](builder, x, channel_axis, prefix)
