"""Layer base class, symbolic tensors, the Input layer and the export context.

A layer called on ``KerasTensor`` objects builds its weights (Keras order and shapes), computes
its output shape and records a ``Node``. ``Model.to_onnx`` walks the nodes and asks each layer to
``export`` itself through an ``ExportContext``, which tracks the ONNX layout of every value:
``perm`` says which Keras axis each ONNX axis holds (channels_last tensors live as NCHW inside),
``flat_perm`` says how a Flatten of such a tensor orders its features.
"""

import hashlib
import re

import numpy as np

from onnumba.converters import activations as _activations
from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters._config import constructor_kwargs
from onnumba.converters.errors import (IncompatibleShapeError, LayerArgumentError,
                                       LayerTypeError, user_location)

_NAME_COUNTS = {}
_WEIGHTS_VERSION = [0]


def weights_version():
    """A number that changes whenever ``Layer.set_weights`` changes a weight (cache key)."""
    return _WEIGHTS_VERSION[0]


def to_snake_case(name):
    """Keras's snake case of a class name (Conv2DTranspose -> conv2d_transpose)."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name)
    return name.lower()


def unique_object_name(prefix):
    """Keras-style auto name: ``prefix``, ``prefix_1``, ``prefix_2`` ... (process-wide)."""
    n = _NAME_COUNTS.get(prefix, 0)
    _NAME_COUNTS[prefix] = n + 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_names():
    """Restart auto naming (Keras's ``clear_session`` for names)."""
    _NAME_COUNTS.clear()


class ShapeProblem(Exception):
    """Raised by ``compute_output_shape``; ``Layer.__call__`` turns it into a user error."""


class Variable:
    """A layer weight: numpy value (float32), trainable flag and optional regularizer."""

    def __init__(self, name, value, trainable=True, regularizer=None):
        self.name = name
        self.value = np.asarray(value, dtype=np.float32)
        self.trainable = trainable
        self.regularizer = regularizer

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape} trainable={self.trainable}>"


class Node:
    """One call of a layer: its input and output tensors."""

    def __init__(self, layer, inputs, outputs, input_is_list):
        self.layer = layer
        self.inputs = inputs
        self.outputs = outputs
        self.input_is_list = input_is_list


class KerasTensor:
    """Symbolic tensor: Keras shape (batch first, None for unknown) and its producer."""

    def __init__(self, shape, dtype="float32", node=None, index=0):
        self.shape = tuple(shape)
        self.dtype = dtype
        self.node = node
        self.index = index

    @property
    def layer(self):
        return self.node.layer if self.node is not None else None

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        producer = self.layer.name if self.node is not None else None
        return f"<KerasTensor shape={self.shape} from={producer!r}>"


def normalize_tuple(value, n, arg, layer_repr, allow_zero=False):
    """An int or a length-n sequence of ints -> tuple of n positive ints (validated)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = (int(value),) * n
    else:
        try:
            out = tuple(int(v) for v in value)
        except (TypeError, ValueError):
            raise LayerArgumentError(f"{layer_repr}: {arg}={value!r} must be an int or a tuple of "
                                     f"{n} ints") from None
        if len(out) != n or any(isinstance(v, bool) for v in value):
            raise LayerArgumentError(f"{layer_repr}: {arg}={value!r} must be an int or a tuple "
                                     f"of {n} ints")
    low = 0 if allow_zero else 1
    if any(v < low for v in out):
        raise LayerArgumentError(f"{layer_repr}: {arg}={value!r} must be "
                                 f"{'>= 0' if allow_zero else 'positive'}")
    return out


class Layer:
    """Base class of every layer.

    Args:
        name: layer name (auto: snake case of the class, numbered).
        trainable: whether the weights are trainable (BatchNormalization's moving stats never are).
        dtype: only float32 is exported.
        input_shape: shape without batch, as a convenience for the first layer of a Sequential.
    """

    #: whether the layer may be called on int32 / int64 tensors (Embedding)
    accepts_integer_inputs = False

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, activity_regularizer=None, **kwargs):
        self._location = user_location()
        if kwargs:
            key = sorted(kwargs)[0]
            raise LayerArgumentError(f"{type(self).__name__} at {self._location}: unknown "
                                     f"argument {key}={kwargs[key]!r}")
        if name is not None and (not isinstance(name, str) or not name):
            raise LayerArgumentError(f"{type(self).__name__} at {self._location}: name={name!r} "
                                     f"must be a non-empty string")
        self.name = name or unique_object_name(to_snake_case(type(self).__name__))
        if dtype not in (None, "float32") and not (isinstance(dtype, dict)):
            raise LayerArgumentError(f"{self._repr()}: dtype={dtype!r} is not supported; "
                                     f"only float32 is exported")
        self.trainable = bool(trainable)
        self.built = False
        self._weights = []
        self._nodes = []
        # kept for configs; it acts on activations during training, so ONNX export ignores it
        self._activity_regularizer = activity_regularizer
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        if input_dim is not None:
            input_shape = (input_dim,)
        self._input_shape_arg = tuple(input_shape) if input_shape is not None else None

    # -- messages --------------------------------------------------------------------------
    def _repr(self):
        return f"{type(self).__name__} '{self.name}' (created at {self._location})"

    def _init_kernel_and_bias(self, activation, use_bias, kernel_initializer, bias_initializer,
                              kernel_regularizer, bias_regularizer):
        """The arguments every layer with a kernel and an optional bias takes (Dense, Conv*, Conv*Transpose)."""
        self.activation = _activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = _initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = _regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")

    def _arg_error(self, arg, value, expected):
        return LayerArgumentError(f"{self._repr()}: {arg}={value!r} is invalid; {expected}")

    def _check_choice(self, arg, value, choices):
        if value not in choices:
            raise self._arg_error(arg, value, f"expected one of {tuple(choices)}")
        return value

    def _check_positive_int(self, arg, value, allow_zero=False):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or \
                value < (0 if allow_zero else 1):
            raise self._arg_error(arg, value, "expected a positive int")
        return int(value)

    def _tuple(self, value, n, arg, allow_zero=False):
        return normalize_tuple(value, n, arg, self._repr(), allow_zero)

    # -- weights ---------------------------------------------------------------------------
    def add_weight(self, name, shape, initializer="zeros", regularizer=None, trainable=True):
        """Create a weight from an initializer (Keras order is creation order)."""
        init = _initializers.get(initializer, f"{name}_initializer")
        var = Variable(f"{self.name}/{name}", init(shape), trainable=trainable and self.trainable,
                       regularizer=regularizer)
        self._weights.append(var)
        return var

    @property
    def weights(self):
        """All variables in creation order, as Keras lists them (BatchNormalization: gamma,
        beta, moving_mean, moving_variance)."""
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self._weights if not w.trainable]

    def get_weights(self):
        """Weights as numpy arrays in Keras order and shapes."""
        return [w.value.copy() for w in self.weights]

    def set_weights(self, weights):
        """Set weights from arrays in Keras order and shapes (shapes are checked)."""
        own = self.weights
        weights = list(weights)
        if len(weights) != len(own):
            raise LayerArgumentError(f"{self._repr()}: set_weights got {len(weights)} arrays, "
                                     f"expected {len(own)} ({[w.shape for w in own]})")
        for var, value in zip(own, weights):
            value = np.asarray(value)
            if value.shape != var.shape:
                raise LayerArgumentError(f"{self._repr()}: weight {var.name} has shape "
                                         f"{var.shape}, got an array of shape {value.shape}")
        for var, value in zip(own, weights):
            var.value = np.asarray(value, dtype=np.float32).copy()
        _WEIGHTS_VERSION[0] += 1

    def h5_var_groups(self):
        """(path under the layer's h5 group, variables) pairs of Keras's weight file layout."""
        return [("vars", self.weights)]

    def count_params(self):
        """Number of scalars in the weights (Keras's count_params)."""
        return int(sum(w.value.size for w in self._weights))

    def regularization_loss(self):
        """Sum of the weight regularizers' penalties on the current weights."""
        return float(sum(w.regularizer(w.value) for w in self._weights if w.regularizer))

    # -- graph -----------------------------------------------------------------------------
    def build(self, input_shape):
        """Create weights for ``input_shape`` (Keras shape with batch); default: none."""
        self.built = True

    def compute_output_shape(self, input_shape):
        """Output shape for ``input_shape``; raise ShapeProblem(reason) when it cannot take it."""
        return input_shape

    def __call__(self, inputs, training=None, **kwargs):
        if kwargs:
            key = sorted(kwargs)[0]
            raise LayerArgumentError(f"{self._repr()}: unknown call argument "
                                     f"{key}={kwargs[key]!r} (at {user_location()})")
        is_list = isinstance(inputs, (list, tuple))
        tensors = list(inputs) if is_list else [inputs]
        for t in tensors:
            if not isinstance(t, KerasTensor):
                raise LayerTypeError(f"{self._repr()} called at {user_location()} on "
                                     f"{type(t).__name__}; expected the output of Input() or of "
                                     f"another layer")
        for t in tensors:
            if t.dtype != "float32" and not self.accepts_integer_inputs:
                raise LayerTypeError(f"{self._repr()} called at {user_location()} on a {t.dtype} "
                                     f"tensor; only Embedding takes integer inputs")
        shapes = [t.shape for t in tensors] if is_list else tensors[0].shape
        try:
            if not self.built:
                self.build(shapes)
                self.built = True
            out_shape = self.compute_output_shape(shapes)
        except ShapeProblem as exc:
            producers = ", ".join(
                t.layer._repr() if t.layer is not None else "an input" for t in tensors)
            raise IncompatibleShapeError(
                f"{self._repr()} cannot take the output of {producers} with shape "
                f"{shapes if is_list else tensors[0].shape} (called at {user_location()}): {exc}"
            ) from None
        multi = isinstance(out_shape, list)
        out_shapes = out_shape if multi else [out_shape]
        node = Node(self, tensors, [], is_list)
        node.outputs = [KerasTensor(s, node=node, index=i) for i, s in enumerate(out_shapes)]
        self._nodes.append(node)
        return node.outputs if multi else node.outputs[0]

    def export(self, ctx, node, inputs):
        """Write ONNX nodes for one call; returns a list of ExportTensor (default: identity)."""
        return [inputs[0]]

    # -- config ----------------------------------------------------------------------------
    def get_config(self):
        """Keras 3 layer config (base keys; subclasses add theirs)."""
        return {"name": self.name, "trainable": self.trainable,
                "dtype": {"module": "keras", "class_name": "DTypePolicy",
                          "config": {"name": "float32"}, "registered_name": None}}

    @classmethod
    def from_config(cls, config):
        """Inverse of ``get_config`` (Keras 2 keys that Keras 3 also ignores are dropped)."""
        config = dict(config)
        # Keras 2 wrote the model's input shape on its first layer; Sequential reads it there
        config.pop("batch_input_shape", None)
        return cls(**constructor_kwargs(cls, config, _config_owner(cls, config)))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class InputLayer(Layer):
    """The layer behind ``Input``; exported as a graph input in the user's layout."""

    #: dtypes an Input may have (integer inputs feed Embedding)
    DTYPES = ("float32", "int32", "int64")

    def __init__(self, shape=None, batch_size=None, dtype=None, name=None, batch_shape=None,
                 sparse=False, **kwargs):
        kwargs.pop("input_shape", None)
        super().__init__(name=name or unique_object_name("input_layer"), **kwargs)
        if isinstance(dtype, dict):
            dtype = (dtype.get("config") or {}).get("name", dtype)
        self.dtype = self._check_choice("dtype", "float32" if dtype is None else dtype,
                                        self.DTYPES)
        if batch_shape is None:
            if shape is None:
                raise self._arg_error("shape", shape, "Input needs shape= (without the batch axis)")
            if isinstance(shape, (int, np.integer)):
                shape = (shape,)
            try:
                shape = tuple(None if s is None else int(s) for s in shape)
            except (TypeError, ValueError):
                raise self._arg_error("shape", shape, "expected a tuple of ints or None") from None
            batch_shape = (batch_size,) + shape
        batch_shape = tuple(None if s is None else int(s) for s in batch_shape)
        if any(s is not None and s < 1 for s in batch_shape[1:]):
            raise self._arg_error("shape", batch_shape[1:], "dimensions must be positive or None")
        if sparse:
            raise self._arg_error("sparse", sparse, "sparse inputs are not supported")
        self.batch_shape = batch_shape
        self.built = True
        node = Node(self, [], [], False)
        node.outputs = [KerasTensor(batch_shape, dtype=self.dtype, node=node)]
        self._nodes.append(node)
        self.output = node.outputs[0]

    def get_config(self):
        # the keys a recent Keras 3 writes (ragged / optional are always false here)
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False,
                "ragged": False, "name": self.name, "optional": False}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "batch_input_shape" in config:
            config["batch_shape"] = config.pop("batch_input_shape")
        return cls(**constructor_kwargs(cls, config, _config_owner(cls, config)))


def _config_owner(cls, config):
    return f"layer {config.get('name')!r} ({cls.__name__})"


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None):  # noqa: N802
    """Keras ``Input``: a symbolic tensor of shape ``(batch_size,) + shape``."""
    return InputLayer(shape=shape, batch_size=batch_size, dtype=dtype, name=name,
                      batch_shape=batch_shape).output


# ---------------------------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------------------------
class ExportTensor:
    """An exported value: ONNX name, Keras shape and layout.

    ``perm[i]`` is the Keras axis stored at ONNX axis ``i`` (None: same layout as Keras).
    ``flat_perm[j]`` is the Keras feature stored at ONNX feature ``j`` of a rank-2 tensor that a
    Flatten produced from a permuted tensor (None: same order).
    """

    def __init__(self, name, shape, perm=None, flat_perm=None):
        self.name = name
        self.shape = tuple(shape)
        if perm is not None and tuple(perm) == tuple(range(len(perm))):
            perm = None
        self.perm = tuple(perm) if perm is not None else None
        self.flat_perm = flat_perm

    @property
    def is_keras_layout(self):
        return self.perm is None and self.flat_perm is None

    def onnx_shape(self):
        if self.perm is None:
            return self.shape
        return tuple(self.shape[p] for p in self.perm)

    def onnx_axis(self, keras_axis):
        keras_axis = keras_axis % len(self.shape)
        return keras_axis if self.perm is None else self.perm.index(keras_axis)

    def like(self, name, shape=None):
        """A new tensor with the same layout."""
        return ExportTensor(name, self.shape if shape is None else shape, self.perm,
                            self.flat_perm)


def channels_first_perm(rank):
    """Perm that stores a channels_last Keras tensor as NC... in ONNX."""
    return (0, rank - 1) + tuple(range(1, rank - 1))


class ExportContext:
    """What layers need while exporting: the builder, the layout tools, the training switch."""

    def __init__(self, builder, training=False):
        self.b = builder
        self.training = training
        self._training_mode = None
        self._layout_cache = {}
        self._weight_cache = {}
        self.extra_outputs = []  # (value, name, shape): BatchNormalization running stats

    def to_perm(self, t, perm):
        """``t`` with layout ``perm``; one Transpose (cached per value and layout) if needed."""
        perm = None if perm is None or tuple(perm) == tuple(range(len(perm))) else tuple(perm)
        if t.flat_perm is not None:
            t = self.to_keras(t)
        if t.perm == perm:
            return t
        key = (t.name, t.perm, perm)
        if key not in self._layout_cache:
            current = t.perm or tuple(range(len(t.shape)))
            wanted = perm or tuple(range(len(t.shape)))
            onnx_perm = [current.index(k) for k in wanted]
            name = self.b.node("Transpose", [t.name], name=f"{t.name}_transpose", perm=onnx_perm)
            self._layout_cache[key] = ExportTensor(name, t.shape, perm)
        return self._layout_cache[key]

    def to_keras(self, t):
        """``t`` in the Keras layout (Gather for a permuted flatten, Transpose otherwise)."""
        if t.flat_perm is not None:
            key = (t.name, "flat")
            if key not in self._layout_cache:
                inverse = np.argsort(t.flat_perm).astype(np.int64)
                idx = self.b.initializer(inverse, f"{t.name}_order")
                name = self.b.node("Gather", [t.name, idx], name=f"{t.name}_reorder", axis=1)
                self._layout_cache[key] = ExportTensor(name, t.shape)
            return self._layout_cache[key]
        return self.to_perm(t, None)

    def to_channels_first(self, t, data_format):
        """``t`` as NC... for a spatial op, whatever the Keras data_format."""
        if data_format == "channels_last":
            return self.to_perm(t, channels_first_perm(len(t.shape)))
        return self.to_perm(t, None)

    def training_mode(self):
        """The shared ``training_mode`` graph input (an initializer defaulting to ``training``)."""
        if self._training_mode is None:
            self._training_mode = self.b.input_with_default("training_mode",
                                                            np.array(self.training, dtype=bool))
        return self._training_mode

    def f32(self, array, name):
        """A float32 initializer; a shared layer called twice gets its weights stored once."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        key = (name, array.shape, hashlib.sha1(array.tobytes()).hexdigest())
        if key not in self._weight_cache:
            self._weight_cache[key] = self.b.initializer(array, name)
        return self._weight_cache[key]
