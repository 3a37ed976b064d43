"""Preprocessing layers that act at inference: Rescaling."""

import numpy as np

from onnumba.converters.layers.base import Layer


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
