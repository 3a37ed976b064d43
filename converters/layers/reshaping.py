"""Spatial reshaping: BaseZeroPadding(rank) -> ZeroPadding1D/2D/3D, BaseCropping(rank) ->
Cropping1D/2D/3D, UpSampling1D/2D/3D, RepeatVector.

These act on Keras axes, so they work in whatever layout the tensor is stored in (the ONNX pads,
slice axes and resize scales are placed through the tensor's ``perm``): no Transpose needed.
"""

import numpy as np

from onnumba.converters.layers.base import ExportTensor, Layer, ShapeProblem
from onnumba.converters.layers.base_conv import SpatialLayer, join_spatial


def _spatial_axes(rank, data_format):
    """Keras axis of each spatial dimension."""
    start = 1 if data_format == "channels_last" else 2
    return tuple(range(start, start + rank))


def _pairs(layer, value, arg):
    """Keras padding / cropping argument -> tuple of ``rank`` (begin, end) pairs."""
    rank = layer.rank
    bad = layer._arg_error(arg, value, f"expected an int, a tuple of {rank} ints or a tuple of "
                                       f"{rank} (begin, end) pairs of ints >= 0")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        pairs = ((int(value), int(value)),) * rank
    else:
        try:
            items = list(value)
        except TypeError:
            raise bad from None
        if rank == 1 and len(items) == 2 and all(isinstance(v, (int, np.integer)) for v in items):
            pairs = ((int(items[0]), int(items[1])),)
        elif len(items) == rank and all(isinstance(v, (int, np.integer)) for v in items):
            pairs = tuple((int(v), int(v)) for v in items)
        elif len(items) == rank:
            try:
                pairs = tuple((int(a), int(b)) for a, b in items)
            except (TypeError, ValueError):
                raise bad from None
        else:
            raise bad
    if any(v < 0 for p in pairs for v in p):
        raise bad
    return pairs


class _SpatialAxesLayer(SpatialLayer):
    def _axes(self):
        return _spatial_axes(self.rank, self.data_format)


class BaseZeroPadding(_SpatialAxesLayer):
    """Zero padding of the spatial axes by (begin, end) pairs."""

    def __init__(self, rank, padding, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self._init_data_format(data_format)
        self.padding = _pairs(self, padding, "padding")

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        out = [None if n is None else n + b + e for n, (b, e) in zip(spatial, self.padding)]
        return join_spatial(batch, out, channels, self.data_format)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        n = len(t.shape)
        begins, ends = [0] * n, [0] * n
        for axis, (b, e) in zip(self._axes(), self.padding):
            begins[t.onnx_axis(axis)], ends[t.onnx_axis(axis)] = b, e
        pads = ctx.b.const(begins + ends, name=f"{self.name}_pads")
        y = ctx.b.node("Pad", [t.name, pads], name=self.name, mode="constant")
        return [t.like(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(padding=[list(p) for p in self.padding], data_format=self.data_format)
        return cfg


class BaseCropping(_SpatialAxesLayer):
    """Cropping of the spatial axes by (begin, end) pairs."""

    def __init__(self, rank, cropping, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.rank = rank
        self._init_data_format(data_format)
        self.cropping = _pairs(self, cropping, "cropping")

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        out = [None if n is None else n - b - e for n, (b, e) in zip(spatial, self.cropping)]
        if any(o is not None and o < 1 for o in out):
            raise ShapeProblem(f"cropping={self.cropping} removes all of spatial size {spatial}")
        return join_spatial(batch, out, channels, self.data_format)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        axes, starts, ends = [], [], []
        big = np.iinfo(np.int64).max
        for axis, (b, e) in zip(self._axes(), self.cropping):
            if b or e:
                axes.append(t.onnx_axis(axis))
                starts.append(b)
                ends.append(-e if e else big)
        if not axes:
            return [t]
        c = ctx.b.const
        y = ctx.b.node("Slice", [t.name, c(starts, name=f"{self.name}_starts"),
                                 c(ends, name=f"{self.name}_ends"),
                                 c(axes, name=f"{self.name}_axes")], name=self.name)
        return [t.like(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(cropping=[list(p) for p in self.cropping], data_format=self.data_format)
        return cfg


#: Keras image.resize interpolations (antialias=False) as ONNX Resize attributes; checked
#: against Keras 3.15 on TensorFlow and JAX (bicubic: Keys a=-0.5, taps outside the image
#: dropped and the weights renormalised, i.e. exclude_outside=1)
RESIZE_ATTRS = {
    "nearest": dict(mode="nearest", coordinate_transformation_mode="half_pixel",
                    nearest_mode="round_prefer_floor"),
    "bilinear": dict(mode="linear", coordinate_transformation_mode="half_pixel"),
    "bicubic": dict(mode="cubic", coordinate_transformation_mode="half_pixel",
                    cubic_coeff_a=-0.5, exclude_outside=1),
}


class _UpSampling(_SpatialAxesLayer):
    """Nearest (repeat), bilinear or bicubic (half-pixel, like Keras's image.resize)
    upsampling."""

    def _init_upsampling(self, rank, size, data_format, interpolation):
        self.rank = rank
        self._init_data_format(data_format)
        self.size = self._tuple(size, rank, "size")
        self.interpolation = self._check_choice("interpolation", interpolation,
                                                ("nearest", "bilinear", "bicubic"))

    def compute_output_shape(self, input_shape):
        batch, spatial, channels = self._check_input(input_shape)
        out = [None if n is None else n * s for n, s in zip(spatial, self.size)]
        return join_spatial(batch, out, channels, self.data_format)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        scales = [1.0] * len(t.shape)
        for axis, s in zip(self._axes(), self.size):
            scales[t.onnx_axis(axis)] = float(s)
        scales = ctx.b.const(scales, dtype=np.float32, name=f"{self.name}_scales")
        if self.interpolation == "nearest":
            attrs = dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor")
        else:
            attrs = RESIZE_ATTRS[self.interpolation]
        y = ctx.b.node("Resize", [t.name, "", scales], name=self.name, **attrs)
        return [t.like(y, node.outputs[0].shape)]


class UpSampling1D(_UpSampling):
    """Repeats each step ``size`` times along the time axis (channels_last only, as Keras)."""

    def __init__(self, size=2, **kwargs):
        super().__init__(**kwargs)
        self._init_upsampling(1, size, "channels_last", "nearest")

    def get_config(self):
        cfg = super().get_config()
        cfg["size"] = self.size[0]
        return cfg


class UpSampling2D(_UpSampling):
    """Keras UpSampling2D(size=(2, 2), data_format, interpolation='nearest' | 'bilinear' |
    'bicubic'); Keras's 'lanczos3' / 'lanczos5' have no ONNX Resize mode."""

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        self._init_upsampling(2, size, data_format, interpolation)

    def get_config(self):
        cfg = super().get_config()
        cfg.update(size=list(self.size), data_format=self.data_format,
                   interpolation=self.interpolation)
        return cfg


class UpSampling3D(_UpSampling):
    """Keras UpSampling3D(size=(2, 2, 2), data_format): nearest (repeat) upsampling."""

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(**kwargs)
        self._init_upsampling(3, size, data_format, "nearest")

    def get_config(self):
        cfg = super().get_config()
        cfg.update(size=list(self.size), data_format=self.data_format)
        return cfg


class RepeatVector(Layer):
    """Keras RepeatVector(n): (batch, features) -> (batch, n, features)."""

    def __init__(self, n, **kwargs):
        super().__init__(**kwargs)
        self.n = self._check_positive_int("n", n)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 2:
            raise ShapeProblem(f"expected a rank-2 input (batch, features), got rank "
                               f"{len(input_shape)}")
        return (input_shape[0], self.n, input_shape[1])

    def export(self, ctx, node, inputs):
        b, t = ctx.b, ctx.to_keras(inputs[0])
        y = b.node("Unsqueeze", [t.name, b.const([1])], name=self.name)
        y = b.node("Tile", [y, b.const([1, self.n, 1], name=f"{self.name}_repeats")],
                   name=self.name)
        return [ExportTensor(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg["n"] = self.n
        return cfg


def _rank_class(base, rank, name, arg, default):
    def __init__(self, *args, data_format=None, **kwargs):
        if args:
            kwargs[arg] = args[0]
        base.__init__(self, rank, kwargs.pop(arg, default),
                      data_format=data_format, **kwargs)
    return type(name, (base,), {"__init__": __init__, "rank": rank,
                                "__doc__": f"{name} (see {base.__name__})."})


ZeroPadding1D = _rank_class(BaseZeroPadding, 1, "ZeroPadding1D", "padding", 1)
ZeroPadding2D = _rank_class(BaseZeroPadding, 2, "ZeroPadding2D", "padding", (1, 1))
ZeroPadding3D = _rank_class(BaseZeroPadding, 3, "ZeroPadding3D", "padding", (1, 1, 1))
Cropping1D = _rank_class(BaseCropping, 1, "Cropping1D", "cropping", (1, 1))
Cropping2D = _rank_class(BaseCropping, 2, "Cropping2D", "cropping", ((0, 0), (0, 0)))
Cropping3D = _rank_class(BaseCropping, 3, "Cropping3D", "cropping", ((1, 1), (1, 1), (1, 1)))
