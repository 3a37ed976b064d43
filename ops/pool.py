"""Pooling: MaxPool (with the optional Indices output), AveragePool, GlobalAveragePool, GlobalMaxPool.

One kernel per reduction (``ops/pool_kernels.py``) handles 1, 2 and 3 spatial axes: the input is reshaped to
(N*C, D0, D1, D2) with leading size-1 axes, and the valid taps of every window are precomputed per axis at
plan time (``lo[o] <= j < hi[o]``), so the kernels loop over in-bounds taps only and never test bounds.
Output sizes and pads come from ``ops/_geometry.py``.

Integer and float16 inputs are computed in float32 (exact for max) and cast back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops._common import FLOATS, check_dtype, check_rank, check_size, compute_dtype, require_input
from onnumba.ops._geometry import GeometryError, check_window, resolve_padding, same_pool_padding, window_array, \
    window_output_sizes
from onnumba.ops._numba import num_threads
from onnumba.ops.pool_kernels import _global_pool_kernel, _global_pool_rows, _maxpool_kernel_indices, \
    _pool_kernel_outer, _pool_kernel_plane, _pool_planes
from onnumba.registry import Op, TensorInfo, register

#: a pooling pass over fewer input + output elements than this runs on the calling thread (serial kernel, no
#: parallel kernel compiled): below it the pass takes less time on one thread than waking a sleeping worker
#: saves (the rule of ops/conv/schedule.py's ``_PAR_MIN_US``; the number: benchmarks/PERFORMANCE.md)
_POOL_PAR_MIN_ELEMS = 1 << 18


def _parallel(elems: int) -> int:
    """Chunks for a parallel pooling pass over ``elems`` elements, or 0 to run it serially."""
    threads = num_threads()
    return 8 * threads if threads > 1 and elems >= _POOL_PAR_MIN_ELEMS else 0


def _global_pool(x2: np.ndarray, out: np.ndarray, scale: float, is_max: bool) -> None:
    rows = x2.shape[0]
    chunks = _parallel(x2.size)
    if chunks:
        _global_pool_kernel(x2, out, scale, is_max, min(rows, chunks))
    else:
        _global_pool_rows(x2, out, 0, rows, scale, is_max)


_I8 = (np.dtype(np.int8), np.dtype(np.uint8))
#: onnumba's pooling kernels cover 1 to 3 spatial axes (as onnxruntime's do)
MAX_SPATIAL = 3


# ----------------------------------------------------------------------------------------------- geometry

def _compute_dtype(dtype: np.dtype) -> np.dtype:
    """``_common.compute_dtype``, with 8-bit integers (MaxPool) in float32 too: exact for them, and the kernels
    keep one specialisation per float type."""
    dtype = np.dtype(dtype)
    return np.dtype(np.float32) if dtype.kind in "iu" else compute_dtype(dtype)


def _taps(in_size: int, out_size: int, k: int, s: int, d: int, pb: int, pe: int):
    """Per output position: first and end tap index inside the input, and the tap count inside the padded input.

    Window ``o`` reads input positions ``o*s - pb + j*d`` for ``j`` in ``[0, k)``; the valid ones form one run
    ``lo <= j < hi``. ``padded`` counts the taps inside ``[-pb, in + pe)`` (padding counted, a ceil-mode
    overhang past the padded end not counted).
    """
    start = np.arange(out_size, dtype=np.int64) * s - pb
    lo = np.clip(-(start // d), 0, k)  # ceil(-start / d) for the first tap at position >= 0
    hi = np.clip((in_size - 1 - start) // d + 1, 0, k)
    hi = np.maximum(hi, lo)
    padded = np.clip((in_size + pe - 1 - start) // d + 1, 0, k)
    return lo.astype(np.int64), hi.astype(np.int64), padded.astype(np.int64)


@dataclass(frozen=True)
class PoolAttrs:
    kernel: tuple
    strides: tuple
    dilations: tuple
    auto_pad: str
    pads: tuple  # as given ([] when absent)
    ceil_mode: bool
    count_include_pad: bool = False
    storage_order: int = 0


@dataclass(frozen=True, eq=False)
class PoolPlan:
    """Pool attributes resolved for one concrete input shape."""

    attrs: PoolAttrs
    out_spatial: tuple
    begins: tuple  # per kernel axis (3), the leading ones 0
    taps: tuple  # (lo0, hi0, lo1, hi1, lo2, hi2)
    counts: tuple  # (c0, c1, c2) divisors per axis (AveragePool)
    steps: tuple  # (s0, s1, s2, d0, d1, d2)
    geometry: np.ndarray  # ops/_geometry.window_array of the pool (the Indices kernel reads strides, dilations, pads)
    dens: tuple  # per-axis divisors in the compute type, NaN where a window counts no tap (AveragePool)
    whole: bool = False  # a single window holding every input element (dilation 1)
    whole_den: float = 1.0  # its AveragePool divisor


def _parse_pool_attrs(node, *, max_pool: bool) -> PoolAttrs:
    kernel = node.attr("kernel_shape", None, "ints")
    if kernel is None:
        raise node.error("the required attribute is missing", attribute="kernel_shape")
    n = len(kernel)
    if not 1 <= n <= MAX_SPATIAL:
        raise node.error(f"onnumba pools over 1 to {MAX_SPATIAL} spatial axes, got {n} kernel dims "
                         f"{list(kernel)}", attribute="kernel_shape")
    strides = node.attr("strides", None, "ints") or [1] * n
    dilations = node.attr("dilations", None, "ints") or [1] * n
    try:
        kernel, strides, dilations = check_window(kernel, strides, dilations, n)
    except GeometryError as e:
        raise node.error(str(e), attribute=e.attribute) from None
    auto_pad = node.attr("auto_pad", "NOTSET", "str")
    if isinstance(auto_pad, bytes):
        auto_pad = auto_pad.decode()
    pads = tuple(node.attr("pads", None, "ints") or ())
    try:
        # validates auto_pad and the pads list once (sizes do not matter for that)
        resolve_padding(auto_pad, pads, (1,) * n, kernel, strides, dilations)
    except GeometryError as e:
        raise node.error(str(e), attribute=e.attribute) from None
    ceil_mode = node.attr("ceil_mode", 0, "int")
    if ceil_mode not in (0, 1):
        raise node.error(f"expected 0 or 1, got {ceil_mode}", attribute="ceil_mode")
    cip = node.attr("count_include_pad", 0, "int")
    if cip not in (0, 1):
        raise node.error(f"expected 0 or 1, got {cip}", attribute="count_include_pad")
    so = node.attr("storage_order", 0, "int")
    if so not in (0, 1):
        raise node.error(f"expected 0 (row major) or 1 (column major), got {so}", attribute="storage_order")
    return PoolAttrs(kernel, strides, dilations, auto_pad, pads, bool(ceil_mode), bool(cip), so)


def _bind_pool(node, attrs: PoolAttrs, x: TensorInfo) -> PoolPlan:
    n = len(attrs.kernel)
    if x.rank != n + 2:
        raise node.error(f"expected rank {n + 2} (N, C and {n} spatial axes, from kernel_shape "
                         f"{list(attrs.kernel)}), got shape {x.shape}", input=0)
    spatial = x.shape[2:]
    try:
        if attrs.auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            padding = same_pool_padding(spatial, attrs.kernel, attrs.strides, attrs.dilations,
                                         attrs.auto_pad == "SAME_UPPER")
        else:
            padding = resolve_padding(attrs.auto_pad, attrs.pads, spatial, attrs.kernel, attrs.strides,
                                      attrs.dilations)
        # spec: with auto_pad VALID (and SAME) ceil_mode does not change the output size
        ceil = attrs.ceil_mode and attrs.auto_pad == "NOTSET"
        out = window_output_sizes(spatial, attrs.kernel, attrs.strides, attrs.dilations, padding, ceil_mode=ceil)
    except GeometryError as e:
        raise node.error(str(e), attribute=e.attribute) from None
    for ax, o in enumerate(out):
        if o < 1:
            raise node.error(f"the output would be empty along spatial axis {ax} (size {o})", attribute="kernel_shape")
    check_size(node, x.shape[:2] + out)
    pad3 = 3 - n
    taps, counts = [], []
    begins = (0,) * pad3 + tuple(padding.begins)
    for ax in range(3):
        if ax < pad3:
            one = np.ones(1, np.int64)
            taps += [np.zeros(1, np.int64), one]
            counts.append(one)
            continue
        a = ax - pad3
        lo, hi, padded = _taps(spatial[a], out[a], attrs.kernel[a], attrs.strides[a], attrs.dilations[a],
                               padding.begins[a], padding.ends[a])
        taps += [lo, hi]
        counts.append(padded if attrs.count_include_pad else hi - lo)
    steps = ((1,) * pad3 + attrs.strides) + ((1,) * pad3 + attrs.dilations)
    ctype = _compute_dtype(x.dtype)
    dens = tuple(np.where(c == 0, np.nan, c).astype(ctype) for c in counts)
    whole = all(o == 1 and d == 1 and int(hi[0]) - int(lo[0]) == i
                for o, d, lo, hi, i in zip(out, attrs.dilations, taps[2 * pad3::2], taps[2 * pad3 + 1::2], spatial))
    whole_den = float(np.prod([float(c[0]) for c in counts]))
    geometry = window_array(attrs.kernel, attrs.strides, attrs.dilations, padding.begins, out, spatial)
    return PoolPlan(attrs, out, begins, tuple(taps), tuple(counts), steps, geometry, dens, whole, whole_den)


def _pool_run(x: np.ndarray, plan: PoolPlan, is_max: bool, init: float) -> np.ndarray:
    """Separable max / average pooling: an outer pass over the first of 3 spatial axes, then planes."""
    ctype = _compute_dtype(x.dtype)
    if plan.whole:
        # one window covering every input element (a 7x7 pool on a 7x7 map): a per-plane reduction
        rows = x.shape[0] * x.shape[1]
        x2 = np.ascontiguousarray(x.reshape(rows, -1), dtype=ctype)
        out = np.empty(rows, ctype)
        if rows:
            _global_pool(x2, out, plan.whole_den, is_max)
        return out.reshape(x.shape[:2] + plan.out_spatial).astype(x.dtype, copy=False)
    x3 = _as_3d(x, ctype)
    nc, n0, n1, n2 = x3.shape
    lo0, hi0, lo1, hi1, lo2, hi2 = plan.taps
    s0, s1, s2, d0, d1, d2 = plan.steps
    p0, p1, p2 = plan.begins
    o0, o1, o2 = (1,) * (3 - len(plan.out_spatial)) + plan.out_spatial
    if len(plan.out_spatial) == 3:
        t = np.empty((nc, o0, n1 * n2), ctype)
        _pool_kernel_outer(x3.reshape(nc, n0, n1 * n2), t, lo0, hi0, s0, d0, p0, plan.dens[0], is_max, init)
        planes = t.reshape(nc * o0, n1, n2)
    else:
        planes = x3.reshape(nc * n0, n1, n2)
    out = np.empty((planes.shape[0], o1, o2), ctype)
    k2 = plan.attrs.kernel[-1]
    chunks = _parallel(planes.size + out.size)
    args = (lo1, hi1, s1, d1, p1, plan.dens[1], k2, s2, d2, p2, plan.dens[2], is_max, init)
    if chunks:
        _pool_kernel_plane(planes, out, *args, min(planes.shape[0], chunks))
    else:
        _pool_planes(planes, out, 0, planes.shape[0], *args)
    return out.reshape(x.shape[:2] + plan.out_spatial).astype(x.dtype, copy=False)


def _as_3d(x: np.ndarray, ctype) -> np.ndarray:
    n, c = x.shape[:2]
    sp = (1,) * (5 - x.ndim) + x.shape[2:]
    return np.ascontiguousarray(x.reshape((n * c,) + sp), dtype=ctype)


def _lowest(dtype: np.dtype) -> float:
    if dtype.kind == "f":
        return -np.inf
    return float(np.iinfo(dtype).min)


# ----------------------------------------------------------------------------------------------- ops

class _WindowPool(Op):
    """MaxPool and AveragePool: one attribute parse, one bind (the window plan) and one pooled output."""

    is_max = False

    @classmethod
    def parse_attrs(cls, node):
        return _parse_pool_attrs(node, max_pool=cls.is_max)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        return _bind_pool(node, attrs, require_input(node, inputs, 0, "X"))

    @classmethod
    def _dtypes(cls, node) -> tuple:
        return FLOATS

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        check_dtype(node, x, 0, cls._dtypes(node))
        return [TensorInfo(x.dtype, x.shape[:2] + attrs.out_spatial)]


@register("MaxPool", versions=(1, 8, 10, 11, 12, 22))
class MaxPool(_WindowPool):
    """Max pooling over 1 to 3 spatial axes, with the optional int64 Indices output (opset 8+).

    Indices are flattened over N*C*D0*D1*D2 (batch and channel offsets included), row major or, with
    ``storage_order=1``, column major over the spatial axes. A window with no input element (all padding)
    gives -inf for floats and the type's minimum for integers.
    """

    is_max = True

    @classmethod
    def parse_attrs(cls, node):
        attrs = super().parse_attrs(node)
        if node.version < 8 and len(node.outputs) > 1:
            raise node.error(f"MaxPool-{node.version} has one output; Indices needs opset 8", output=1)
        return attrs

    @classmethod
    def _dtypes(cls, node) -> tuple:
        return FLOATS + (_I8 if node.version >= 12 else ())

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        outs = super().infer(node, attrs, inputs, consts)
        if len(node.outputs) > 1 and node.outputs[1]:
            outs.append(TensorInfo(np.int64, outs[0].shape))
        return outs

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        init = _lowest(x.dtype)
        if not (len(node.outputs) > 1 and node.outputs[1] != ""):
            return [_pool_run(x, attrs, True, init)]
        ctype = _compute_dtype(x.dtype)
        x3 = _as_3d(x, ctype)
        nc = x3.shape[0]
        o3 = (1,) * (3 - len(attrs.out_spatial)) + attrs.out_spatial
        out = np.empty((nc,) + o3, ctype)
        idx = np.empty((nc,) + o3, np.int64)
        _maxpool_kernel_indices(x3, out, idx, *attrs.taps, attrs.geometry, init, attrs.attrs.storage_order == 1)
        shape = x.shape[:2] + attrs.out_spatial
        return [out.reshape(shape).astype(x.dtype, copy=False), idx.reshape(shape)]


@register("AveragePool", versions=(1, 7, 10, 11, 19, 22))
class AveragePool(_WindowPool):
    """Average pooling over 1 to 3 spatial axes.

    The divisor counts the taps inside the input (``count_include_pad=0``) or inside the padded input
    (``count_include_pad=1``); taps of a ceil-mode window past the end padding are never counted.
    """

    @classmethod
    def run(cls, node, attrs, arrays):
        return [_pool_run(arrays[0], attrs, False, 0.0)]


class _GlobalPool(Op):
    is_max = False

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, FLOATS)
        check_rank(node, x, 0, min_rank=3, what="expected (N, C, D1, ...)")
        if x.size == 0 and x.shape[0] * x.shape[1] > 0:
            raise node.error(f"cannot pool over empty spatial axes, got shape {x.shape}", input=0)
        return [TensorInfo(x.dtype, x.shape[:2] + (1,) * (x.rank - 2))]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        ctype = _compute_dtype(x.dtype)
        rows = x.shape[0] * x.shape[1]
        x2 = np.ascontiguousarray(x.reshape(rows, -1) if rows else x.reshape(0, 1), dtype=ctype)
        out = np.empty(rows, ctype)
        if rows:
            _global_pool(x2, out, float(x2.shape[1]), cls.is_max)
        return [out.reshape(x.shape[:2] + (1,) * (x.ndim - 2)).astype(x.dtype, copy=False)]


@register("GlobalAveragePool", versions=(1, 22))
class GlobalAveragePool(_GlobalPool):
    """Mean over every spatial axis: (N, C, D1, ...) -> (N, C, 1, ...)."""

    is_max = False


@register("GlobalMaxPool", versions=(1, 22))
class GlobalMaxPool(_GlobalPool):
    """Max over every spatial axis: (N, C, D1, ...) -> (N, C, 1, ...)."""

    is_max = True
