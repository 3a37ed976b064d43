"""Naive numpy references of Keras 3 layer semantics (written from Keras's documentation and
source formulas; no Keras or TensorFlow involved).

Everything takes and returns channels_last arrays and Keras weight layouts (conv kernel
(k..., in / groups, out), transposed-conv kernel (k..., out, in), depthwise (k..., in, mult),
Dense (in, out)). ``to_channels_last`` / ``to_channels_first`` adapt channels_first tests.
Loops are over kernel offsets only; arrays are tiny in tests.
"""

import itertools
import math

import numpy as np

# ---------------------------------------------------------------------------------------------
# layout helpers


def to_channels_last(x):
    return np.moveaxis(x, 1, -1)


def to_channels_first(x):
    return np.moveaxis(x, -1, 1)


# ---------------------------------------------------------------------------------------------
# activations (keras.activations, Keras 3)

SELU_ALPHA = 1.67326324235437728481
SELU_SCALE = 1.05070098735548049342


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _softplus(x):
    return np.logaddexp(0.0, x)


def _erf(x):
    return np.vectorize(math.erf)(x)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _hard_sigmoid(x):
    # Keras 3: relu6(x + 3) / 6
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "relu6": lambda x: np.clip(x, 0, 6),
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "softmax": _softmax,
    "log_softmax": lambda x: np.log(_softmax(x)),
    "softplus": _softplus,
    "softsign": lambda x: x / (1 + np.abs(x)),
    "tanh": np.tanh,
    "selu": lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1)),
    "elu": lambda x: np.where(x > 0, x, np.exp(x) - 1),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / np.sqrt(2.0))),  # approximate=False
    "silu": lambda x: x * _sigmoid(x),
    "swish": lambda x: x * _sigmoid(x),
    "hard_silu": lambda x: x * _hard_sigmoid(x),
    "hard_swish": lambda x: x * _hard_sigmoid(x),
    "mish": lambda x: x * np.tanh(_softplus(x)),
    "exponential": np.exp,
    "leaky_relu": lambda x: np.where(x >= 0, x, 0.2 * x),  # negative_slope=0.2
    "linear": lambda x: x,
    "log_sigmoid": lambda x: -_softplus(-x),
    "hard_tanh": lambda x: np.clip(x, -1, 1),
}


def activation(name, x):
    return ACTIVATIONS[name](np.asarray(x, dtype=np.float64))


def relu_layer(x, max_value=None, negative_slope=0.0, threshold=0.0):
    y = np.where(x >= threshold, x, negative_slope * (x - threshold))
    if max_value is not None:
        y = np.minimum(y, max_value)
    return y


def leaky_relu_layer(x, negative_slope=0.3):
    return np.where(x >= 0, x, negative_slope * x)


def elu_layer(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def prelu(x, alpha):
    return np.where(x >= 0, x, alpha * x)


# ---------------------------------------------------------------------------------------------
# core


def dense(x, kernel, bias=None):
    y = x @ kernel
    return y if bias is None else y + bias


def flatten(x, data_format="channels_last"):
    if data_format == "channels_first" and x.ndim > 2:
        x = np.moveaxis(x, 1, -1)
    return x.reshape(x.shape[0], -1)


def batch_norm(x, gamma, beta, mean, var, epsilon=1e-3, axis=-1):
    shape = [1] * x.ndim
    shape[axis] = -1
    r = lambda v: np.reshape(v, shape)  # noqa: E731
    return (x - r(mean)) / np.sqrt(r(var) + epsilon) * r(gamma) + r(beta)


def batch_norm_train(x, gamma, beta, moving_mean, moving_var, epsilon=1e-3, momentum=0.99,
                     axis=-1):
    """(y, new_moving_mean, new_moving_var) with batch statistics (biased variance)."""
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = batch_norm(x, gamma, beta, mean, var, epsilon, axis)
    return (y, moving_mean * momentum + mean * (1 - momentum),
            moving_var * momentum + var * (1 - momentum))


# ---------------------------------------------------------------------------------------------
# convolution


def _keras_pads(n, k, s, d, padding):
    """Keras/TF padding of one axis: 'same' puts the odd unit at the end."""
    keff = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return keff - 1, 0
    out = math.ceil(n / s)
    total = max((out - 1) * s + keff - n, 0)
    return total // 2, total - total // 2


def _pad(x, pads, value=0.0):
    """Pad (or crop, for negative values) the spatial axes of a channels_last array."""
    for axis, (b, e) in enumerate(pads, start=1):
        if b < 0:
            x = np.take(x, range(-b, x.shape[axis]), axis=axis)
            b = 0
        if e < 0:
            x = np.take(x, range(0, x.shape[axis] + e), axis=axis)
            e = 0
        widths = [(0, 0)] * x.ndim
        widths[axis] = (b, e)
        x = np.pad(x, widths, constant_values=value)
    return x


def _windows(xp, kernel_size, strides, dilation, out):
    """Yield (offset, strided view of xp) for every kernel offset."""
    for offset in itertools.product(*[range(k) for k in kernel_size]):
        index = [slice(None)]
        for o, s, d, n in zip(offset, strides, dilation, out):
            index.append(slice(o * d, o * d + (n - 1) * s + 1, s))
        yield offset, xp[tuple(index)]


def conv(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1, groups=1):
    """Keras ConvND, channels_last; kernel (k..., in / groups, out)."""
    rank = x.ndim - 2
    ks = kernel.shape[:rank]
    st = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    dl = (dilation_rate,) * rank if np.isscalar(dilation_rate) else tuple(dilation_rate)
    pads = [_keras_pads(n, k, s, d, padding) for n, k, s, d in zip(x.shape[1:-1], ks, st, dl)]
    xp = _pad(x.astype(np.float64), pads)
    out = [(n + b + e - ((k - 1) * d + 1)) // s + 1
           for n, (b, e), k, s, d in zip(x.shape[1:-1], pads, ks, st, dl)]
    cin_g, f = kernel.shape[-2:]
    fg = f // groups
    y = np.zeros((x.shape[0], *out, f))
    for offset, win in _windows(xp, ks, st, dl, out):
        w = kernel[offset]
        for g in range(groups):
            y[..., g * fg:(g + 1) * fg] += win[..., g * cin_g:(g + 1) * cin_g] @ \
                w[:, g * fg:(g + 1) * fg]
    return y if bias is None else y + bias


def keras_conv_transpose_padding(k, s, d, padding, output_padding):
    """Keras 3's (left, right) padding of the stride-dilated input (its JAX backend rule)."""
    keff = (k - 1) * d + 1
    if padding == "valid":
        op = max(keff, s) - keff if output_padding is None else output_padding
        return keff - 1, keff - 1 + op
    pad_len = s + keff - 2 if output_padding is None else keff + keff % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, keff - 1)
    return left, pad_len - left


def conv_transpose(x, kernel, bias=None, strides=1, padding="valid", output_padding=None,
                   dilation_rate=1):
    """Keras ConvNDTranspose, channels_last; kernel (k..., out, in).

    Dilate the input by the stride, pad it by Keras's (left, right), correlate with the
    spatially flipped kernel.
    """
    rank = x.ndim - 2
    ks = kernel.shape[:rank]
    st = (strides,) * rank if np.isscalar(strides) else tuple(strides)
    dl = (dilation_rate,) * rank if np.isscalar(dilation_rate) else tuple(dilation_rate)
    ops = (output_padding,) * rank if output_padding is None or np.isscalar(output_padding) \
        else tuple(output_padding)
    shape = [x.shape[0]] + [(n - 1) * s + 1 for n, s in zip(x.shape[1:-1], st)] + [x.shape[-1]]
    xd = np.zeros(shape)
    xd[(slice(None),) + tuple(slice(None, None, s) for s in st)] = x
    pads = [keras_conv_transpose_padding(k, s, d, "valid" if padding == "valid" else "same", op)
            for k, s, d, op in zip(ks, st, dl, ops)]
    xp = _pad(xd, pads)
    flipped = kernel[tuple(slice(None, None, -1) for _ in range(rank))]
    return conv(xp, np.swapaxes(flipped, -1, -2), bias, 1, "valid", dl)


def conv_adjoint(y_shape, kernel, g, strides, padding, dilation_rate=1):
    """Adjoint (gradient w.r.t. the input) of ``conv`` from an input of shape ``y_shape``:
    TensorFlow's definition of conv_transpose. Used to cross-check ``conv_transpose``."""
    n = int(np.prod(y_shape))
    cols = []
    for i in range(n):
        e = np.zeros(n)
        e[i] = 1.0
        cols.append(conv(e.reshape(y_shape), kernel, None, strides, padding,
                         dilation_rate).ravel())
    a = np.stack(cols, axis=1)  # conv as a matrix
    return (a.T @ g.ravel()).reshape(y_shape)


def depthwise_conv(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """Keras DepthwiseConvND: kernel (k..., C, M); output channel c * M + m."""
    rank = x.ndim - 2
    c, m = kernel.shape[-2:]
    ys = []
    for ci in range(c):
        ys.append(conv(x[..., ci:ci + 1], kernel[..., ci:ci + 1, :], None, strides, padding,
                       dilation_rate))
    y = np.concatenate(ys, axis=-1)
    del rank
    return y if bias is None else y + bias


def separable_conv(x, depthwise_kernel, pointwise_kernel, bias=None, strides=1,
                   padding="valid", dilation_rate=1):
    y = depthwise_conv(x, depthwise_kernel, None, strides, padding, dilation_rate)
    return conv(y, pointwise_kernel, bias)


# ---------------------------------------------------------------------------------------------
# pooling, padding, resizing


def pool(x, pool_size, strides=None, padding="valid", mode="max"):
    """Keras Max/AveragePoolingND, channels_last; 'same' average counts valid cells only."""
    rank = x.ndim - 2
    ps = (pool_size,) * rank if np.isscalar(pool_size) else tuple(pool_size)
    st = ps if strides is None else ((strides,) * rank if np.isscalar(strides) else
                                     tuple(strides))
    pads = [_keras_pads(n, k, s, 1, padding) for n, k, s in zip(x.shape[1:-1], ps, st)]
    fill = -np.inf if mode == "max" else 0.0
    xp = _pad(x.astype(np.float64), pads, fill)
    ones = _pad(np.ones(x.shape[:-1] + (1,)), pads, 0.0)
    out = [(n + b + e - k) // s + 1 for n, (b, e), k, s in zip(x.shape[1:-1], pads, ps, st)]
    acc = np.full((x.shape[0], *out, x.shape[-1]), fill)
    count = np.zeros((x.shape[0], *out, 1))
    for (_, win), (_, one) in zip(_windows(xp, ps, st, (1,) * rank, out),
                                  _windows(ones, ps, st, (1,) * rank, out)):
        if mode == "max":
            acc = np.maximum(acc, win)
        else:
            acc = acc + win
            count = count + one
    return acc if mode == "max" else acc / count


def global_pool(x, mode="average", keepdims=False):
    axes = tuple(range(1, x.ndim - 1))
    f = np.max if mode == "max" else np.mean
    return f(x, axis=axes, keepdims=keepdims)


def zero_pad(x, pads):
    return _pad(x, pads)


def crop(x, cropping):
    return _pad(x, [(-b, -e) for b, e in cropping])


def upsample_nearest(x, size):
    for axis, s in enumerate(size, start=1):
        x = np.repeat(x, s, axis=axis)
    return x


def upsample_bilinear(x, size):
    """Half-pixel bilinear (tf.image.resize / jax.image.resize for upsampling), 2-D."""
    for axis, s in enumerate(size, start=1):
        n = x.shape[axis]
        pos = (np.arange(n * s) + 0.5) / s - 0.5
        pos = np.clip(pos, 0, n - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n - 1)
        w = (pos - lo).reshape([-1 if a == axis else 1 for a in range(x.ndim)])
        x = np.take(x, lo, axis=axis) * (1 - w) + np.take(x, hi, axis=axis) * w
    return x


# ---------------------------------------------------------------------------------------------
# whole models: walk a Keras-style model, layer by layer, from class name + config + weights

def _cl(cfg, x, fn):
    """Apply channels_last ``fn`` to ``x`` stored as cfg['data_format']."""
    if cfg.get("data_format") == "channels_first":
        return to_channels_first(fn(to_channels_last(x)))
    return fn(x)


def layer_forward(class_name, cfg, weights, inputs, training=False):
    """Keras semantics of one layer call (inference unless ``training``; Dropout is identity)."""
    x = inputs[0]
    act = cfg.get("activation", "linear") or "linear"
    ws = weights
    if class_name == "Dense":
        return activation(act, dense(x, ws[0], ws[1] if cfg["use_bias"] else None))
    if class_name in ("Conv1D", "Conv2D", "Conv3D"):
        return activation(act, _cl(cfg, x, lambda v: conv(
            v, ws[0], ws[1] if cfg["use_bias"] else None, tuple(cfg["strides"]),
            cfg["padding"], tuple(cfg["dilation_rate"]), cfg.get("groups", 1))))
    if class_name in ("Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"):
        return activation(act, _cl(cfg, x, lambda v: conv_transpose(
            v, ws[0], ws[1] if cfg["use_bias"] else None, tuple(cfg["strides"]),
            cfg["padding"], cfg.get("output_padding"), tuple(cfg["dilation_rate"]))))
    if class_name in ("DepthwiseConv1D", "DepthwiseConv2D"):
        return activation(act, _cl(cfg, x, lambda v: depthwise_conv(
            v, ws[0], ws[1] if cfg["use_bias"] else None, tuple(cfg["strides"]),
            cfg["padding"], tuple(cfg["dilation_rate"]))))
    if class_name in ("SeparableConv1D", "SeparableConv2D"):
        return activation(act, _cl(cfg, x, lambda v: separable_conv(
            v, ws[0], ws[1], ws[2] if cfg["use_bias"] else None, tuple(cfg["strides"]),
            cfg["padding"], tuple(cfg["dilation_rate"]))))
    if class_name.startswith(("MaxPooling", "AveragePooling")):
        mode = "max" if class_name.startswith("Max") else "average"
        return _cl(cfg, x, lambda v: pool(v, tuple(cfg["pool_size"]), tuple(cfg["strides"]),
                                          cfg["padding"], mode))
    if class_name.startswith(("GlobalMaxPooling", "GlobalAveragePooling")):
        mode = "max" if "Max" in class_name else "average"
        if cfg.get("data_format") == "channels_first" and cfg.get("keepdims"):
            return to_channels_first(global_pool(to_channels_last(x), mode, True))
        if cfg.get("data_format") == "channels_first":
            x = to_channels_last(x)
        return global_pool(x, mode, cfg.get("keepdims", False))
    if class_name == "BatchNormalization":
        params = list(ws)
        n = params[-1].shape[0]
        gamma = params.pop(0) if cfg["scale"] else np.ones(n)
        beta = params.pop(0) if cfg["center"] else np.zeros(n)
        return batch_norm(x, gamma, beta, params[0], params[1], cfg["epsilon"], cfg["axis"])
    if class_name == "Activation":
        return activation(act, x)
    if class_name == "Dropout":
        return x
    if class_name == "Flatten":
        return flatten(x, cfg.get("data_format", "channels_last"))
    if class_name == "Reshape":
        return x.reshape((x.shape[0],) + tuple(cfg["target_shape"]))
    if class_name == "Permute":
        return x.transpose((0,) + tuple(cfg["dims"]))
    if class_name == "ReLU":
        return relu_layer(x, cfg["max_value"], cfg["negative_slope"], cfg["threshold"])
    if class_name == "LeakyReLU":
        return leaky_relu_layer(x, cfg["negative_slope"])
    if class_name == "ELU":
        return elu_layer(x, cfg["alpha"])
    if class_name == "PReLU":
        return prelu(x, ws[0])
    if class_name == "Softmax":
        return _softmax(x, cfg["axis"])
    if class_name.startswith("ZeroPadding"):
        return _cl(cfg, x, lambda v: zero_pad(v, [tuple(p) for p in cfg["padding"]]))
    if class_name.startswith("Cropping"):
        return _cl(cfg, x, lambda v: crop(v, [tuple(p) for p in cfg["cropping"]]))
    if class_name.startswith("UpSampling"):
        size = cfg["size"] if isinstance(cfg["size"], (list, tuple)) else [cfg["size"]]
        fn = upsample_bilinear if cfg.get("interpolation") == "bilinear" else upsample_nearest
        return _cl(cfg, x, lambda v: fn(v, size))
    if class_name == "Concatenate":
        return np.concatenate(inputs, axis=cfg["axis"])
    merges = {"Add": lambda v: np.sum(v, axis=0), "Subtract": lambda v: v[0] - v[1],
              "Multiply": lambda v: np.prod(v, axis=0), "Average": lambda v: np.mean(v, axis=0),
              "Maximum": lambda v: np.max(v, axis=0), "Minimum": lambda v: np.min(v, axis=0)}
    if class_name in merges:
        return merges[class_name](np.stack(np.broadcast_arrays(*inputs)))
    raise NotImplementedError(class_name)


def model_forward(model, *xs):
    """Keras inference of a functional / Sequential model built with onnumba.converters."""
    model._ensure_graph()
    values = {id(t): np.asarray(x, dtype=np.float64) for t, x in zip(model.inputs, xs)}
    for node in model._nodes:
        layer = node.layer
        if type(layer).__name__ == "InputLayer":
            continue
        ins = [values[id(t)] for t in node.inputs]
        out = layer_forward(type(layer).__name__, layer.get_config(), layer.get_weights(), ins)
        values[id(node.outputs[0])] = out
    return [values[id(t)] for t in model.outputs]
