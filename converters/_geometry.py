"""Keras geometry: output sizes and ONNX pads for conv, pooling and conv-transpose.

Pure python on ints, no numpy, no ONNX. Keras names in (kernel_size, strides, dilation_rate,
padding, output_padding); ONNX values out (pads begin/end, output_padding). ``None`` stands for
an unknown (dynamic) length and propagates.
"""

import math

PADDINGS = ("valid", "same", "causal")


def effective_kernel(kernel_size, dilation_rate=1):
    """Extent of a dilated kernel: ``(k - 1) * d + 1``."""
    return (kernel_size - 1) * dilation_rate + 1


def same_pads(length, kernel_size, strides=1, dilation_rate=1):
    """Keras/TF 'same' pads of one axis, the extra unit at the END.

    total = max((ceil(in / s) - 1) * s + (k - 1) * d + 1 - in, 0).

    Returns:
        (begin, end) tuple of ints.
    """
    out = -(-length // strides)
    total = max((out - 1) * strides + effective_kernel(kernel_size, dilation_rate) - length, 0)
    return total // 2, total - total // 2


def conv_pads(length, kernel_size, strides=1, dilation_rate=1, padding="valid"):
    """ONNX ``pads`` (begin, end) of one spatial axis for a Keras conv/pool padding mode."""
    if padding == "valid":
        return 0, 0
    if padding == "causal":
        return effective_kernel(kernel_size, dilation_rate) - 1, 0
    if padding == "same":
        return same_pads(length, kernel_size, strides, dilation_rate)
    raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")


def conv_output_length(length, kernel_size, strides=1, dilation_rate=1, padding="valid"):
    """Keras conv/pool output length of one axis (None when the input length is unknown).

    'valid': floor((in - k_eff) / s) + 1; 'same' and 'causal': ceil(in / s).
    A non-positive result means the window does not fit; it is returned as is so the caller can
    name the layer in its error.
    """
    if length is None:
        return None
    if padding in ("same", "causal"):
        return -(-length // strides)
    if padding == "valid":
        return (length - effective_kernel(kernel_size, dilation_rate)) // strides + 1
    raise ValueError(f"padding must be one of {PADDINGS}, got {padding!r}")


def conv_transpose_jax_pads(kernel_size, strides, dilation_rate, padding, output_padding=None):
    """Keras 3's transposed-conv padding of the dilated input (what its JAX backend computes).

    The transposed conv is a correlation of the stride-dilated input, padded by (left, right),
    with the flipped kernel. left = right = k_eff - 1 gives the full output.
    """
    k = effective_kernel(kernel_size, dilation_rate)
    if padding == "valid":
        if output_padding is None:
            output_padding = max(k, strides) - k
        return k - 1, k - 1 + output_padding
    if padding != "same":
        raise ValueError(f"padding must be 'same' or 'valid' for a transposed conv, got {padding!r}")
    if output_padding is None:
        pad_len = strides + k - 2
    else:
        pad_len = k + k % 2 - 2 + output_padding
    left = min(pad_len // 2 + pad_len % 2, k - 1)
    return left, pad_len - left


def conv_transpose_output_length(length, kernel_size, strides=1, dilation_rate=1, padding="valid",
                                 output_padding=None):
    """Keras transposed-conv output length of one axis (Keras's deconv_output_length)."""
    if length is None:
        return None
    left, right = conv_transpose_jax_pads(kernel_size, strides, dilation_rate, padding,
                                          output_padding)
    k = effective_kernel(kernel_size, dilation_rate)
    return (length - 1) * strides + 1 + left + right - (k - 1)


def conv_transpose_onnx_pads(kernel_size, strides=1, dilation_rate=1, padding="valid",
                             output_padding=None):
    """ONNX ConvTranspose (pad_begin, pad_end, output_padding) of one axis, never negative.

    The full ONNX output is ``(in - 1) * s + k_eff``; Keras keeps it from ``k_eff - 1 - left`` and
    extends it by ``right - (k_eff - 1)`` at the end. A positive extension (kernel < stride, or an
    explicit output_padding) becomes ONNX ``output_padding``; a negative one becomes ``pad_end``.
    """
    left, right = conv_transpose_jax_pads(kernel_size, strides, dilation_rate, padding,
                                          output_padding)
    k = effective_kernel(kernel_size, dilation_rate)
    begin = k - 1 - left
    extension = right - (k - 1)
    if begin < 0:
        raise ValueError(
            f"conv-transpose geometry kernel_size={kernel_size}, strides={strides}, "
            f"dilation_rate={dilation_rate}, padding={padding!r}, output_padding={output_padding} "
            f"would need a negative begin pad")
    if extension >= 0:
        return begin, 0, extension
    return begin, -extension, 0


def pool_output_length(length, pool_size, strides, padding):
    """Keras pooling output length (same formula as a conv with dilation 1)."""
    return conv_output_length(length, pool_size, strides, 1, padding)


def ceil_div(a, b):
    """ceil(a / b) for ints."""
    return -(-a // b)


def prod(values):
    """Product of ints (1 for an empty sequence); None if any is None."""
    if any(v is None for v in values):
        return None
    return math.prod(values)
