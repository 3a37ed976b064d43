"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Permute, Identity."""

import numpy as np

from onnumba.converters import activations as _activations
from onnumba.converters import initializers as _initializers
from onnumba.converters import regularizers as _regularizers
from onnumba.converters.layers.base import (ExportTensor, Layer, ShapeProblem,
                                            channels_first_perm)


def apply_activation(ctx, t, activation, prefix):
    """Apply a Keras activation by name to ExportTensor ``t`` (layout kept)."""
    if activation == "linear":
        return t
    name = _activations.emit(ctx.b, activation, t.name, t.onnx_axis(-1), prefix)
    return t.like(name)


def _reg_config(reg):
    return _regularizers.serialize(reg)


class Dense(Layer):
    """Keras Dense: ``activation(x @ kernel + bias)`` on the last axis; kernel (in, units)."""

    def __init__(self, units, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        self.units = self._check_positive_int("units", units)
        self._init_kernel_and_bias(activation, use_bias, kernel_initializer, bias_initializer,
                                   kernel_regularizer, bias_regularizer)
        if lora_rank:
            raise self._arg_error("lora_rank", lora_rank, "LoRA is not supported")

    def build(self, input_shape):
        if len(input_shape) < 2 or input_shape[-1] is None:
            raise ShapeProblem("Dense needs a known last dimension")
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer, self.kernel_regularizer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer,
                                     self.bias_regularizer) if self.use_bias else None)

    def compute_output_shape(self, input_shape):
        if input_shape[-1] != self.kernel.shape[0]:
            raise ShapeProblem(f"expected last dimension {self.kernel.shape[0]}, "
                               f"got {input_shape[-1]}")
        return tuple(input_shape[:-1]) + (self.units,)

    def export(self, ctx, node, inputs):
        b, t = ctx.b, inputs[0]
        kernel = self.kernel.value
        rank = len(t.shape)
        out_shape = node.outputs[0].shape
        if rank == 2:
            if t.flat_perm is not None:
                # Flatten of an NC... tensor: reorder the kernel rows instead of the data
                kernel = kernel[t.flat_perm]
            ins = [t.name, ctx.f32(kernel, f"{self.name}_kernel")]
            if self.use_bias:
                ins.append(ctx.f32(self.bias.value, f"{self.name}_bias"))
            y = ExportTensor(b.node("Gemm", ins, name=self.name), out_shape)
        elif 3 <= rank <= 5 and t.perm == channels_first_perm(rank):
            # Dense on an NC... tensor is a 1x1 conv over channels: no transpose needed
            w = kernel.T.reshape((self.units, kernel.shape[0]) + (1,) * (rank - 2))
            ins = [t.name, ctx.f32(w, f"{self.name}_kernel")]
            if self.use_bias:
                ins.append(ctx.f32(self.bias.value, f"{self.name}_bias"))
            y = t.like(b.node("Conv", ins, name=self.name, kernel_shape=[1] * (rank - 2)),
                       out_shape)
        else:
            t = ctx.to_keras(t)
            y = b.node("MatMul", [t.name, ctx.f32(kernel, f"{self.name}_kernel")], name=self.name)
            if self.use_bias:
                y = b.node("Add", [y, ctx.f32(self.bias.value, f"{self.name}_bias")],
                           name=self.name)
            y = ExportTensor(y, out_shape)
        return [apply_activation(ctx, y, self.activation, self.name)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(units=self.units, activation=self.activation, use_bias=self.use_bias,
                   kernel_initializer=_initializers.serialize(self.kernel_initializer),
                   bias_initializer=_initializers.serialize(self.bias_initializer),
                   kernel_regularizer=_reg_config(self.kernel_regularizer),
                   bias_regularizer=_reg_config(self.bias_regularizer),
                   kernel_constraint=None, bias_constraint=None)
        return cfg


class Activation(Layer):
    """Applies a Keras activation given by name."""

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = _activations.get(activation)

    def export(self, ctx, node, inputs):
        return [apply_activation(ctx, inputs[0], self.activation, self.name)]

    def get_config(self):
        cfg = super().get_config()
        cfg["activation"] = self.activation
        return cfg


class Dropout(Layer):
    """Keras Dropout, exported as ONNX Dropout driven by the shared ``training_mode`` input.

    Args:
        rate: fraction of units dropped, in [0, 1).
        mode: ``"upscale_in_train"`` (Keras: training output ``x * mask / (1 - rate)``, inference
            output ``x``) or ``"downscale_in_infer"`` (training ``x * mask``, inference
            ``x * (1 - rate)``).
        seed: ONNX Dropout seed.
    """

    MODES = ("upscale_in_train", "downscale_in_infer")

    def __init__(self, rate, noise_shape=None, seed=None, mode="upscale_in_train", **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise self._arg_error("rate", rate, "expected a float in [0, 1) (ONNX Dropout cannot "
                                                "drop everything)")
        if noise_shape is not None:
            raise self._arg_error("noise_shape", noise_shape, "only noise_shape=None is exported")
        self.rate = float(rate)
        self.seed = seed
        self.mode = self._check_choice("mode", mode, self.MODES)

    def export(self, ctx, node, inputs):
        t, b = inputs[0], ctx.b
        ratio = b.const(np.float32(self.rate), dtype=np.float32, name=f"{self.name}_ratio")
        attrs = {"seed": int(self.seed)} if self.seed is not None else {}
        y = b.node("Dropout", [t.name, ratio, ctx.training_mode()], name=self.name, **attrs)
        if self.mode == "downscale_in_infer":
            # ONNX Dropout upscales in training; one Mul turns both modes into downscale_in_infer
            keep = b.const(np.float32(1.0 - self.rate), dtype=np.float32, name=f"{self.name}_keep")
            y = b.node("Mul", [y, keep], name=self.name)
        return [t.like(y)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(rate=self.rate, seed=self.seed, noise_shape=None)
        if self.mode != "upscale_in_train":
            cfg["mode"] = self.mode
        return cfg


class Flatten(Layer):
    """Keras Flatten; ``data_format="channels_first"`` moves axis 1 last before flattening."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = self._check_choice("data_format", data_format or "channels_last",
                                              ("channels_last", "channels_first"))

    def _keras_order(self, rank):
        if self.data_format == "channels_first" and rank > 2:
            return (0,) + tuple(range(2, rank)) + (1,)
        return tuple(range(rank))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        n = None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))
        return (input_shape[0], n)

    def export(self, ctx, node, inputs):
        t, b = inputs[0], ctx.b
        rank = len(t.shape)
        order = self._keras_order(rank)
        out_shape = node.outputs[0].shape
        if rank <= 2:
            return [t]
        dims = t.shape[1:]
        if any(d is None for d in dims):
            t = ctx.to_perm(t, order)
            return [ExportTensor(b.node("Flatten", [t.name], name=self.name, axis=1), out_shape)]
        feature = np.arange(int(np.prod(dims))).reshape([t.shape[a] for a in order[1:]])
        by_keras_axis = feature.transpose(np.argsort(np.array(order[1:]) - 1))
        onnx_perm = t.perm or tuple(range(rank))
        flat_perm = by_keras_axis.transpose([a - 1 for a in onnx_perm[1:]]).ravel()
        if np.array_equal(flat_perm, np.arange(flat_perm.size)):
            flat_perm = None
        y = b.node("Flatten", [t.name], name=self.name, axis=1)
        return [ExportTensor(y, out_shape, flat_perm=flat_perm)]

    def get_config(self):
        cfg = super().get_config()
        cfg["data_format"] = self.data_format
        return cfg


class Reshape(Layer):
    """Keras Reshape to ``target_shape`` (without batch; one -1 allowed)."""

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        try:
            self.target_shape = tuple(int(d) for d in target_shape)
        except (TypeError, ValueError):
            raise self._arg_error("target_shape", target_shape, "expected a tuple of ints") \
                from None
        if sum(d == -1 for d in self.target_shape) > 1 or \
                any(d == 0 or d < -1 for d in self.target_shape):
            raise self._arg_error("target_shape", target_shape,
                                  "expected positive ints and at most one -1")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        known = None if any(d is None for d in rest) else int(np.prod(rest, dtype=np.int64))
        target = list(self.target_shape)
        fixed = int(np.prod([d for d in target if d != -1], dtype=np.int64))
        if -1 in target:
            if known is not None:
                if known % fixed:
                    raise ShapeProblem(f"cannot reshape {known} values into {self.target_shape}")
                target[target.index(-1)] = known // fixed
            else:
                target[target.index(-1)] = None
        elif known is not None and known != fixed:
            raise ShapeProblem(f"cannot reshape {known} values into {self.target_shape}")
        return (input_shape[0],) + tuple(target)

    def export(self, ctx, node, inputs):
        t = ctx.to_keras(inputs[0])
        shape = ctx.b.const([0] + list(self.target_shape), name=f"{self.name}_shape")
        return [ExportTensor(ctx.b.node("Reshape", [t.name, shape], name=self.name),
                             node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg["target_shape"] = list(self.target_shape)
        return cfg


class Permute(Layer):
    """Keras Permute(dims) (1-based, batch excluded); exported as a layout change only."""

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        try:
            self.dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise self._arg_error("dims", dims, "expected a tuple of ints") from None
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise self._arg_error("dims", dims, f"expected a permutation of "
                                                f"{tuple(range(1, len(self.dims) + 1))}")

    def compute_output_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ShapeProblem(f"dims={self.dims} needs an input of rank {len(self.dims) + 1}")
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def export(self, ctx, node, inputs):
        t = inputs[0]
        if t.flat_perm is not None:
            t = ctx.to_keras(t)
        full = (0,) + self.dims
        inverse = np.argsort(full)
        current = t.perm or tuple(range(len(full)))
        perm = tuple(int(inverse[k]) for k in current)
        return [ExportTensor(t.name, node.outputs[0].shape, perm)]

    def get_config(self):
        cfg = super().get_config()
        cfg["dims"] = list(self.dims)
        return cfg


class Identity(Layer):
    """Keras Identity: returns its input."""


class Embedding(Layer):
    """Keras Embedding(input_dim, output_dim): row lookup of integer indices in ``embeddings``
    (input_dim, output_dim); takes int32 / int64 inputs (``Input(..., dtype="int32")``) or float
    ones, cast to int64 as Keras casts them."""

    accepts_integer_inputs = True

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform",
                 embeddings_regularizer=None, embeddings_constraint=None, mask_zero=False,
                 weights=None, lora_rank=None, input_length=None, **kwargs):
        super().__init__(**kwargs)
        self.input_dim = self._check_positive_int("input_dim", input_dim)
        self.output_dim = self._check_positive_int("output_dim", output_dim)
        if mask_zero:
            # a mask changes what later layers compute (pooling, RNNs): not exported
            raise self._arg_error("mask_zero", mask_zero, "masking is not exported")
        if lora_rank:
            raise self._arg_error("lora_rank", lora_rank, "LoRA is not supported")
        self.embeddings_initializer = _initializers.get(embeddings_initializer,
                                                        "embeddings_initializer")
        self.embeddings_regularizer = _regularizers.get(embeddings_regularizer,
                                                        "embeddings_regularizer")
        self._initial_weights = weights

    def build(self, input_shape):
        self.embeddings = self.add_weight("embeddings", (self.input_dim, self.output_dim),
                                          self.embeddings_initializer,
                                          self.embeddings_regularizer)
        if self._initial_weights is not None:
            self.set_weights(self._initial_weights)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def export(self, ctx, node, inputs):
        b, t = ctx.b, ctx.to_keras(inputs[0])
        index = b.node("Cast", [t.name], name=self.name, to=7)  # int64
        y = b.node("Gather", [ctx.f32(self.embeddings.value, f"{self.name}_embeddings"), index],
                   name=self.name, axis=0)
        return [ExportTensor(y, node.outputs[0].shape)]

    def get_config(self):
        cfg = super().get_config()
        cfg.update(input_dim=self.input_dim, output_dim=self.output_dim,
                   embeddings_initializer=_initializers.serialize(self.embeddings_initializer),
                   embeddings_regularizer=_reg_config(self.embeddings_regularizer),
                   activity_regularizer=None, embeddings_constraint=None, mask_zero=False)
        return cfg
