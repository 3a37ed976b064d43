"""Depthwise and separable convolutions.

BaseDepthwiseConv(rank) -> DepthwiseConv1D / 2D: kernel (k..., in, depth_multiplier), output
channel ``c * depth_multiplier + m``; ONNX Conv with group = in.
BaseSeparableConv(rank) -> SeparableConv1D / 2D: depthwise then a pointwise (1..., in * dm,
filters) conv with the bias.
"""

from onnumba.converters import _geometry
from onnumba.converters import activations as _activations
from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import ShapeProblem
from onnumba.converters.layers.base_conv import (SpatialLayer, _rank_subclass, conv_onnx_attrs,
                                                 join_spatial)
from onnumba.converters.layers.core import apply_activation


def depthwise_onnx_weight(kernel):
    """Keras depthwise kernel (k..., C, M) -> ONNX grouped Conv weight (C * M, 1, k...)."""
    rank = kernel.ndim - 2
    channels, mult = kernel.shape[-2:]
    flat = kernel.reshape(kernel.shape[:rank] + (channels * mult,))
    return flat.transpose((rank,) + tuple(range(rank)))[:, None]


class _DepthwiseBase(SpatialLayer):
    """Shared arguments and geometry of depthwise and separable convs."""

    def _init_depthwise(self, rank, kernel_size, strides, padding, data_format, dilation_rate,
                        depth_multiplier, activation, use_bias, depthwise_initializer,
                        bias_initializer, depthwise_regularizer, bias_regularizer):
        self.rank = rank
        self.kernel_size = self._tuple(kernel_size, rank, "kernel_size")
        self.strides = self._tuple(strides, rank, "strides")
        self.dilation_rate = self._tuple(dilation_rate, rank, "dilation_rate")
        paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = self._check_choice("padding", padding.lower() if isinstance(padding, str)
                                          else padding, paddings)
        self._init_data_format(data_format)
        self.depth_multiplier = self._check_positive_int("depth_multiplier", depth_multiplier)
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.depthwise_initializer = _initializers.get(depthwise_initializer,
                                                       "depthwise_initializer")
        self.bias_initializer = _initializers.get(bias_initializer, "bias_initializer")
        self.depthwise_regularizer = _regularizers.get(depthwise_regularizer,
                                                       "depthwise_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")

    def _out_spatial(self, spatial):
        out = [_geometry.conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
               zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
        if any(o is not None and o < 1 for o in out):
            raise ShapeProblem(f"spatial size {spatial} is too small for kernel_size="
                               f"{self.kernel_size}, dilation_rate={self.dilation_rate} with "
                               f"padding={self.padding!r}")
        return out

    def _emit_depthwise(self, ctx, node, t, bias):
        channels = self.depthwise_kernel.shape[-2]
        ins = [t.name, ctx.f32(depthwise_onnx_weight(self.depthwise_kernel.value),
                               f"{self.name}_depthwise_kernel")]
        if bias is not None:
            ins.append(ctx.f32(bias, f"{self.name}_bias"))
        attrs = conv_onnx_attrs(self._spatial_of(node), self.kernel_size, self.strides,
                                self.dilation_rate, self.padding, channels, self._repr())
        return ctx.b.node("Conv", ins, name=f"{self.name}_depthwise", **attrs)

    def _depthwise_config(self):
        return dict(kernel_size=list(self.kernel_size), strides=list(self.strides),
                    padding=self.padding, data_format=self.data_format,
                    dilation_rate=list(self.dilation_rate),
                    depth_multiplier=self.depth_multiplier, activation=self.activation,
                    use_bias=self.use_bias,
                    depthwise_initializer=_initializers.serialize(self.depthwise_initializer),
                    bias_initializer=_initializers.serialize(self.bias_initializer),
                    depthwise_regularizer=_regularizers.serialize(self.depthwise_regularizer),
                    bias_regularizer=_regularizers.serialize(self.bias_regularizer),
                    activity_regularizer=None, depthwise_constraint=None, bias_constraint=None)

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("rank", None)
        return super().from_config(config)


class BaseDepthwiseConv(_DepthwiseBase):
    """N-d depthwise convolution (Keras arguments; strides and dilation may both exceed 1)."""

    def __init__(self, rank, kernel_size, strides=1, padding="valid", depth_multiplier=1,
                 data_format=None, dilation_rate=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", bias_initializer="zeros",
                 depthwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self._init_depthwise(rank, kernel_size, strides, padding, data_format, dilation_rate,
                             depth_multiplier, activation, use_bias, depthwise_initializer,
                             bias_initializer, depthwise_regularizer, bias_regularizer)

    def build(self, input_shape):
        _, _, channels = self._check_input(input_shape)
        if channels is None:
            raise ShapeProblem("the channel dimension must be known")
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            self.depthwise_initializer, self.depthwise_regularizer)
        self.bias = (self.add_weight("bias", (channels * self.depth_multiplier,),
                                     self.bias_initializer, self.bias_regularizer)
                     if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        if channels != self.depthwise_kernel.shape[-2]:
            raise ShapeProblem(f"expected {self.depthwise_kernel.shape[-2]} channels, "
                               f"got {channels}")
        return join_spatial(batch, self._out_spatial(spatial), channels * self.depth_multiplier,
                            self.data_format)

    def export(self, ctx, node, inputs):
        t = ctx.to_channels_first(inputs[0], self.data_format)
        y = self._emit_depthwise(ctx, node, t, self.bias.value if self.use_bias else None)
        return [apply_activation(ctx, t.like(y, node.outputs[0].shape), self.activation,
                                 self.name)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(self._depthwise_config())
        return cfg


class BaseSeparableConv(_DepthwiseBase):
    """N-d separable convolution: depthwise, then pointwise with ``filters`` outputs."""

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, depth_multiplier=1, activation=None, use_bias=True,
                 depthwise_initializer="glorot_uniform", pointwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.filters = self._check_positive_int("filters", filters)
        self._init_depthwise(rank, kernel_size, strides, padding, data_format, dilation_rate,
                             depth_multiplier, activation, use_bias, depthwise_initializer,
                             bias_initializer, depthwise_regularizer, bias_regularizer)
        self.pointwise_initializer = _initializers.get(pointwise_initializer,
                                                       "pointwise_initializer")
        self.pointwise_regularizer = _regularizers.get(pointwise_regularizer,
                                                       "pointwise_regularizer")

    def build(self, input_shape):
        _, _, channels = self._check_input(input_shape)
        if channels is None:
            raise ShapeProblem("the channel dimension must be known")
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            self.depthwise_initializer, self.depthwise_regularizer)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier,
                                                    self.filters),
            self.pointwise_initializer, self.pointwise_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        if channels != self.depthwise_kernel.shape[-2]:
            raise ShapeProblem(f"expected {self.depthwise_kernel.shape[-2]} channels, "
                               f"got {channels}")
        return join_spatial(batch, self._out_spatial(spatial), self.filters, self.data_format)

    def export(self, ctx, node, inputs):
        t = ctx.to_channels_first(inputs[0], self.data_format)
        y = self._emit_depthwise(ctx, node, t, None)
        pw = self.pointwise_kernel.value
        w = pw.reshape(pw.shape[-2:]).T.reshape((self.filters, pw.shape[-2]) + (1,) * self.rank)
        ins = [y, ctx.f32(w, f"{self.name}_pointwise_kernel")]
        if self.use_bias:
            ins.append(ctx.f32(self.bias.value, f"{self.name}_bias"))
        y = ctx.b.node("Conv", ins, name=f"{self.name}_pointwise", kernel_shape=[1] * self.rank)
        return [apply_activation(ctx, t.like(y, node.outputs[0].shape), self.activation,
                                 self.name)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(self._depthwise_config())
        cfg.update(filters=self.filters,
                   pointwise_initializer=_initializers.serialize(self.pointwise_initializer),
                   pointwise_regularizer=_regularizers.serialize(self.pointwise_regularizer),
                   pointwise_constraint=None)
        return cfg


DepthwiseConv1D = _rank_subclass(BaseDepthwiseConv, 1, "DepthwiseConv1D",
                                 "1-D depthwise convolution (see BaseDepthwiseConv).")
DepthwiseConv2D = _rank_subclass(BaseDepthwiseConv, 2, "DepthwiseConv2D",
                                 "2-D depthwise convolution (see BaseDepthwiseConv).")
SeparableConv1D = _rank_subclass(BaseSeparableConv, 1, "SeparableConv1D",
                                 "1-D separable convolution (see BaseSeparableConv).")
SeparableConv2D = _rank_subclass(BaseSeparableConv, 2, "SeparableConv2D",
                                 "2-D separable convolution (see BaseSeparableConv).")
