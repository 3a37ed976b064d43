"""Activation layers: ReLU, LeakyReLU, ELU, PReLU, Softmax (Keras 3 defaults)."""

import numpy as np

from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import Layer, ShapeProblem


class ReLU(Layer):
    """Keras ReLU: ``max_value`` if x >= max_value, x if x >= threshold, else
    ``negative_slope * (x - threshold)``."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        if max_value is not None and (not isinstance(max_value, (int, float)) or max_value < 0):
            raise self._arg_error("max_value", max_value, "expected None or a float >= 0")
        if not isinstance(negative_slope, (int, float)) or negative_slope < 0:
            raise self._arg_error("negative_slope", negative_slope, "expected a float >= 0")
        if not isinstance(threshold, (int, float)):
            raise self._arg_error("threshold", threshold, "expected a float")
        self.max_value = None if max_value is None else float(max_value)
        self.negative_slope = float(negative_slope)
        self.threshold = float(threshold)

    def export(self, ctx, node, inputs):
        t, b = inputs[0], ctx.b

        def c(v):
            return b.const(np.float32(v), dtype=np.float32, name=f"{self.name}_c")

        if self.negative_slope == 0.0 and self.threshold == 0.0:
            if self.max_value is None:
                return [t.like(b.node("Relu", [t.name], name=self.name))]
            return [t.like(b.node("Clip", [t.name, c(0.0), c(self.max_value)], name=self.name))]
        keep = b.node("GreaterOrEqual", [t.name, c(self.threshold)], name=self.name)
        below = b.node("Mul", [b.node("Sub", [t.name, c(self.threshold)], name=self.name),
                               c(self.negative_slope)], name=self.name)
        y = b.node("Where", [keep, t.name, below], name=self.name)
        if self.max_value is not None:
            y = b.node("Min", [y, c(self.max_value)], name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(max_value=self.max_value, negative_slope=self.negative_slope,
                   threshold=self.threshold)
        return cfg


class LeakyReLU(Layer):
    """Keras 3 LeakyReLU; default ``negative_slope=0.3`` (keras.io, Keras 3; the functional
    ``activations.leaky_relu`` defaults to 0.2). ``alpha`` is the Keras 2 name, accepted."""

    def __init__(self, negative_slope=0.3, alpha=None, **kwargs):
        super().__init__(**kwargs)
        if alpha is not None:
            negative_slope = alpha
        if not isinstance(negative_slope, (int, float)) or negative_slope < 0:
            raise self._arg_error("negative_slope", negative_slope, "expected a float >= 0")
        self.negative_slope = float(negative_slope)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        return [t.like(ctx.b.node("LeakyRelu", [t.name], name=self.name,
                                  alpha=self.negative_slope))]

    def get_config(self):
        cfg = super().get_config()
        cfg["negative_slope"] = self.negative_slope
        return cfg


class ELU(Layer):
    """Keras ELU: ``x`` if x > 0 else ``alpha * (exp(x) - 1)``; default alpha=1.0."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(alpha, (int, float)):
            raise self._arg_error("alpha", alpha, "expected a float")
        self.alpha = float(alpha)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        return [t.like(ctx.b.node("Elu", [t.name], name=self.name, alpha=self.alpha))]

    def get_config(self):
        cfg = super().get_config()
        cfg["alpha"] = self.alpha
        return cfg


class PReLU(Layer):
    """Keras PReLU: learned ``alpha`` of shape input_shape[1:] (shared_axes set to 1)."""

    def __init__(self, alpha_initializer="Zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.alpha_initializer = _initializers.get(alpha_initializer, "alpha_initializer")
        self.alpha_regularizer = _regularizers.get(alpha_regularizer, "alpha_regularizer")
        if shared_axes is None:
            self.shared_axes = ()
        elif isinstance(shared_axes, int):
            self.shared_axes = (shared_axes,)
        else:
            self.shared_axes = tuple(int(a) for a in shared_axes)
        if any(a < 1 for a in self.shared_axes):
            raise self._arg_error("shared_axes", shared_axes, "axes are 1-based (batch excluded)")

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for a in self.shared_axes:
            if a > len(shape):
                raise ShapeProblem(f"shared_axes={self.shared_axes} out of range for rank "
                                   f"{len(input_shape)}")
            shape[a - 1] = 1
        if any(d is None for d in shape):
            raise ShapeProblem("PReLU needs known non-shared dimensions")
        self.alpha = self.add_weight("alpha", tuple(shape), self.alpha_initializer,
                                     self.alpha_regularizer)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        alpha = self.alpha.value
        if t.flat_perm is not None:
            alpha = alpha[t.flat_perm]
        elif t.perm is not None:
            alpha = alpha.transpose([p - 1 for p in t.perm[1:]])
        slope = ctx.f32(alpha, f"{self.name}_alpha")
        return [t.like(ctx.b.node("PRelu", [t.name, slope], name=self.name))]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(alpha_initializer=_initializers.serialize(self.alpha_initializer),
                   alpha_regularizer=_regularizers.serialize(self.alpha_regularizer),
                   alpha_constraint=None,
                   shared_axes=list(self.shared_axes) if self.shared_axes else None)
        return cfg


class Softmax(Layer):
    """Keras Softmax over ``axis`` (default -1)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise self._arg_error("axis", axis, "expected an int")
        self.axis = axis

    def compute_output_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape):
            raise ShapeProblem(f"axis={self.axis} out of range for rank {len(input_shape)}")
        return input_shape

    def export(self, ctx, node, inputs):
        t = inputs[0]
        if t.flat_perm is not None:
            t = ctx.to_keras(t)
        return [t.like(ctx.b.node("Softmax", [t.name], name=self.name,
                                  axis=t.onnx_axis(self.axis)))]

    def get_config(self):
        cfg = super().get_config()
        cfg["axis"] = self.axis
        return cfg
