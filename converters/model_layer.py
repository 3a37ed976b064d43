"""A model used as a layer (Keras: ``outer = Model(x, inner(x))``).

``Model.__call__`` on tensors records one node of a ``ModelLayer`` that wraps the model; the
outer model lists the inner model among its layers (as Keras does, so weights are saved under
``layers/functional/layers/...``), and export replays the inner model's nodes in place, so the
inner layers' weights are shared by every call.
"""

from onnumba.converters.layers.base import InputLayer, Layer, ShapeProblem


def export_nodes(ctx, nodes, values, folds=None):
    """Export ``nodes`` in order; ``values`` maps id(KerasTensor) -> ExportTensor and is filled.

    Args:
        folds: {id(BatchNormalization node): (bn node, conv node)} to fold (``Model.to_onnx``).
    """
    folds = folds or {}
    folded_convs = {id(conv_node): bn_node for bn_node, conv_node in folds.values()}
    for node in nodes:
        layer = node.layer
        if isinstance(layer, InputLayer):
            continue
        inputs = [values[id(t)] for t in node.inputs]
        if id(node) in folds:
            outs = inputs
        elif id(node) in folded_convs:
            layer._folded_bn = folded_convs[id(node)].layer.folded_scale_shift()
            try:
                outs = layer.export(ctx, node, inputs)
            finally:
                layer._folded_bn = None
        else:
            outs = layer.export(ctx, node, inputs)
        for t, e in zip(node.outputs, outs):
            values[id(t)] = e


class ModelLayer(Layer):
    """The layer behind every call of one model on tensors (one per model, shared by calls)."""

    def __init__(self, model):
        super().__init__(name=model.name, trainable=model.trainable)
        self.model = model
        self.built = True
        model._ensure_graph()
        if len(model.inputs) == 1:  # lets it start a Sequential, as in Keras
            self._input_shape_arg = tuple(model.inputs[0].shape[1:])

    @property
    def weights(self):
        return self.model.weights

    def get_weights(self):
        return self.model.get_weights()

    def set_weights(self, weights):
        self.model.set_weights(weights)

    def count_params(self):
        return self.model.count_params()

    def compute_output_shape(self, input_shape):
        model = self.model
        model._ensure_graph()
        shapes = input_shape if isinstance(input_shape, list) else [input_shape]
        if len(shapes) != len(model.inputs):
            raise ShapeProblem(f"model {model.name!r} takes {len(model.inputs)} inputs, "
                               f"got {len(shapes)}")
        for got, t in zip(shapes, model.inputs):
            ok = len(got) == len(t.shape) and all(
                a is None or b is None or a == b for a, b in zip(got[1:], t.shape[1:]))
            if not ok:
                raise ShapeProblem(f"model {model.name!r} expects inputs of shape {t.shape}, "
                                   f"got {tuple(got)}")
        batch = shapes[0][0]
        outs = [(batch,) + tuple(t.shape[1:]) for t in model.outputs]
        return outs if model._outputs_are_list else outs[0]

    def export(self, ctx, node, inputs):
        model = self.model
        values = {id(t): e for t, e in zip(model.inputs, inputs)}
        export_nodes(ctx, model._nodes, values)
        return [values[id(t)] for t in model.outputs]

    def get_config(self):
        return self.model.get_config()

    def __repr__(self):
        return f"<ModelLayer of {self.model!r}>"
