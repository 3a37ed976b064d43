"""Pooling: BasePooling(rank) -> Max/AveragePooling1D/2D/3D and BaseGlobalPooling(rank) ->
Global{Average,Max}Pooling1D/2D/3D (``keepdims``).

Keras 'same' average pooling averages over the valid cells only (ONNX count_include_pad=0);
max pooling never picks a pad cell. The Keras -> ONNX conversion is ``pool_onnx_attrs``.
"""

from onnumba.converters import _geometry
from onnumba.converters.layers.base import ExportTensor, ShapeProblem
from onnumba.converters.layers.base_conv import SpatialLayer, join_spatial


def pool_onnx_attrs(spatial_in, pool_size, strides, padding):
    """ONNX MaxPool / AveragePool attributes for Keras pooling arguments."""
    attrs = {"kernel_shape": list(pool_size), "strides": list(strides)}
    if padding == "same" and any(n is None and s > 1 for n, s in zip(spatial_in, strides)):
        attrs["auto_pad"] = "SAME_UPPER"
        return attrs
    # with stride 1 the 'same' pads do not depend on the (maybe unknown) input size
    pads = [_geometry.conv_pads(n if n is not None else k, k, s, 1, padding)
            for n, k, s in zip(spatial_in, pool_size, strides)]
    attrs["pads"] = [p[0] for p in pads] + [p[1] for p in pads]
    return attrs


class BasePooling(SpatialLayer):
    """N-d max / average pooling with Keras arguments (strides default to pool_size)."""

    pool_mode = None

    def __init__(self, rank, pool_size, strides=None, padding="valid", data_format=None,
                 **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self.pool_size = self._tuple(pool_size, rank, "pool_size")
        self.strides = self.pool_size if strides is None else self._tuple(strides, rank,
                                                                          "strides")
        self.padding = self._check_choice("padding", padding.lower() if isinstance(padding, str)
                                          else padding, ("valid", "same"))
        self._init_data_format(data_format)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        out = [_geometry.pool_output_length(n, k, s, self.padding)
               for n, k, s in zip(spatial, self.pool_size, self.strides)]
        if any(o is not None and o < 1 for o in out):
            raise ShapeProblem(f"spatial size {spatial} is smaller than pool_size="
                               f"{self.pool_size} with padding={self.padding!r}")
        return join_spatial(batch, out, channels, self.data_format)

    def export(self, ctx, node, inputs):
        t = ctx.to_channels_first(inputs[0], self.data_format)
        attrs = pool_onnx_attrs(self._spatial_of(node), self.pool_size, self.strides,
                                self.padding)
        if self.pool_mode == "max":
            y = ctx.b.node("MaxPool", [t.name], name=self.name, **attrs)
        else:
            y = ctx.b.node("AveragePool", [t.name], name=self.name, count_include_pad=0,
                           **attrs)
        return [t.like(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(pool_size=list(self.pool_size), padding=self.padding,
                   strides=list(self.strides), data_format=self.data_format)
        return cfg


class BaseGlobalPooling(SpatialLayer):
    """Global max / average pooling over every spatial axis; ``keepdims`` keeps them as 1."""

    pool_mode = None

    def __init__(self, rank, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self._init_data_format(data_format)
        self.keepdims = bool(keepdims)

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        if self.keepdims:
            return join_spatial(batch, (1,) * self.rank, channels, self.data_format)
        return (batch, channels)

    def export(self, ctx, node, inputs):
        t = ctx.to_channels_first(inputs[0], self.data_format)
        op = "GlobalMaxPool" if self.pool_mode == "max" else "GlobalAveragePool"
        y = ctx.b.node(op, [t.name], name=self.name)
        if self.keepdims:
            return [t.like(y, node.outputs[0].shape)]
        y = ctx.b.node("Flatten", [y], name=self.name, axis=1)
        return [ExportTensor(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(data_format=self.data_format, keepdims=self.keepdims)
        return cfg


def _pool_class(base, rank, mode, name, default_pool):
    if base is BasePooling:
        def __init__(self, pool_size=default_pool, strides=None, padding="valid",
                     data_format=None, **kwargs):
            BasePooling.__init__(self, rank, pool_size, strides, padding, data_format, **kwargs)
    else:
        def __init__(self, data_format=None, keepdims=False, **kwargs):
            BaseGlobalPooling.__init__(self, rank, data_format, keepdims, **kwargs)
    return type(name, (base,), {"__init__": __init__, "rank": rank, "pool_mode": mode,
                                "__doc__": f"{rank}-D {mode} pooling (see {base.__name__})."})


MaxPooling1D = _pool_class(BasePooling, 1, "max", "MaxPooling1D", 2)
MaxPooling2D = _pool_class(BasePooling, 2, "max", "MaxPooling2D", (2, 2))
MaxPooling3D = _pool_class(BasePooling, 3, "max", "MaxPooling3D", (2, 2, 2))
AveragePooling1D = _pool_class(BasePooling, 1, "average", "AveragePooling1D", 2)
AveragePooling2D = _pool_class(BasePooling, 2, "average", "AveragePooling2D", (2, 2))
AveragePooling3D = _pool_class(BasePooling, 3, "average", "AveragePooling3D", (2, 2, 2))
GlobalMaxPooling1D = _pool_class(BaseGlobalPooling, 1, "max", "GlobalMaxPooling1D", None)
GlobalMaxPooling2D = _pool_class(BaseGlobalPooling, 2, "max", "GlobalMaxPooling2D", None)
GlobalMaxPooling3D = _pool_class(BaseGlobalPooling, 3, "max", "GlobalMaxPooling3D", None)
GlobalAveragePooling1D = _pool_class(BaseGlobalPooling, 1, "average", "GlobalAveragePooling1D",
                                     None)
GlobalAveragePooling2D = _pool_class(BaseGlobalPooling, 2, "average", "GlobalAveragePooling2D",
                                     None)
GlobalAveragePooling3D = _pool_class(BaseGlobalPooling, 3, "average", "GlobalAveragePooling3D",
                                     None)
