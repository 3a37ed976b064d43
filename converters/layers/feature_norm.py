"""Per-sample normalizations with Keras 3 names and formulas: LayerNormalization,
GroupNormalization, UnitNormalization.

Keras computes ``y = x * inv + (beta - mean * inv)`` with ``inv = gamma / sqrt(var + epsilon)``
(``keras.ops.layer_normalization`` / ``GroupNormalization._apply_normalization``); its
``rms_scaling=True`` LayerNormalization is ``x * gamma / sqrt(var + epsilon)`` (the variance, not
the mean square, and no beta). Weights in Keras order: gamma (if scale), then beta (if center).
"""

import numpy as np

from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import Layer, ShapeProblem


def reduce(b, op, x, axes, name):
    """``op`` (ReduceMean, ReduceL2 ...) over ``axes`` with keepdims, for any opset 13..21."""
    axes = [int(a) for a in axes]
    if op == "ReduceSum" or b.opset >= 18:
        return b.node(op, [x, b.const(axes, name=f"{name}_axes")], name=name, keepdims=1)
    return b.node(op, [x], name=name, axes=axes, keepdims=1)


def _normalize(b, x, axes, epsilon, name):
    """((x - mean), 1 / sqrt(var + epsilon)) over ``axes``."""
    mean = reduce(b, "ReduceMean", x, axes, f"{name}_mean")
    centered = b.node("Sub", [x, mean], name=name)
    var = reduce(b, "ReduceMean", b.node("Mul", [centered, centered], name=name), axes,
                 f"{name}_var")
    eps = b.const(np.float32(epsilon), dtype=np.float32, name=f"{name}_epsilon")
    inv = b.node("Reciprocal", [b.node("Sqrt", [b.node("Add", [var, eps], name=name)],
                                       name=name)], name=name)
    return centered, inv


class _AffineNorm(Layer):
    """gamma / beta bookkeeping shared by LayerNormalization and GroupNormalization."""

    def _init_affine(self, epsilon, center, scale, beta_initializer, gamma_initializer,
                     beta_regularizer, gamma_regularizer):
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise self._arg_error("epsilon", epsilon, "expected a float > 0")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer = _initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = _initializers.get(gamma_initializer, "gamma_initializer")
        self.beta_regularizer = _regularizers.get(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = _regularizers.get(gamma_regularizer, "gamma_regularizer")

    def _build_affine(self, shape, center=True):
        self.gamma = (self.add_weight("gamma", shape, self.gamma_initializer,
                                      self.gamma_regularizer) if self.scale else None)
        self.beta = (self.add_weight("beta", shape, self.beta_initializer,
                                     self.beta_regularizer) if self.center and center else None)

    def _affine_config(self):
        ser = _initializers.serialize
        return dict(epsilon=self.epsilon, center=self.center, scale=self.scale,
                    beta_initializer=ser(self.beta_initializer),
                    gamma_initializer=ser(self.gamma_initializer),
                    beta_regularizer=_regularizers.serialize(self.beta_regularizer),
                    gamma_regularizer=_regularizers.serialize(self.gamma_regularizer),
                    beta_constraint=None, gamma_constraint=None)


class LayerNormalization(_AffineNorm):
    """Keras LayerNormalization(axis=-1, epsilon=1e-3, center=True, scale=True,
    rms_scaling=False): normalizes each sample over ``axis`` (an int or a list of axes); gamma
    and beta have the shape of those axes (no beta with rms_scaling)."""

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, rms_scaling=False,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                           for a in axes):
            raise self._arg_error("axis", axis, "expected an int or a list of ints")
        self.axis = [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)
        self.rms_scaling = bool(rms_scaling)
        self._init_affine(epsilon, center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer)

    def _axes(self, rank):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -rank <= a < rank or a % rank == 0 for a in axes):
            raise ShapeProblem(f"axis={self.axis} must name non-batch axes of a rank-{rank} "
                               f"input")
        return sorted({a % rank for a in axes})

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        if any(input_shape[a] is None for a in axes):
            raise ShapeProblem(f"the normalized axes {axes} must have known sizes")
        # Keras creates no beta with rms_scaling (whatever center says)
        self._build_affine(tuple(input_shape[a] for a in axes), center=not self.rms_scaling)

    def compute_output_shape(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        built = (self.gamma or self.beta)
        if built is not None and built.shape != shape:
            raise ShapeProblem(f"expected sizes {built.shape} on axes {axes}, got {shape}")
        return input_shape

    def export(self, ctx, node, inputs):
        b = ctx.b
        t = ctx.to_keras(inputs[0])
        rank = len(t.shape)
        axes = self._axes(rank)
        shape = tuple(t.shape[a] for a in axes)
        gamma = self.gamma.value if self.scale else np.ones(shape, np.float32)
        beta = self.beta.value if self.beta is not None else np.zeros(shape, np.float32)
        contiguous = axes == list(range(axes[0], rank))
        if contiguous and not self.rms_scaling and b.opset >= 17:
            y = b.node("LayerNormalization", [t.name, ctx.f32(gamma, f"{self.name}_gamma"),
                                              ctx.f32(beta, f"{self.name}_beta")],
                       name=self.name, axis=axes[0], epsilon=self.epsilon)
            return [t.like(y)]
        # broadcast gamma / beta over the other axes (batch included)
        bshape = tuple(t.shape[a] if a in axes else 1 for a in range(rank))
        centered, inv = _normalize(b, t.name, axes, self.epsilon, self.name)
        if self.rms_scaling:  # Keras: x * rsqrt(var + eps) * gamma, no beta
            y = b.node("Mul", [t.name, inv], name=self.name)
            if self.scale:
                y = b.node("Mul", [y, ctx.f32(gamma.reshape(bshape), f"{self.name}_gamma")],
                           name=self.name)
            return [t.like(y)]
        y = b.node("Mul", [centered, inv], name=self.name)
        if self.scale:
            y = b.node("Mul", [y, ctx.f32(gamma.reshape(bshape), f"{self.name}_gamma")],
                       name=self.name)
        if self.beta is not None:
            y = b.node("Add", [y, ctx.f32(beta.reshape(bshape), f"{self.name}_beta")],
                       name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(axis=self.axis, rms_scaling=self.rms_scaling, **self._affine_config())
        return cfg


class GroupNormalization(_AffineNorm):
    """Keras GroupNormalization(groups=32, axis=-1, epsilon=1e-3, center=True, scale=True): the
    channels on ``axis`` are split in ``groups`` groups, each normalized over its channels and all
    non-batch axes; gamma and beta have one value per channel."""

    def __init__(self, groups=32, axis=-1, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", beta_regularizer=None,
                 gamma_regularizer=None, beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.groups = self._check_positive_int("groups", groups)
        if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
            raise self._arg_error("axis", axis, "expected an int")
        self.axis = int(axis)
        self._init_affine(epsilon, center, scale, beta_initializer, gamma_initializer,
                          beta_regularizer, gamma_regularizer)

    def _channels(self, input_shape):
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise ShapeProblem(f"axis={self.axis} is not a feature axis of rank {rank}")
        n = input_shape[self.axis]
        if n is None or n % self.groups:
            raise ShapeProblem(f"axis {self.axis} has {n} channels, which must be a known "
                               f"multiple of groups={self.groups}")
        return n

    def build(self, input_shape):
        self._build_affine((self._channels(input_shape),))

    def compute_output_shape(self, input_shape):
        n = self._channels(input_shape)
        built = self.gamma or self.beta
        if built is not None and built.shape != (n,):
            raise ShapeProblem(f"expected {built.shape[0]} channels, got {n}")
        return input_shape

    def export(self, ctx, node, inputs):
        b, t = ctx.b, inputs[0]
        rank = len(t.shape)
        axis = self.axis % rank
        # channels second (N, C, ...) so that a reshape to (N, groups, -1) gathers each group
        t = ctx.to_perm(t, (0, axis) + tuple(a for a in range(1, rank) if a != axis))
        n = t.shape[axis]
        grouped = b.node("Reshape", [t.name, b.const([0, self.groups, -1],
                                                     name=f"{self.name}_groups")],
                         name=self.name)
        centered, inv = _normalize(b, grouped, [2], self.epsilon, self.name)
        y = b.node("Mul", [centered, inv], name=self.name)
        y = b.node("Reshape", [y, b.node("Shape", [t.name], name=self.name)], name=self.name)
        bshape = (n,) + (1,) * (rank - 2)
        if self.scale:
            y = b.node("Mul", [y, ctx.f32(self.gamma.value.reshape(bshape),
                                          f"{self.name}_gamma")], name=self.name)
        if self.center:
            y = b.node("Add", [y, ctx.f32(self.beta.value.reshape(bshape), f"{self.name}_beta")],
                       name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(groups=self.groups, axis=self.axis, **self._affine_config())
        return cfg


class UnitNormalization(Layer):
    """Keras UnitNormalization(axis=-1): ``x / max(||x||_2, 1e-12)`` over ``axis`` (int or
    list)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, (int, np.integer))
                           for a in axes):
            raise self._arg_error("axis", axis, "expected an int or a list of ints")
        self.axis = [int(a) for a in axes] if isinstance(axis, (list, tuple)) else int(axis)

    def _axes(self, rank):
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        if any(not -rank <= a < rank or a % rank == 0 for a in axes):
            raise ShapeProblem(f"axis={self.axis} must name non-batch axes")
        return sorted({a % rank for a in axes})

    def compute_output_shape(self, input_shape):
        self._axes(len(input_shape))
        return input_shape

    def export(self, ctx, node, inputs):
        b, t = ctx.b, inputs[0]
        if t.flat_perm is not None:
            t = ctx.to_keras(t)
        axes = [t.onnx_axis(a) for a in self._axes(len(t.shape))]
        norm = reduce(b, "ReduceL2", t.name, axes, f"{self.name}_norm")
        floor = b.const(np.float32(1e-12), dtype=np.float32, name=f"{self.name}_epsilon")
        y = b.node("Div", [t.name, b.node("Max", [norm, floor], name=self.name)], name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg
