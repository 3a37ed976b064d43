"""ConvTranspose (opsets 1, 11, 22): 1-d, 2-d and 3-d, groups, dilations, strides, pads, auto_pad,
output_padding and output_shape, as GEMM + col2im in one Numba kernel.

Design (shared/PERFORMANCE.md): for each (image n, group g, chunk of output channels) a ``prange`` task
computes ``cols = W_g[:, chunk]^T @ X[n, g]`` (rows: output channel x kernel offset, columns: input
positions) with single-threaded BLAS (``ops/_blas.py``) into a task-local buffer that stays in cache, then
scatters ``cols`` into its own output channels (col2im). Tasks own disjoint output channels, so the
scatter needs no synchronisation, and Numba's pool is the only thread pool.

1-d and 2-d inputs run through the same kernel as 3-d with leading unit spatial axes. float32 and float64
are computed natively, float16 in float32.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops import _blas
from onnumba.ops._common import FLOATS, check_dtype, check_size, require_input
from onnumba.ops._geometry import AUTO_PADS, GeometryError, Padding, check_window, conv_transpose_geometry
from onnumba.ops._numba import KERNEL, SERIAL, njit, num_threads, prange
from onnumba.registry import Op, TensorInfo, register

#: largest column buffer of one task, in elements (float32: 8 MiB)
_COLS_MAX = 2 * 1024 * 1024


@dataclass(frozen=True)
class ConvTransposeAttrs:
    auto_pad: str = "NOTSET"
    group: int = 1
    kernel_shape: tuple | None = None
    strides: tuple | None = None
    dilations: tuple | None = None
    pads: tuple | None = None
    output_padding: tuple | None = None
    output_shape: tuple | None = None
    #: filled by ``bind``: resolved geometry, padded to 3 spatial axes (leading unit axes for 1-d / 2-d)
    out_shape: tuple | None = None
    geom: tuple | None = None


# ----------------------------------------------------------------------------------------------- kernels

@njit(**SERIAL)
def _col2im_channel(cols, r0, o, ID, IH, IW, OD, OH, OW, KD, KH, KW, sd, sh, sw, dd, dh, dw, pd, ph, pw):
    """Scatter-add the K rows ``cols[r0:r0+K]`` (one output channel) into ``o`` (its flat spatial output)."""
    for kd in range(KD):
        for kh in range(KH):
            for kw in range(KW):
                c = cols[r0 + (kd * KH + kh) * KW + kw]
                ow0 = kw * dw - pw
                # input columns iw whose output column iw*sw + ow0 falls inside [0, OW)
                iw_lo = 0 if ow0 >= 0 else (-ow0 + sw - 1) // sw
                iw_hi = 0 if OW - 1 - ow0 < 0 else min(IW, (OW - 1 - ow0) // sw + 1)
                if iw_hi <= iw_lo:
                    continue
                for iz in range(ID):
                    oz = iz * sd + kd * dd - pd
                    if oz < 0 or oz >= OD:
                        continue
                    for iy in range(IH):
                        oy = iy * sh + kh * dh - ph
                        if oy < 0 or oy >= OH:
                            continue
                        ob = (oz * OH + oy) * OW + ow0
                        ib = (iz * IH + iy) * IW
                        if sw == 1:
                            for iw in range(iw_lo, iw_hi):
                                o[ob + iw] += c[ib + iw]
                        elif sw == 2:
                            for iw in range(iw_lo, iw_hi):
                                o[ob + 2 * iw] += c[ib + iw]
                        else:
                            for iw in range(iw_lo, iw_hi):
                                o[ob + iw * sw] += c[ib + iw]


@njit(**KERNEL)
def _conv_transpose_kernel(x, wt, bias, out, mc, ID, IH, IW, OD, OH, OW, KD, KH, KW, sd, sh, sw, dd, dh, dw,
                           pd, ph, pw):
    """out[n, g*Mg + m] = bias[...] + col2im(wt[g, m*K:(m+1)*K] @ x[n, g]).

    x: (N, G, Cg, Lin); wt: (G, Mg*K, Cg); bias: (M,); out: (N, M, Lout) -- every array C-contiguous.
    Tasks: (n, g, chunk of ``mc`` output channels of the group), each with its own column buffer.
    """
    N = x.shape[0]
    G = x.shape[1]
    lin = x.shape[3]
    K = KD * KH * KW
    Mg = wt.shape[1] // K
    nchunks = (Mg + mc - 1) // mc
    for t in prange(N * G * nchunks):
        n = t // (G * nchunks)
        rem = t - n * G * nchunks
        g = rem // nchunks
        m0 = (rem - g * nchunks) * mc
        m1 = min(Mg, m0 + mc)
        rows = (m1 - m0) * K
        cols = np.empty((rows, lin), dtype=out.dtype)
        _blas.gemm(wt[g, m0 * K:m1 * K, :], x[n, g], cols, 1.0, 0.0, False, False)
        for m in range(m0, m1):
            o = out[n, g * Mg + m]
            o[:] = bias[g * Mg + m]
            _col2im_channel(cols, (m - m0) * K, o, ID, IH, IW, OD, OH, OW, KD, KH, KW, sd, sh, sw, dd, dh, dw,
                            pd, ph, pw)


# ----------------------------------------------------------------------------------------------- op

def _ints(node, name):
    v = node.attr(name, None, "ints")
    return None if v is None else tuple(v)


@register("ConvTranspose", versions=(1, 11, 22))
class ConvTranspose(Op):
    """Transposed convolution: X (N, C, D1, ...) with W (C, M/group, k1, ...) and optional B (M,).

    Output sizes and pads follow the spec (``ops/_geometry.conv_transpose_geometry``): explicit pads crop
    the full result ``s*(in-1) + output_padding + (k-1)*d + 1``; ``output_shape`` (spatial sizes, or N, C
    and the spatial sizes) derives the pads, and a negative total (an output larger than the full result)
    extends it with zeros (plus bias); SAME_* gives ``in*s``. 1 to 3 spatial axes.
    """

    @classmethod
    def parse_attrs(cls, node) -> ConvTransposeAttrs:
        auto_pad = node.attr("auto_pad", "NOTSET", "str")
        if auto_pad not in AUTO_PADS:
            raise node.error(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", attribute="auto_pad")
        group = node.attr("group", 1, "int")
        if group < 1:
            raise node.error(f"group must be >= 1, got {group}", attribute="group")
        return ConvTransposeAttrs(auto_pad, group, _ints(node, "kernel_shape"), _ints(node, "strides"),
                                  _ints(node, "dilations"), _ints(node, "pads"), _ints(node, "output_padding"),
                                  _ints(node, "output_shape"))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx) -> ConvTransposeAttrs:
        x = require_input(node, inputs, 0, "X")
        w = require_input(node, inputs, 1, "W")
        check_dtype(node, x, 0, FLOATS, "X")
        if w.dtype != x.dtype:
            raise node.error(f"W has element type {w.dtype.name} but X has {x.dtype.name}; they must match",
                             input=1)
        if x.rank < 3 or x.rank > 5:
            raise node.error(f"X must have shape (N, C, D1[, D2[, D3]]) with 1 to 3 spatial axes, got shape "
                             f"{list(x.shape)}", input=0)
        n = x.rank - 2
        N, C = x.shape[:2]
        in_sizes = x.shape[2:]
        G = attrs.group
        if w.rank != x.rank:
            raise node.error(f"W must have rank {x.rank} (C, M/group, k1, ...) like X, got shape {list(w.shape)}",
                             input=1)
        if C % G:
            raise node.error(f"group {G} does not divide the {C} input channels of X", attribute="group")
        if w.shape[0] != C:
            raise node.error(f"W must have shape (C, M/group, k...) with C={C} (X's channels), got "
                             f"{list(w.shape)}", input=1)
        kernel = tuple(w.shape[2:])
        if attrs.kernel_shape is not None and tuple(attrs.kernel_shape) != kernel:
            raise node.error(f"kernel_shape {list(attrs.kernel_shape)} does not match W's spatial shape "
                             f"{list(kernel)}", attribute="kernel_shape")
        if any(d < 1 for d in in_sizes):
            raise node.error(f"X has an empty spatial axis: shape {list(x.shape)}", input=0)
        M = w.shape[1] * G
        if node.has_input(2):
            b = inputs[2]
            if b.dtype != x.dtype or b.shape != (M,):
                raise node.error(f"B must be a 1-d tensor of {M} {x.dtype.name} values (one per output channel), "
                                 f"got {b.dtype.name}{list(b.shape)}", input=2)
        out_shape_attr = attrs.output_shape
        if out_shape_attr is not None and len(out_shape_attr) == n + 2:
            if tuple(out_shape_attr[:2]) != (N, M):
                raise node.error(f"output_shape {list(out_shape_attr)} gives (N, C) = {list(out_shape_attr[:2])}"
                                 f" but the output has ({N}, {M})", attribute="output_shape")
            out_shape_attr = out_shape_attr[2:]
        try:
            _, strides, dilations = check_window(kernel, attrs.strides or (1,) * n, attrs.dilations or (1,) * n, n)
            out_sizes, padding = _conv_transpose_geometry(
                in_sizes, kernel, strides, dilations, auto_pad=attrs.auto_pad, pads=attrs.pads,
                output_padding=attrs.output_padding, output_shape=out_shape_attr)
        except GeometryError as e:
            raise node.error(str(e), attribute=e.attribute) from None
        out_shape = (N, M) + tuple(out_sizes)
        check_size(node, out_shape)
        lead = 3 - n
        pad3 = lambda v, fill: (fill,) * lead + tuple(v)  # noqa: E731
        geom = (pad3(in_sizes, 1), pad3(out_sizes, 1), pad3(kernel, 1), pad3(strides, 1), pad3(dilations, 1),
                pad3(padding.begins, 0))
        return ConvTransposeAttrs(attrs.auto_pad, G, attrs.kernel_shape, tuple(strides), tuple(dilations),
                                  padding.onnx_pads, attrs.output_padding, attrs.output_shape, out_shape, geom)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        dtype = x.dtype
        cdt = np.float32 if dtype == np.float16 else dtype
        ins, outs, ks, ss, ds, ps = attrs.geom
        G = attrs.group
        N, C = x.shape[:2]
        Cg = C // G
        Mg = w.shape[1]
        M = Mg * G
        K = ks[0] * ks[1] * ks[2]
        lin = ins[0] * ins[1] * ins[2]
        lout = outs[0] * outs[1] * outs[2]
        x4 = np.ascontiguousarray(x.reshape(N, G, Cg, lin), dtype=cdt)
        # (C, Mg, K) -> (G, Mg*K, Cg): rows are (output channel, kernel offset), the GEMM's left operand
        wt = np.ascontiguousarray(w.reshape(G, Cg, Mg * K).transpose(0, 2, 1), dtype=cdt)
        bias = np.zeros(M, cdt) if b is None else np.ascontiguousarray(b, dtype=cdt)
        out = np.empty((N, M, lout), dtype=cdt)
        if out.size:
            mc = _chunk_channels(N * G, Mg, K * lin)
            _blas.ensure_ready()
            _conv_transpose_kernel(x4, wt, bias, out, mc, *ins, *outs, *ks, *ss, *ds, *ps)
        out = out.reshape(attrs.out_shape)
        return [out.astype(dtype) if dtype != cdt else out]


def _conv_transpose_geometry(in_sizes, kernel, strides, dilations, *, auto_pad, pads, output_padding,
                             output_shape) -> tuple:
    """``_geometry.conv_transpose_geometry`` (validation, output sizes) with the spec's ``total/2`` read as
    floor division when output_shape or SAME_* derive the pads.

    A negative odd total (output larger than the full result) then puts the extra zero row at the end for
    NOTSET / SAME_LOWER and at the start for SAME_UPPER: this is what onnx's reference implementation and
    its node case ``test_convtranspose_output_shape`` (total -1, zero row last) do. The shared function
    truncates toward zero, which fails that case.
    """
    out, padding = conv_transpose_geometry(in_sizes, kernel, strides, dilations, auto_pad=auto_pad, pads=pads,
                                           output_padding=output_padding, output_shape=output_shape)
    if not output_shape and auto_pad not in ("SAME_UPPER", "SAME_LOWER"):
        return out, padding
    op = tuple(output_padding) if output_padding else (0,) * len(in_sizes)
    begins, ends = [], []
    for i, k, s, d, o, size in zip(in_sizes, kernel, strides, dilations, op, out):
        total = s * (i - 1) + o + (k - 1) * d + 1 - size
        b = total // 2 if auto_pad == "SAME_UPPER" else total - total // 2
        begins.append(b)
        ends.append(total - b)
    return out, Padding(tuple(begins), tuple(ends))


def _chunk_channels(tasks_outer: int, Mg: int, per_channel: int) -> int:
    """Output channels per task: as many as possible (BLAS is most efficient on tall GEMMs: one task of 32
    channels ran 2.5x faster than 32 tasks of one at 1 thread), split only so every thread gets a task, and
    capped so one task's column buffer stays under ``_COLS_MAX`` elements."""
    threads = max(1, num_threads())
    splits = -(-threads // max(tasks_outer, 1))  # chunks per (n, g) so that tasks >= threads
    mc = -(-Mg // splits)
    return max(1, min(mc, _COLS_MAX // max(per_channel, 1)))
