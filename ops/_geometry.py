"""All conv / pool / conv-transpose output sizes and pads, in one place (pure python, table-tested).

Functions raise :class:`GeometryError` naming the attribute at fault; ops turn it into a node error with
``raise node.error(str(e), attribute=e.attribute)``.

Kernels take a resolved window geometry as ONE int64 array (:func:`window_array`) instead of 20-odd
positional ints; its layout is the ``G_*`` index constants below (three spatial axes, depth first: 1-d and
2-d problems have leading unit axes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: no spatial size, pad or stride may exceed this (guards hostile attributes such as pads of 2**40)
MAX_DIM = 2 ** 31 - 1

AUTO_PADS = ("NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID")


#: index of each value in a :func:`window_array`: kernel, strides, dilations, begin pads, output and input sizes,
#: each for the (depth, height, width) axes. Kernels compile these in as constants (their cache stamps,
#: ops/_numba.py, include this module, so a layout change recompiles them).
(G_KD, G_KH, G_KW, G_SD, G_SH, G_SW, G_DD, G_DH, G_DW, G_PD, G_PH, G_PW, G_OD, G_OH, G_OW, G_ID, G_IH,
 G_IW) = range(18)
G_SIZE = 18


class GeometryError(ValueError):
    def __init__(self, message: str, attribute: str | None = None):
        super().__init__(message)
        self.attribute = attribute


@dataclass(frozen=True)
class Padding:
    """Pads per spatial axis: ``begins[i]`` before, ``ends[i]`` after. Always explicit after resolution."""

    begins: tuple
    ends: tuple

    @property
    def onnx_pads(self) -> tuple:
        return tuple(self.begins) + tuple(self.ends)


def _check_ints(name: str, values, n: int, minimum: int) -> tuple:
    values = tuple(int(v) for v in values)
    if len(values) != n:
        raise GeometryError(f"expected {n} values (one per spatial axis), got {len(values)}: {list(values)}", name)
    for v in values:
        if v < minimum or v > MAX_DIM:
            raise GeometryError(f"values must be in [{minimum}, {MAX_DIM}], got {list(values)}", name)
    return values


def check_window(kernel, strides, dilations, n: int) -> tuple:
    """Validate kernel_shape (>=1), strides (>=1) and dilations (>=1) for ``n`` spatial axes."""
    return (_check_ints("kernel_shape", kernel, n, 1), _check_ints("strides", strides, n, 1),
            _check_ints("dilations", dilations, n, 1))


def check_pads(pads, n: int, *, allow_negative: bool = False) -> Padding:
    """``pads`` attribute ([x1_begin, x2_begin, ..., x1_end, x2_end, ...]) -> Padding."""
    pads = tuple(int(p) for p in pads)
    if len(pads) != 2 * n:
        raise GeometryError(f"expected {2 * n} values (begin and end per spatial axis), got {len(pads)}: "
                            f"{list(pads)}", "pads")
    for p in pads:
        if (p < 0 and not allow_negative) or abs(p) > MAX_DIM:
            raise GeometryError(f"pads must be in [0, {MAX_DIM}], got {list(pads)}", "pads")
    return Padding(pads[:n], pads[n:])


def same_padding(in_sizes, kernel, strides, dilations, upper: bool) -> Padding:
    """SAME_UPPER / SAME_LOWER: output = ceil(in / stride); the odd unit goes at the end for UPPER.

    Uses the dilated kernel extent (k - 1) * d + 1, as the spec's formula does.
    """
    begins, ends = [], []
    for i, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-i // s)
        total = max((out - 1) * s + (k - 1) * d + 1 - i, 0)
        small = total // 2
        begins.append(small if upper else total - small)
        ends.append(total - small if upper else small)
    return Padding(tuple(begins), tuple(ends))


def same_pool_padding(in_sizes, kernel, strides, dilations, upper: bool) -> Padding:
    """SAME_UPPER / SAME_LOWER pads of a pool, per the spec: output ceil(in / s) and
    ``pad = (out - 1) * s + ((k - 1) * d + 1) - in``, NOT clamped at 0 (unlike :func:`same_padding`, Conv's):
    a kernel smaller than its stride gets a negative pad that shifts the windows, as in onnx's reference
    and onnxruntime. The begin pad is total/2 (UPPER) or (total+1)/2 (LOWER) rounded toward zero, which
    is the spec's odd-unit rule for total >= 0 and onnxruntime's choice for the unspecified negative case.
    """
    begins, ends = [], []
    for i, k, s, d in zip(in_sizes, kernel, strides, dilations):
        out = -(-i // s)
        total = (out - 1) * s + (k - 1) * d + 1 - i
        b = int(total / 2) if upper else int((total + 1) / 2)
        begins.append(b)
        ends.append(total - b)
    return Padding(tuple(begins), tuple(ends))


def resolve_padding(auto_pad: str, pads, in_sizes, kernel, strides, dilations) -> Padding:
    """Turn ``auto_pad`` + ``pads`` into explicit pads for concrete input sizes (conv and pool)."""
    n = len(in_sizes)
    if auto_pad not in AUTO_PADS:
        raise GeometryError(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", "auto_pad")
    if auto_pad != "NOTSET" and pads and any(pads):
        # the spec: pads "cannot be used simultaneously with auto_pad" (all-zero pads, which some exporters
        # write next to VALID, change nothing and are accepted)
        raise GeometryError(f"pads {list(pads)} cannot be used together with auto_pad={auto_pad!r}; give one of "
                            f"them", "pads")
    if auto_pad == "VALID":
        return Padding((0,) * n, (0,) * n)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return same_padding(in_sizes, kernel, strides, dilations, auto_pad == "SAME_UPPER")
    return check_pads(pads if pads else (0,) * (2 * n), n)


def window_output_sizes(in_sizes, kernel, strides, dilations, padding: Padding, *, ceil_mode: bool = False,
                        what: str = "input") -> tuple:
    """Output spatial sizes of a sliding window (Conv, MaxPool, AveragePool ...).

    floor((in + pb + pe - ((k-1)*d + 1)) / s) + 1, or ceil(...) with ``ceil_mode``, where a last window
    that would start inside the end padding is dropped (ONNX / PyTorch rule).
    """
    out = []
    for ax, (i, k, s, d, pb, pe) in enumerate(zip(in_sizes, kernel, strides, dilations, padding.begins,
                                                  padding.ends)):
        ext = (k - 1) * d + 1
        span = i + pb + pe - ext
        if span < 0:
            raise GeometryError(f"the window (kernel {k}, dilation {d}: extent {ext}) is larger than the padded "
                                f"{what} along spatial axis {ax} ({i} + pads {pb} + {pe} = {i + pb + pe})",
                                "kernel_shape")
        if ceil_mode:
            o = -(-span // s) + 1
            # ONNX ceil_mode drops a window that starts in the end padding
            if (o - 1) * s >= i + pb:
                o -= 1
        else:
            o = span // s + 1
        out.append(o)
    return tuple(out)


def _split_total(full, out, upper: bool) -> Padding:
    """Split ``total = full - out`` per axis: the odd unit at the end for SAME_UPPER, at the start otherwise.

    The spec's ``total / 2`` is read as floor division, as onnx's reference implementation does and its node
    case ``test_convtranspose_output_shape`` needs (total -1: the extra zero row last). A negative total
    (output larger than the full result) therefore puts its odd unit at the end unless SAME_UPPER:
    total -3 -> begin -1, end -2 (SAME_UPPER: begin -2, end -1).
    """
    begins, ends = [], []
    for f, o in zip(full, out):
        total = f - o
        half = total // 2
        b = half if upper else total - half
        begins.append(b)
        ends.append(total - b)
    return Padding(tuple(begins), tuple(ends))


def conv_transpose_geometry(in_sizes, kernel, strides, dilations, *, auto_pad: str = "NOTSET", pads=None,
                            output_padding=None, output_shape=None) -> tuple:
    """Output sizes and pads of ConvTranspose, per the spec.

    Returns ``(out_sizes, Padding)``. Pads may be negative when ``output_shape`` asks for an output larger
    than the full (unpadded) result; the full result is then extended with zeros.

    full = s * (in - 1) + output_padding + (k - 1) * d + 1
    given output_shape: total = full - out; SAME_UPPER puts the odd unit at the end, otherwise at the start
    SAME_*: out = in * s; explicit pads: out = full - pb - pe.
    """
    n = len(in_sizes)
    if auto_pad not in AUTO_PADS:
        raise GeometryError(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", "auto_pad")
    op = _check_ints("output_padding", output_padding if output_padding else (0,) * n, n, 0)
    for o, s, d in zip(op, strides, dilations):
        if o >= s and o >= d:
            raise GeometryError(f"each value must be smaller than its stride or dilation "
                                f"(strides {list(strides)}, dilations {list(dilations)}), got {list(op)}",
                                "output_padding")
    full = [s * (i - 1) + o + (k - 1) * d + 1 for i, k, s, d, o in zip(in_sizes, kernel, strides, dilations, op)]
    if output_shape:
        out = tuple(int(v) for v in output_shape)
        if len(out) != n:
            raise GeometryError(f"expected {n} values (one per spatial axis), got {list(out)}", "output_shape")
        for v in out:
            if v < 1 or v > MAX_DIM:
                raise GeometryError(f"values must be in [1, {MAX_DIM}], got {list(out)}", "output_shape")
        return out, _split_total(full, out, auto_pad == "SAME_UPPER")
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        out = tuple(i * s for i, s in zip(in_sizes, strides))
        return out, _split_total(full, out, auto_pad == "SAME_UPPER")
    padding = Padding((0,) * n, (0,) * n) if auto_pad == "VALID" else check_pads(pads if pads else (0,) * (2 * n), n)
    out = tuple(f - pb - pe for f, pb, pe in zip(full, padding.begins, padding.ends))
    for ax, o in enumerate(out):
        if o < 1:
            raise GeometryError(f"pads {list(padding.onnx_pads)} leave no output along spatial axis {ax} "
                                f"(full size {full[ax]})", "pads")
    return out, padding


def pad3(values, fill: int) -> tuple:
    """``values`` (one per spatial axis, 1 to 3 of them) with leading ``fill`` entries up to 3 axes."""
    return (fill,) * (3 - len(values)) + tuple(int(v) for v in values)


def window_array(kernel, strides, dilations, pads_begin, out_sizes, in_sizes) -> np.ndarray:
    """The int64 geometry array kernels take (layout: the ``G_*`` constants), for 1 to 3 spatial axes.

    Every argument has one value per spatial axis; missing leading axes get kernel, stride, dilation and
    sizes 1 and pad 0, so a kernel written for three axes serves every rank.
    """
    g = (pad3(kernel, 1) + pad3(strides, 1) + pad3(dilations, 1) + pad3(pads_begin, 0) + pad3(out_sizes, 1)
         + pad3(in_sizes, 1))
    return np.array(g, dtype=np.int64)
