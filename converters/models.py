"""Model (functional) and Sequential: graph walk, summary, weights, ONNX export."""

import onnx

from onnumba.converters.builder import DEFAULT_OPSET, GraphBuilder
from onnumba.converters.errors import ConverterError, LayerTypeError, user_location
from onnumba.converters.layers.base import (ExportContext, ExportTensor, InputLayer, KerasTensor,
                                            Layer, unique_object_name)
from onnumba.converters.layers.base_conv import BaseConv
from onnumba.converters.layers.normalization import BatchNormalization
from onnumba.converters.model_layer import export_nodes

BATCH_DIM = "batch"


def _as_list(x):
    if isinstance(x, (list, tuple)):
        return list(x), True
    return [x], False


def readable_size(n_bytes):
    """Keras-style memory size: '29.60 MB'."""
    for unit in ("B", "KB", "MB", "GB"):
        if n_bytes < 1024 or unit == "GB":
            return f"{n_bytes:.2f} {unit}"
        n_bytes /= 1024.0
    return f"{n_bytes:.2f} GB"


class Model:
    """A functional model from ``Input`` tensors to output tensors.

    Args:
        inputs: a KerasTensor from ``Input`` or a list of them.
        outputs: a KerasTensor or a list of them, computed from ``inputs`` by layer calls.
        name: model name (default ``functional``, numbered).
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True):
        self._location = user_location()
        self.name = name or unique_object_name(self._default_name())
        self.trainable = trainable
        if inputs is None and isinstance(self, Sequential):
            return
        self._set_graph(inputs, outputs)

    @staticmethod
    def _default_name():
        return "functional"

    # -- graph -----------------------------------------------------------------------------
    def _set_graph(self, inputs, outputs):
        self.inputs, self._inputs_are_list = _as_list(inputs)
        self.outputs, self._outputs_are_list = _as_list(outputs)
        for t in self.inputs + self.outputs:
            if not isinstance(t, KerasTensor):
                raise LayerTypeError(f"Model {self.name!r} (created at {self._location}): "
                                     f"inputs and outputs must be tensors from Input() and "
                                     f"layer calls, got {t!r}")
        for t in self.inputs:
            if not isinstance(t.layer, InputLayer):
                raise ConverterError(f"Model {self.name!r} (created at {self._location}): input "
                                     f"{t!r} is not the output of Input()")
        input_ids = {id(t) for t in self.inputs}
        order, seen, stack = [], set(), set()

        def visit(tensor, consumer):
            node = tensor.node
            if node is None or (isinstance(node.layer, InputLayer) and id(tensor) not in
                                input_ids):
                who = consumer._repr() if consumer is not None else "an output"
                raise ConverterError(
                    f"Model {self.name!r} (created at {self._location}) is disconnected: "
                    f"{who} needs {tensor!r}, which is not computed from the model's inputs")
            if id(node) in seen:
                return
            if id(node) in stack:
                raise ConverterError(f"Model {self.name!r}: cycle through {node.layer._repr()}")
            stack.add(id(node))
            for t in node.inputs:
                visit(t, node.layer)
            stack.discard(id(node))
            seen.add(id(node))
            order.append(node)

        for t in self.inputs:
            visit(t, None)
        for t in self.outputs:
            visit(t, None)
        self._nodes = order
        layers = []
        for node in order:
            if node.layer not in layers:
                layers.append(node.layer)
        names = {}
        for layer in layers:
            if layer.name in names:
                raise ConverterError(f"Model {self.name!r}: two layers are named {layer.name!r} "
                                     f"({names[layer.name]._repr()} and {layer._repr()}); "
                                     f"layer names must be unique")
            names[layer.name] = layer
        self._layers = layers

    @property
    def layers(self):
        """Layers in graph order (InputLayers included, as Keras 3 Functional lists them); a
        model used as a layer is listed as that model."""
        return [getattr(layer, "model", layer) for layer in self._layers]

    def _as_layer(self):
        """The ModelLayer that records this model's calls on tensors (one per model)."""
        if getattr(self, "_layer", None) is None:
            from onnumba.converters.model_layer import ModelLayer
            self._layer = ModelLayer(self)
        return self._layer

    def get_layer(self, name=None, index=None):
        """Layer by name or index."""
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ConverterError(f"Model {self.name!r} has no layer named {name!r}")

    # -- weights ---------------------------------------------------------------------------
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    def get_weights(self):
        """All weights, layer by layer, in Keras order and shapes."""
        return [w.value.copy() for w in self.weights]

    def set_weights(self, weights):
        """Set all weights from arrays in Keras order and shapes."""
        weights = list(weights)
        expected = sum(len(layer.weights) for layer in self.layers)
        if len(weights) != expected:
            raise ConverterError(f"Model {self.name!r}: set_weights got {len(weights)} arrays, "
                                 f"expected {expected}")
        i = 0
        for layer in self.layers:
            n = len(layer.weights)
            if n:
                layer.set_weights(weights[i:i + n])
            i += n

    def count_params(self):
        """Total number of weights (Keras's count_params)."""
        return int(sum(layer.count_params() for layer in self.layers))

    def regularization_loss(self):
        """Sum of every weight regularizer applied to the current weights."""
        return float(sum(layer.regularization_loss() for layer in self.layers))

    # -- summary ---------------------------------------------------------------------------
    def _summary_rows(self):
        rows = []
        for layer in self._layers:
            nodes = [n for n in self._nodes if n.layer is layer]
            layer = getattr(layer, "model", layer)
            shapes = [t.shape for n in nodes for t in n.outputs]
            shape = shapes[0] if len(shapes) == 1 else shapes
            connected = []
            for n in nodes:
                for t in n.inputs:
                    producer = t.node.layer
                    node_index = producer._nodes.index(t.node)
                    connected.append(f"{producer.name}[{node_index}][{t.index}]")
            rows.append((f"{layer.name} ({type(layer).__name__})",
                         str(shape).replace("'", ""), f"{layer.count_params():,}",
                         ", ".join(connected) or "-"))
        return rows

    def summary(self, line_length=None, print_fn=None):
        """Print a Keras-like table: layer (type), output shape, params (and connections for a
        functional model), then total / trainable / non-trainable params."""
        print_fn = print_fn or print
        rows = self._summary_rows()
        with_connections = not isinstance(self, Sequential)
        headers = ("Layer (type)", "Output Shape", "Param #", "Connected to")
        ncols = 4 if with_connections else 3
        widths = [max(len(headers[c]), *(len(r[c]) for r in rows)) + 3 for c in range(ncols)]
        total_width = line_length or sum(widths)

        def line(cells):
            return " " + "".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

        trainable = sum(w.value.size for w in self.weights if w.trainable)
        total = self.count_params()
        print_fn(f'Model: "{self.name}"')
        print_fn("_" * total_width)
        print_fn(line(headers[:ncols]))
        print_fn("=" * total_width)
        for i, r in enumerate(rows):
            print_fn(line(r[:ncols]))
            if i != len(rows) - 1:
                print_fn("")
        print_fn("=" * total_width)
        print_fn(f"Total params: {total:,} ({readable_size(4 * total)})")
        print_fn(f"Trainable params: {trainable:,} ({readable_size(4 * trainable)})")
        print_fn(f"Non-trainable params: {total - trainable:,} "
                 f"({readable_size(4 * (total - trainable))})")
        print_fn("_" * total_width)

    # -- export ----------------------------------------------------------------------------
    def _batchnorm_folds(self):
        """BatchNormalization nodes that can be folded into the Conv that feeds them."""
        consumers = {}
        for node in self._nodes:
            for t in node.inputs:
                consumers.setdefault(id(t), []).append(node)
        out_ids = {id(t) for t in self.outputs}
        folds = {}
        for node in self._nodes:
            layer = node.layer
            if not isinstance(layer, BatchNormalization):
                continue
            src = node.inputs[0]
            conv = src.node.layer
            if not isinstance(conv, BaseConv) or conv.activation != "linear":
                continue
            if len(consumers.get(id(src), [])) != 1 or id(src) in out_ids or len(conv._nodes) != 1:
                continue
            rank = len(src.shape)
            channel = rank - 1 if conv.data_format == "channels_last" else 1
            if layer.axis % rank != channel:
                continue
            folds[id(node)] = (node, src.node)
        return folds

    def to_onnx(self, path=None, opset=None, training=False, fold_batch_norm=False):
        """Export to ONNX.

        Args:
            path: if given, the model is also saved there.
            opset: default-domain opset, 13..21 (default 17).
            training: export Dropout's ``training_mode`` default as True and BatchNormalization
                in training mode, with its updated moving mean / variance as extra outputs
                (``<layer>_moving_mean``, ``<layer>_moving_variance``; opset >= 14).
            fold_batch_norm: fold each inference BatchNormalization into the Conv before it
                (when that Conv has no activation and no other consumer).

        Returns:
            onnx.ModelProto, checked with ``onnx.checker.check_model(full_check=True)``.
        """
        self._ensure_graph()
        b = GraphBuilder(DEFAULT_OPSET if opset is None else opset, name=self.name)
        ctx = ExportContext(b, training=training)
        values = {}
        for t in self.inputs:
            shape = (BATCH_DIM if t.shape[0] is None else t.shape[0],) + t.shape[1:]
            values[id(t)] = ExportTensor(b.input(t.layer.name, t.dtype, shape), t.shape)
        folds = self._batchnorm_folds() if fold_batch_norm and not training else {}
        export_nodes(ctx, self._nodes, values, folds)
        for t in self.outputs:
            e = ctx.to_keras(values[id(t)])
            shape = (BATCH_DIM if t.shape[0] is None else t.shape[0],) + t.shape[1:]
            b.output(e.name, t.node.layer.name, "float32", shape)
        for value, name, shape in ctx.extra_outputs:
            b.output(value, name, "float32", shape)
        model = b.build(doc=f"Keras-style model {self.name!r} exported by onnumba.converters")
        if path is not None:
            onnx.save(model, str(path))
        return model

    def _ensure_graph(self):
        pass

    # -- config ----------------------------------------------------------------------------
    def get_config(self):
        """Keras 3 ``Functional.get_config()`` structure."""
        from onnumba.converters.saving import functional_config
        return functional_config(self)

    def save(self, path):
        """Write a Keras 3 ``.keras`` archive (needs h5py)."""
        from onnumba.converters.saving import save_keras
        save_keras(self, path)

    def to_json(self, **kwargs):
        """Keras 3 ``to_json()``: the serialized model (class_name, config, module...)."""
        import json

        from onnumba.converters.saving import serialize_model
        return json.dumps(serialize_model(self), **kwargs)

    def __call__(self, inputs, training=None):
        """On Keras tensors: use the model as a layer of another model (its weights shared).
        On arrays: the outputs, computed by the onnumba runtime (``training`` switches Dropout
        and BatchNormalization to training mode)."""
        first = inputs[0] if isinstance(inputs, (list, tuple)) and inputs else inputs
        if isinstance(first, KerasTensor):
            return self._as_layer()(inputs)
        from onnumba.converters.running import run
        return run(self, inputs, training=bool(training))

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Keras ``predict``: outputs on ``x`` (array, list or dict by input name) in inference
        mode, run by onnumba in batches of ``batch_size`` (default 32); numpy arrays (a list
        for a model with a list of outputs)."""
        from onnumba.converters.running import run
        return run(self, x, batch_size=batch_size or 32, training=False)

    def save_weights(self, filepath, overwrite=True):
        """Write the weights as Keras 3 ``.weights.h5`` (needs h5py)."""
        from onnumba.converters.saving import save_weights
        save_weights(self, filepath, overwrite)

    def load_weights(self, filepath):
        """Read weights from a Keras 3 ``.weights.h5`` or ``.keras`` file (needs h5py)."""
        from onnumba.converters.saving import load_weights
        load_weights(self, filepath)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class Sequential(Model):
    """A linear stack of layers (Keras ``Sequential``).

    Args:
        layers: optional list of layers; the first may be ``InputLayer`` / ``Input(...)`` or a
            layer built with ``input_shape=``.
        name: model name (default ``sequential``, numbered).
    """

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._stack = []
        self._input = None
        self._output = None
        for layer in layers or []:
            self.add(layer)

    @staticmethod
    def _default_name():
        return "sequential"

    def add(self, layer):
        """Append a layer (or an ``Input`` tensor / ``InputLayer`` as the first element)."""
        if isinstance(layer, KerasTensor) and isinstance(layer.layer, InputLayer):
            layer = layer.layer
        if isinstance(layer, Model):
            layer = layer._as_layer()
        if isinstance(layer, InputLayer):
            if self._input is not None or self._stack:
                raise ConverterError(f"Sequential {self.name!r}: an InputLayer can only come "
                                     f"first (at {user_location()})")
            self._input = layer.output
            self._output = self._input
            return
        if not isinstance(layer, Layer):
            raise LayerTypeError(f"Sequential {self.name!r}: add() takes a layer, got {layer!r} "
                                 f"(at {user_location()})")
        self._stack.append(layer)
        if self._input is None and len(self._stack) == 1 and layer._input_shape_arg is not None:
            self._input = InputLayer(shape=layer._input_shape_arg).output
            self._output = self._input
        if self._input is not None:
            self._output = layer(self._output)

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise ConverterError(f"Sequential {self.name!r} has no layer to pop")
        self._stack.pop()
        stack, self._stack = self._stack, []
        inp = self._input
        self._output = inp
        for layer in stack:
            self._stack.append(layer)
            self._output = layer(self._output)

    def build(self, input_shape):
        """Give the model its input shape (batch included, as Keras's ``build``)."""
        if self._input is not None:
            return
        self._input = InputLayer(batch_shape=tuple(input_shape)).output
        self._output = self._input
        for layer in self._stack:
            self._output = layer(self._output)

    def _ensure_graph(self):
        if self._input is None:
            raise ConverterError(
                f"Sequential {self.name!r} (created at {self._location}) has no input shape; "
                f"start it with Input(shape=...), give its first layer input_shape=..., or call "
                f"build((None, ...))")
        if not self._stack:
            raise ConverterError(f"Sequential {self.name!r} has no layers")
        self._set_graph(self._input, self._output)

    @property
    def layers(self):
        """The stacked layers (without the InputLayer, as Keras 3 Sequential lists them)."""
        return [getattr(layer, "model", layer) for layer in self._stack]

    @property
    def input_layer(self):
        return self._input.layer if self._input is not None else None

    def _summary_rows(self):
        self._ensure_graph()
        rows = Model._summary_rows(self)
        return [r for r in rows if not r[0].endswith("(InputLayer)")]

    def summary(self, line_length=None, print_fn=None):
        self._ensure_graph()
        Model.summary(self, line_length, print_fn)

    def count_params(self):
        return int(sum(layer.count_params() for layer in self._stack))

    def get_config(self):
        from onnumba.converters.saving import sequential_config
        return sequential_config(self)
