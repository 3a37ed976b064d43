"""Activations: Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, HardSigmoid, HardSwish, Tanh, Softplus,
Softsign, Gelu, Mish, ThresholdedRelu, Swish and Clip (Softmax and LogSoftmax live in ops/softmax.py).

Every pointwise float activation is the kernel floor's pointwise loop (``ops/kernels/pointwise.py``) with the
kind numbered by ``ops/kernels/epilogue.py``, so a producer's fused Relu / LeakyRelu / Clip and the standalone op
are one definition. float16 and bfloat16 are computed in float32 and cast back (``compute_dtype``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import FLOATS, INTS, check_dtype, compute_dtype, require_input
from onnumba.ops.kernels.epilogue import (
    CELU, CLIP, ELU, GELU, GELU_TANH, HARD_SIGMOID, HARD_SWISH, LEAKY_RELU, MISH, RELU, SELU, SIGMOID, SOFTPLUS,
    SOFTSIGN, SWISH, TANH, THRESHOLDED_RELU)
from onnumba.ops.kernels.pointwise import params, run_activation
from onnumba.registry import Op, TensorInfo, register

_F = FLOATS
_SIGNED = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
_INTS = INTS
_I32_64 = tuple(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64))

try:
    import ml_dtypes

    _BF16 = (np.dtype(ml_dtypes.bfloat16),)
except ImportError:  # pragma: no cover - ml_dtypes ships with onnx
    _BF16 = ()


def apply(x: np.ndarray, kind: int, alpha: float = 0.0, beta: float = 0.0, gamma: float = 0.0) -> np.ndarray:
    """f_kind(x) as a new array of x's type (computed in ``compute_dtype``)."""
    dt = x.dtype
    cdt = compute_dtype(dt)
    xc = np.ascontiguousarray(x, dtype=cdt)
    out = np.empty(x.shape, cdt)
    run_activation(xc.reshape(-1), out.reshape(-1), kind, params(cdt, alpha, beta, gamma))
    return out.astype(dt, copy=False)


# ----------------------------------------------------------------------------------------------- pointwise ops

@dataclass(frozen=True)
class ActAttrs:
    kind: int
    alpha: float = 0.0
    beta: float = 0.0
    gamma: float = 0.0


class _Pointwise(Op):
    """One input X, one output Y = f(X) of X's type and shape."""

    kind: int = -1
    #: version from which bfloat16 is accepted (None: never)
    bf16_since: int | None = None
    float_types = _F

    @classmethod
    def params(cls, node) -> dict:
        return {}

    @classmethod
    def parse_attrs(cls, node):
        return ActAttrs(cls.kind, **cls.params(node))

    @classmethod
    def allowed(cls, version: int) -> tuple:
        out = cls.float_types
        if cls.bf16_since is not None and version >= cls.bf16_since:
            out = out + _BF16
        return out

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, cls.allowed(node.version))
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [apply(arrays[0], attrs.kind, attrs.alpha, attrs.beta, attrs.gamma)]


def _alpha(default):
    def params(cls, node):
        return {"alpha": node.attr("alpha", default, "float")}

    return classmethod(params)


@register("Relu", versions=(1, 6, 13, 14))
class Relu(_Pointwise):
    kind, bf16_since = RELU, 13

    @classmethod
    def allowed(cls, version):
        return super().allowed(version) + (_SIGNED if version >= 14 else ())

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        if x.dtype.kind == "i":
            return [np.maximum(x, x.dtype.type(0))]
        return super().run(node, attrs, arrays)


@register("LeakyRelu", versions=(1, 6, 16))
class LeakyRelu(_Pointwise):
    kind, bf16_since, params = LEAKY_RELU, 16, _alpha(0.01)


@register("Elu", versions=(1, 6, 22))
class Elu(_Pointwise):
    kind, bf16_since, params = ELU, 22, _alpha(1.0)


@register("Selu", versions=(1, 6, 22))
class Selu(_Pointwise):
    kind, bf16_since = SELU, 22

    @classmethod
    def params(cls, node):
        return {"alpha": node.attr("alpha", 1.67326319217681884765625, "float"),
                "gamma": node.attr("gamma", 1.05070102214813232421875, "float")}


@register("Celu", versions=(12, 28))
class Celu(_Pointwise):
    kind, bf16_since = CELU, 28

    @classmethod
    def params(cls, node):
        a = node.attr("alpha", 1.0, "float")
        if a == 0.0:
            raise node.error("alpha must be non-zero (Celu divides by it)", attribute="alpha")
        return {"alpha": a}

    @classmethod
    def allowed(cls, version):
        return super().allowed(version) if version >= 28 else (np.dtype(np.float32),)  # Celu-12: float only


@register("Sigmoid", versions=(1, 6, 13))
class Sigmoid(_Pointwise):
    kind, bf16_since = SIGMOID, 13


@register("HardSigmoid", versions=(1, 6, 22))
class HardSigmoid(_Pointwise):
    kind, bf16_since = HARD_SIGMOID, 22

    @classmethod
    def params(cls, node):
        return {"alpha": node.attr("alpha", 0.2, "float"), "beta": node.attr("beta", 0.5, "float")}


@register("HardSwish", versions=(14, 22))
class HardSwish(_Pointwise):
    kind, bf16_since = HARD_SWISH, 22

    @classmethod
    def params(cls, node):
        return {"alpha": 1.0 / 6.0, "beta": 0.5}


@register("Tanh", versions=(1, 6, 13))
class Tanh(_Pointwise):
    kind, bf16_since = TANH, 13


@register("Softplus", versions=(1, 22))
class Softplus(_Pointwise):
    kind, bf16_since = SOFTPLUS, 22


@register("Softsign", versions=(1, 22))
class Softsign(_Pointwise):
    kind, bf16_since = SOFTSIGN, 22


@register("Gelu", versions=(20,))
class Gelu(_Pointwise):
    bf16_since = 20

    @classmethod
    def parse_attrs(cls, node):
        approx = node.attr("approximate", "none", "str")
        if approx not in ("none", "tanh"):
            raise node.error(f"expected 'none' or 'tanh', got {approx!r}", attribute="approximate")
        return ActAttrs(GELU if approx == "none" else GELU_TANH)


@register("Mish", versions=(18, 22))
class Mish(_Pointwise):
    kind, bf16_since = MISH, 22


@register("ThresholdedRelu", versions=(10, 22))
class ThresholdedRelu(_Pointwise):
    kind, bf16_since, params = THRESHOLDED_RELU, 22, _alpha(1.0)


@register("Swish", versions=(24,))
class Swish(_Pointwise):
    kind, bf16_since, params = SWISH, 24, _alpha(1.0)


# ----------------------------------------------------------------------------------------------- PRelu

@register("PRelu", versions=(1, 6, 7, 9, 16))
class PRelu(Op):
    """Y = X where X >= 0, slope * X elsewhere; slope broadcasts unidirectionally to X."""

    @staticmethod
    def _slope_shape(node, x_shape: tuple, s_shape: tuple) -> tuple:
        """Before opset 7 a 1-d slope of C values is per channel (axis 1), as PyTorch's old exports use it."""
        if node.version < 7 and len(s_shape) == 1 and len(x_shape) >= 2 and s_shape[0] == x_shape[1] > 1:
            return (s_shape[0],) + (1,) * (len(x_shape) - 2)
        return tuple(s_shape)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        s = require_input(node, inputs, 1, "slope")
        allowed = _F + (_I32_64 if node.version >= 9 else ()) + (_BF16 if node.version >= 16 else ())
        check_dtype(node, x, 0, allowed)
        if s.dtype != x.dtype:
            raise node.error(f"slope element type {s.dtype.name} differs from X's {x.dtype.name}", input=1)
        ss = cls._slope_shape(node, x.shape, s.shape)
        ok = len(ss) <= x.rank and all(d == t or d == 1 for d, t in zip(reversed(ss), reversed(x.shape)))
        if not ok:
            raise node.error(f"slope shape {shape_str(s.shape)} is not unidirectionally broadcastable to X's "
                             f"shape {shape_str(x.shape)} (each trailing dim must equal X's or be 1)", input=1)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, s = arrays
        s = s.reshape(cls._slope_shape(node, x.shape, s.shape))
        dt = x.dtype
        cdt = compute_dtype(dt)
        xc, sc = x.astype(cdt, copy=False), s.astype(cdt, copy=False)
        y = np.where(xc < 0, xc * sc, xc)
        return [y.astype(dt, copy=False)]


# ----------------------------------------------------------------------------------------------- Clip

@dataclass(frozen=True)
class ClipAttrs:
    lo: float | None  # opset < 11: the attributes; later the inputs, read at run time
    hi: float | None


@register("Clip", versions=(1, 6, 11, 12, 13))
class Clip(Op):
    """Y = min(max(X, min), max): bounds are attributes before opset 11, optional scalar inputs from 11."""

    @classmethod
    def parse_attrs(cls, node):
        if node.version >= 11:
            return ClipAttrs(None, None)
        return ClipAttrs(node.attr("min", -math.inf, "float"), node.attr("max", math.inf, "float"))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        allowed = _F + (_INTS if node.version >= 12 else ()) + (_BF16 if node.version >= 13 else ())
        check_dtype(node, x, 0, allowed)
        if node.version >= 11:
            for i, nm in ((1, "min"), (2, "max")):
                if i < len(inputs) and inputs[i] is not None:
                    b = inputs[i]
                    if b.dtype != x.dtype:
                        raise node.error(f"{nm} element type {b.dtype.name} differs from input's {x.dtype.name}",
                                         input=i)
                    if not (b.rank == 0 or b.shape == (1,)):
                        raise node.error(f"{nm} must be a scalar, got shape {shape_str(b.shape)}", input=i)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        dt = x.dtype
        if node.version >= 11:
            lo = arrays[1] if len(arrays) > 1 and arrays[1] is not None else None
            hi = arrays[2] if len(arrays) > 2 and arrays[2] is not None else None
            lo = None if lo is None else lo.reshape(())[()]
            hi = None if hi is None else hi.reshape(())[()]
        else:
            lo, hi = attrs.lo, attrs.hi
        if dt.kind in "iu":
            y = x
            if lo is not None:
                y = np.maximum(y, dt.type(lo))
            if hi is not None:
                y = np.minimum(y, dt.type(hi))
            return [np.array(y, dtype=dt, copy=True) if y is x else y]
        lo = -math.inf if lo is None else float(lo)
        hi = math.inf if hi is None else float(hi)
        return [apply(x, CLIP, lo, hi)]
