"""Naive numpy references for the activations, written from the ONNX spec in float64."""

from __future__ import annotations

import math

import numpy as np

SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


def _f(x):
    return np.asarray(x, np.float64)


def relu(x):
    return np.where(_f(x) < 0, 0.0, _f(x))


def leaky_relu(x, alpha=0.01):
    x = _f(x)
    return np.where(x < 0, alpha * x, x)


def prelu(x, slope):
    x = _f(x)
    return np.where(x < 0, x * _f(slope), x)


def elu(x, alpha=1.0):
    x = _f(x)
    return np.where(x < 0, alpha * (np.exp(x) - 1), x)


def selu(x, alpha=SELU_ALPHA, gamma=SELU_GAMMA):
    x = _f(x)
    return np.where(x <= 0, gamma * (alpha * np.exp(x) - alpha), gamma * x)


def celu(x, alpha=1.0):
    x = _f(x)
    return np.maximum(0, x) + np.minimum(0, alpha * (np.exp(x / alpha) - 1))


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-_f(x)))


def hard_sigmoid(x, alpha=0.2, beta=0.5):
    return np.clip(alpha * _f(x) + beta, 0, 1)


def hard_swish(x):
    x = _f(x)
    return x * np.clip(x / 6 + 0.5, 0, 1)


def tanh(x):
    return np.tanh(_f(x))


def softplus(x):
    return np.logaddexp(0.0, _f(x))


def softsign(x):
    x = _f(x)
    return x / (1 + np.abs(x))


def gelu(x, approximate="none"):
    x = _f(x)
    if approximate == "tanh":
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1 + erf(x / math.sqrt(2)))


def mish(x):
    x = _f(x)
    return x * np.tanh(softplus(x))


def thresholded_relu(x, alpha=1.0):
    x = _f(x)
    return np.where(x > alpha, x, 0.0)


def swish(x, alpha=1.0):
    x = _f(x)
    return x * sigmoid(alpha * x)


def clip(x, lo=None, hi=None):
    """min(max(x, lo), hi): where lo > hi every value becomes hi, per the spec."""
    y = np.asarray(x)
    if lo is not None:
        y = np.maximum(y, lo)
    if hi is not None:
        y = np.minimum(y, hi)
    return y


def softmax(x, axis, opset=13, log=False):
    """Softmax / LogSoftmax; opset < 13 flattens to 2-d at ``axis`` and normalises each row."""
    x = _f(x)
    shape = x.shape
    axis = axis + x.ndim if axis < 0 else axis
    if opset < 13:
        x2 = x.reshape(int(np.prod(shape[:axis])), -1)
        return softmax(x2, 1, 13, log).reshape(shape)
    m = x.max(axis=axis, keepdims=True)
    e = np.exp(x - m)
    s = e.sum(axis=axis, keepdims=True)
    return (x - m - np.log(s)) if log else e / s
