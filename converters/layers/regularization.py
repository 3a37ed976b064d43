"""Noise layers, identity at inference (Keras 3 ``keras.layers`` regularization family):
SpatialDropout1D/2D/3D, GaussianNoise, GaussianDropout, AlphaDropout, ActivityRegularization.

SpatialDropout drops whole channels while training: an ONNX Dropout applied to a ones tensor of
shape (N, C, 1, ...) driven by the shared ``training_mode`` input gives the mask (already scaled by
1 / (1 - rate), as Keras's noise_shape dropout), which multiplies the input. The Gaussian layers
need random normal noise while training: they are exported as an identity, and with
``to_onnx(training=True)`` as RandomNormalLike noise.
"""

import numpy as np
from onnx import numpy_helper

from onnumba.converters.errors import ExportError
from onnumba.converters.layers.base import Layer, ShapeProblem


class _Noise(Layer):
    def _check_rate(self, arg, value, upper_open=True):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or \
                (upper_open and value >= 1):
            raise self._arg_error(arg, value, "expected a float in [0, 1)" if upper_open
                                  else "expected a float >= 0")
        return float(value)


class BaseSpatialDropout(_Noise):
    """Keras SpatialDropoutND(rate, data_format=None, seed=None): drops entire channels."""

    rank = None

    def __init__(self, rate, data_format=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = self._check_rate("rate", rate)
        if self.rank == 1:
            data_format = data_format or "channels_last"
        self.data_format = self._check_choice("data_format", data_format or "channels_last",
                                              ("channels_last", "channels_first"))
        self.seed = seed

    def compute_output_shape(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ShapeProblem(f"expected a rank-{self.rank + 2} input, got rank "
                               f"{len(input_shape)}")
        return input_shape

    def export(self, ctx, node, inputs):
        b = ctx.b
        t = ctx.to_channels_first(inputs[0], self.data_format)
        batch_channels = b.node("Slice", [b.node("Shape", [t.name], name=self.name),
                                          b.const([0]), b.const([2])], name=self.name)
        mask_shape = b.node("Concat", [batch_channels, b.const([1] * self.rank)],
                            name=self.name, axis=0)
        ones = b.node("ConstantOfShape", [mask_shape], name=self.name,
                      value=_float_tensor(1.0))
        ratio = b.const(np.float32(self.rate), dtype=np.float32, name=f"{self.name}_ratio")
        attrs = {"seed": int(self.seed)} if self.seed is not None else {}
        mask = b.node("Dropout", [ones, ratio, ctx.training_mode()], name=self.name, **attrs)
        return [t.like(b.node("Mul", [t.name, mask], name=self.name))]

    def get_config(self):
        # Keras 3's SpatialDropout takes no 'trainable' (and writes a plain dtype)
        cfg = super().get_config()
        del cfg["trainable"]
        cfg["dtype"] = "float32"
        cfg.update(rate=self.rate, seed=self.seed, data_format=self.data_format)
        return cfg


def _float_tensor(value):
    return numpy_helper.from_array(np.array([value], dtype=np.float32), "value")


SpatialDropout1D = type("SpatialDropout1D", (BaseSpatialDropout,),
                        {"rank": 1, "__doc__": "SpatialDropout1D (see BaseSpatialDropout)."})
SpatialDropout2D = type("SpatialDropout2D", (BaseSpatialDropout,),
                        {"rank": 2, "__doc__": "SpatialDropout2D (see BaseSpatialDropout)."})
SpatialDropout3D = type("SpatialDropout3D", (BaseSpatialDropout,),
                        {"rank": 3, "__doc__": "SpatialDropout3D (see BaseSpatialDropout)."})


class GaussianNoise(_Noise):
    """Keras GaussianNoise(stddev, seed=None): ``x + N(0, stddev)`` while training, ``x`` at
    inference."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev = self._check_rate("stddev", stddev, upper_open=False)
        self.seed = seed

    def _noise(self, ctx, t, mean, scale):
        attrs = {"seed": float(self.seed)} if self.seed is not None else {}
        return ctx.b.node("RandomNormalLike", [t.name], name=self.name, mean=mean, scale=scale,
                          **attrs)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        if not ctx.training or self.stddev == 0:
            return [t]
        return [t.like(ctx.b.node("Add", [t.name, self._noise(ctx, t, 0.0, self.stddev)],
                                  name=self.name))]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(stddev=self.stddev, seed=self.seed)
        return cfg


class GaussianDropout(GaussianNoise):
    """Keras GaussianDropout(rate, seed=None): ``x * N(1, sqrt(rate / (1 - rate)))`` while
    training, ``x`` at inference."""

    def __init__(self, rate, seed=None, **kwargs):
        Layer.__init__(self, **kwargs)
        self.rate = self._check_rate("rate", rate)
        self.stddev = float(np.sqrt(self.rate / (1.0 - self.rate)))
        self.seed = seed

    def export(self, ctx, node, inputs):
        t = inputs[0]
        if not ctx.training or self.rate == 0:
            return [t]
        return [t.like(ctx.b.node("Mul", [t.name, self._noise(ctx, t, 1.0, self.stddev)],
                                  name=self.name))]

    def get_config(self):
        cfg = Layer.get_config(self)
        cfg.update(rate=self.rate, seed=self.seed)
        return cfg


class ActivityRegularization(Layer):
    """Keras ActivityRegularization(l1=0.0, l2=0.0): adds a loss while training; identity."""

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        super().__init__(**kwargs)
        for arg, value in (("l1", l1), ("l2", l2)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise self._arg_error(arg, value, "expected a float >= 0")
        self.l1, self.l2 = float(l1), float(l2)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(l1=self.l1, l2=self.l2)
        return cfg


class AlphaDropout(_Noise):
    """Keras AlphaDropout(rate, noise_shape=None, seed=None): identity at inference; its
    training-time noise (SELU-preserving) is not exported."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = self._check_rate("rate", rate)
        if noise_shape is not None:
            raise self._arg_error("noise_shape", noise_shape, "only noise_shape=None is exported")
        self.seed = seed

    def export(self, ctx, node, inputs):
        if ctx.training and self.rate:
            raise ExportError(f"{self._repr()}: AlphaDropout is exported for inference only "
                              f"(to_onnx(training=False))")
        return [inputs[0]]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(rate=self.rate, noise_shape=None, seed=self.seed)
        return cfg
