"""BatchNormalization with Keras 3 defaults (epsilon 1e-3, momentum 0.99)."""

import numpy as np

from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import Layer, ShapeProblem


class BatchNormalization(Layer):
    """Keras BatchNormalization over ``axis``.

    Weights in Keras order: gamma (if scale), beta (if center), moving_mean, moving_variance.
    Keras defaults (keras.io, Keras 3): momentum=0.99, epsilon=1e-3; ONNX ``momentum`` has the
    same meaning (running = running * momentum + batch * (1 - momentum)).
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=0.001, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones",
                 moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, synchronized=False, renorm=False, **kwargs):
        super().__init__(**kwargs)
        if isinstance(axis, (list, tuple)):
            if len(axis) != 1:
                raise self._arg_error("axis", axis, "only one axis is exported")
            axis = axis[0]
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise self._arg_error("axis", axis, "expected an int")
        if not isinstance(momentum, (int, float)) or not 0 <= momentum <= 1:
            raise self._arg_error("momentum", momentum, "expected a float in [0, 1]")
        if not isinstance(epsilon, (int, float)) or epsilon <= 0:
            raise self._arg_error("epsilon", epsilon, "expected a float > 0")
        if renorm:
            raise self._arg_error("renorm", renorm, "batch renormalization is not supported")
        self.axis, self.momentum, self.epsilon = axis, float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.synchronized = bool(synchronized)
        self.beta_initializer = _initializers.get(beta_initializer, "beta_initializer")
        self.gamma_initializer = _initializers.get(gamma_initializer, "gamma_initializer")
        self.moving_mean_initializer = _initializers.get(moving_mean_initializer,
                                                         "moving_mean_initializer")
        self.moving_variance_initializer = _initializers.get(moving_variance_initializer,
                                                             "moving_variance_initializer")
        self.beta_regularizer = _regularizers.get(beta_regularizer, "beta_regularizer")
        self.gamma_regularizer = _regularizers.get(gamma_regularizer, "gamma_regularizer")

    def build(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or \
                self.axis % len(input_shape) == 0:
            raise ShapeProblem(f"axis={self.axis} is not a feature axis of rank "
                               f"{len(input_shape)}")
        n = input_shape[self.axis]
        if n is None:
            raise ShapeProblem(f"axis {self.axis} must have a known size")
        self.gamma = (self.add_weight("gamma", (n,), self.gamma_initializer,
                                      self.gamma_regularizer) if self.scale else None)
        self.beta = (self.add_weight("beta", (n,), self.beta_initializer,
                                     self.beta_regularizer) if self.center else None)
        self.moving_mean = self.add_weight("moving_mean", (n,), self.moving_mean_initializer,
                                           trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (n,),
                                               self.moving_variance_initializer, trainable=False)

    def compute_output_shape(self, input_shape):
        if input_shape[self.axis] != self.moving_mean.shape[0]:
            raise ShapeProblem(f"expected {self.moving_mean.shape[0]} features on axis "
                               f"{self.axis}, got {input_shape[self.axis]}")
        return input_shape

    def folded_scale_shift(self):
        """(scale, shift) with ``y = x * scale + shift`` in inference (for folding into a Conv)."""
        gamma = self.gamma.value if self.scale else np.ones_like(self.moving_mean.value)
        beta = self.beta.value if self.center else np.zeros_like(self.moving_mean.value)
        scale = gamma / np.sqrt(self.moving_variance.value.astype(np.float64) + self.epsilon)
        return scale, beta - self.moving_mean.value * scale

    def export(self, ctx, node, inputs):
        t, b = inputs[0], ctx.b
        rank = len(t.shape)
        axis = self.axis % rank
        params = [self.gamma.value if self.scale else np.ones_like(self.moving_mean.value),
                  self.beta.value if self.center else np.zeros_like(self.moving_mean.value),
                  self.moving_mean.value, self.moving_variance.value]
        if t.flat_perm is not None and ctx.training:
            t = ctx.to_keras(t)  # running statistics must come out in Keras order
        if t.flat_perm is not None:
            params = [p[t.flat_perm] for p in params]
        elif t.onnx_axis(axis) != 1:
            # ONNX normalises axis 1: store the tensor with the feature axis second
            t = ctx.to_perm(t, (0, axis) + tuple(a for a in range(1, rank) if a != axis))
        names = [ctx.f32(p, f"{self.name}.{n}")
                 for p, n in zip(params, ("gamma", "beta", "moving_mean", "moving_variance"))]
        if not ctx.training:
            y = b.node("BatchNormalization", [t.name] + names, name=self.name,
                       epsilon=self.epsilon, momentum=self.momentum)
            return [t.like(y)]
        b.require(14, f"{self._repr()} exported with training=True (ONNX BatchNormalization "
                      f"training_mode)")
        y, mean, var = b.node("BatchNormalization", [t.name] + names, 3, name=self.name,
                              epsilon=self.epsilon, momentum=self.momentum, training_mode=1)
        n = self.moving_mean.shape
        ctx.extra_outputs.append((mean, f"{self.name}_moving_mean", n))
        ctx.extra_outputs.append((var, f"{self.name}_moving_variance", n))
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        ser = _initializers.serialize
        cfg.update(axis=self.axis, momentum=self.momentum, epsilon=self.epsilon,
                   center=self.center, scale=self.scale,
                   beta_initializer=ser(self.beta_initializer),
                   gamma_initializer=ser(self.gamma_initializer),
                   moving_mean_initializer=ser(self.moving_mean_initializer),
                   moving_variance_initializer=ser(self.moving_variance_initializer),
                   beta_regularizer=_regularizers.serialize(self.beta_regularizer),
                   gamma_regularizer=_regularizers.serialize(self.gamma_regularizer),
                   beta_constraint=None, gamma_constraint=None, synchronized=self.synchronized)
        return cfg
