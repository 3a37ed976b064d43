"""Pad (every opset): constant / reflect / edge / wrap modes, negative pads (cropping), ``axes`` (18+).

Pads are an attribute before opset 11 and a plan-time constant input from 11 on. Every pad is resolved at
plan time into, per axis, a crop of the input (negative pads) and an index map from output coordinate to
input coordinate, so ``run`` never validates anything.

* ``constant``: numpy (fill + one slice assignment), for every element type.
* ``reflect`` / ``edge`` / ``wrap``: one Numba row-gather kernel for 4- and 8-byte element types
  (float32 / float64 / int32 / int64 ... viewed as integers of the same width); numpy fancy indexing for
  the rest (float16, 1- and 2-byte ints, bool, strings).

Reflect with a pad >= the (cropped) axis length has no single reflection; like onnxruntime, onnumba refuses
it with an error naming the axis (numpy would bounce back and forth). ``edge`` and ``wrap`` accept any pad
(``wrap`` repeats the axis periodically), but need a non-empty axis to copy from.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from onnumba.ops._common import INDEX, check_dtype, check_size, const_ints, require_input
from onnumba.ops._geometry import MAX_DIM
from onnumba.ops._numba import KERNEL, njit, prange
from onnumba.registry import Op, TensorInfo, register

MODES = ("constant", "reflect", "edge", "wrap")


@dataclass(frozen=True)
class PadAttrs:
    mode: str = "constant"
    #: opset < 11 attributes (None from opset 11 on, where they are inputs)
    pads: tuple | None = None
    value: float = 0.0
    #: filled by ``bind``
    begins: tuple | None = None
    ends: tuple | None = None
    out_shape: tuple | None = None
    #: non-constant modes: the precomputed gather plan (see ``_gather_plan``)
    gather: tuple | None = field(default=None, compare=False)


# ----------------------------------------------------------------------------------------------- kernel

@njit(**KERNEL)
def _pad_kernel_gather(x, out, row_src, col_src, c_lo, c_hi, c_shift):
    """out[b, r, j] = x[b, row_src[r] + col_src[j]]; for c_lo <= j < c_hi, col_src[j] == j - c_shift.

    x: (B, inner) flat input rows; out: (B, R, C). The middle run of each output row is a contiguous copy.
    """
    nb = out.shape[0]
    nr = out.shape[1]
    nc = out.shape[2]
    for t in prange(nb * nr):
        b = t // nr
        r = t - b * nr
        base = row_src[r]
        o = out[b, r]
        xs = x[b]
        for j in range(c_lo):
            o[j] = xs[base + col_src[j]]
        src = base - c_shift
        o[c_lo:c_hi] = xs[src + c_lo:src + c_hi]
        for j in range(c_hi, nc):
            o[j] = xs[base + col_src[j]]


# ----------------------------------------------------------------------------------------------- geometry

def _axis_map(node, mode: str, dim: int, b: int, e: int, axis: int) -> np.ndarray:
    """Input coordinate (in [0, dim)) for each output coordinate along one axis of a non-constant mode."""
    lo = max(0, -b)
    hi = dim - max(0, -e)
    n = hi - lo  # length of the cropped axis the padding copies from
    out_len = dim + b + e
    pb = max(b, 0)
    t = np.arange(out_len, dtype=np.int64) - pb  # coordinate relative to the cropped axis
    if (b > 0 or e > 0) and n <= 0:
        raise node.error(f"mode {mode!r} pads axis {axis} but the (cropped) axis is empty: nothing to copy from")
    if mode == "edge":
        t = np.clip(t, 0, max(n - 1, 0))
    elif mode == "wrap":
        t = np.mod(t, max(n, 1))
    elif mode == "reflect":
        if (b > 0 and b >= n) or (e > 0 and e >= n):
            raise node.error(f"mode 'reflect' needs each pad smaller than the axis it reflects: axis {axis} has "
                             f"length {n} after cropping but pads ({b}, {e}); use mode 'edge' or 'wrap', or "
                             f"smaller pads", input=1 if node.version >= 11 else None,
                             attribute=None if node.version >= 11 else "pads")
        t = np.abs(t)
        t = np.where(t > n - 1, 2 * (n - 1) - t, t)
    return t + lo


@register("Pad", versions=(1, 2, 11, 13, 18, 19, 21, 23, 24, 25), plan_constant_inputs=(1, 3))
class Pad(Op):
    """Pad ``data`` with ``pads`` = [x1_begin, x2_begin, ..., x1_end, x2_end, ...] per (selected) axis.

    Negative pads crop. ``constant_value`` (input 2, or attribute ``value`` before opset 11) may be a
    runtime value; ``pads`` and ``axes`` must be known at plan time. Reflect needs pads smaller than the
    axis (see the module docstring).
    """

    @classmethod
    def parse_attrs(cls, node) -> PadAttrs:
        mode = node.attr("mode", "constant", "str")
        if mode not in MODES or (mode == "wrap" and node.version < 19):
            allowed = MODES if node.version >= 19 else MODES[:3]
            raise node.error(f"mode must be one of {', '.join(allowed)} at opset {node.version}, got {mode!r}",
                             attribute="mode")
        if node.version >= 11:
            return PadAttrs(mode)
        name = "paddings" if node.version == 1 else "pads"
        pads = node.attr(name, None, "ints")
        if pads is None:
            raise node.error(f"Pad-{node.version} requires the {name} attribute", attribute=name)
        return PadAttrs(mode, tuple(pads), node.attr("value", 0.0, "float"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx) -> PadAttrs:
        x = require_input(node, inputs, 0, "data")
        rank = x.rank
        where = dict(attribute="paddings" if node.version == 1 else "pads")
        if node.version >= 11:
            where = dict(input=1)
            check_dtype(node, require_input(node, inputs, 1, "pads"), 1, (np.dtype(np.int64),), "pads")
            if inputs[1].rank != 1:
                raise node.error(f"pads must be a 1-d tensor, got shape {list(inputs[1].shape)}", input=1)
            pads = const_ints(node, consts, 1, "pads")
            axes = None
            if node.version >= 18 and node.has_input(3):
                check_dtype(node, inputs[3], 3, INDEX, "axes")
                axes = const_ints(node, consts, 3, "axes")
            if node.has_input(2):
                c = inputs[2]
                if c.dtype != x.dtype:
                    raise node.error(f"constant_value has element type {c.dtype.name} but data is "
                                     f"{x.dtype.name}; they must match", input=2)
                if c.size != 1 or c.rank > 1:
                    raise node.error(f"constant_value must be a scalar (or a 1-element 1-d tensor), got shape "
                                     f"{list(c.shape)}", input=2)
        else:
            pads, axes = attrs.pads, None
        if axes is None:
            axes = tuple(range(rank))
        else:
            seen = []
            for a in axes:
                if not -rank <= a < max(rank, 1):
                    raise node.error(f"axis {a} is out of range for data of rank {rank}", input=3)
                a = a + rank if a < 0 else a
                if a in seen:
                    raise node.error(f"axis {a} appears more than once in axes {list(axes)}", input=3)
                seen.append(a)
            axes = tuple(seen)
        n = len(axes)
        if len(pads) != 2 * n:
            raise node.error(f"expected {2 * n} values (begin and end for each of {n} axes), got {len(pads)}: "
                             f"{list(pads)}", **where)
        for p in pads:
            if abs(p) > MAX_DIM:
                raise node.error(f"pad values must be in [-{MAX_DIM}, {MAX_DIM}], got {list(pads)}", **where)
        begins, ends = [0] * rank, [0] * rank
        for k, a in enumerate(axes):
            begins[a], ends[a] = pads[k], pads[n + k]
        out = []
        for a, (d, b, e) in enumerate(zip(x.shape, begins, ends)):
            o = d + b + e
            if o < 0:
                raise node.error(f"pads ({b}, {e}) crop axis {a} of length {d} below zero", **where)
            out.append(o)
        out = tuple(out)
        check_size(node, out)
        gather = None
        if attrs.mode != "constant":
            gather = _gather_plan(node, x, attrs.mode, begins, ends, out)
        return PadAttrs(attrs.mode, attrs.pads, attrs.value, tuple(begins), tuple(ends), out, gather)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = np.asarray(arrays[0])
        if attrs.mode == "constant":
            if node.version >= 11:
                c = arrays[2] if len(arrays) > 2 and arrays[2] is not None else None
                value = np.asarray(c).reshape(-1)[0] if c is not None else ("" if x.dtype == object else 0)
            else:
                value = attrs.value
            return [_pad_constant(x, attrs.begins, attrs.ends, attrs.out_shape, value)]
        return [_pad_gather(x, attrs.out_shape, attrs.gather)]


def _pad_constant(x, begins, ends, out_shape, value) -> np.ndarray:
    out = np.full(out_shape, value, dtype=x.dtype)
    if out.size == 0:
        return out
    src, dst = [], []
    for d, b, e in zip(x.shape, begins, ends):
        src.append(slice(max(0, -b), d - max(0, -e)))
        dst.append(slice(max(0, b), max(0, b) + d - max(0, -b) - max(0, -e)))
    out[tuple(dst)] = x[tuple(src)]
    return out


def _gather_plan(node, x, mode, begins, ends, out_shape) -> tuple:
    """Validate a non-constant pad and precompute its index maps (once per plan).

    Returns ``("empty",)``, ``("ix", maps)`` for numpy fancy indexing, or ``("rows", B, row_src, col_src,
    c_lo, c_hi, c_shift, itype)`` for :func:`_pad_kernel_gather`.
    """
    maps = [_axis_map(node, mode, d, b, e, a) for a, (d, b, e) in enumerate(zip(x.shape, begins, ends))]
    if x.rank == 0 or x.size == 0 or int(np.prod(out_shape, dtype=np.int64)) == 0:
        return ("empty",)
    if x.dtype.itemsize not in (4, 8) or x.dtype.kind not in "fiu":
        return ("ix", tuple(maps))
    # leading axes that are neither padded nor cropped fold into one batch axis B
    rank = x.rank
    lead = 0
    while lead < rank - 1 and begins[lead] == 0 and ends[lead] == 0:
        lead += 1
    B = int(np.prod(x.shape[:lead], dtype=np.int64))
    in_inner = x.shape[lead:]
    strides = [1] * len(in_inner)
    for k in range(len(in_inner) - 2, -1, -1):
        strides[k] = strides[k + 1] * in_inner[k + 1]
    row_src = np.zeros((1,), dtype=np.int64)
    for k in range(len(in_inner) - 1):
        row_src = (row_src[:, None] + maps[lead + k][None, :] * strides[k]).reshape(-1)
    b_last = begins[-1]
    c_lo = max(b_last, 0)
    c_hi = c_lo + x.shape[-1] - max(0, -b_last) - max(0, -ends[-1])
    # in the middle run, input column = output column - begin pad (a negative pad crops)
    itype = np.dtype(np.int32) if x.dtype.itemsize == 4 else np.dtype(np.int64)
    return ("rows", B, row_src, maps[-1].astype(np.int64), c_lo, c_hi, b_last, itype)


def _pad_gather(x, out_shape, plan) -> np.ndarray:
    if plan[0] == "empty":
        return np.array(x, copy=True) if x.ndim == 0 else np.empty(out_shape, dtype=x.dtype)
    if plan[0] == "ix":
        return np.ascontiguousarray(x[np.ix_(*plan[1])])
    _, B, row_src, col_src, c_lo, c_hi, c_shift, itype = plan
    xi = np.ascontiguousarray(x).view(itype).reshape(B, -1)
    out = np.empty(out_shape, dtype=x.dtype)
    oi = out.view(itype).reshape(B, len(row_src), out_shape[-1])
    _pad_kernel_gather(xi, oi, row_src, col_src, c_lo, c_hi, c_shift)
    return out
