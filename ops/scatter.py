"""Element-wise gathers and scatters: GatherElements, GatherND, ScatterElements (and the old Scatter), ScatterND.

Every index is range-checked and made non-negative in Python (``checked_indices``) before a kernel sees it;
the kernels then trust their offsets (Numba has no bounds checks). Plain data movement (gathers, scatters
without reduction) runs on the bytes reinterpreted as an unsigned integer of the element's size, so one
compiled kernel serves every type of that size; reductions compute in the element type (float16 and bfloat16
in float32, bool as uint8). The kernels are serial: scatters because duplicate indices must apply in index
order, gathers because they are memory-bound random reads (threads did not pay on the shared machines).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import InputError, ModelError, shape_str
from onnumba.ops._common import INDEX, NUMERIC, check_dtype, compute_dtype, normalize_axis, require_input
from onnumba.ops._numba import INLINE, SERIAL, njit
from onnumba.ops.indexing import MOVABLE
from onnumba.ops.shape import BOOL
from onnumba.registry import Op, TensorInfo, register

_REDUCTIONS = {"none": 0, "add": 1, "mul": 2, "max": 3, "min": 4}
_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


def checked_indices(node, idx: np.ndarray, bound, *, what: str, input: int = 1, negative: bool = True,
                    cls=InputError) -> np.ndarray:
    """``idx`` as int64 with negative values counted from ``bound``, or raise naming the first bad value.

    ``bound`` is an int, or a 1-d int64 array with one bound per entry of ``idx``'s last axis (GatherND /
    ScatterND: one per index column). ``negative=False`` (Scatter-9) accepts only [0, bound).
    """
    i = np.asarray(idx).astype(np.int64, copy=False)
    if i.size == 0:
        return i
    b = np.asarray(bound, dtype=np.int64)
    cols = i.reshape(-1, b.size) if b.ndim else i.reshape(-1, 1)
    lo, hi = cols.min(axis=0), cols.max(axis=0)  # two fast reductions; the slow search only on failure
    if (lo < (-b if negative else 0)).any() or (hi >= b).any():
        bad = (i < (-b if negative else 0)) | (i >= b)
        pos = tuple(int(p) for p in np.argwhere(bad)[0])
        n = int(np.broadcast_to(b, i.shape)[pos])
        lo_n = -n if negative else 0
        raise node.error(f"index {int(i[pos])} at position {pos} is out of range for {what} of size {n} "
                         f"(expected {lo_n} <= index < {n})", input=input, cls=cls)
    if (lo < 0).any():
        return np.where(i < 0, i + b, i)
    return i


def _strides(shape) -> np.ndarray:
    """Row-major element strides of ``shape``."""
    return np.array([math.prod(shape[d + 1:]) for d in range(len(shape))], dtype=np.int64)


def _bits(a: np.ndarray) -> np.ndarray:
    """A flat C-order view of ``a``'s bytes as unsigned integers of its item size (for data movement only)."""
    return np.ascontiguousarray(a).reshape(-1).view(_UINT[a.dtype.itemsize])


def _reduce_dtype(dt: np.dtype) -> np.dtype:
    return np.dtype(np.uint8) if dt == BOOL else compute_dtype(dt)


# ============================================================================================== kernels

@njit(**INLINE)
def _combine(old, new, red):
    if red == 1:
        return old + new
    if red == 2:
        return old * new
    if red == 3:
        return new if old < new else old
    if red == 4:
        return new if new < old else old
    return new


@njit(**SERIAL)
def _gather_elements_kernel(data, idx, out):
    # data (outer, n, inner), idx / out (outer, m, inner): out[o, j, i] = data[o, idx[o, j, i], i]
    for o in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            for i in range(idx.shape[2]):
                out[o, j, i] = data[o, idx[o, j, i], i]


@njit(**SERIAL)
def _scatter_elements_kernel(out, idx, upd, red):
    for o in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            for i in range(idx.shape[2]):
                t = idx[o, j, i]
                out[o, t, i] = _combine(out[o, t, i], upd[o, j, i], red)


@njit(**SERIAL)
def _gather_nd_kernel(data, batch_size, idx, strides, slice_size, out):
    # idx: (batches, tuples, k); output row (batch, tuple) copies one slice of slice_size elements
    p = 0
    for b in range(idx.shape[0]):
        for j in range(idx.shape[1]):
            off = b * batch_size
            for t in range(idx.shape[2]):
                off += idx[b, j, t] * strides[t]
            out[p:p + slice_size] = data[off:off + slice_size]  # a slice copy: no per-element aliasing checks
            p += slice_size


@njit(**SERIAL)
def _scatter_nd_kernel(out, idx, strides, upd, slice_size, red):
    for j in range(idx.shape[0]):
        off = 0
        for t in range(idx.shape[1]):
            off += idx[j, t] * strides[t]
        for s in range(slice_size):
            out[off + s] = _combine(out[off + s], upd[j * slice_size + s], red)


# ======================================================================================= GatherElements

@dataclass(frozen=True)
class ElementsAttrs:
    axis: int
    reduction: int = 0


def _check_elements(node, inputs, axis: int, scatter: bool) -> int:
    """Shared shape checks of GatherElements / ScatterElements; returns the resolved axis."""
    x = require_input(node, inputs, 0, "data")
    idx = require_input(node, inputs, 1, "indices")
    check_dtype(node, idx, 1, INDEX, "indices")
    if x.rank < 1:
        raise node.error("data must have rank >= 1, got a scalar", input=0)
    if idx.rank != x.rank:
        raise node.error(f"indices must have the rank of data {shape_str(x.shape)}, got shape "
                         f"{shape_str(idx.shape)}", input=1)
    a = normalize_axis(node, axis, x.rank, attribute="axis")
    for d in range(x.rank):
        if d != a and idx.shape[d] > x.shape[d]:
            raise node.error(f"indices shape {shape_str(idx.shape)} exceeds data shape {shape_str(x.shape)} on "
                             f"axis {d} (only the axis {a} dimension may be larger)", input=1)
    if scatter:
        refuse_empty_axis(node, x.shape, (a,), idx)
        u = require_input(node, inputs, 2, "updates")
        if u.shape != idx.shape:
            raise node.error(f"updates must have the shape of indices {shape_str(idx.shape)}, got "
                             f"{shape_str(u.shape)}", input=2)
        if u.dtype != x.dtype:
            raise node.error(f"updates has element type {u.dtype.name} but data has {x.dtype.name}", input=2)
    return a


def _elements_block(x_shape, idx_shape, axis) -> tuple:
    """The part of the data the indices address (their extent on every axis but ``axis``) as slices, and
    the (outer, n, inner) shape it takes once copied contiguous."""
    sl = tuple(slice(None) if k == axis else slice(0, d) for k, d in enumerate(idx_shape))
    outer = math.prod(idx_shape[:axis])
    inner = math.prod(idx_shape[axis + 1:])
    return sl, (outer, x_shape[axis], inner)


def _elements_idx(node, x, idx, axis, negative=True) -> np.ndarray:
    i = checked_indices(node, idx, x.shape[axis], what=f"data axis {axis}", negative=negative)
    _, (outer, _, inner) = _elements_block(x.shape, idx.shape, axis)
    return np.ascontiguousarray(i).reshape(outer, idx.shape[axis], inner)


@register("GatherElements", versions=(11, 13))
class GatherElements(Op):
    """``out[i][j][k] = data[index[i][j][k]][j][k]`` (for axis 0): one element per index, negative ones
    counting from the end of ``axis``; the output has the indices' shape."""

    @classmethod
    def parse_attrs(cls, node):
        return ElementsAttrs(node.attr("axis", 0, kind="int"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        return replace(attrs, axis=_check_elements(node, inputs, attrs.axis, False))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        check_dtype(node, inputs[0], 0, MOVABLE)
        if consts[1] is not None:
            checked_indices(node, consts[1], inputs[0].shape[attrs.axis], what=f"data axis {attrs.axis}",
                            cls=ModelError)
        return [TensorInfo(inputs[0].dtype, inputs[1].shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, idx = arrays
        if x.dtype == object:
            i = checked_indices(node, idx, x.shape[attrs.axis], what=f"data axis {attrs.axis}")
            sub = x[tuple(slice(0, d) if k != attrs.axis else slice(None) for k, d in enumerate(idx.shape))]
            return [np.take_along_axis(sub, i, attrs.axis)]
        i = _elements_idx(node, x, idx, attrs.axis)
        sl, block = _elements_block(x.shape, idx.shape, attrs.axis)
        data = _bits(x[sl]).reshape(block)  # a copy only when the indices cover part of the other axes
        out = np.empty(i.shape, dtype=data.dtype)
        _gather_elements_kernel(data, i, out)
        return [out.view(x.dtype).reshape(idx.shape)]


# ================================================================================== ScatterElements, Scatter

def _parse_reduction(node, first_max: int = 18) -> int:
    """The ``reduction`` attribute (opset 16+: none/add/mul; 18+: max/min too) as a kernel code."""
    if node.version < 16:
        if "reduction" in node.attrs:
            raise node.error(f"the 'reduction' attribute exists from opset 16; this node is version "
                             f"{node.version}", attribute="reduction")
        return 0
    red = node.attr("reduction", "none", kind="str")
    allowed = ("none", "add", "mul") + (("max", "min") if node.version >= first_max else ())
    if red not in allowed:
        raise node.error(f"must be one of {', '.join(allowed)} at opset {node.version}, got {red!r}",
                         attribute="reduction")
    return _REDUCTIONS[red]


def _scatter_data(node, x: np.ndarray, upd: np.ndarray, red: int):
    """(out as a flat writable array in the kernel's type, flat updates, function restoring x's type)."""
    if red == 0:
        out = np.array(x, order="C", copy=True).reshape(-1)
        bits = out.view(_UINT[x.dtype.itemsize])
        return bits, _bits(upd), lambda o: out.reshape(x.shape)
    cdt = _reduce_dtype(x.dtype)
    out = np.array(x, dtype=cdt, order="C", copy=True).reshape(-1)
    u = np.ascontiguousarray(upd, dtype=cdt).reshape(-1)
    if x.dtype == BOOL:
        return out, u, lambda o: (o != 0).reshape(x.shape)
    return out, u, lambda o: o.astype(x.dtype, copy=False).reshape(x.shape)


def _check_scatter_dtype(node, x: TensorInfo, red: int) -> None:
    if red == 0:
        check_dtype(node, x, 0, tuple(d for d in MOVABLE if d != object))
    else:
        check_dtype(node, x, 0, NUMERIC + (BOOL,) + tuple(d for d in MOVABLE if d.kind == "V"),
                    "with a reduction")


class _ScatterElementsBase(Op):
    @classmethod
    def negative_indices(cls, node) -> bool:
        return True

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        return replace(attrs, axis=_check_elements(node, inputs, attrs.axis, True))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        _check_scatter_dtype(node, inputs[0], attrs.reduction)
        if consts[1] is not None:
            checked_indices(node, consts[1], inputs[0].shape[attrs.axis], what=f"data axis {attrs.axis}",
                            negative=cls.negative_indices(node), cls=ModelError)
        return [inputs[0]]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, idx, upd = arrays
        i = _elements_idx(node, x, idx, attrs.axis, cls.negative_indices(node))
        sl, block = _elements_block(x.shape, idx.shape, attrs.axis)
        out, u, back = _scatter_data(node, x, upd, attrs.reduction)
        out = out.reshape(x.shape)
        # the kernel works on the addressed block as a contiguous (outer, n, inner) array
        sub = out[sl]
        work = np.ascontiguousarray(sub)  # sub itself when the indices cover the other axes whole
        _scatter_elements_kernel(work.reshape(block), i, u.reshape(i.shape), attrs.reduction)
        if not np.shares_memory(work, out):
            sub[...] = work
        return [back(out)]


@register("ScatterElements", versions=(11, 13, 16, 18))
class ScatterElements(_ScatterElementsBase):
    """A copy of ``data`` with ``updates[i][j][k]`` written to ``[index[i][j][k]][j][k]`` (for axis 0), or
    combined with it by ``reduction`` (add / mul from opset 16, max / min from 18), in index order."""

    @classmethod
    def parse_attrs(cls, node):
        return ElementsAttrs(node.attr("axis", 0, kind="int"), _parse_reduction(node))


@register("Scatter", versions=(9, 11))
class Scatter(_ScatterElementsBase):
    """The deprecated name of ScatterElements without reduction (negative indices from opset 11)."""

    @classmethod
    def parse_attrs(cls, node):
        return ElementsAttrs(node.attr("axis", 0, kind="int"))

    @classmethod
    def negative_indices(cls, node) -> bool:
        return node.version >= 11  # Scatter-9 indices are within [0, s - 1]


# ============================================================================================= GatherND

@dataclass(frozen=True)
class NDAttrs:
    batch_dims: int = 0
    reduction: int = 0


def _nd_index_bounds(x_shape, first: int, k: int) -> np.ndarray:
    return np.array(x_shape[first:first + k], dtype=np.int64)


def refuse_empty_axis(node, x_shape, axes, idx: TensorInfo) -> None:
    """Indices that address an axis of size 0 cannot be valid; say so at plan time (an empty output is
    folded without running the op, so a run-time check would never see them)."""
    for a in axes:
        if x_shape[a] == 0 and idx.size > 0:
            raise node.error(f"indices {shape_str(idx.shape)} address data axis {a}, which has size 0 in "
                             f"{shape_str(x_shape)}: every index would be out of range", input=1)


@register("GatherND", versions=(11, 12, 13))
class GatherND(Op):
    """Slices of ``data`` addressed by the last axis of ``indices`` (k coordinates into the axes after the
    ``batch_dims`` leading batch axes, opset 12+); negative coordinates count from the end of their axis."""

    @classmethod
    def parse_attrs(cls, node):
        if node.version < 12 and "batch_dims" in node.attrs:
            raise node.error("the 'batch_dims' attribute exists from opset 12", attribute="batch_dims")
        b = node.attr("batch_dims", 0, kind="int")
        if b < 0:
            raise node.error(f"must be >= 0, got {b}", attribute="batch_dims")
        return NDAttrs(b)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "data")
        idx = require_input(node, inputs, 1, "indices")
        check_dtype(node, x, 0, tuple(d for d in MOVABLE if d != object))
        check_dtype(node, idx, 1, INDEX, "indices")
        b = attrs.batch_dims
        if x.rank < 1 or idx.rank < 1:
            raise node.error(f"data and indices must have rank >= 1, got {shape_str(x.shape)} and "
                             f"{shape_str(idx.shape)}", input=0 if x.rank < 1 else 1)
        if b >= min(x.rank, idx.rank):
            raise node.error(f"batch_dims {b} must be smaller than the ranks of data {shape_str(x.shape)} and "
                             f"indices {shape_str(idx.shape)}", attribute="batch_dims")
        if x.shape[:b] != idx.shape[:b]:
            raise node.error(f"the first {b} (batch) dims of indices {shape_str(idx.shape)} must equal those of "
                             f"data {shape_str(x.shape)}", input=1)
        k = idx.shape[-1]
        if not 1 <= k <= x.rank - b:
            raise node.error(f"the last dim of indices {shape_str(idx.shape)} is {k}; it must be in [1, "
                             f"{x.rank - b}] (rank of data {shape_str(x.shape)} minus batch_dims {b})", input=1)
        if math.prod(idx.shape[:-1]):
            refuse_empty_axis(node, x.shape, range(b, b + k), idx)
        if consts[1] is not None:
            checked_indices(node, consts[1], _nd_index_bounds(x.shape, b, k), what="the data axis it indexes",
                            cls=ModelError)
        return [TensorInfo(x.dtype, idx.shape[:-1] + x.shape[b + k:])]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, idx = arrays
        b, k = attrs.batch_dims, idx.shape[-1]
        i = checked_indices(node, idx, _nd_index_bounds(x.shape, b, k), what="the data axis it indexes")
        n_batch = math.prod(x.shape[:b])
        batch_size = math.prod(x.shape[b:])
        slice_size = math.prod(x.shape[b + k:])
        i = np.ascontiguousarray(i).reshape(n_batch, math.prod(idx.shape[b:-1]), k)
        strides = _strides(x.shape[b:])[:k]
        out = np.empty(i.shape[0] * i.shape[1] * slice_size, dtype=_UINT[x.dtype.itemsize])
        _gather_nd_kernel(_bits(x), batch_size, i, strides, slice_size, out)
        return [out.view(x.dtype).reshape(idx.shape[:-1] + x.shape[b + k:])]


# ============================================================================================ ScatterND

@register("ScatterND", versions=(11, 13, 16, 18))
class ScatterND(Op):
    """A copy of ``data`` with each slice addressed by a row of ``indices`` (last axis: k coordinates)
    replaced by, or combined by ``reduction`` with (add / mul from opset 16, max / min from 18), the matching
    slice of ``updates``, in index order."""

    @classmethod
    def parse_attrs(cls, node):
        return NDAttrs(0, _parse_reduction(node))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "data")
        idx = require_input(node, inputs, 1, "indices")
        u = require_input(node, inputs, 2, "updates")
        _check_scatter_dtype(node, x, attrs.reduction)
        check_dtype(node, idx, 1, INDEX, "indices")
        if x.rank < 1 or idx.rank < 1:
            raise node.error(f"data and indices must have rank >= 1, got {shape_str(x.shape)} and "
                             f"{shape_str(idx.shape)}", input=0 if x.rank < 1 else 1)
        k = idx.shape[-1]
        if not 1 <= k <= x.rank:
            raise node.error(f"the last dim of indices {shape_str(idx.shape)} is {k}; it must be in [1, {x.rank}] "
                             f"(the rank of data {shape_str(x.shape)})", input=1)
        if math.prod(idx.shape[:-1]):
            refuse_empty_axis(node, x.shape, range(k), idx)
        want = idx.shape[:-1] + x.shape[k:]
        if u.shape != want:
            raise node.error(f"updates must have shape indices.shape[:-1] + data.shape[{k}:] = {shape_str(want)}, "
                             f"got {shape_str(u.shape)}", input=2)
        if u.dtype != x.dtype:
            raise node.error(f"updates has element type {u.dtype.name} but data has {x.dtype.name}", input=2)
        if consts[1] is not None:
            checked_indices(node, consts[1], _nd_index_bounds(x.shape, 0, k), what="the data axis it indexes",
                            cls=ModelError)
        return [x]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, idx, upd = arrays
        k = idx.shape[-1]
        i = checked_indices(node, idx, _nd_index_bounds(x.shape, 0, k), what="the data axis it indexes")
        i = np.ascontiguousarray(i).reshape(-1, k)
        slice_size = math.prod(x.shape[k:])
        out, u, back = _scatter_data(node, x, upd, attrs.reduction)
        _scatter_nd_kernel(out, i, _strides(x.shape)[:k], u, slice_size, attrs.reduction)
        return [back(out)]
