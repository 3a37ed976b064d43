"""Preprocessing layers that act at inference: Rescaling, Normalization, CenterCrop."""

import numpy as np

from onnumba.converters.layers.base import Layer, ShapeProblem


class Rescaling(Layer):
    """Keras Rescaling(scale, offset=0.0): ``x * scale + offset``; a scale or offset given as a
    list acts on the last axis, as numpy broadcasting does in Keras."""

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        try:
            self._scale = np.asarray(scale, dtype=np.float32)
            self._offset = np.asarray(offset, dtype=np.float32)
        except (TypeError, ValueError):
            raise self._arg_error("scale", (scale, offset), "expected numbers or lists of "
                                                            "numbers") from None
        self.scale, self.offset = scale, offset

    def export(self, ctx, node, inputs):
        b, t = ctx.b, inputs[0]
        if self._scale.ndim or self._offset.ndim:
            t = ctx.to_keras(t)  # broadcast on the Keras layout
        y = b.node("Mul", [t.name, ctx.f32(self._scale, f"{self.name}_scale")], name=self.name)
        if np.any(self._offset != 0):
            y = b.node("Add", [y, ctx.f32(self._offset, f"{self.name}_offset")], name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(scale=self.scale, offset=self.offset)
        return cfg


class Normalization(Layer):
    """Keras Normalization(axis=-1, mean=None, variance=None, invert=False):
    ``(x - mean) / max(sqrt(variance), 1e-7)`` (``invert``: ``mean + x * max(...)``). Without
    ``mean`` / ``variance`` the adapted statistics are weights, in Keras order: mean, variance,
    count (``adapt`` itself is Keras's job: load them from a Keras file or ``set_weights``)."""

    EPSILON = 1e-7  # keras.backend.epsilon()

    def __init__(self, axis=-1, mean=None, variance=None, invert=False, **kwargs):
        super().__init__(**kwargs)
        if axis is None:
            axis = ()
        axes = tuple(axis) if isinstance(axis, (list, tuple)) else (axis,)
        if any(isinstance(a, bool) or not isinstance(a, (int, np.integer)) for a in axes):
            raise self._arg_error("axis", axis, "expected an int, a tuple of ints or None")
        self.axis = tuple(int(a) for a in axes)
        if (mean is None) != (variance is None):
            raise self._arg_error("mean", mean, "mean and variance are given together")
        self.input_mean, self.input_variance = mean, variance
        self.invert = bool(invert)

    def _keep_axes(self, rank):
        if any(not -rank <= a < rank or a % rank == 0 for a in self.axis):
            raise ShapeProblem(f"axis={self.axis} must name non-batch axes")
        return sorted({a % rank for a in self.axis})

    def build(self, input_shape):
        keep = self._keep_axes(len(input_shape))
        if self.input_mean is None:
            shape = tuple(input_shape[a] for a in keep)
            self.mean = self.add_weight("mean", shape, "zeros", trainable=False)
            self.variance = self.add_weight("variance", shape, "ones", trainable=False)
            self.count = self.add_weight("count", (), "zeros", trainable=False)

    def compute_output_shape(self, input_shape):
        self._keep_axes(len(input_shape))
        return input_shape

    def export(self, ctx, node, inputs):
        b, t = ctx.b, ctx.to_keras(inputs[0])
        rank = len(t.shape)
        keep = self._keep_axes(rank)
        bshape = [t.shape[a] if a in keep else 1 for a in range(rank)]
        if self.input_mean is None:
            mean, var = self.mean.value, self.variance.value
        else:
            mean = np.asarray(self.input_mean, np.float32)
            var = np.asarray(self.input_variance, np.float32)
        mean = np.broadcast_to(mean.reshape(-1) if mean.ndim else mean,
                               (int(np.prod([bshape[a] for a in keep])),) if keep else ())
        var = np.broadcast_to(var.reshape(-1) if var.ndim else var, mean.shape)
        denom = np.maximum(np.sqrt(var.astype(np.float32)), np.float32(self.EPSILON))
        mean_c = ctx.f32(mean.reshape(bshape), f"{self.name}_mean")
        denom_c = ctx.f32(denom.reshape(bshape), f"{self.name}_denominator")
        if self.invert:
            y = b.node("Add", [b.node("Mul", [t.name, denom_c], name=self.name), mean_c],
                       name=self.name)
        else:
            y = b.node("Div", [b.node("Sub", [t.name, mean_c], name=self.name), denom_c],
                       name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        as_list = lambda v: v if v is None else np.asarray(v).tolist()  # noqa: E731
        cfg.update(axis=list(self.axis), invert=self.invert, mean=as_list(self.input_mean),
                   variance=as_list(self.input_variance))
        return cfg


class CenterCrop(Layer):
    """Keras CenterCrop(height, width, data_format=None): the central height x width window,
    starting at ((H - height) // 2, (W - width) // 2). Inputs smaller than the window (which
    Keras resizes) are refused."""

    def __init__(self, height, width, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.height = self._check_positive_int("height", height)
        self.width = self._check_positive_int("width", width)
        self.data_format = self._check_choice("data_format", data_format or "channels_last",
                                              ("channels_last", "channels_first"))

    def _hw_axes(self, rank):
        if rank != 4:
            raise ShapeProblem(f"expected a rank-4 image batch, got rank {rank}")
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def compute_output_shape(self, input_shape):
        axes = self._hw_axes(len(input_shape))
        out = list(input_shape)
        for a, size in zip(axes, (self.height, self.width)):
            if input_shape[a] is None or input_shape[a] < size:
                raise ShapeProblem(f"axis {a} has size {input_shape[a]}, smaller than the crop "
                                   f"{size} (or unknown)")
            out[a] = size
        return tuple(out)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        axes = self._hw_axes(len(t.shape))
        starts = [(t.shape[a] - s) // 2 for a, s in zip(axes, (self.height, self.width))]
        ends = [st + s for st, s in zip(starts, (self.height, self.width))]
        c = ctx.b.const
        y = ctx.b.node("Slice", [t.name, c(starts), c(ends), c([t.onnx_axis(a) for a in axes])],
                       name=self.name)
        return [t.like(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(data_format=self.data_format, height=self.height, width=self.width)
        return cfg


class Resizing(Layer):
    """Keras Resizing(height, width, interpolation="bilinear", crop_to_aspect_ratio=False, ...):
    images resized to height x width ('nearest', 'bilinear', 'bicubic'; no antialiasing, as
    Keras's default). crop_to_aspect_ratio first takes the largest centred window of the target
    aspect ratio, as Keras does. Keras's 'area' and 'lanczos' modes and pad_to_aspect_ratio have
    no ONNX Resize equivalent and are refused. A bicubic downscale matches Keras's JAX backend;
    TensorFlow's differs by ~1e-3, and onnxruntime (1.32) refuses it once its layout optimizer
    has moved the NCHW transpose through the Resize."""

    def __init__(self, height, width, interpolation="bilinear", crop_to_aspect_ratio=False,
                 pad_to_aspect_ratio=False, fill_mode="constant", fill_value=0.0,
                 antialias=False, data_format=None, **kwargs):
        from onnumba.converters.layers.reshaping import RESIZE_ATTRS
        super().__init__(**kwargs)
        self.height = self._check_positive_int("height", height)
        self.width = self._check_positive_int("width", width)
        self.interpolation = self._check_choice("interpolation", interpolation,
                                                tuple(RESIZE_ATTRS))
        self._attrs = RESIZE_ATTRS[self.interpolation]
        if pad_to_aspect_ratio:
            raise self._arg_error("pad_to_aspect_ratio", pad_to_aspect_ratio, "not exported")
        if antialias:
            raise self._arg_error("antialias", antialias, "not exported")
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.fill_mode, self.fill_value = fill_mode, fill_value
        self.data_format = self._check_choice("data_format", data_format or "channels_last",
                                              ("channels_last", "channels_first"))

    def _hw(self, shape):
        if len(shape) != 4:
            raise ShapeProblem(f"expected a rank-4 image batch, got rank {len(shape)}")
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def _crop_box(self, h, w):
        """(top, left, crop height, crop width) of Keras's crop_to_aspect_ratio."""
        ch = max(min(h, int(float(w * self.height) / self.width)), 1)
        cw = max(min(w, int(float(h * self.width) / self.height)), 1)
        return int(float(h - ch) / 2), int(float(w - cw) / 2), ch, cw

    def compute_output_shape(self, input_shape):
        axes = self._hw(input_shape)
        if self.crop_to_aspect_ratio and any(input_shape[a] is None for a in axes):
            raise ShapeProblem("crop_to_aspect_ratio needs known image sizes")
        out = list(input_shape)
        out[axes[0]], out[axes[1]] = self.height, self.width
        return tuple(out)

    def export(self, ctx, node, inputs):
        b = ctx.b
        t = ctx.to_channels_first(inputs[0], self.data_format)
        h, w = (t.shape[a] for a in self._hw(t.shape))
        x = t.name
        if self.crop_to_aspect_ratio:
            top, left, ch, cw = self._crop_box(h, w)
            x = b.node("Slice", [x, b.const([top, left]), b.const([top + ch, left + cw]),
                                 b.const([2, 3])], name=self.name)
        lead = b.node("Slice", [b.node("Shape", [x], name=self.name), b.const([0]),
                                b.const([2])], name=self.name)
        sizes = b.node("Concat", [lead, b.const([self.height, self.width],
                                                name=f"{self.name}_size")],
                       name=self.name, axis=0)
        y = b.node("Resize", [x, "", "", sizes], name=self.name, **self._attrs)
        return [t.like(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(height=self.height, width=self.width, interpolation=self.interpolation,
                   crop_to_aspect_ratio=self.crop_to_aspect_ratio, pad_to_aspect_ratio=False,
                   fill_mode=self.fill_mode, fill_value=self.fill_value, antialias=False,
                   data_format=self.data_format)
        return cfg
