"""Convolutions: BaseConv(rank) -> Conv1D / Conv2D / Conv3D, plus the spatial helpers shared by
every layer family with a ``data_format``.

Keras -> ONNX attribute conversion of the family lives in ``conv_onnx_attrs``.
"""

from onnumba.converters import _geometry
from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.errors import ExportError
from onnumba.converters.layers.base import Layer, ShapeProblem
from onnumba.converters.layers.core import apply_activation

DATA_FORMATS = ("channels_last", "channels_first")


def split_spatial(shape, data_format):
    """(batch, spatial dims, channels) of a Keras shape."""
    if data_format == "channels_last":
        return shape[0], tuple(shape[1:-1]), shape[-1]
    return shape[0], tuple(shape[2:]), shape[1]


def join_spatial(batch, spatial, channels, data_format):
    """Inverse of ``split_spatial``."""
    if data_format == "channels_last":
        return (batch,) + tuple(spatial) + (channels,)
    return (batch, channels) + tuple(spatial)


class SpatialLayer(Layer):
    """A layer over ``rank`` spatial axes with a ``data_format``."""

    rank = None

    def _init_data_format(self, data_format):
        self.data_format = self._check_choice("data_format", data_format or "channels_last",
                                              DATA_FORMATS)

    def _check_input(self, input_shape):
        if len(input_shape) != self.rank + 2:
            raise ShapeProblem(f"expected a tensor of rank {self.rank + 2} "
                               f"(batch, {self.rank} spatial axes, channels), got rank "
                               f"{len(input_shape)}")
        return split_spatial(input_shape, self.data_format)

    def _spatial_of(self, node):
        return split_spatial(node.inputs[0].shape, self.data_format)[1]


def conv_onnx_attrs(spatial_in, kernel_size, strides, dilation_rate, padding, groups=1,
                    where="this layer"):
    """ONNX Conv attributes for a Keras conv.

    Pads are explicit whenever they do not depend on an unknown input size (always for 'valid'
    and 'causal', and for 'same' on stride-1 axes); otherwise ``auto_pad=SAME_UPPER`` (Keras puts
    the odd unit at the end too), which ONNX runtimes refuse together with dilation.
    """
    attrs = {"kernel_shape": list(kernel_size), "strides": list(strides),
             "dilations": list(dilation_rate), "group": int(groups)}
    dynamic = [n is None and s > 1 for n, s in zip(spatial_in, strides)]
    if padding == "same" and any(dynamic):
        if any(d > 1 for d in dilation_rate):
            raise ExportError(f"{where}: padding='same' with strides={tuple(strides)} and "
                              f"dilation_rate={tuple(dilation_rate)} needs known spatial sizes, "
                              f"got {tuple(spatial_in)}; give Input a fixed shape")
        attrs["auto_pad"] = "SAME_UPPER"
        return attrs
    begins, ends = [], []
    for n, k, s, d in zip(spatial_in, kernel_size, strides, dilation_rate):
        # with stride 1 the 'same' pads do not depend on the input size
        b, e = _geometry.conv_pads(n if n is not None else k, k, s, d, padding)
        begins.append(b)
        ends.append(e)
    attrs["pads"] = begins + ends
    return attrs


class BaseConv(SpatialLayer):
    """N-d convolution with Keras's arguments and kernel layout (k..., in / groups, filters).

    Args:
        rank: number of spatial axes.
        filters: output channels.
        kernel_size, strides, dilation_rate: int or tuple of ``rank`` ints. Strides and dilation
            may both exceed 1 (ONNX allows it; Keras refuses).
        padding: 'valid', 'same' (extra unit at the end) or 'causal' (Conv1D only).
        data_format: 'channels_last' (default) or 'channels_first'.
        groups: channel groups.
    """

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None,
                 dilation_rate=1, groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.filters = self._check_positive_int("filters", filters)
        self.kernel_size = self._tuple(kernel_size, rank, "kernel_size")
        self.strides = self._tuple(strides, rank, "strides")
        self.dilation_rate = self._tuple(dilation_rate, rank, "dilation_rate")
        paddings = ("valid", "same", "causal") if rank == 1 else ("valid", "same")
        self.padding = self._check_choice("padding", padding.lower() if isinstance(padding, str)
                                          else padding, paddings)
        self._init_data_format(data_format)
        self.groups = self._check_positive_int("groups", groups)
        if self.filters % self.groups:
            raise self._arg_error("groups", groups, f"filters={filters} must be divisible by it")
        self._init_kernel_and_bias(activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer)

    def build(self, input_shape):
        _, _, channels = self._check_input(input_shape)
        if channels is None:
            raise ShapeProblem("the channel dimension must be known")
        if channels % self.groups:
            raise ShapeProblem(f"{channels} input channels are not divisible by "
                               f"groups={self.groups}")
        self.kernel = self.add_weight(
            "kernel", self.kernel_size + (channels // self.groups, self.filters),
            self.kernel_initializer, self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        if channels != self.kernel.shape[-2] * self.groups:
            raise ShapeProblem(f"expected {self.kernel.shape[-2] * self.groups} channels, got "
                               f"{channels}")
        out = [_geometry.conv_output_length(n, k, s, d, self.padding) for n, k, s, d in
               zip(spatial, self.kernel_size, self.strides, self.dilation_rate)]
        if any(o is not None and o < 1 for o in out):
            raise ShapeProblem(f"spatial size {spatial} is too small for kernel_size="
                               f"{self.kernel_size}, dilation_rate={self.dilation_rate} with "
                               f"padding={self.padding!r} (output {tuple(out)})")
        return join_spatial(batch, out, self.filters, self.data_format)

    def onnx_weights(self):
        """(W, B) in ONNX Conv layout: W (filters, in / groups, k...)."""
        w = self.kernel.value.transpose((self.rank + 1, self.rank) + tuple(range(self.rank)))
        return w, (self.bias.value if self.use_bias else None)

    def export(self, ctx, node, inputs):
        t = ctx.to_channels_first(inputs[0], self.data_format)
        w, bias = self.onnx_weights()
        fold = getattr(self, "_folded_bn", None)
        if fold is not None:
            scale, shift = fold
            w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
            bias = shift if bias is None else bias * scale + shift
        ins = [t.name, ctx.f32(w, f"{self.name}_kernel")]
        if bias is not None:
            ins.append(ctx.f32(bias, f"{self.name}_bias"))
        attrs = conv_onnx_attrs(self._spatial_of(node), self.kernel_size, self.strides,
                                self.dilation_rate, self.padding, self.groups, self._repr())
        y = t.like(ctx.b.node("Conv", ins, name=self.name, **attrs), node.outputs[0].shape)
        return [apply_activation(ctx, y, self.activation, self.name)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(filters=self.filters, kernel_size=list(self.kernel_size),
                   strides=list(self.strides), padding=self.padding,
                   data_format=self.data_format, dilation_rate=list(self.dilation_rate),
                   groups=self.groups, activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=_initializers.serialize(self.kernel_initializer),
                   bias_initializer=_initializers.serialize(self.bias_initializer),
                   kernel_regularizer=_regularizers.serialize(self.kernel_regularizer),
                   bias_regularizer=_regularizers.serialize(self.bias_regularizer),
                   activity_regularizer=None, kernel_constraint=None, bias_constraint=None)
        return cfg

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("rank", None)
        return super().from_config(config)


def _rank_subclass(base, rank, name, doc):
    def __init__(self, *args, **kwargs):
        base.__init__(self, rank, *args, **kwargs)

    return type(name, (base,), {"__init__": __init__, "__doc__": doc, "rank": rank})


Conv1D = _rank_subclass(BaseConv, 1, "Conv1D", "1-D convolution (see BaseConv).")
Conv2D = _rank_subclass(BaseConv, 2, "Conv2D", "2-D convolution (see BaseConv).")
Conv3D = _rank_subclass(BaseConv, 3, "Conv3D", "3-D convolution (see BaseConv).")
