"""Reductions along one axis that keep or return positions: ArgMax, ArgMin, CumSum and TopK.

Each sees its input as an ``(outer, R, inner)`` view with the axis in the middle (a free reshape). ArgMax /
ArgMin and CumSum run Numba kernels in parallel over ``outer``, TopK over its lanes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import INDEX, check_dtype, check_size, const_ints, normalize_axis, require_input
from onnumba.ops._numba import INLINE, KERNEL, njit, prange
from onnumba.ops.reduction import F16, F32, _check_flag
from onnumba.registry import Op, TensorInfo, register

I64 = np.dtype(np.int64)
_ALL_NUMERIC = tuple(np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16,
                                           np.int32, np.int64, np.float16, np.float32, np.float64))
_CUMSUM_11 = tuple(np.dtype(t) for t in (np.uint32, np.uint64, np.int32, np.int64, np.float32, np.float64))


def axis_view(shape: tuple, axis: int) -> tuple:
    """``(outer, R, inner)`` with ``axis`` in the middle."""
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


# ============================================================================================= ArgMax / ArgMin

@njit(**INLINE)
def _arg_takes(v, b, is_max, last):
    """Whether ``v`` replaces the best-so-far ``b``: the first NaN wins, as numpy's argmax / argmin."""
    if b != b:
        return last and v != v
    if v != v:
        return True
    if is_max:
        return v > b or (last and v == b)
    return v < b or (last and v == b)


@njit(**KERNEL)
def _arg_kernel(x, out, is_max, last):
    """out[o, i] = position along r of the max (min) of x[o, r, i]."""
    outer, nr, inner = x.shape
    for o in prange(outer):
        if inner == 1:
            b = x[o, 0, 0]
            k = 0
            for r in range(1, nr):
                v = x[o, r, 0]
                if _arg_takes(v, b, is_max, last):
                    b = v
                    k = r
            out[o, 0] = k
            continue
        best = x[o, 0].copy()
        idx = out[o]
        idx[:] = 0
        for r in range(1, nr):
            row = x[o, r]
            for i in range(inner):
                if _arg_takes(row[i], best[i], is_max, last):
                    best[i] = row[i]
                    idx[i] = r


@dataclass(frozen=True)
class ArgAttrs:
    axis: int
    keepdims: bool
    last: bool
    out_shape: tuple | None = None


class _Arg(Op):
    is_max = True

    @classmethod
    def parse_attrs(cls, node):
        last = _check_flag(node, "select_last_index", 0) if node.version >= 12 else False
        return ArgAttrs(node.attr("axis", 0, "int"), _check_flag(node, "keepdims", 1), last)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "data")
        check_dtype(node, x, 0, _ALL_NUMERIC)
        axis = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        if x.rank == 0:
            raise node.error("data must have rank >= 1 (a scalar has no axis to search)", input=0)
        if x.shape[axis] == 0:
            raise node.error(f"axis {axis} of data shape {shape_str(x.shape)} is empty; there is no element to "
                             f"take the {'max' if cls.is_max else 'min'} of", input=0)
        out = x.shape[:axis] + ((1,) if attrs.keepdims else ()) + x.shape[axis + 1:]
        return replace(attrs, axis=axis, out_shape=out)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(I64, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = np.asarray(arrays[0])
        if x.dtype == F16:
            x = x.astype(F32)  # exact, and one specialisation fewer
        outer, nr, inner = axis_view(x.shape, attrs.axis)
        out = np.empty((outer, inner), I64)
        if out.size:
            _arg_kernel(np.ascontiguousarray(x).reshape(outer, nr, inner), out, cls.is_max, attrs.last)
        return [out.reshape(attrs.out_shape)]


@register("ArgMax", versions=(1, 11, 12, 13))
class ArgMax(_Arg):
    """Indices of the maxima along ``axis`` (int64); ties give the first index, or the last with
    ``select_last_index=1``."""

    is_max = True


@register("ArgMin", versions=(1, 11, 12, 13))
class ArgMin(_Arg):
    """Indices of the minima along ``axis`` (int64); ties give the first index, or the last with
    ``select_last_index=1``."""

    is_max = False


# ============================================================================================= CumSum

@njit(**KERNEL)
def _cumsum_kernel(x, out, exclusive, reverse):
    """out[o, r, :] = sum of x[o, s, :] for s before r (s <= r unless exclusive; after r when reverse)."""
    outer, nr, inner = x.shape
    for o in prange(outer):
        acc = np.zeros_like(out[o, 0])
        for k in range(nr):
            r = nr - 1 - k if reverse else k
            src = x[o, r]
            dst = out[o, r]
            if exclusive:
                for i in range(inner):
                    dst[i] = acc[i]
                    acc[i] += src[i]
            else:
                for i in range(inner):
                    acc[i] += src[i]
                    dst[i] = acc[i]


@dataclass(frozen=True)
class CumSumAttrs:
    exclusive: bool
    reverse: bool
    axis: int | None = None


@register("CumSum", versions=(11, 14), plan_constant_inputs=(1,))
class CumSum(Op):
    """Cumulative sum along the axis given by input 1 (known at plan time); ``exclusive`` leaves the current
    element out, ``reverse`` sums from the end. Integers wrap around; float16 is summed in float32."""

    @classmethod
    def parse_attrs(cls, node):
        return CumSumAttrs(_check_flag(node, "exclusive", 0), _check_flag(node, "reverse", 0))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "x")
        check_dtype(node, x, 0, _CUMSUM_11 if node.version < 14 else _CUMSUM_11 + (F16,))
        a = require_input(node, inputs, 1, "axis")
        check_dtype(node, a, 1, INDEX, "axis")
        if a.size != 1 or a.rank > 1:
            raise node.error(f"axis must be a scalar, got shape {shape_str(a.shape)}", input=1)
        if x.rank == 0:
            raise node.error("x must have rank >= 1", input=0)
        axis = normalize_axis(node, const_ints(node, consts, 1, "axis")[0], x.rank, input=1)
        return replace(attrs, axis=axis)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, inputs[0].shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = np.asarray(arrays[0])
        dt = x.dtype
        if dt == F16:
            x = x.astype(F32)
        outer, nr, inner = axis_view(x.shape, attrs.axis)
        out = np.empty((outer, nr, inner), x.dtype)
        if out.size:
            _cumsum_kernel(np.ascontiguousarray(x).reshape(outer, nr, inner), out, attrs.exclusive, attrs.reverse)
        return [out.reshape(arrays[0].shape).astype(dt, copy=False)]


# ============================================================================================= TopK

@njit(**INLINE)
def _ahead(a, b, largest):
    """True when value ``a`` ranks strictly before ``b`` (NaN counts as the largest value, as numpy sorts)."""
    if largest:
        return a > b or (a != a and b == b)
    return a < b or (b != b and a == a)


@njit(**KERNEL)
def _topk_kernel(x, vals, idx, largest):
    """vals / idx[o, :, i] = the k first of lane x[o, :, i] in rank order; equal values keep index order.

    Each lane keeps a sorted run of its best k so far and inserts each element that beats the run's last (a
    scan in index order, so an equal value lands after those already there): O(R) when k is small against R,
    O(R k) at worst, hence small k only; ``_topk_sorted`` serves the rest.
    """
    outer, nr, inner = x.shape
    k = vals.shape[1]
    for u in prange(outer * inner):
        o = u // inner
        i = u - o * inner
        bv = vals[o, :, i]
        bi = idx[o, :, i]
        n = 0
        for r in range(nr):
            v = x[o, r, i]
            if n == k and not _ahead(v, bv[k - 1], largest):
                continue
            j = n if n < k else k - 1
            while j > 0 and _ahead(v, bv[j - 1], largest):
                bv[j] = bv[j - 1]
                bi[j] = bi[j - 1]
                j -= 1
            bv[j] = v
            bi[j] = r
            if n < k:
                n += 1


@njit(**KERNEL)
def _topk_sorted(x, vals, idx, largest):
    """The same result through one stable merge sort per lane (large k)."""
    outer, nr, inner = x.shape
    k = vals.shape[1]
    for u in prange(outer * inner):
        o = u // inner
        i = u - o * inner
        lane = x[o, :, i].copy()
        if largest:
            # a stable ascending sort of the reversed lane, read backwards: descending, equal values by index
            order = np.argsort(lane[::-1].copy(), kind="mergesort")
            for j in range(k):
                r = nr - 1 - order[nr - 1 - j]
                vals[o, j, i] = lane[r]
                idx[o, j, i] = r
        else:
            order = np.argsort(lane, kind="mergesort")
            for j in range(k):
                vals[o, j, i] = lane[order[j]]
                idx[o, j, i] = order[j]


#: largest k served by insertion into a sorted run (beyond it a full sort per lane is cheaper)
_TOPK_INSERT_MAX = 32


@dataclass(frozen=True)
class TopKAttrs:
    axis: int
    largest: bool
    sorted: bool
    k: int | None  # opset 1 attribute; later read from input 1 in bind


@register("TopK", versions=(1, 10, 11, 24), plan_constant_inputs=(1,))
class TopK(Op):
    """The ``k`` largest (or smallest) elements along ``axis`` and their int64 indices, sorted; equal values
    keep the lower index first (the spec's tie rule). ``sorted=0`` allows any order; onnumba sorts anyway.
    ``k`` is an attribute in opset 1 and a 1-element input known at plan time from opset 10."""

    @classmethod
    def parse_attrs(cls, node):
        largest = _check_flag(node, "largest", 1) if node.version >= 11 else True
        srt = _check_flag(node, "sorted", 1) if node.version >= 11 else True
        k = None
        if node.version < 10:
            k = node.attr("k", None, "int")
            if k is None:
                raise node.error("TopK-1 requires the k attribute", attribute="k")
        return TopKAttrs(node.attr("axis", -1, "int"), largest, srt, k)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, _ALL_NUMERIC if node.version >= 11 else (F16, F32, np.dtype(np.float64)))
        if x.rank == 0:
            raise node.error("X must have rank >= 1", input=0)
        axis = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        if node.version < 10:
            k, where = attrs.k, dict(attribute="k")
        else:
            kin = require_input(node, inputs, 1, "K")
            check_dtype(node, kin, 1, (I64,), "K")
            if kin.size != 1 or kin.rank > 1:
                raise node.error(f"K must be a 1-d tensor of one value, got shape {shape_str(kin.shape)}", input=1)
            k, where = const_ints(node, consts, 1, "K")[0], dict(input=1)
        if not 0 <= k <= x.shape[axis]:
            raise node.error(f"k={k} is out of range for axis {axis} of length {x.shape[axis]} (expected 0 <= k "
                             f"<= {x.shape[axis]})", **where)
        check_size(node, x.shape)
        return replace(attrs, axis=axis, k=k)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        shape = x.shape[:attrs.axis] + (attrs.k,) + x.shape[attrs.axis + 1:]
        return [TensorInfo(x.dtype, shape), TensorInfo(I64, shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = np.asarray(arrays[0])
        dt = x.dtype
        if dt == F16:
            x = x.astype(F32)  # exact, and one specialisation fewer
        outer, nr, inner = axis_view(x.shape, attrs.axis)
        vals = np.empty((outer, attrs.k, inner), x.dtype)
        idx = np.empty((outer, attrs.k, inner), I64)
        if vals.size:
            x3 = np.ascontiguousarray(x).reshape(outer, nr, inner)
            kernel = _topk_kernel if attrs.k <= _TOPK_INSERT_MAX else _topk_sorted
            kernel(x3, vals, idx, attrs.largest)
        shape = x.shape[:attrs.axis] + (attrs.k,) + x.shape[attrs.axis + 1:]
        return [vals.reshape(shape).astype(dt, copy=False), idx.reshape(shape)]
