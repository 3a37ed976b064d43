"""Layer wrappers with Keras 3 names: Bidirectional (one bidirectional ONNX RNN / GRU / LSTM) and
TimeDistributed (the wrapped layer applied to (batch * steps, ...) and reshaped back).

Keras's weight file keeps their variables under ``bidirectional/forward_layer/cell/vars`` (then
``backward_layer``) and ``time_distributed/layer/vars``.
"""

from onnumba.converters.layers.base import ExportTensor, KerasTensor, Layer, ShapeProblem
from onnumba.converters.layers.recurrent import BaseRNN, export_recurrent


def _layer_arg(layer, arg, owner):
    if isinstance(layer, dict):  # a Keras config
        from onnumba.converters.saving import _layer_from_config
        return _layer_from_config(layer)
    if not isinstance(layer, Layer):
        raise owner._arg_error(arg, layer, "expected a layer")
    return layer


class Bidirectional(Layer):
    """Keras Bidirectional(layer, merge_mode="concat", backward_layer=None) over a SimpleRNN,
    GRU or LSTM; weights: the forward layer's, then the backward layer's."""

    MERGE_MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        super().__init__(**kwargs)
        layer = _layer_arg(layer, "layer", self)
        if not isinstance(layer, BaseRNN):
            raise self._arg_error("layer", layer, "expected SimpleRNN, GRU or LSTM")
        self.merge_mode = self._check_choice("merge_mode", merge_mode, self.MERGE_MODES)
        config = layer.get_config()
        if backward_layer is None:
            backward_layer = type(layer).from_config(dict(
                config, name=f"backward_{layer.name}", go_backwards=not layer.go_backwards))
        backward_layer = _layer_arg(backward_layer, "backward_layer", self)
        other = backward_layer.get_config()
        same = {k: v for k, v in config.items() if k not in ("name", "go_backwards")} == \
            {k: v for k, v in other.items() if k not in ("name", "go_backwards")}
        if type(backward_layer) is not type(layer) or not same or \
                backward_layer.go_backwards == layer.go_backwards:
            raise self._arg_error("backward_layer", backward_layer,
                                  "expected the same recurrent layer with go_backwards flipped "
                                  "(one ONNX bidirectional op)")
        if layer.go_backwards:
            raise self._arg_error("layer", layer, "a go_backwards forward layer is not exported")
        if not layer.name.startswith("forward_"):
            layer.name = f"forward_{layer.name}"
        self.forward_layer, self.backward_layer = layer, backward_layer
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self._initial_weights = weights

    # Keras's ONNX op attributes are the forward layer's
    @property
    def ONNX_OP(self):  # noqa: N802
        return self.forward_layer.ONNX_OP

    def _onnx_attrs(self):
        return self.forward_layer._onnx_attrs()

    @property
    def weights(self):
        return self.forward_layer.weights + self.backward_layer.weights

    def set_weights(self, weights):
        weights = list(weights)
        n = len(self.forward_layer.weights)
        if len(weights) != len(self.weights):
            raise self._arg_error("weights", f"{len(weights)} arrays",
                                  f"expected {len(self.weights)}")
        self.forward_layer.set_weights(weights[:n])
        self.backward_layer.set_weights(weights[n:])

    def count_params(self):
        return self.forward_layer.count_params() + self.backward_layer.count_params()

    def h5_var_groups(self):
        return [("forward_layer/cell/vars", self.forward_layer.weights),
                ("backward_layer/cell/vars", self.backward_layer.weights)]

    def build(self, input_shape):
        for layer in (self.forward_layer, self.backward_layer):
            layer.build(input_shape)
            layer.built = True
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)

    def compute_output_shape(self, input_shape):
        shape = self.forward_layer.compute_output_shape(input_shape)
        out, states = (shape[0], shape[1:]) if self.return_state else (shape, [])
        if self.merge_mode == "concat":
            outs = [out[:-1] + (2 * out[-1],)]
        elif self.merge_mode is None:
            outs = [out, out]
        else:
            outs = [out]
        result = outs + states + states
        return result if len(result) > 1 else result[0]

    def export(self, ctx, node, inputs):
        t = ctx.to_keras(inputs[0])
        directions = [self.forward_layer.onnx_weights(), self.backward_layer.onnx_weights()]
        return export_recurrent(ctx, self, t, directions, node, "bidirectional",
                                self.merge_mode)

    def get_config(self):
        from onnumba.converters.saving import serialize_layer
        cfg = super().get_config()
        cfg.update(merge_mode=self.merge_mode, layer=serialize_layer(self.forward_layer),
                   backward_layer=serialize_layer(self.backward_layer))
        return cfg


class TimeDistributed(Layer):
    """Keras TimeDistributed(layer): ``layer`` applied to every step of axis 1."""

    def __init__(self, layer, **kwargs):
        super().__init__(**kwargs)
        self.layer = _layer_arg(layer, "layer", self)
        self._inner = {}

    @property
    def weights(self):
        return self.layer.weights

    def set_weights(self, weights):
        self.layer.set_weights(weights)

    def count_params(self):
        return self.layer.count_params()

    def h5_var_groups(self):
        return [("layer/vars", self.layer.weights)]

    def _inner_node(self, input_shape):
        key = tuple(input_shape[2:])
        if key not in self._inner:
            # one call of the wrapped layer on a (batch * steps, ...) tensor, kept for export
            step = KerasTensor((None,) + key)
            out = self.layer(step)
            if isinstance(out, list):
                raise ShapeProblem("the wrapped layer must return one tensor")
            self._inner[key] = out.node
        return self._inner[key]

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ShapeProblem(f"expected a rank >= 3 input (batch, steps, ...), got rank "
                               f"{len(input_shape)}")
        self._inner_node(input_shape)

    def compute_output_shape(self, input_shape):
        if len(input_shape) < 3:
            raise ShapeProblem(f"expected a rank >= 3 input (batch, steps, ...), got rank "
                               f"{len(input_shape)}")
        inner = self._inner_node(input_shape)
        return tuple(input_shape[:2]) + tuple(inner.outputs[0].shape[1:])

    def export(self, ctx, node, inputs):
        b = ctx.b
        t = ctx.to_keras(inputs[0])
        inner = self._inner_node(t.shape)
        shape = b.node("Shape", [t.name], name=self.name)
        rest = b.node("Slice", [shape, b.const([2]), b.const([len(t.shape)])], name=self.name)
        flat_shape = b.node("Concat", [b.const([-1]), rest], name=self.name, axis=0)
        flat = b.node("Reshape", [t.name, flat_shape], name=self.name)
        y = self.layer.export(ctx, inner, [ExportTensor(flat, inner.inputs[0].shape)])[0]
        y = ctx.to_keras(y)
        lead = b.node("Slice", [shape, b.const([0]), b.const([2])], name=self.name)
        out_rest = b.const(list(inner.outputs[0].shape[1:]), name=f"{self.name}_out_shape")
        out_shape = b.node("Concat", [lead, out_rest], name=self.name, axis=0)
        return [ExportTensor(b.node("Reshape", [y.name, out_shape], name=self.name),
                             node.outputs[0].shape)]

    def get_config(self):
        from onnumba.converters.saving import serialize_layer
        cfg = super().get_config()
        cfg["layer"] = serialize_layer(self.layer)
        return cfg
