"""Resize (10, 11, 13, 18, 19) and Upsample (1, 7, 9, 10): nearest, linear and cubic, with antialias.

Resize is separable: every output coordinate along an axis reads a few input positions of that axis with
weights that depend on that axis only. So at plan time (``bind``) each resized axis gets a table of ``K`` taps
per output position (input index, weight), computed in float64 from the spec's coordinate transforms; at run
time the tables are applied:

* when only the last two axes change (UpSampling2D, U-Nets: NCHW), by one 2-d kernel over (planes, H, W):
  ``_resize_kernel_nearest2d`` (a gather that copies repeated rows) or ``_resize_kernel_2d`` (weighted taps);
* otherwise axis by axis with ``_resize_kernel_axis`` (or ``np.take`` for nearest, any element type).

tf_crop_and_resize positions whose source coordinate lies outside the input take ``extrapolation_value``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import check_size, require_input
from onnumba.ops._numba import KERNEL, njit, prange
from onnumba.registry import Op, TensorInfo, register

_COORD_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
                "tf_half_pixel_for_nn", "tf_crop_and_resize")
_NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
_KEEP_ASPECT = ("stretch", "not_larger", "not_smaller")


# ----------------------------------------------------------------------------------------------- kernels

@njit(**KERNEL)
def _resize_kernel_nearest2d(x, out, iy, ix):
    """out[p, oy, ox] = x[p, iy[oy], ix[ox]]; rows that repeat the previous source row are copied."""
    planes, oh, ow = out.shape
    rb = 8
    nrb = (oh + rb - 1) // rb
    for t in prange(planes * nrb):
        p = t // nrb
        y0 = (t % nrb) * rb
        y1 = min(y0 + rb, oh)
        for oy in range(y0, y1):
            sy = iy[oy]
            if oy > y0 and iy[oy - 1] == sy:
                out[p, oy, :] = out[p, oy - 1, :]
            else:
                for ox in range(ow):
                    out[p, oy, ox] = x[p, sy, ix[ox]]


@njit(**KERNEL)
def _resize_kernel_2d(x, out, iy, wy, ix, wx):
    """out[p, oy, ox] = sum_b wx[ox, b] * row[ix[ox, b]] with row = sum_a wy[oy, a] * x[p, iy[oy, a], :]."""
    planes, oh, ow = out.shape
    w_in = x.shape[2]
    ky = iy.shape[1]
    kx = ix.shape[1]
    for t in prange(planes * oh):
        p = t // oh
        oy = t % oh
        row = np.empty(w_in, out.dtype)
        w0 = wy[oy, 0]
        s0 = iy[oy, 0]
        for j in range(w_in):  # the vertical blend first: contiguous, vectorises
            row[j] = w0 * x[p, s0, j]
        for a in range(1, ky):
            wa = wy[oy, a]
            sa = iy[oy, a]
            for j in range(w_in):
                row[j] += wa * x[p, sa, j]
        for ox in range(ow):
            acc = wx[ox, 0] * row[ix[ox, 0]]
            for b in range(1, kx):
                acc += wx[ox, b] * row[ix[ox, b]]
            out[p, oy, ox] = acc


@njit(**KERNEL)
def _resize_kernel_axis(x, out, idx, w):
    """Along the middle axis of (outer, L, inner): out[p, o, :] = sum_k w[o, k] * x[p, idx[o, k], :]."""
    outer, o_len, inner = out.shape
    k_len = idx.shape[1]
    for t in prange(outer * o_len):
        p = t // o_len
        o = t % o_len
        for j in range(inner):
            out[p, o, j] = w[o, 0] * x[p, idx[o, 0], j]
        for k in range(1, k_len):
            wk = w[o, k]
            src = idx[o, k]
            for j in range(inner):
                out[p, o, j] += wk * x[p, src, j]


# ----------------------------------------------------------------------------------------------- tables

def source_coords(coord: str, out_len: int, in_len: int, scale: float, roi: tuple | None) -> np.ndarray:
    """Source coordinate of each output position along one axis (float64), per the spec's formulas.

    align_corners and tf_crop_and_resize divide by ``out_width - 1`` where ``out_width = scale * in_len`` may be
    fractional (the spec's ``output_width``; onnx's reference and its test data do this), not by ``out_len - 1``.
    """
    y = np.arange(out_len, dtype=np.float64)
    out_width = scale * in_len
    if coord == "half_pixel":
        return (y + 0.5) / scale - 0.5
    if coord == "half_pixel_symmetric":
        adjustment = out_len / out_width
        offset = in_len / 2.0 * (1.0 - adjustment)
        return offset + (y + 0.5) / scale - 0.5
    if coord == "pytorch_half_pixel":
        return (y + 0.5) / scale - 0.5 if out_len > 1 else np.zeros(out_len)
    if coord == "align_corners":
        return y * (in_len - 1) / (out_width - 1) if out_width != 1 else np.zeros(out_len)
    if coord == "asymmetric":
        return y / scale
    if coord == "tf_half_pixel_for_nn":
        return (y + 0.5) / scale
    if coord == "tf_crop_and_resize":
        start, end = roi
        if out_width != 1:
            return start * (in_len - 1) + y * (end - start) * (in_len - 1) / (out_width - 1)
        return np.full(out_len, 0.5 * (start + end) * (in_len - 1))
    raise AssertionError(coord)


def _cubic(d: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with coefficient ``a`` at distances ``d``."""
    d = np.abs(d)
    d2, d3 = d * d, d * d * d
    near = (a + 2) * d3 - (a + 3) * d2 + 1
    far = a * d3 - 5 * a * d2 + 8 * a * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def axis_table(attrs, in_len: int, out_len: int, scale: float, roi: tuple | None):
    """Taps of one axis: (idx (O, K) int64 clamped to [0, in_len), w (O, K) float64, outside (O,) bool or None)."""
    x = source_coords(attrs.coord, out_len, in_len, scale, roi)
    outside = None
    if attrs.coord == "tf_crop_and_resize":
        outside = (x < 0) | (x > in_len - 1)
        if not outside.any():
            outside = None
    if attrs.mode == "nearest":
        fl = np.floor(x)
        frac = x - fl
        nm = attrs.nearest_mode
        if nm == "simple":  # Upsample and Resize-10 (onnxruntime): truncate when upsampling, ceil when down
            src = np.ceil(x) if scale < 1 else fl
        elif nm == "round_prefer_floor":
            src = np.where(frac <= 0.5, fl, fl + 1)
        elif nm == "round_prefer_ceil":
            src = np.where(frac < 0.5, fl, fl + 1)
        elif nm == "floor":
            src = fl
        else:
            src = np.ceil(x)
        idx = np.clip(src, 0, in_len - 1).astype(np.int64).reshape(-1, 1)
        return idx, np.ones(idx.shape), outside
    # linear / cubic: base p = ceil(x) - 1 so that the fraction r = x - p lies in (0, 1] (as in the spec's
    # reference); tap i sits at p + start + i, at distance (start + i - r) from x
    p = np.ceil(x) - 1
    r = x - p
    s = min(scale, 1.0) if attrs.antialias else 1.0
    support = 1.0 if attrs.mode == "linear" else 2.0
    start = int(math.floor(-support / s) + 1) if attrs.antialias else int(1 - support)
    k = 2 - 2 * start
    offs = np.arange(start, start + k, dtype=np.float64)
    dist = (offs[None, :] - r[:, None]) * s
    w = np.clip(1.0 - np.abs(dist), 0.0, None) if attrs.mode == "linear" else _cubic(dist, attrs.cubic_a)
    if attrs.antialias:
        w = w / w.sum(axis=1, keepdims=True)
    idx = p[:, None].astype(np.int64) + offs[None, :].astype(np.int64)
    if attrs.exclude_outside:
        w = np.where((idx < 0) | (idx >= in_len), 0.0, w)
        tot = w.sum(axis=1, keepdims=True)
        w = w / np.where(tot == 0, 1.0, tot)
    return np.clip(idx, 0, in_len - 1), w, outside


def _is_identity(idx: np.ndarray, w: np.ndarray, outside, in_len: int) -> bool:
    """True when the table copies the axis unchanged (same length, each output reads its own position)."""
    if outside is not None or idx.shape[0] != in_len or in_len == 0:
        return False
    o = np.arange(idx.shape[0])[:, None]
    on = idx == o
    return bool(np.all(np.where(on, 0.0, w) == 0.0) and np.all(np.where(on, w, 0.0).sum(axis=1) == 1.0))


# ----------------------------------------------------------------------------------------------- op

@dataclass(frozen=True)
class ResizeAttrs:
    mode: str  # nearest | linear | cubic
    coord: str
    nearest_mode: str  # one of _NEAREST_MODES, or 'simple' for Upsample / Resize-10
    cubic_a: float = -0.75
    exclude_outside: bool = False
    extrapolation: float = 0.0
    antialias: bool = False
    axes: tuple | None = None
    keep_aspect: str = "stretch"
    static_scales: tuple | None = None  # Upsample-1/7: scales from attributes
    # filled in by bind for one input shape
    out_shape: tuple = ()
    tables: tuple = ()  # per axis: None (unchanged) or (idx, w, outside)


def _choice(node, name, default, allowed):
    v = node.attr(name, default, "str")
    if v not in allowed:
        raise node.error(f"expected one of {', '.join(allowed)}, got {v!r}", attribute=name)
    return v


def _flag(node, name):
    v = node.attr(name, 0, "int")
    if v not in (0, 1):
        raise node.error(f"expected 0 or 1, got {v}", attribute=name)
    return bool(v)


class _ResizeBase(Op):
    @classmethod
    def _scales_sizes(cls, node, attrs, x, inputs, consts):
        """-> (scales tuple | None, sizes tuple | None, roi tuple | None) as given (per axis of attrs.axes)."""
        raise NotImplementedError

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        x = require_input(node, inputs, 0, "X")
        rank = x.rank
        scales, sizes, roi = cls._scales_sizes(node, attrs, x, inputs, consts)
        axes = attrs.axes
        if axes is not None:
            axes = tuple(a + rank if a < 0 else a for a in axes)
            bad = [a for a in attrs.axes if not -rank <= a < rank]
            if bad:
                raise node.error(f"axis {bad[0]} is out of range for X of rank {rank}", attribute="axes")
        else:
            axes = tuple(range(rank))
        given = scales if scales is not None else sizes
        what, where = ("scales", 2 if node.op_type == "Resize" and node.version >= 11 else 1) \
            if scales is not None else ("sizes", 3)
        if attrs.static_scales is not None:
            where = None
        if len(given) != len(axes):
            expect = f"{len(axes)} (the rank of X)" if attrs.axes is None else f"{len(axes)} (one per axis in 'axes')"
            raise node.error(f"{what} has {len(given)} values, expected {expect}", input=where,
                             attribute="scales" if where is None else None)
        in_shape = x.shape
        scale_v = [1.0] * rank
        out_shape = list(in_shape)
        if scales is not None:
            for a, s in zip(axes, scales):
                if not (s > 0 and math.isfinite(s)):
                    raise node.error(f"scales must be finite and > 0, got {list(scales)}", input=where,
                                     attribute="scales" if where is None else None)
                if node.op_type == "Upsample" and s < 1:
                    raise node.error(f"Upsample scales must be >= 1, got {list(scales)}", input=where,
                                     attribute="scales" if where is None else None)
                scale_v[a] = float(s)
                out_shape[a] = int(math.floor(in_shape[a] * float(s)))
        else:
            for a, n in zip(axes, sizes):
                if n < 0:
                    raise node.error(f"sizes must be >= 0, got {list(sizes)}", input=3)
            if attrs.keep_aspect == "stretch":
                for a, n in zip(axes, sizes):
                    out_shape[a] = n
                    scale_v[a] = n / in_shape[a] if in_shape[a] else 1.0
            else:
                ratios = [n / in_shape[a] if in_shape[a] else 1.0 for a, n in zip(axes, sizes)]
                s = min(ratios) if attrs.keep_aspect == "not_larger" else max(ratios)
                for a in axes:
                    scale_v[a] = s
                    out_shape[a] = int(s * in_shape[a] + 0.5)  # round half up, per the spec
        out_shape = tuple(out_shape)
        check_size(node, out_shape)
        roi_full = None
        if roi is not None:
            if len(roi) != 2 * len(axes):
                raise node.error(f"roi has {len(roi)} values, expected {2 * len(axes)} (starts then ends, one per "
                                 f"resized axis)", input=1)
            roi_full = [(0.0, 1.0)] * rank
            for i, a in enumerate(axes):
                roi_full[a] = (float(roi[i]), float(roi[len(axes) + i]))
        tables = []
        for a in range(rank):
            i_len, o_len = in_shape[a], out_shape[a]
            if i_len == 0 and o_len > 0:
                raise node.error(f"cannot resize axis {a} of length 0 to length {o_len} (X has shape "
                                 f"{shape_str(in_shape)})", input=0)
            if o_len == 0 or (o_len == i_len and scale_v[a] == 1.0 and attrs.coord != "tf_crop_and_resize"):
                tables.append(None)  # every transform maps position o to o at scale 1
                continue
            idx, w, outside = axis_table(attrs, i_len, o_len, scale_v[a],
                                         roi_full[a] if roi_full else (0.0, 1.0))
            tables.append(None if _is_identity(idx, w, outside, i_len) else (idx, w, outside))
        return replace(attrs, out_shape=out_shape, tables=tuple(tables))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = inputs[0]
        if attrs.mode != "nearest" and x.dtype.kind != "f" and x.dtype.name != "bfloat16":
            raise node.error(f"mode {attrs.mode!r} needs a floating-point X, got {x.dtype.name}; "
                             f"use mode 'nearest' for integer data", input=0)
        return [TensorInfo(x.dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [resize_array(arrays[0], attrs)]


def resize_array(x: np.ndarray, attrs: ResizeAttrs) -> np.ndarray:
    """Apply bound tables to ``x`` (shape as bound); returns a new array of ``attrs.out_shape``."""
    dt = x.dtype
    out_shape = attrs.out_shape
    if math.prod(out_shape) == 0:
        return np.empty(out_shape, dt)
    active = [a for a, t in enumerate(attrs.tables) if t is not None]
    if not active:
        return np.array(x, copy=True)
    rank = x.ndim
    nearest = attrs.mode == "nearest"
    is_float = dt.kind == "f" or dt.name == "bfloat16"
    cdt = np.dtype(np.float64) if dt == np.float64 else np.dtype(np.float32)
    if all(a >= rank - 2 for a in active) and (is_float or not nearest) and rank >= 1:
        h_in = x.shape[-2] if rank >= 2 else 1
        w_in = x.shape[-1]
        h_out = out_shape[-2] if rank >= 2 else 1
        w_out = out_shape[-1]
        planes = math.prod(x.shape[:-2]) if rank >= 2 else 1

        def tab(axis, n):
            t = attrs.tables[axis] if axis >= 0 else None
            if t is None:
                return np.arange(n, dtype=np.int64).reshape(-1, 1), np.ones((n, 1), cdt)
            return np.ascontiguousarray(t[0]), np.ascontiguousarray(t[1], dtype=cdt)

        iy, wy = tab(rank - 2, h_in)
        ix, wx = tab(rank - 1, w_in)
        xc = np.ascontiguousarray(x, dtype=cdt).reshape(planes, h_in, w_in)
        out = np.empty((planes, h_out, w_out), cdt)
        if nearest:
            _resize_kernel_nearest2d(xc, out, np.ascontiguousarray(iy[:, 0]), np.ascontiguousarray(ix[:, 0]))
        else:
            _resize_kernel_2d(xc, out, iy, wy, ix, wx)
        y = out.reshape(out_shape)
    elif nearest:
        y = x
        for a in active:
            y = np.take(y, attrs.tables[a][0][:, 0], axis=a)
        y = np.ascontiguousarray(y)
    else:
        y = np.ascontiguousarray(x, dtype=cdt)
        for a in active:
            idx, w, _ = attrs.tables[a]
            outer = math.prod(y.shape[:a])
            inner = math.prod(y.shape[a + 1:])
            shp = list(y.shape)
            shp[a] = idx.shape[0]
            out = np.empty(shp, cdt)
            _resize_kernel_axis(y.reshape(outer, y.shape[a], inner), out.reshape(outer, idx.shape[0], inner),
                                np.ascontiguousarray(idx), np.ascontiguousarray(w, dtype=cdt))
            y = out
    for a in active:
        outside = attrs.tables[a][2]
        if outside is not None:
            sl = [slice(None)] * rank
            sl[a] = outside
            y[tuple(sl)] = attrs.extrapolation
    return y.astype(dt, copy=False)


def _const_floats(node, consts, i, what):
    c = consts[i]
    if c is None:
        raise node.error(f"{what} must be a constant known at plan time", input=i)
    if c.dtype.kind != "f" and c.dtype.name != "bfloat16":
        raise node.error(f"{what} must be a float tensor, got {c.dtype.name}", input=i)
    return tuple(float(v) for v in np.asarray(c, dtype=np.float64).reshape(-1))


def _present(node, consts, i) -> bool:
    """An optional input given with at least one value (an empty tensor counts as omitted)."""
    return node.has_input(i) and i < len(consts) and (consts[i] is None or consts[i].size > 0)


@register("Resize", versions=(10, 11, 13, 18, 19), plan_constant_inputs=(1, 2, 3))
class Resize(_ResizeBase):
    """Resize X by scales or to sizes (constants known at plan time), per the ONNX spec of the node's opset."""

    @classmethod
    def parse_attrs(cls, node):
        v = node.version
        if v < 11:
            mode = _choice(node, "mode", "nearest", ("nearest", "linear"))
            return ResizeAttrs(mode, "asymmetric", "simple")
        mode = _choice(node, "mode", "nearest", ("nearest", "linear", "cubic"))
        coord_modes = _COORD_MODES if v >= 19 else tuple(m for m in _COORD_MODES if m != "half_pixel_symmetric")
        coord = _choice(node, "coordinate_transformation_mode", "half_pixel", coord_modes)
        axes = None
        keep = "stretch"
        antialias = False
        if v >= 18:
            antialias = _flag(node, "antialias")
            keep = _choice(node, "keep_aspect_ratio_policy", "stretch", _KEEP_ASPECT)
            axes = node.attr("axes", None, "ints")
            if axes is not None:
                axes = tuple(axes)
                if len(set(axes)) != len(axes):
                    raise node.error(f"axes must be unique, got {list(axes)}", attribute="axes")
        return ResizeAttrs(
            mode, coord, _choice(node, "nearest_mode", "round_prefer_floor", _NEAREST_MODES),
            node.attr("cubic_coeff_a", -0.75, "float"), _flag(node, "exclude_outside"),
            node.attr("extrapolation_value", 0.0, "float"), antialias, axes, keep)

    @classmethod
    def _scales_sizes(cls, node, attrs, x, inputs, consts):
        if node.version < 11:
            if not node.has_input(1):
                raise node.error("scales is required", input=1)
            return _const_floats(node, consts, 1, "scales"), None, None
        has_scales, has_sizes = _present(node, consts, 2), _present(node, consts, 3)
        if has_scales == has_sizes:
            raise node.error("exactly one of scales (input 2) and sizes (input 3) must be given "
                             f"({'both are' if has_scales else 'neither is'})", input=2 if has_scales else 3)
        scales = _const_floats(node, consts, 2, "scales") if has_scales else None
        sizes = None
        if has_sizes:
            c = consts[3]
            if c.dtype != np.int64:
                raise node.error(f"sizes must be an int64 tensor, got {c.dtype.name}", input=3)
            sizes = tuple(int(v) for v in c.reshape(-1))
        roi = None
        if attrs.coord == "tf_crop_and_resize" and _present(node, consts, 1):
            roi = _const_floats(node, consts, 1, "roi")
        return scales, sizes, roi


@register("Upsample", versions=(1, 7, 9, 10), plan_constant_inputs=(1,))
class Upsample(_ResizeBase):
    """Upsample X by scales >= 1 (asymmetric coordinates; nearest truncates, as onnxruntime does)."""

    @classmethod
    def parse_attrs(cls, node):
        v = node.version
        if v == 1:
            mode = _choice(node, "mode", "nearest", ("nearest", "bilinear"))
            mode = "linear" if mode == "bilinear" else mode
            hs, ws = node.attr("height_scale", None, "float"), node.attr("width_scale", None, "float")
            if hs is None or ws is None:
                raise node.error("Upsample-1 requires the height_scale and width_scale attributes",
                                 attribute="height_scale" if hs is None else "width_scale")
            return ResizeAttrs(mode, "asymmetric", "simple", static_scales=(1.0, 1.0, hs, ws))
        mode = _choice(node, "mode", "nearest", ("nearest", "linear"))
        if v == 7:
            scales = node.attr("scales", None, "floats")
            if scales is None:
                raise node.error("Upsample-7 requires the scales attribute", attribute="scales")
            return ResizeAttrs(mode, "asymmetric", "simple", static_scales=tuple(float(s) for s in scales))
        return ResizeAttrs(mode, "asymmetric", "simple")

    @classmethod
    def _scales_sizes(cls, node, attrs, x, inputs, consts):
        if attrs.static_scales is not None:
            if node.version == 1 and x.rank != 4:
                raise node.error(f"Upsample-1 needs a 4-d NCHW X, got shape {shape_str(x.shape)}", input=0)
            return attrs.static_scales, None, None
        if not node.has_input(1):
            raise node.error("scales is required", input=1)
        return _const_floats(node, consts, 1, "scales"), None, None
