"""ConvTranspose (opsets 1, 11, 22): 1-d, 2-d and 3-d, groups, dilations, strides, pads, auto_pad,
output_padding and output_shape.

Two stride-2 fast paths (2-d, group 1, float32 / float16, output exactly twice the input):

* ``k2s2`` -- kernel 2x2, no padding (the U-Net upsampling): every input pixel owns one 2x2 output block, so
  the op is four 1x1 convolutions (one per tap) whose results interleave.
* ``k3s2`` -- kernel 3x3, begin pads 1 (pads 1 + output_padding 1, or SAME_LOWER): the sub-pixel split of
  the transposed convolution into four small ordinary convolutions, one per output phase (1, 2, 2 and 4
  taps), reading the input at (iy, ix), (iy, ix+1), (iy+1, ix), (iy+1, ix+1).

Both keep a tile of (output channels x taps or phases x 32 input positions) in registers as 16-lane float32
vectors, start it from the bias, run over the input channels with one broadcast FMA per weight, then store
even and odd output columns interleaved straight into the NCHW output: no GEMM, no column buffer, no
col2im scatter-add. Tasks are (image, chunk of positions, channel block) with the channel block fastest, so a
chunk of the input stays in cache (``benchmarks/PERFORMANCE.md`` has the measurements behind these paths).

Every other geometry runs the generic path: for each (image n, group g, chunk of
output channels) a ``prange`` task computes ``cols = W_g[:, chunk]^T @ X[n, g]`` with single-threaded BLAS
(``ops/kernels/blas.py``) into a task-local buffer, then scatters ``cols`` into its own output channels (col2im).
1-d and 2-d inputs run through it as 3-d with leading unit spatial axes. float32 and float64 are computed
natively, float16 in float32. W is rearranged for its kernel once at plan time when it is a constant.
The kernels are in ``ops/conv_transpose_kernels.py``; output sizes and pads in ``ops/_geometry.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from onnumba.ops._common import FLOATS, check_dtype, check_size, compute_dtype, require_input
from onnumba.ops._geometry import AUTO_PADS, G_DH, G_DW, G_ID, G_IH, G_IW, G_KD, G_KH, G_KW, G_OD, G_OH, G_OW, \
    G_PH, G_PW, G_SH, G_SW, GeometryError, check_window, conv_transpose_geometry, window_array
from onnumba.ops._numba import num_threads
from onnumba.ops.conv_transpose_kernels import _MR2, _MR3, _conv_transpose_kernel, _conv_transpose_kernel_k2s2, \
    _conv_transpose_kernel_k3s2
from onnumba.ops.kernels import blas as _blas
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
    #: filled by ``bind``: the output shape, and the window geometry as the kernels take it
    #: (``ops/_geometry.window_array``: 3 spatial axes, leading unit axes for 1-d / 2-d)
    out_shape: tuple | None = None
    geometry: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: filled by ``bind``: which kernel runs ("k2s2", "k3s2" or "generic", see ``_fast_path``)
    path: str = "generic"
    #: (W it was packed from, packed W) when W is a plan-time constant, so ``run`` does not repack it
    packed: tuple | None = field(default=None, compare=False, repr=False)

    @property
    def algorithm(self) -> str:
        """The bound kernel, for plan views: "k2s2", "k3s2" or "generic"."""
        return self.path


# ----------------------------------------------------------------------------------------------- op

def _ints(node, name):
    v = node.attr(name, None, "ints")
    return None if v is None else tuple(v)


@register("ConvTranspose", versions=(1, 11, 22))
class ConvTranspose(Op):
    """Transposed convolution: X (N, C, D1, ...) with W (C, M/group, k1, ...) and optional B (M,).

    Output sizes and pads follow the spec (``ops/_geometry.conv_transpose_geometry``): explicit pads crop
    the full result ``s*(in-1) + output_padding + (k-1)*d + 1``; ``output_shape`` (the spatial sizes only, per
    the spec) derives the pads, and a negative total (an output larger than the full result)
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
        pads = _ints(node, "pads")
        if pads is not None:
            # the spec: pads "cannot be used simultaneously with auto_pad", and each is >= 0 (as Conv refuses)
            if auto_pad != "NOTSET":
                raise node.error(f"pads {list(pads)} cannot be used together with auto_pad={auto_pad!r}; give "
                                 f"one of them", attribute="pads")
            if any(p < 0 for p in pads):
                raise node.error(f"pads must be >= 0, got {list(pads)}", attribute="pads")
        return ConvTransposeAttrs(auto_pad, group, _ints(node, "kernel_shape"), _ints(node, "strides"),
                                  _ints(node, "dilations"), pads, _ints(node, "output_padding"),
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
        M = w.shape[1] * G
        if node.has_input(2):
            b = inputs[2]
            if b.dtype != x.dtype or b.shape != (M,):
                raise node.error(f"B must be a 1-d tensor of {M} {x.dtype.name} values (one per output channel), "
                                 f"got {b.dtype.name}{list(b.shape)}", input=2)
        out_shape_attr = attrs.output_shape
        if out_shape_attr is not None and len(out_shape_attr) == n + 2:
            # the spec: output_shape "should not include dimensions for batch size and channels" (onnxruntime
            # accepts them; we follow the spec)
            raise node.error(f"output_shape {list(out_shape_attr)} has {n + 2} values; give only the {n} spatial "
                             f"sizes (the spec excludes batch and channels)", attribute="output_shape")
        try:
            _, strides, dilations = check_window(kernel, attrs.strides or (1,) * n, attrs.dilations or (1,) * n, n)
            out_sizes, padding = conv_transpose_geometry(
                in_sizes, kernel, strides, dilations, auto_pad=attrs.auto_pad, pads=attrs.pads,
                output_padding=attrs.output_padding, output_shape=out_shape_attr)
        except GeometryError as e:
            raise node.error(str(e), attribute=e.attribute) from None
        out_shape = (N, M) + tuple(out_sizes)
        check_size(node, out_shape)
        geo = window_array(kernel, strides, dilations, padding.begins, out_sizes, in_sizes)
        path = _fast_path(geo, G, x.dtype)
        w_const = consts[1] if len(consts) > 1 else None
        packed = None if w_const is None else (w_const, _pack(path, w_const, G, x.dtype))
        return ConvTransposeAttrs(attrs.auto_pad, G, attrs.kernel_shape, tuple(strides), tuple(dilations),
                                  padding.onnx_pads, attrs.output_padding, attrs.output_shape, out_shape, geo,
                                  path, packed)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        dtype = x.dtype
        cdt = compute_dtype(dtype)
        geo = attrs.geometry
        G = attrs.group
        N, C = x.shape[:2]
        M = w.shape[1] * G
        lin = int(geo[G_ID] * geo[G_IH] * geo[G_IW])
        lout = int(geo[G_OD] * geo[G_OH] * geo[G_OW])
        packed = attrs.packed
        wp = packed[1] if packed is not None and packed[0] is w else _pack(attrs.path, w, G, dtype)
        bias = np.zeros(M, cdt) if b is None else np.ascontiguousarray(b, dtype=cdt)
        out = np.empty((N, M, lout), dtype=cdt)
        if out.size == 0:
            pass
        elif lin == 0:  # an empty spatial axis: the spec's output size is s*(0-1) + extent > 0, and no tap lands
            out[:] = bias[None, :, None]
        elif attrs.path == "k2s2":
            H, W = int(geo[G_IH]), int(geo[G_IW])
            L = -(-lin // 16) * 16
            if L == lin:
                xp = np.ascontiguousarray(x, dtype=np.float32)
            else:
                xp = np.zeros((N, C, L), np.float32)
                xp[:, :, :lin] = x.reshape(N, C, lin)
            _conv_transpose_kernel_k2s2(xp.reshape(N, C * L), wp, _pad_bias(bias, wp.shape[0], _MR2), out, C, L, H, W,
                                        _chunk_positions(C, L))
        elif attrs.path == "k3s2":
            H, W = int(geo[G_IH]), int(geo[G_IW])
            Q = -(-(H * (W + 1)) // 32) * 32
            L = Q + W + 18
            xp = np.zeros((N, C, L), np.float32)
            xp[:, :, :H * (W + 1)].reshape(N, C, H, W + 1)[..., :W] = x.reshape(N, C, H, W)
            _conv_transpose_kernel_k3s2(xp.reshape(N, C * L), wp, _pad_bias(bias, wp.shape[0], _MR3), out, C, L, H, W, Q,
                                        _chunk_positions(C, Q))
        else:
            Cg = C // G
            x4 = np.ascontiguousarray(x.reshape(N, G, Cg, lin), dtype=cdt)
            mc = _chunk_channels(N * G, M // G, int(geo[G_KD] * geo[G_KH] * geo[G_KW]) * lin)
            _blas.ensure_ready()
            _conv_transpose_kernel(x4, wp, bias, out, mc, geo)
        out = out.reshape(attrs.out_shape)
        return [out.astype(dtype) if dtype != cdt else out]


def _fast_path(geo, group, dtype) -> str:
    """The kernel for a resolved geometry (``ops/_geometry.window_array``): "k2s2" (2-d, kernel 2x2, stride 2,
    no padding: the U-Net upsampling), "k3s2" (2-d, kernel 3x3, stride 2, begin pads 1, output twice the
    input), else "generic" (GEMM + col2im: every other geometry, groups, dilations, float64)."""
    if group != 1 or dtype not in (np.float32, np.float16) or geo[G_KD] != 1 or geo[G_ID] != 1:
        return "generic"
    H, W = geo[G_IH], geo[G_IW]
    if (geo[G_SH], geo[G_SW]) != (2, 2) or (geo[G_OH], geo[G_OW]) != (2 * H, 2 * W):
        return "generic"
    k, p = (geo[G_KH], geo[G_KW]), (geo[G_PH], geo[G_PW])
    if k == (2, 2) and p == (0, 0):
        return "k2s2"
    if k == (3, 3) and p == (1, 1) and (geo[G_DH], geo[G_DW]) == (1, 1):
        return "k3s2"
    return "generic"


def _chunk_positions(C, L) -> int:
    """Input positions per task of the stride-2 kernels (``L`` positions in all): a multiple of 32 whose ``C``
    channels take at most about 256 KiB, so the chunk stays in L2 while every channel block reads it; chunks
    of equal size, so the threads' shares of the tasks are equal too."""
    most = max(32, (65536 // max(C, 1)) // 32 * 32)
    chunks = -(-L // most)
    return -(-(-(-L // chunks)) // 32) * 32


def _pad_bias(bias, MB, mr):
    """The bias as float32 padded with zeros to the ``MB`` blocks of ``mr`` channels of a stride-2 kernel."""
    bz = np.zeros(MB * mr, np.float32)
    bz[:bias.shape[0]] = bias
    return bz


#: kernel taps of the "k3s2" path in the order its kernel reads them, as (kh, kw)
_K3S2_TAPS = ((1, 1), (1, 2), (1, 0), (2, 1), (0, 1), (2, 2), (2, 0), (0, 2), (0, 0))


def _pack(path, w, group, dtype) -> np.ndarray:
    """W (C, M/group, k...) rearranged for the path's kernel (see the kernels' docstrings)."""
    cdt = compute_dtype(dtype)
    if path == "generic":
        C, Mg = w.shape[:2]
        K = int(np.prod(w.shape[2:]))
        # (C, Mg, K) -> (G, Mg*K, Cg): rows are (output channel, kernel offset), the GEMM's left operand
        return np.ascontiguousarray(w.reshape(group, C // group, Mg * K).transpose(0, 2, 1), dtype=cdt)
    C, M = w.shape[:2]
    mr = _MR2 if path == "k2s2" else _MR3
    MB = -(-M // mr)
    if path == "k2s2":
        taps = w.reshape(C, M, 4)
    else:
        taps = np.stack([w[:, :, kh, kw] for kh, kw in _K3S2_TAPS], axis=-1)
    T = taps.shape[-1]
    wz = np.zeros((C, MB * mr, T), np.float32)
    wz[:, :M] = taps
    return np.ascontiguousarray(wz.reshape(C, MB, mr * T).transpose(1, 0, 2)).reshape(MB, C * mr * T)


def _chunk_channels(tasks_outer: int, Mg: int, per_channel: int) -> int:
    """Output channels per task: as many as possible (BLAS is most efficient on tall GEMMs), split only so
    every thread gets a task, and capped so one task's column buffer stays under ``_COLS_MAX`` elements."""
    threads = max(1, num_threads())
    splits = -(-threads // max(tasks_outer, 1))  # chunks per (n, g) so that tasks >= threads
    mc = -(-Mg // splits)
    return max(1, min(mc, _COLS_MAX // max(per_channel, 1)))
