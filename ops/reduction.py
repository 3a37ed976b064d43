"""Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum,
ReduceLogSumExp and ReduceSumSquare, every version (axes as an attribute, or from ReduceSum-13 / the others' 18 as
an optional input known at plan time, with ``noop_with_empty_axes``).

Any set of reduced axes becomes one ``(outer, R, inner)`` view: a contiguous run of reduced axes (size-1 axes do
not break a run) is a free reshape; otherwise one transpose copy moves the reduced axes together in front of the
trailing kept axes. One Numba kernel reduces that view, in parallel over disjoint output slices.

Accumulation rule: the accumulators have the input's type (integers wrap around as in onnxruntime; float16 is
computed in float32), several independent ones per output: a row's sum is reassociated into SIMD lanes (the
REASSOC flags), one accumulator per column sums across rows. That is how onnxruntime's vectorised float32 loops
add up too; float64 accumulators would be more accurate but halve the SIMD width (measured 2x slower on a
1M-element row sum). Integer inputs of the logarithm / root ops are computed in float64 and truncated back, as
onnx's reference does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import check_dtype, check_size, const_ints, require_input
from onnumba.ops._numba import INLINE, KERNEL, REASSOC, njit, prange
from onnumba.registry import Op, TensorInfo, register

BOOL = np.dtype(bool)
F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
_BASE_TYPES = tuple(np.dtype(t) for t in (np.uint32, np.uint64, np.int32, np.int64, np.float16, np.float32,
                                          np.float64))
_WITH_BYTES = _BASE_TYPES + (np.dtype(np.int8), np.dtype(np.uint8))
_FLOAT_ONLY = (F16, F32, F64)

# kernel operations (MEAN, L2 and LOGSUM are SUM / SUMSQ followed by a cheap elementwise step on the output)
SUM, SUMSQ, L1, PROD, MAX, MIN, LSE = range(7)
#: inner (column) elements one task accumulates: a block of SIMD accumulators that stays in L1
_BLK = 256


@njit(**INLINE)
def _pick(a, v, is_max):
    """The larger (smaller) of ``a`` and ``v``, NaN aside: the callers track NaN on their own."""
    if is_max:
        return v if v > a else a
    return v if v < a else a


@njit(**REASSOC)
def _row_sum(row, zero, op):
    """SUM / SUMSQ / L1 / PROD of a row (R >= 1) in ``zero``'s type; REASSOC lets LLVM split each loop into SIMD
    lanes. The branches sit outside the loops so each loop vectorises on its own."""
    n = row.shape[0]
    if op == PROD:
        p = row[0]
        for r in range(1, n):
            p *= row[r]
        return p
    t = zero
    if op == SUM:
        for r in range(n):
            t += row[r]
    elif op == SUMSQ:
        for r in range(n):
            t += row[r] * row[r]
    else:
        for r in range(n):
            t += abs(row[r])
    return t


@njit(**INLINE)
def _row_max(row, is_max):
    """Maximum (minimum) of ``row`` in eight scalar accumulators (a compare-select each, so the loop packs into
    vector max / min); a NaN anywhere gives NaN, tracked by a separate flag."""
    n = row.shape[0]
    m = n - n % 8
    a0 = a1 = a2 = a3 = a4 = a5 = a6 = a7 = row[0]
    nan = False
    for r in range(0, m, 8):
        v0, v1, v2, v3 = row[r], row[r + 1], row[r + 2], row[r + 3]
        v4, v5, v6, v7 = row[r + 4], row[r + 5], row[r + 6], row[r + 7]
        a0 = _pick(a0, v0, is_max)
        a1 = _pick(a1, v1, is_max)
        a2 = _pick(a2, v2, is_max)
        a3 = _pick(a3, v3, is_max)
        a4 = _pick(a4, v4, is_max)
        a5 = _pick(a5, v5, is_max)
        a6 = _pick(a6, v6, is_max)
        a7 = _pick(a7, v7, is_max)
        nan |= (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3) | (v4 != v4) | (v5 != v5) | (v6 != v6) | (v7 != v7)
    t = _pick(_pick(_pick(a0, a1, is_max), _pick(a2, a3, is_max), is_max),
              _pick(_pick(a4, a5, is_max), _pick(a6, a7, is_max), is_max), is_max)
    for r in range(m, n):
        v = row[r]
        t = _pick(t, v, is_max)
        nan |= v != v
    if nan or row[0] != row[0]:
        for r in range(n):  # the first NaN of the row (its payload), as a sequential scan would give
            if row[r] != row[r]:
                return row[r]
    return t


@njit(**KERNEL)
def _reduce_rows_kernel(x, out, op, zero):
    """out[o] = reduce of the contiguous row x[o] (R >= 1): the ``inner == 1`` case."""
    for o in prange(x.shape[0]):
        row = x[o]
        if op == MAX:
            out[o] = _row_max(row, True)
        elif op == MIN:
            out[o] = _row_max(row, False)
        elif op == LSE:
            m = _row_max(row, True)
            if math.isinf(m):
                out[o] = m
            else:
                s = zero
                for r in range(row.shape[0]):
                    s += math.exp(row[r] - m)
                out[o] = math.log(s) + m
        else:
            out[o] = _row_sum(row, zero, op)


@njit(**KERNEL)
def _reduce_kernel(x, out, op):
    """out[o, i] = reduce over r of x[o, r, i] (R >= 1, inner > 1), accumulating in out's type."""
    outer, nr, inner = x.shape
    nblk = (inner + _BLK - 1) // _BLK
    for u in prange(outer * nblk):
        o = u // nblk
        i0 = (u - o * nblk) * _BLK
        i1 = min(i0 + _BLK, inner)
        acc = out[o, i0:i1]
        if op == SUM or op == SUMSQ or op == L1:
            acc[:] = 0
        elif op == PROD:
            acc[:] = 1
        else:
            acc[:] = x[o, 0, i0:i1]
        for r in range(nr):
            row = x[o, r, i0:i1]
            if op == SUM:
                for i in range(i1 - i0):
                    acc[i] += row[i]
            elif op == SUMSQ:
                for i in range(i1 - i0):
                    acc[i] += row[i] * row[i]
            elif op == L1:
                for i in range(i1 - i0):
                    acc[i] += abs(row[i])
            elif op == PROD:
                for i in range(i1 - i0):
                    acc[i] *= row[i]
            elif op == MIN:
                for i in range(i1 - i0):
                    if row[i] < acc[i] or row[i] != row[i]:
                        acc[i] = row[i]
            else:  # MAX, and LSE's first pass
                for i in range(i1 - i0):
                    if row[i] > acc[i] or row[i] != row[i]:
                        acc[i] = row[i]
        if op == LSE:
            s = np.zeros_like(acc)
            for r in range(nr):
                for i in range(i1 - i0):
                    if not math.isinf(acc[i]):
                        s[i] += math.exp(x[o, r, i0 + i] - acc[i])
            for i in range(i1 - i0):
                if not math.isinf(acc[i]):
                    acc[i] = math.log(s[i]) + acc[i]


def reduce_view(shape: tuple, axes: tuple):
    """How to see an array of ``shape`` as ``(outer, R, inner)`` with ``axes`` (sorted, unique) in the middle.

    Returns ``(perm, (outer, R, inner))``; ``perm`` is None when a reshape suffices, else the transpose to apply
    first. Size-1 axes never matter for the layout. The kept axes keep their order, so the ``(outer, inner)``
    result reshapes to the output shape.
    """
    red = [a for a in axes if shape[a] != 1]
    if not red:
        return None, (math.prod(shape), 1, 1)
    kept = [a for a in range(len(shape)) if a not in axes and shape[a] != 1]
    head = [a for a in kept if a < red[-1]]
    tail = [a for a in kept if a > red[-1]]
    dims = (math.prod(shape[a] for a in head), math.prod(shape[a] for a in red), math.prod(shape[a] for a in tail))
    if not any(red[0] < a < red[-1] for a in kept):
        return None, dims
    ones = [a for a in range(len(shape)) if shape[a] == 1]
    return tuple(ones + head + red + tail), dims


def reduce_array(x: np.ndarray, axes: tuple, op: int) -> np.ndarray:
    """Kernel ``op`` over ``axes`` (sorted, unique, R >= 1) of ``x``; returns the (outer, inner) result in the
    computation type (float32 for float16, uint8 for bool)."""
    if x.dtype == F16:
        x = x.astype(F32)
    elif x.dtype == BOOL:
        x = x.view(np.uint8)
    perm, (outer, n_r, inner) = reduce_view(x.shape, axes)
    if perm is not None:
        x = x.transpose(perm)
    x3 = np.ascontiguousarray(x).reshape(outer, n_r, inner)
    out = np.empty((outer, inner), x3.dtype)
    if outer * inner:
        if inner == 1:
            zero = x3.dtype.type(0)
            _reduce_rows_kernel(x3.reshape(outer, n_r), out.reshape(outer), op, zero)
        else:
            _reduce_kernel(x3, out, op)
    return out


# ============================================================================================= op classes

@dataclass(frozen=True)
class ReduceAttrs:
    keepdims: bool
    noop_with_empty_axes: bool
    axes: tuple | None  # attribute form (None: absent); input form is read in bind
    #: filled by bind: sorted unique non-negative axes (None: identity because of noop_with_empty_axes)
    red: tuple | None = None
    out_shape: tuple | None = None


def _check_flag(node, name: str, default: int) -> bool:
    v = node.attr(name, default, "int")
    if v not in (0, 1):
        raise node.error(f"must be 0 or 1, got {v}", attribute=name)
    return bool(v)


def resolve_axes(node, axes, rank: int, *, input: int | None = None, attribute: str | None = None) -> tuple:
    """Sorted non-negative axes; out-of-range and repeated axes are refused."""
    seen = []
    for a in axes:
        if not -rank <= a < rank:
            raise node.error(f"axis {a} is out of range for data of rank {rank} (expected {-rank} <= axis < "
                             f"{rank})", input=input, attribute=attribute)
        a = a + rank if a < 0 else a
        if a in seen:
            raise node.error(f"axis {a} appears more than once in axes {list(axes)}", input=input,
                             attribute=attribute)
        seen.append(a)
    return tuple(sorted(seen))


class _Reduce(Op):
    """Shared plumbing of the Reduce* ops; subclasses set the kernel ``op``, the post step and the types."""

    #: first version taking axes as an input instead of an attribute
    axes_input_since: int = 18
    op: int = SUM
    #: (since_version, allowed element types) pairs, newest last
    types: tuple = ((1, _BASE_TYPES),)

    @classmethod
    def parse_attrs(cls, node) -> ReduceAttrs:
        keep = _check_flag(node, "keepdims", 1)
        if node.version >= cls.axes_input_since:
            if "axes" in node.attrs:
                raise node.error(f"{node.op_type}-{node.version} takes axes as input 1, not an attribute",
                                 attribute="axes")
            return ReduceAttrs(keep, _check_flag(node, "noop_with_empty_axes", 0), None)
        axes = node.attr("axes", None, "ints")
        return ReduceAttrs(keep, False, None if axes is None else tuple(axes))

    @classmethod
    def allowed(cls, version: int) -> tuple:
        return [t for v, t in cls.types if v <= version][-1]

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx) -> ReduceAttrs:
        x = require_input(node, inputs, 0, "data")
        check_dtype(node, x, 0, cls.allowed(node.version))
        rank = x.rank
        if node.version >= cls.axes_input_since and node.has_input(1):
            check_dtype(node, inputs[1], 1, (np.dtype(np.int64),), "axes")
            if inputs[1].rank != 1:
                raise node.error(f"axes must be a 1-d tensor, got shape {shape_str(inputs[1].shape)}", input=1)
            axes = const_ints(node, consts, 1, "axes")
            where = dict(input=1)
        else:
            axes = attrs.axes
            where = dict(attribute="axes")
        if not axes:
            if attrs.noop_with_empty_axes:
                return replace(attrs, red=None, out_shape=x.shape)
            red = tuple(range(rank))
        else:
            red = resolve_axes(node, axes, rank, **where)
        out = tuple(1 if a in red else d for a, d in enumerate(x.shape)) if attrs.keepdims else \
            tuple(d for a, d in enumerate(x.shape) if a not in red)
        check_size(node, out)
        return replace(attrs, red=red, out_shape=out)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def identity(cls, dtype: np.dtype):
        """The value of a reduction over no elements (the spec's, per op)."""
        return 0

    @classmethod
    def post(cls, y: np.ndarray, n: int) -> np.ndarray:
        """Elementwise step after the kernel (mean's divide, L2's root ...), in the computation type."""
        return y

    @classmethod
    def run(cls, node, attrs, arrays):
        x = np.asarray(arrays[0])
        if attrs.red is None:
            return [x.copy()]
        dt = x.dtype
        n = math.prod(x.shape[a] for a in attrs.red)
        if n == 0:
            return [np.full(attrs.out_shape, cls.identity(dt), dtype=dt)]
        if cls.float_compute and dt.kind in "iu":
            x = x.astype(F64)
        y = cls.post(reduce_array(x, attrs.red, cls.op), n)
        if dt == BOOL:
            y = y.view(BOOL)
        with np.errstate(invalid="ignore"):  # the log of a negative integer sum: NaN, undefined as an integer
            return [y.astype(dt, copy=False).reshape(attrs.out_shape)]

    #: integer inputs computed in float64 (the log / root ops)
    float_compute: bool = False


def _min_of(dt: np.dtype):
    return -np.inf if dt.kind == "f" else (False if dt == BOOL else np.iinfo(dt).min)


def _max_of(dt: np.dtype):
    return np.inf if dt.kind == "f" else (True if dt == BOOL else np.iinfo(dt).max)


@register("ReduceSum", versions=(1, 11, 13), plan_constant_inputs=(1,))
class ReduceSum(_Reduce):
    """Sum over ``axes`` (all axes when none are given); an empty reduction gives 0."""

    axes_input_since, op = 13, SUM


@register("ReduceMean", versions=(1, 11, 13, 18), plan_constant_inputs=(1,))
class ReduceMean(_Reduce):
    """Mean over ``axes``; integers divide with truncation toward zero. An empty reduction is undefined by the
    spec: NaN for floats (numpy's 0/0), 0 for integers."""

    op = SUM

    @classmethod
    def identity(cls, dtype):
        return np.nan if dtype.kind == "f" else 0

    @classmethod
    def post(cls, y, n):
        if y.dtype.kind == "f":
            y /= n
            return y
        if y.dtype.kind == "u":
            return y // n
        w = y.astype(np.int64)  # abs() of int32's minimum needs the wider type
        q = np.abs(w) // n  # truncation toward zero, as a C integer division
        return np.where(w < 0, -q, q).astype(y.dtype)


@register("ReduceMax", versions=(1, 11, 12, 13, 18, 20), plan_constant_inputs=(1,))
class ReduceMax(_Reduce):
    """Maximum over ``axes`` (NaN propagates); an empty reduction gives -inf, or the type's minimum."""

    op = MAX
    types = ((1, _BASE_TYPES), (12, _WITH_BYTES), (20, _WITH_BYTES + (BOOL,)))

    @classmethod
    def identity(cls, dtype):
        return _min_of(dtype)


@register("ReduceMin", versions=(1, 11, 12, 13, 18, 20), plan_constant_inputs=(1,))
class ReduceMin(_Reduce):
    """Minimum over ``axes`` (NaN propagates); an empty reduction gives +inf, or the type's maximum."""

    op = MIN
    types = ReduceMax.types

    @classmethod
    def identity(cls, dtype):
        return _max_of(dtype)


@register("ReduceProd", versions=(1, 11, 13, 18), plan_constant_inputs=(1,))
class ReduceProd(_Reduce):
    """Product over ``axes``; an empty reduction gives 1."""

    op = PROD

    @classmethod
    def identity(cls, dtype):
        return 1


@register("ReduceL1", versions=(1, 11, 13, 18), plan_constant_inputs=(1,))
class ReduceL1(_Reduce):
    """Sum of absolute values over ``axes``; an empty reduction gives 0."""

    op = L1


@register("ReduceSumSquare", versions=(1, 11, 13, 18), plan_constant_inputs=(1,))
class ReduceSumSquare(_Reduce):
    """Sum of squares over ``axes``; an empty reduction gives 0."""

    op = SUMSQ


@register("ReduceL2", versions=(1, 11, 13, 18), plan_constant_inputs=(1,))
class ReduceL2(_Reduce):
    """Square root of the sum of squares over ``axes``; an empty reduction gives 0."""

    op, float_compute = SUMSQ, True

    @classmethod
    def post(cls, y, n):
        return np.sqrt(y, out=y)


@register("ReduceLogSum", versions=(1, 11, 13, 18, 28), plan_constant_inputs=(1,))
class ReduceLogSum(_Reduce):
    """Natural log of the sum over ``axes``; an empty reduction gives -inf (0 for integers)."""

    op, float_compute = SUM, True
    types = ((1, _BASE_TYPES), (28, _FLOAT_ONLY))

    @classmethod
    def identity(cls, dtype):
        return -np.inf if dtype.kind == "f" else 0

    @classmethod
    def post(cls, y, n):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(y, out=y)


@register("ReduceLogSumExp", versions=(1, 11, 13, 18, 28), plan_constant_inputs=(1,))
class ReduceLogSumExp(_Reduce):
    """``log(sum(exp(x)))`` over ``axes``, computed as ``m + log(sum(exp(x - m)))`` with ``m`` the maximum so
    large inputs do not overflow; an empty reduction gives -inf (0 for integers)."""

    op, float_compute = LSE, True
    types = ReduceLogSum.types

    @classmethod
    def identity(cls, dtype):
        return -np.inf if dtype.kind == "f" else 0

