"""Transposed convolutions: BaseConvTranspose(rank) -> Conv1DTranspose / 2D / 3D.

Keras output sizes include kernel < stride and ``output_padding``; the ONNX node always gets
non-negative ``pads`` and, where Keras's output is longer than the full transposed conv, an ONNX
``output_padding`` (tf2onnx writes negative pads there, which onnxruntime refuses).
"""

from onnumba.converters import _geometry
from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base_conv import (SpatialLayer, _rank_subclass, join_spatial)
from onnumba.converters.layers.base import ShapeProblem
from onnumba.converters.layers.core import apply_activation


def conv_transpose_onnx_attrs(kernel_size, strides, dilation_rate, padding, output_padding):
    """ONNX ConvTranspose attributes for a Keras transposed conv (pads never negative)."""
    begins, ends, extra = [], [], []
    for i, (k, s, d) in enumerate(zip(kernel_size, strides, dilation_rate)):
        op = None if output_padding is None else output_padding[i]
        b, e, x = _geometry.conv_transpose_onnx_pads(k, s, d, padding, op)
        begins.append(b)
        ends.append(e)
        extra.append(x)
    attrs = {"kernel_shape": list(kernel_size), "strides": list(strides),
             "dilations": list(dilation_rate), "pads": begins + ends}
    if any(extra):
        attrs["output_padding"] = extra
    return attrs


class BaseConvTranspose(SpatialLayer):
    """N-d transposed convolution; Keras kernel layout (k..., filters, in).

    Args:
        filters, kernel_size, strides, padding ('valid' | 'same'), data_format, dilation_rate as
        for BaseConv; output_padding: None or int / tuple, each < its stride (Keras's rule).
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid",
                 output_padding=None, data_format=None, dilation_rate=1, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.filters = self._check_positive_int("filters", filters)
        self.kernel_size = self._tuple(kernel_size, rank, "kernel_size")
        self.strides = self._tuple(strides, rank, "strides")
        self.dilation_rate = self._tuple(dilation_rate, rank, "dilation_rate")
        self.padding = self._check_choice("padding", padding.lower() if isinstance(padding, str)
                                          else padding, ("valid", "same"))
        self.output_padding = (None if output_padding is None else
                                self._tuple(output_padding, rank, "output_padding",
                                            allow_zero=True))
        if self.output_padding is not None:
            for op, s, d in zip(self.output_padding, self.strides, self.dilation_rate):
                if op >= max(s, d):
                    raise self._arg_error("output_padding", output_padding,
                                          f"each value must be smaller than its stride "
                                          f"{self.strides} (or dilation)")
        self._init_data_format(data_format)
        self._init_kernel_and_bias(activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer)

    def build(self, input_shape):
        _, _, channels = self._check_input(input_shape)
        if channels is None:
            raise ShapeProblem("the channel dimension must be known")
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels),
                                      self.kernel_initializer, self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        if channels != self.kernel.shape[-1]:
            raise ShapeProblem(f"expected {self.kernel.shape[-1]} channels, got {channels}")
        ops = self.output_padding or (None,) * self.rank
        out = [_geometry.conv_transpose_output_length(n, k, s, d, self.padding, op)
               for n, k, s, d, op in zip(spatial, self.kernel_size, self.strides,
                                         self.dilation_rate, ops)]
        if any(o is not None and o < 1 for o in out):
            raise ShapeProblem(f"output size {tuple(out)} is empty")
        return join_spatial(batch, out, self.filters, self.data_format)

    def export(self, ctx, node, inputs):
        t = ctx.to_channels_first(inputs[0], self.data_format)
        # Keras (k..., out, in) -> ONNX (in, out, k...)
        w = self.kernel.value.transpose((self.rank + 1, self.rank) + tuple(range(self.rank)))
        ins = [t.name, ctx.f32(w, f"{self.name}_kernel")]
        if self.use_bias:
            ins.append(ctx.f32(self.bias.value, f"{self.name}_bias"))
        attrs = conv_transpose_onnx_attrs(self.kernel_size, self.strides, self.dilation_rate,
                                          self.padding, self.output_padding)
        y = t.like(ctx.b.node("ConvTranspose", ins, name=self.name, **attrs),
                   node.outputs[0].shape)
        return [apply_activation(ctx, y, self.activation, self.name)]

    def get_config(self):
        # Keras 3's own get_config leaves output_padding out (it is lost on a Keras round trip);
        # it is written here so that our round trips keep it, and read back when present
        cfg = super().get_config()
        cfg.update(filters=self.filters, kernel_size=list(self.kernel_size),
                   strides=list(self.strides), padding=self.padding,
                   output_padding=(None if self.output_padding is None
                                   else list(self.output_padding)),
                   data_format=self.data_format, dilation_rate=list(self.dilation_rate),
                   activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=_initializers.serialize(self.kernel_initializer),
                   bias_initializer=_initializers.serialize(self.bias_initializer),
                   kernel_regularizer=_regularizers.serialize(self.kernel_regularizer),
                   bias_regularizer=_regularizers.serialize(self.bias_regularizer),
                   activity_regularizer=None, kernel_constraint=None, bias_constraint=None)
        return cfg


Conv1DTranspose = _rank_subclass(BaseConvTranspose, 1, "Conv1DTranspose",
                                 "1-D transposed convolution (see BaseConvTranspose).")
Conv2DTranspose = _rank_subclass(BaseConvTranspose, 2, "Conv2DTranspose",
                                 "2-D transposed convolution (see BaseConvTranspose).")
Conv3DTranspose = _rank_subclass(BaseConvTranspose, 3, "Conv3DTranspose",
                                 "3-D transposed convolution (see BaseConvTranspose).")
