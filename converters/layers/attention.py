"""Attention layers with Keras 3 names, weights and formulas: MultiHeadAttention, Attention.

MultiHeadAttention (Keras ``attention_axes=None``, rank-3 inputs): per head h,
``softmax((q Wq_h + bq_h) (k Wk_h + bk_h)^T / sqrt(key_dim)) (v Wv_h + bv_h)``, then the heads
through ``Wo`` (num_heads, value_dim, output) + ``bo``. Weights in Keras order: query kernel
(dim, heads, key_dim) and bias (heads, key_dim), key, value, output; Keras's weight file keeps them
under ``query_dense/vars``, ``key_dense/vars``, ``value_dense/vars``, ``output_dense/vars``.
Called as Keras calls it: ``mha(query, value)`` or ``mha(query, value, key)``.

Attention (Luong, ``score_mode="dot"``): ``softmax(scale * q k^T) v`` over ``[query, value]`` or
``[query, value, key]``; ``use_scale`` adds the scalar weight ``scale``.
"""

import numpy as np

from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import ExportTensor, Layer, ShapeProblem


def _dropout(ctx, scores, rate, name):
    if not rate:
        return scores
    ratio = ctx.b.const(np.float32(rate), dtype=np.float32, name=f"{name}_ratio")
    return ctx.b.node("Dropout", [scores, ratio, ctx.training_mode()], name=name)


class MultiHeadAttention(Layer):
    """Keras MultiHeadAttention(num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
    output_shape=None, attention_axes=None, ...) on (batch, steps, features) inputs."""

    #: Keras passes query, value[, key] as separate positional arguments
    call_positional = True

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True,
                 output_shape=None, attention_axes=None, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 use_gate=False, sliding_window=None, seed=None, flash_attention=None,
                 **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.num_heads = self._check_positive_int("num_heads", num_heads)
        self.key_dim = self._check_positive_int("key_dim", key_dim)
        self.value_dim = self._check_positive_int("value_dim", value_dim or key_dim)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise self._arg_error("dropout", dropout, "expected a float in [0, 1)")
        self.dropout, self.use_bias, self.seed = float(dropout), bool(use_bias), seed
        if isinstance(output_shape, (list, tuple)):
            if len(output_shape) != 1:
                raise self._arg_error("output_shape", output_shape, "only a last-axis size is "
                                                                    "exported")
            output_shape = output_shape[0]
        self.output_dim = (None if output_shape is None
                           else self._check_positive_int("output_shape", output_shape))
        if attention_axes not in (None, [1], (1,), 1, [-2], (-2,), -2):
            raise self._arg_error("attention_axes", attention_axes, "only attention over the "
                                                                    "steps axis is exported")
        if use_gate:
            raise self._arg_error("use_gate", use_gate, "gated attention is not exported")
        if sliding_window is not None:
            raise self._arg_error("sliding_window", sliding_window, "not exported")
        self.kernel_initializer = _initializers.get(kernel_initializer, "kernel_initializer")
        self.bias_initializer = _initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = _regularizers.get(kernel_regularizer, "kernel_regularizer")
        self.bias_regularizer = _regularizers.get(bias_regularizer, "bias_regularizer")

    def __call__(self, query, value=None, key=None, training=None, **kwargs):
        if isinstance(query, (list, tuple)) and value is None:
            return super().__call__(list(query), **kwargs)  # a config's positional arguments
        return super().__call__([query, value] + ([key] if key is not None else []), **kwargs)

    def _shapes(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise ShapeProblem("expected to be called as layer(query, value[, key])")
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        for what, s in (("query", query), ("value", value), ("key", key)):
            if len(s) != 3 or s[-1] is None:
                raise ShapeProblem(f"{what} must be (batch, steps, features) with known features,"
                                   f" got {tuple(s)}")
        if key[1] is not None and value[1] is not None and key[1] != value[1]:
            raise ShapeProblem(f"key and value must have the same number of steps, got "
                               f"{key[1]} and {value[1]}")
        return query, value, key

    def _dense(self, name, shape, bias_shape):
        kernel = self.add_weight(f"{name}/kernel", shape, self.kernel_initializer,
                                 self.kernel_regularizer)
        bias = (self.add_weight(f"{name}/bias", bias_shape, self.bias_initializer,
                                self.bias_regularizer) if self.use_bias else None)
        return [kernel] + ([bias] if bias is not None else [])

    def build(self, input_shape):
        query, value, key = self._shapes(input_shape)
        h = self.num_heads
        out_dim = self.output_dim or query[-1]
        self._groups = [
            ("query_dense/vars", self._dense("query", (query[-1], h, self.key_dim),
                                             (h, self.key_dim))),
            ("key_dense/vars", self._dense("key", (key[-1], h, self.key_dim),
                                           (h, self.key_dim))),
            ("value_dense/vars", self._dense("value", (value[-1], h, self.value_dim),
                                             (h, self.value_dim))),
            ("output_dense/vars", self._dense("attention_output", (h, self.value_dim, out_dim),
                                              (out_dim,))),
        ]

    def h5_var_groups(self):
        return self._groups

    def compute_output_shape(self, input_shape):
        query, value, key = self._shapes(input_shape)
        dims = [g[1][0].shape[0] for g in self._groups[:3]]
        if [query[-1], key[-1], value[-1]] != dims:
            raise ShapeProblem(f"expected query / key / value features {dims}, got "
                               f"{[query[-1], key[-1], value[-1]]}")
        return (query[0], query[1], self._groups[3][1][0].shape[-1])

    def _project(self, ctx, t, group, scale, name):
        """(batch, steps, features) -> (batch, heads, steps, depth)."""
        b = ctx.b
        variables = group[1]
        kernel = variables[0].value
        depth = kernel.shape[-1]
        w = ctx.f32(kernel.reshape(kernel.shape[0], -1) * scale, f"{name}_kernel")
        y = b.node("MatMul", [t, w], name=name)
        if self.use_bias:
            y = b.node("Add", [y, ctx.f32(variables[1].value.reshape(-1) * scale,
                                          f"{name}_bias")], name=name)
        y = b.node("Reshape", [y, b.const([0, 0, self.num_heads, depth],
                                          name=f"{name}_heads")], name=name)
        return b.node("Transpose", [y], name=name, perm=[0, 2, 1, 3])

    def export(self, ctx, node, inputs):
        b, n = ctx.b, self.name
        ts = [ctx.to_keras(t).name for t in inputs]
        query, value = ts[0], ts[1]
        key = ts[2] if len(ts) == 3 else value
        # Keras scales the projected query by 1 / sqrt(key_dim); folded into its weights
        q = self._project(ctx, query, self._groups[0], 1.0 / np.sqrt(self.key_dim), f"{n}_query")
        k = self._project(ctx, key, self._groups[1], 1.0, f"{n}_key")
        v = self._project(ctx, value, self._groups[2], 1.0, f"{n}_value")
        kt = b.node("Transpose", [k], name=n, perm=[0, 1, 3, 2])
        scores = b.node("Softmax", [b.node("MatMul", [q, kt], name=n)], name=n, axis=-1)
        scores = _dropout(ctx, scores, self.dropout, n)
        heads = b.node("Transpose", [b.node("MatMul", [scores, v], name=n)], name=n,
                       perm=[0, 2, 1, 3])
        heads = b.node("Reshape", [heads, b.const([0, 0, -1], name=f"{n}_merge")], name=n)
        out = self._groups[3][1]
        kernel = out[0].value
        y = b.node("MatMul", [heads, ctx.f32(kernel.reshape(-1, kernel.shape[-1]),
                                             f"{n}_output_kernel")], name=n)
        if self.use_bias:
            y = b.node("Add", [y, ctx.f32(out[1].value, f"{n}_output_bias")], name=n)
        return [ExportTensor(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(num_heads=self.num_heads, key_dim=self.key_dim, value_dim=self.value_dim,
                   dropout=self.dropout, use_bias=self.use_bias, output_shape=self.output_dim,
                   attention_axes=None,
                   kernel_initializer=_initializers.serialize(self.kernel_initializer),
                   bias_initializer=_initializers.serialize(self.bias_initializer),
                   kernel_regularizer=_regularizers.serialize(self.kernel_regularizer),
                   bias_regularizer=_regularizers.serialize(self.bias_regularizer),
                   activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                   seed=self.seed)
        return cfg


class Attention(Layer):
    """Keras Attention(use_scale=False, score_mode="dot", dropout=0.0) on [query, value] or
    [query, value, key]."""

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = self._check_choice("score_mode", score_mode, ("dot",))
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or \
                not 0 <= dropout < 1:
            raise self._arg_error("dropout", dropout, "expected a float in [0, 1)")
        self.dropout, self.seed = float(dropout), seed

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (), "ones") if self.use_scale else None

    def compute_output_shape(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) not in (2, 3):
            raise ShapeProblem("expected a list [query, value] or [query, value, key]")
        query, value = input_shape[0], input_shape[1]
        key = input_shape[2] if len(input_shape) == 3 else value
        if len(query) != 3 or query[-1] != key[-1]:
            raise ShapeProblem(f"query and key must be (batch, steps, dim) with the same dim, "
                               f"got {tuple(query)} and {tuple(key)}")
        return (query[0], query[1], value[-1])

    def export(self, ctx, node, inputs):
        b, n = ctx.b, self.name
        ts = [ctx.to_keras(t).name for t in inputs]
        key = ts[2] if len(ts) == 3 else ts[1]
        kt = b.node("Transpose", [key], name=n, perm=[0, 2, 1])
        scores = b.node("MatMul", [ts[0], kt], name=n)
        if self.use_scale:
            scores = b.node("Mul", [scores, ctx.f32(self.scale.value, f"{n}_scale")], name=n)
        weights = _dropout(ctx, b.node("Softmax", [scores], name=n, axis=-1), self.dropout, n)
        return [ExportTensor(b.node("MatMul", [weights, ts[1]], name=n), node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(use_scale=self.use_scale, score_mode=self.score_mode, dropout=self.dropout,
                   seed=self.seed)
        return cfg
