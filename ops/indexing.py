"""Indexing and shape-manipulation operators: Split, Gather, Tile, Trilu, OneHot, NonZero, Compress.

These move data (views, ``np.tile``, reshape + transpose copies, boolean masks), so numpy is as fast as a
kernel would be. Outputs whose size depends on data (NonZero, Compress, OneHot's depth, Split's and Tile's
sizes) declare those inputs plan-constant: like Reshape's shape, a fed value is then folded into a
plan specialised to it (see ``runtime/planner.py``), so every output shape is concrete when the plan is made.
A fed value is limited to the session's value-input size (4096 elements); larger data-dependent inputs
are refused with a clear error. Gather's indices are range-checked at plan time when constant, in ``run`` before
use when fed. The element-wise gathers and scatters live in ``ops/scatter.py``, DepthToSpace / SpaceToDepth in
``ops/space_depth.py``, Einsum in ``ops/einsum.py``, Range in ``ops/generator.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import InputError, shape_str
from onnumba.ops._common import (
    INDEX,
    NUMERIC,
    check_dtype,
    check_size,
    const_ints,
    normalize_axis,
    require_input,
)
from onnumba.ops.shape import ANY, BOOL
from onnumba.registry import Op, TensorInfo, register

try:
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
    _BF16 = (BF16,)
except ImportError:  # pragma: no cover - ml_dtypes ships with onnx
    BF16, _BF16 = None, ()

#: every element type these data-moving ops accept (bfloat16 included: nothing is computed on it)
MOVABLE = ANY + _BF16
I64 = np.dtype(np.int64)


def scalar_value(node, consts, i: int, what: str):
    """A plan-constant one-element input as a python number (int for integer types, float otherwise)."""
    c = consts[i] if i < len(consts) else None
    if c is None:
        raise node.error(f"{what} must be a constant known at plan time", input=i)
    if c.size != 1:
        raise node.error(f"{what} must have exactly one element, got shape {shape_str(c.shape)}", input=i)
    if c.dtype.kind in "iu":
        return int(c.reshape(-1)[0])
    if c.dtype.kind == "b":
        return int(bool(c.reshape(-1)[0]))
    return float(np.asarray(c, dtype=np.float64).reshape(-1)[0])


# =============================================================================================== Split

@dataclass(frozen=True)
class SplitAttrs:
    axis: int
    split_attr: tuple | None
    num_outputs: int | None
    #: filled by bind: the resolved axis and the (start, stop) of every output along it
    bounds: tuple | None = None


@register("Split", versions=(1, 2, 11, 13, 18), plan_constant_inputs=(1,))
class Split(Op):
    """Cut the input along ``axis`` into the outputs; every output is a view.

    Sizes come from the ``split`` attribute (before opset 13; opset 1 also took it as input 1), input 1
    (opset 13+), ``num_outputs`` (opset 18+: parts of ceil(dim / n), the last one smaller), or else equal
    parts over the node's outputs (the axis must divide evenly).
    """

    @classmethod
    def parse_attrs(cls, node):
        n_out = len(node.outputs)
        if n_out < 1:
            raise node.error("needs at least one output")
        split_attr = None
        if node.version < 13:
            split_attr = node.attr("split", None, kind="ints")
            if split_attr is not None:
                split_attr = tuple(split_attr)
        elif "split" in node.attrs:
            raise node.error(f"Split-{node.version} takes split as input 1, not an attribute", attribute="split")
        num = None
        if node.version >= 18 and "num_outputs" in node.attrs:
            num = node.attr("num_outputs", kind="int")
            if num < 1 or num != n_out:
                raise node.error(f"num_outputs={num} must be >= 1 and equal the node's {n_out} outputs",
                                 attribute="num_outputs")
            if node.has_input(1):
                raise node.error("give either the split input or the num_outputs attribute, not both",
                                 attribute="num_outputs")
        elif "num_outputs" in node.attrs:
            raise node.error(f"num_outputs exists from opset 18; this node is version {node.version}",
                             attribute="num_outputs")
        if node.version in (2, 11) and node.has_input(1):
            raise node.error(f"Split-{node.version} has one input; give the sizes as the 'split' attribute",
                             input=1)
        return SplitAttrs(node.attr("axis", 0, kind="int"), split_attr, num)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "input")
        if x.rank < 1:
            raise node.error("the input must have rank >= 1, got a scalar", input=0)
        # negative axes are spec'd from opset 11, but exporters emit them earlier (pytorch's GLU at opset 6)
        # and onnxruntime accepts them: their meaning is unambiguous
        axis = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        dim, n_out = x.shape[axis], len(node.outputs)
        where = {"attribute": "split"}
        if node.has_input(1):
            check_dtype(node, inputs[1], 1, (I64,), "split")
            if inputs[1].rank != 1:
                raise node.error(f"split must be a 1-d tensor, got shape {shape_str(inputs[1].shape)}", input=1)
            sizes, where = const_ints(node, consts, 1, "split"), {"input": 1}
        elif attrs.split_attr is not None:
            sizes = attrs.split_attr
        elif attrs.num_outputs is not None:
            # opset 18: parts of ceil(dim / n); the last takes the rest, which must not be negative
            part = -(-dim // n_out)
            sizes = (part,) * (n_out - 1) + (dim - part * (n_out - 1),)
            if sizes[-1] < 0:
                raise node.error(f"axis {axis} of size {dim} cannot be cut into {n_out} parts of {part} with a "
                                 f"smaller last part (the last would be {sizes[-1]})", attribute="num_outputs")
        else:
            if dim % n_out:
                raise node.error(f"axis {axis} of size {dim} does not split evenly into the node's {n_out} "
                                 f"outputs; give the sizes explicitly", input=0)
            sizes = (dim // n_out,) * n_out
        if len(sizes) != n_out:
            raise node.error(f"split {list(sizes)} has {len(sizes)} sizes but the node has {n_out} outputs",
                             **where)
        if any(s < 0 for s in sizes) or sum(sizes) != dim:
            raise node.error(f"split {list(sizes)} must be non-negative sizes summing to the size {dim} of axis "
                             f"{axis} (input shape {shape_str(x.shape)})", **where)
        bounds, pos = [], 0
        for s in sizes:
            bounds.append((pos, pos + s))
            pos += s
        return replace(attrs, axis=axis, bounds=tuple(bounds))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        check_dtype(node, x, 0, MOVABLE)
        a = attrs.axis
        return [TensorInfo(x.dtype, x.shape[:a] + (e - s,) + x.shape[a + 1:]) for s, e in attrs.bounds]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, lead = arrays[0], (slice(None),) * attrs.axis
        return [x[lead + (slice(s, e),)] for s, e in attrs.bounds]


# ============================================================================================== Gather

@dataclass(frozen=True)
class GatherAttrs:
    axis: int
    checked: bool = False  # indices were constant and range-checked at plan time


@register("Gather", versions=(1, 11, 13))
class Gather(Op):
    """``np.take(data, indices, axis)``; negative indices count from the end of ``axis``.

    Indices known at plan time are range-checked then; fed indices are checked in ``run`` before use.
    """

    @classmethod
    def parse_attrs(cls, node):
        return GatherAttrs(node.attr("axis", 0, kind="int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "data")
        idx = require_input(node, inputs, 1, "indices")
        if x.rank < 1:
            raise node.error("data must have rank >= 1, got a scalar", input=0)
        check_dtype(node, idx, 1, INDEX, "indices")
        axis = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        checked = False
        if consts[1] is not None:
            _check_indices(node, consts[1], x.shape[axis], axis, cls=None)
            checked = True
        return GatherAttrs(axis, checked)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x, idx = inputs[0], inputs[1]
        check_dtype(node, x, 0, ANY)
        a = attrs.axis
        out = x.shape[:a] + idx.shape + x.shape[a + 1:]
        check_size(node, out)
        return [TensorInfo(x.dtype, out)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, idx = arrays
        if not attrs.checked:
            _check_indices(node, idx, x.shape[attrs.axis], attrs.axis, cls=InputError)
        return [np.asarray(np.take(x, idx, axis=attrs.axis))]  # 1-d data, 0-d index: np.take gives a scalar


def _check_indices(node, idx: np.ndarray, n: int, axis: int, cls) -> None:
    if idx.size == 0:
        return
    lo, hi = int(idx.min()), int(idx.max())
    if lo < -n or hi >= n:
        bad = lo if lo < -n else hi
        kw = {} if cls is None else {"cls": cls}
        raise node.error(f"index {bad} is out of range for axis {axis} of size {n} (expected {-n} <= index < "
                         f"{n})", input=1, **kw)


# ================================================================================================ Tile

@dataclass(frozen=True)
class TileAttrs:
    reps: tuple | None = None


@register("Tile", versions=(1, 6, 13), plan_constant_inputs=(1, 2))
class Tile(Op):
    """Repeat the input ``repeats[d]`` times along each axis d (opset 1: ``tiles`` times along input 2's
    ``axis``); the counts are plan-constant."""

    @classmethod
    def parse_attrs(cls, node):
        return TileAttrs()

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "input")
        if node.version < 6:
            require_input(node, inputs, 1, "tiles")
            require_input(node, inputs, 2, "axis")
            tiles = scalar_value(node, consts, 1, "tiles")
            axis = scalar_value(node, consts, 2, "axis")
            if not isinstance(tiles, int) or not isinstance(axis, int):
                raise node.error("tiles and axis must be integer scalars", input=1)
            axis = normalize_axis(node, axis, x.rank, input=2)
            reps = tuple(tiles if k == axis else 1 for k in range(x.rank))
            where = {"input": 1}
        else:
            r = require_input(node, inputs, 1, "repeats")
            check_dtype(node, r, 1, (I64,), "repeats")
            if r.rank != 1:
                raise node.error(f"repeats must be a 1-d tensor, got shape {shape_str(r.shape)}", input=1)
            reps, where = const_ints(node, consts, 1, "repeats"), {"input": 1}
            if len(reps) != x.rank:
                raise node.error(f"repeats {list(reps)} has {len(reps)} values but the input has rank {x.rank} "
                                 f"(shape {shape_str(x.shape)})", **where)
        if any(k < 0 for k in reps):
            raise node.error(f"repeats {list(reps)} must be non-negative", **where)
        check_size(node, tuple(d * k for d, k in zip(x.shape, reps)))
        return TileAttrs(reps)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        check_dtype(node, x, 0, MOVABLE)
        return [TensorInfo(x.dtype, tuple(d * k for d, k in zip(x.shape, attrs.reps)))]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.tile(arrays[0], attrs.reps).reshape(tuple(d * k for d, k in zip(arrays[0].shape, attrs.reps)))]


# =============================================================================================== Trilu

@dataclass(frozen=True)
class TriluAttrs:
    upper: bool


@register("Trilu", versions=(14,))
class Trilu(Op):
    """Keep the upper (``upper=1``) or lower triangle of the last two axes, shifted by the scalar ``k``
    (input 1, default 0; read at run time since it does not change the shape); the rest becomes 0."""

    @classmethod
    def parse_attrs(cls, node):
        upper = node.attr("upper", 1, kind="int")
        if upper not in (0, 1):
            raise node.error(f"must be 0 or 1, got {upper}", attribute="upper")
        return TriluAttrs(bool(upper))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        check_dtype(node, x, 0, NUMERIC + (BOOL,) + _BF16)
        if x.rank < 2:
            raise node.error(f"the input must have rank >= 2, got shape {shape_str(x.shape)}", input=0)
        if node.has_input(1):
            check_dtype(node, inputs[1], 1, (I64,), "k")
            if inputs[1].size != 1 or inputs[1].rank > 1:
                raise node.error(f"k must be a scalar, got shape {shape_str(inputs[1].shape)}", input=1)
        return [x]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        k = int(arrays[1].reshape(-1)[0]) if len(arrays) > 1 and arrays[1] is not None else 0
        rows, cols = x.shape[-2:]
        k = min(max(k, -rows - 1), cols + 1)  # beyond the matrix every k selects the same cells
        r = np.arange(rows)[:, None]
        c = np.arange(cols)[None, :]
        keep = (c - r >= k) if attrs.upper else (c - r <= k)
        return [np.where(keep, x, np.zeros((), x.dtype))]


# ============================================================================================== OneHot

@dataclass(frozen=True)
class OneHotAttrs:
    axis: int
    depth: int | None = None


@register("OneHot", versions=(9, 11, 28), plan_constant_inputs=(1,))
class OneHot(Op):
    """Output[..., j, ...] = on if j == index else off, with j along ``axis`` (default -1, a new axis) and
    ``depth`` (plan-constant) classes. Negative indices count from ``depth`` (opset 11+); indices outside
    [-depth, depth) ([0, depth) in opset 9) give an all-``off`` row (the spec's rule, not an error). Float indices are truncated toward zero."""

    @classmethod
    def parse_attrs(cls, node):
        return OneHotAttrs(node.attr("axis", -1, kind="int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        idx = require_input(node, inputs, 0, "indices")
        check_dtype(node, idx, 0, NUMERIC, "indices")
        d = require_input(node, inputs, 1, "depth")
        check_dtype(node, d, 1, NUMERIC, "depth")
        depth = scalar_value(node, consts, 1, "depth")
        if not depth >= 1 or depth != depth:
            raise node.error(f"depth must be >= 1, got {depth}", input=1)
        depth = int(depth)
        check_size(node, (idx.size, depth))
        axis = normalize_axis(node, attrs.axis, idx.rank, attribute="axis", extra=1)
        return OneHotAttrs(axis, depth)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        idx, v = inputs[0], require_input(node, inputs, 2, "values")
        check_dtype(node, v, 2, MOVABLE if node.version >= 28 else ANY, "values")
        if v.rank != 1 or v.size != 2:
            raise node.error(f"values must be [off_value, on_value] (shape (2,)), got shape {shape_str(v.shape)}",
                             input=2)
        a = attrs.axis
        return [TensorInfo(v.dtype, idx.shape[:a] + (attrs.depth,) + idx.shape[a:])]

    @classmethod
    def run(cls, node, attrs, arrays):
        idx, _, values = arrays
        depth, a = attrs.depth, attrs.axis
        with np.errstate(invalid="ignore"):
            i = np.trunc(idx).astype(np.int64) if idx.dtype.kind == "f" else idx.astype(np.int64)
        if node.version >= 11:  # OneHot-9 matches [0, depth) only; 11 counts negatives from depth
            i = np.where(i < 0, i + depth, i)  # out-of-range values stay unmatched: an all-off row
        i = np.expand_dims(i, a)
        classes = np.arange(depth, dtype=np.int64).reshape((depth,) + (1,) * (idx.ndim - a))
        return [np.where(i == classes, values[1], values[0]).astype(values.dtype, copy=False)]


# ============================================================================================= NonZero

@register("NonZero", versions=(9, 13), plan_constant_inputs=(0,))
class NonZero(Op):
    """The indices of the non-zero elements, as an int64 (rank, count) matrix in row-major order.

    The count depends on the data, so the input is plan-constant: a fed input folds into a plan made for its
    value. A scalar is treated as a one-element 1-d tensor (onnxruntime's (1, count) result).
    """

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, NUMERIC + (BOOL,) + _BF16)
        c = consts[0]
        n = int(np.count_nonzero(c))
        return [TensorInfo(I64, (max(x.rank, 1), n))]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        x = x.reshape(1) if x.ndim == 0 else x
        return [np.array(np.nonzero(x), dtype=np.int64).reshape(x.ndim, -1)]


# ============================================================================================ Compress

@dataclass(frozen=True)
class CompressAttrs:
    axis: int | None
    keep: np.ndarray | None = None  # the selected positions along the axis (or of the flattened input)


@register("Compress", versions=(9, 11, 28), plan_constant_inputs=(1,))
class Compress(Op):
    """The slices of the input along ``axis`` (the elements of the flattened input when ``axis`` is absent)
    where the plan-constant boolean ``condition`` is true; a condition shorter than the axis drops the rest."""

    @classmethod
    def parse_attrs(cls, node):
        return CompressAttrs(node.attr("axis", None, kind="int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "input")
        c = require_input(node, inputs, 1, "condition")
        check_dtype(node, c, 1, (BOOL,), "condition")
        if c.rank != 1:
            raise node.error(f"condition must be a 1-d tensor, got shape {shape_str(c.shape)}", input=1)
        axis = attrs.axis
        if axis is not None:
            if x.rank < 1:
                raise node.error("the input must have rank >= 1 when an axis is given, got a scalar", input=0)
            axis = normalize_axis(node, axis, x.rank, attribute="axis")
            dim = x.shape[axis]
        else:
            dim = x.size
        if c.size > dim:
            raise node.error(f"condition has {c.size} values but the {'axis' if axis is not None else 'input'} "
                             f"has only {dim} {'slices' if axis is not None else 'elements'}", input=1)
        keep = np.flatnonzero(consts[1])
        keep.setflags(write=False)
        return CompressAttrs(axis, keep)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        check_dtype(node, x, 0, MOVABLE if node.version >= 28 else ANY)
        n, a = len(attrs.keep), attrs.axis
        return [TensorInfo(x.dtype, (n,) if a is None else x.shape[:a] + (n,) + x.shape[a + 1:])]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        if attrs.axis is None:
            return [x.reshape(-1)[attrs.keep]]
        return [np.take(x, attrs.keep, axis=attrs.axis)]
