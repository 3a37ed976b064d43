"""Recurrent layers with Keras 3 names, defaults and weights: SimpleRNN, GRU, LSTM, and the
Bidirectional wrapper, exported as ONNX RNN / GRU / LSTM.

Keras weights (one cell): kernel (input, G * units), recurrent_kernel (units, G * units), bias,
with the gates in Keras order (GRU: z, r, h; LSTM: i, f, c, o). ONNX wants W (dirs, G * H, input),
R (dirs, G * H, H) and B (dirs, 2 * G * H) = input bias then recurrent bias, with LSTM gates in
the order i, o, f, c. Keras's GRU(reset_after=True) is ONNX's linear_before_reset=1; its bias is
(2, 3 * units) = (input bias, recurrent bias).

go_backwards: Keras feeds the reversed sequence and returns outputs in processing order; ONNX
``direction="reverse"`` returns them in time order, so a returned sequence is flipped back.
The Keras h5 layout keeps a cell's variables under ``<layer>/cell/vars``.
"""

import numpy as np

from onnumba.converters import activations as _activations
from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import ExportTensor, Layer, ShapeProblem

# Keras activation name -> ONNX RNN activation (with alpha, beta where ONNX needs them)
_ONNX_ACTIVATIONS = {"tanh": ("Tanh", None, None), "sigmoid": ("Sigmoid", None, None),
                     "relu": ("Relu", None, None), "softsign": ("Softsign", None, None),
                     "softplus": ("Softplus", None, None),
                     "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),
                     "linear": ("Affine", 1.0, 0.0)}


class BaseRNN(Layer):
    """Shared arguments and export of SimpleRNN / GRU / LSTM (one direction)."""

    GATES = 1
    ONNX_OP = "RNN"

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = self._check_positive_int("units", units)
        self.activation = self._check_activation("activation", activation)
        self.recurrent_activation = self._check_activation("recurrent_activation",
                                                           recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _initializers.get(kernel_initializer, "kernel_initializer")
        self.recurrent_initializer = _initializers.get(recurrent_initializer,
                                                       "recurrent_initializer")
        self.bias_initializer = _initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = _regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.recurrent_regularizer = _regularizers.get(recurrent_regularizer,
                                                       "recurrent_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")
        for arg, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                    not 0 <= value < 1:
                raise self._arg_error(arg, value, "expected a float in [0, 1)")
        # dropout acts only while training; the export is the inference computation
        self.dropout, self.recurrent_dropout, self.seed = float(dropout), \
            float(recurrent_dropout), seed
        if stateful:
            raise self._arg_error("stateful", stateful, "stateful RNNs are not exported")
        self.return_sequences, self.return_state = bool(return_sequences), bool(return_state)
        self.go_backwards, self.unroll = bool(go_backwards), bool(unroll)

    def _check_activation(self, arg, value):
        name = _activations.get(value)
        if name not in _ONNX_ACTIVATIONS:
            raise self._arg_error(arg, value, f"ONNX recurrent ops take "
                                              f"{sorted(_ONNX_ACTIVATIONS)}")
        return name

    def _onnx_activations(self):
        """(activations, alphas, betas) attributes of the ONNX op, in its f, g[, h] order."""
        names = ([self.recurrent_activation] if self.GATES > 1 else []) + \
            [self.activation] * (2 if self.GATES == 4 else 1)
        acts = [_ONNX_ACTIVATIONS[n] for n in names]
        if all(a[1] is None for a in acts):
            return [a[0] for a in acts], None, None
        return ([a[0] for a in acts], [a[1] if a[1] is not None else 0.0 for a in acts],
                [a[2] if a[2] is not None else 0.0 for a in acts])

    # -- weights ---------------------------------------------------------------------------
    def _bias_shape(self):
        return (self.GATES * self.units,)

    def build(self, input_shape):
        if len(input_shape) != 3 or input_shape[-1] is None:
            raise ShapeProblem("expected (batch, timesteps, features) with known features")
        g = self.GATES * self.units
        self.kernel = self.add_weight("kernel", (input_shape[-1], g), self.kernel_initializer,
                                      self.kernel_regularizer)
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, g),
                                                self.recurrent_initializer,
                                                self.recurrent_regularizer)
        self.bias = (self.add_weight("bias", self._bias_shape(), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        if len(input_shape) != 3:
            raise ShapeProblem(f"expected a rank-3 input (batch, timesteps, features), got "
                               f"rank {len(input_shape)}")
        if input_shape[-1] != self.kernel.shape[0]:
            raise ShapeProblem(f"expected {self.kernel.shape[0]} features, got "
                               f"{input_shape[-1]}")
        batch, steps = input_shape[0], input_shape[1]
        out = (batch, steps, self.units) if self.return_sequences else (batch, self.units)
        if not self.return_state:
            return out
        return [out] + [(batch, self.units)] * (2 if self.GATES == 4 else 1)

    def _gate_order(self, m):
        """Rows of a (G * units, ...) ONNX-side matrix in ONNX gate order (identity here)."""
        return m

    def h5_var_groups(self):
        """Keras keeps an RNN's variables in its cell: ``<layer>/cell/vars``."""
        return [("cell/vars", self.weights)]

    def onnx_weights(self):
        """(W, R, B) of one direction: (G*H, I), (G*H, H), (2*G*H,) in ONNX gate order."""
        w = self._gate_order(self.kernel.value.T)
        r = self._gate_order(self.recurrent_kernel.value.T)
        g = self.GATES * self.units
        if self.bias is None:
            b = np.zeros(2 * g, np.float32)
        elif self.bias.value.ndim == 2:  # GRU(reset_after=True): input and recurrent biases
            b = np.concatenate([self._gate_order(self.bias.value[0]),
                                self._gate_order(self.bias.value[1])])
        else:
            b = np.concatenate([self._gate_order(self.bias.value), np.zeros(g, np.float32)])
        return w, r, b

    def _onnx_attrs(self):
        acts, alphas, betas = self._onnx_activations()
        return dict(hidden_size=self.units, activations=acts, activation_alpha=alphas,
                    activation_beta=betas)

    # -- export ----------------------------------------------------------------------------
    def export(self, ctx, node, inputs):
        t = ctx.to_keras(inputs[0])
        w, r, b = self.onnx_weights()
        return export_recurrent(ctx, self, t, [(w, r, b)], node,
                                "reverse" if self.go_backwards else "forward")

    def get_config(self):
        cfg = super().get_config()
        ser = _initializers.serialize
        cfg.update(return_sequences=self.return_sequences, return_state=self.return_state,
                   go_backwards=self.go_backwards, stateful=False, unroll=self.unroll,
                   zero_output_for_mask=False, units=self.units, activation=self.activation,
                   use_bias=self.use_bias, kernel_initializer=ser(self.kernel_initializer),
                   recurrent_initializer=ser(self.recurrent_initializer),
                   bias_initializer=ser(self.bias_initializer),
                   kernel_regularizer=_regularizers.serialize(self.kernel_regularizer),
                   recurrent_regularizer=_regularizers.serialize(self.recurrent_regularizer),
                   bias_regularizer=_regularizers.serialize(self.bias_regularizer),
                   activity_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                   bias_constraint=None, dropout=self.dropout,
                   recurrent_dropout=self.recurrent_dropout, seed=self.seed)
        if self.GATES > 1:
            cfg["recurrent_activation"] = self.recurrent_activation
        return cfg


def export_recurrent(ctx, layer, t, directions, node, direction, merge_mode=None):
    """Write one ONNX RNN / GRU / LSTM over Keras-layout ``t`` (batch, steps, features).

    Args:
        directions: [(W, R, B)] per direction (one, or forward and backward).
        direction: "forward", "reverse" or "bidirectional".
        merge_mode: Bidirectional's merge of the two directions ("concat", "sum", "mul", "ave",
            or None for a list).
    """
    b = ctx.b
    x = b.node("Transpose", [t.name], name=layer.name, perm=[1, 0, 2])  # (steps, batch, feat)
    name = layer.name
    w = ctx.f32(np.stack([d[0] for d in directions]), f"{name}_W")
    r = ctx.f32(np.stack([d[1] for d in directions]), f"{name}_R")
    bias = ctx.f32(np.stack([d[2] for d in directions]), f"{name}_B")
    n_out = 3 if layer.ONNX_OP == "LSTM" else 2
    attrs = layer._onnx_attrs()
    for key in ("activations", "activation_alpha", "activation_beta"):
        if attrs[key] is not None:  # ONNX lists them per direction
            attrs[key] = attrs[key] * len(directions)
    outs = b.node(layer.ONNX_OP, [x, w, r, bias], n_out, name=name, direction=direction,
                  **attrs)
    y, states = outs[0], outs[1:]
    shapes = [o.shape for o in node.outputs]
    if layer.return_sequences:
        # Y (steps, dirs, batch, H) -> (batch, steps, dirs, H)
        seq = b.node("Transpose", [y], name=name, perm=[2, 0, 1, 3])
        if direction == "reverse":  # Keras returns the outputs in processing order
            seq = b.node("Slice", [seq, b.const([-1]), b.const([np.iinfo(np.int64).min]),
                                   b.const([1]), b.const([-1])], name=name)
        main = _merge(b, seq, len(directions), merge_mode, name, axis=2,
                      flat_shape=[0, 0, -1])
    else:
        h = b.node("Transpose", [states[0]], name=name, perm=[1, 0, 2])  # (batch, dirs, H)
        main = _merge(b, h, len(directions), merge_mode, name, axis=1, flat_shape=[0, -1])
    results = main if isinstance(main, list) else [main]
    if layer.return_state:
        # Keras order: the forward states (h[, c]), then the backward ones
        for d in range(len(directions)):
            results.extend(b.node("Gather", [s, b.const(d, name=f"{name}_dir")], name=name,
                                  axis=0) for s in states)
    return [ExportTensor(v, shape) for v, shape in zip(results, shapes)]


def _merge(b, v, n, merge_mode, name, axis, flat_shape):
    """Merge the direction axis ``axis`` of ``v``."""
    if n == 1 or merge_mode == "concat":
        return b.node("Reshape", [v, b.const(flat_shape, name=f"{name}_shape")], name=name)
    fwd, bwd = [b.node("Squeeze", [p, b.const([axis])], name=name)
                for p in b.node("Split", [v, b.const([1, 1])], 2, name=name, axis=axis)]
    if merge_mode is None:
        return [fwd, bwd]
    if merge_mode == "ave":
        total = b.node("Add", [fwd, bwd], name=name)
        return b.node("Mul", [total, b.const(np.float32(0.5), dtype=np.float32, name="half")],
                      name=name)
    return b.node({"sum": "Add", "mul": "Mul"}[merge_mode], [fwd, bwd], name=name)


class SimpleRNN(BaseRNN):
    """Keras SimpleRNN(units, activation="tanh", ...): ``h = act(x K + h R + b)``."""

    def __init__(self, units, activation="tanh", **kwargs):
        kwargs.pop("recurrent_activation", None)
        super().__init__(units, activation=activation, **kwargs)


class GRU(BaseRNN):
    """Keras GRU(units, reset_after=True, ...); gates z, r, h."""

    GATES = 3
    ONNX_OP = "GRU"

    def __init__(self, units, reset_after=True, **kwargs):
        super().__init__(units, **kwargs)
        self.reset_after = bool(reset_after)

    def _bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def _onnx_attrs(self):
        attrs = super()._onnx_attrs()
        attrs["linear_before_reset"] = int(self.reset_after)
        return attrs

    def get_config(self):
        cfg = super().get_config()
        cfg["reset_after"] = self.reset_after
        return cfg


class LSTM(BaseRNN):
    """Keras LSTM(units, unit_forget_bias=True, ...); Keras gates i, f, c, o."""

    GATES = 4
    ONNX_OP = "LSTM"

    def __init__(self, units, unit_forget_bias=True, **kwargs):
        super().__init__(units, **kwargs)
        # only shapes the initial bias; weights loaded from Keras carry their own values
        self.unit_forget_bias = bool(unit_forget_bias)

    def build(self, input_shape):
        super().build(input_shape)
        if self.use_bias and self.unit_forget_bias:
            value = self.bias.value.copy()
            value[self.units:2 * self.units] = 1.0
            self.bias.value = value

    def _gate_order(self, m):
        i, f, c, o = np.split(m, 4, axis=0)
        return np.concatenate([i, o, f, c], axis=0)

    def get_config(self):
        cfg = super().get_config()
        cfg["unit_forget_bias"] = self.unit_forget_bias
        return cfg
