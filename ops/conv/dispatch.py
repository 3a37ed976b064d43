"""``conv_nchw``: a convolution as a plain function, on the internal 5-d layout, by the algorithm the schedule
chooses. ``Conv.run`` calls it with what ``Conv.bind`` precomputed (transformed / packed weights, geometry)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numba
import numpy as np

from onnumba.ops._common import compute_dtype
from onnumba.ops._geometry import Padding, window_array, window_output_sizes
from onnumba.ops.conv import schedule as _schedule
from onnumba.ops.conv.direct import _conv_direct_serial, _conv_kernel_direct, _conv_kernel_dw_channels, \
    padded_plane
from onnumba.ops.conv.im2col import _conv_kernel_im2col, _conv_kernel_smalln_packed
from onnumba.ops.conv.pointwise import _conv_kernel_1x1, _conv_kernel_gemv, _conv_kernel_patch_dot, gemv_rows
from onnumba.ops.conv.winograd import _conv_kernel_winograd, winograd_packed, winograd_weights
from onnumba.ops.kernels import blas as _blas, packed_gemm as _gemm
from onnumba.ops.kernels.epilogue import IDENTITY, Epilogue


def conv_nchw(x, w, b=None, strides=None, dilations=None, pads_begin=None, pads_end=None, group=1,
              epilogue: Epilogue = IDENTITY, winograd=True, winograd_u=None, packed_w=None, winograd_up=None,
              geometry=None):
    """Convolution of NC[D][H]W ``x`` (1 to 3 spatial axes) with ``w`` (M, C/group, k...), plus bias, then the
    fused ``epilogue``.

    Args:
        x: (N, C, *spatial) float16/32/64 array.
        w: (M, C/group, *kernel) of the same dtype.
        b: (M,) bias or None.
        strides, dilations: per spatial axis (default 1).
        pads_begin, pads_end: explicit pads per spatial axis (default 0); resolve auto_pad with
            ``ops/_geometry.resolve_padding`` first.
        group: number of groups; C and M must be multiples of it.
        epilogue: the activation applied after the bias (``ops/kernels/epilogue.py``).
        winograd: allow Winograd F(2x2, 3x3) where the schedule chooses it.
        winograd_u: :func:`winograd_weights` of ``w``, precomputed (else computed here on each call).
        packed_w: :func:`packed_weights` of ``w`` (for the depthwise-channels path :func:`channels_last_weights`),
            precomputed (else packed here on each call).
        winograd_up: :func:`winograd_packed` of ``winograd_u``, precomputed (else packed here on each call).
        geometry: ``ops/_geometry.window_array`` of this conv, precomputed (else built here).

    Returns:
        (N, M, *out) array of x's dtype. Shapes are NOT validated here (the op's ``infer`` does that);
        callers outside the op must pass consistent arguments.
    """
    setup = conv_setup(x.shape, w.shape, x.dtype, strides, dilations, pads_begin, pads_end, group,
                       winograd=winograd, transformed=winograd_u is not None, geometry=geometry)
    return conv_run(setup, x, w, b, epilogue, winograd_u, packed_w, winograd_up)


@dataclass(frozen=True)
class ConvSetup:
    """Everything about a conv that its shapes fix (:func:`conv_setup`), so that a bound Conv's run does no
    geometry or algorithm work in Python."""

    algo: str
    cdt: np.dtype
    x5: tuple  # input shape in the internal 5-d layout
    w5: tuple
    o3: tuple  # output sizes, 3 axes
    out_shape: tuple  # (N, M, *out) in the caller's rank
    group: int
    g: np.ndarray = field(compare=False, repr=False)
    HP: int = 0
    WP: int = 0
    zero_bias: np.ndarray = field(default=None, compare=False, repr=False)
    #: thread count -> tiling parameter of the chosen path (the schedule splits work per thread)
    tiling: dict = field(default_factory=dict, compare=False, repr=False)


def conv_setup(x_shape, w_shape, dtype, strides=None, dilations=None, pads_begin=None, pads_end=None, group=1, *,
               winograd=True, transformed=False, geometry=None, zero_taps=False) -> ConvSetup:
    """The :class:`ConvSetup` of a conv of these shapes (``transformed``: W's Winograd transform is given;
    ``zero_taps``: see :func:`schedule.choose_algorithm`)."""
    nsp = len(x_shape) - 2
    one = (1,) * nsp
    strides = tuple(strides or one)
    dilations = tuple(dilations or one)
    pads_begin = tuple(pads_begin or (0,) * nsp)
    pads_end = tuple(pads_end or (0,) * nsp)
    ksz = tuple(w_shape[2:])
    out_sp = window_output_sizes(tuple(x_shape[2:]), ksz, strides, dilations, Padding(pads_begin, pads_end))
    cdt = np.dtype(compute_dtype(np.dtype(dtype)))
    N, C = x_shape[:2]
    M = w_shape[0]
    pad3 = (3 - nsp)
    x5 = (N, C) + (1,) * pad3 + tuple(x_shape[2:])
    w5 = (M, w_shape[1]) + (1,) * pad3 + ksz
    s3 = (1,) * pad3 + strides
    d3 = (1,) * pad3 + dilations
    p3 = (0,) * pad3 + pads_begin
    o3 = (1,) * pad3 + tuple(out_sp)
    g = window_array(ksz, strides, dilations, pads_begin, out_sp, tuple(x_shape[2:])) if geometry is None \
        else geometry
    algo = _schedule.choose_algorithm(x5, w5, s3, p3, d3, o3, group, cdt, winograd=winograd,
                                      transformed=transformed, zero_taps=zero_taps)
    HP = WP = 0
    if algo in ("direct", "depthwise"):
        HP, WP = padded_plane(x5[3:], o3, w5[2:], s3, d3)
    return ConvSetup(algo, cdt, x5, w5, o3, (N, M) + tuple(out_sp), group, g, HP, WP, np.zeros(M, cdt))


def channels_last_weights(w, dtype=None) -> np.ndarray:
    """Depthwise 2-d weights (M, 1, KH, KW) as (KH, KW, M), for ``direct._conv_kernel_dw_channels``."""
    w = np.asarray(w, dtype)
    return np.ascontiguousarray(w.reshape(w.shape[0], w.shape[-2], w.shape[-1]).transpose(1, 2, 0))


def _tiling(st: ConvSetup, threads):
    t = st.tiling.get(threads)
    if t is None:
        N, C = st.x5[:2]
        M, Cg = st.w5[:2]
        o3 = st.o3
        P = o3[0] * o3[1] * o3[2]
        if st.algo in ("direct", "depthwise"):
            t = _schedule.direct_jobs_per_chunk(N * M * o3[0])
        elif st.algo == "winograd":
            t = _schedule.winograd_rows_per_job(N, C, M, o3[1], o3[2])
        elif st.algo.endswith("-smallmap"):
            t = _schedule.smallmap_panels_per_job(M)
        elif st.algo == "1x1":
            t = _schedule.pointwise_cols_per_tile(P, N, st.group, Cg)
        elif st.algo == "im2col":
            t = _schedule.im2col_rows_per_tile(Cg * st.w5[2] * st.w5[3] * st.w5[4], M // st.group, o3, N, st.group)
        else:
            t = 0
        st.tiling[threads] = t
    return t


def conv_run(st: ConvSetup, x, w, b=None, epilogue: Epilogue = IDENTITY, winograd_u=None, packed_w=None,
             winograd_up=None, threads=None):
    """Run a conv set up by :func:`conv_setup` (arguments as :func:`conv_nchw`; ``threads``: Numba's current
    thread count, when the caller knows it)."""
    if threads is None:
        threads = numba.get_num_threads()
    dtype = x.dtype
    cdt = st.cdt
    algo = st.algo
    N, C = st.x5[:2]
    M = st.w5[0]
    o3 = st.o3
    group = st.group
    g = st.g
    x5 = (x if x.dtype == cdt and x.flags.c_contiguous else np.ascontiguousarray(x, dtype=cdt)).reshape(st.x5)
    w5 = (w if w.dtype == cdt and w.flags.c_contiguous else np.ascontiguousarray(w, dtype=cdt)).reshape(st.w5)
    has_bias = b is not None
    # always M values (zeros without B), and epilogue scalars in the compute dtype, so no float64 promotion
    bias = np.ascontiguousarray(b, dtype=cdt) if has_bias else st.zero_bias
    act, a0, a1 = epilogue.args(cdt)
    P = o3[0] * o3[1] * o3[2]
    out = np.empty((N, M, P), cdt)
    Cg = C // group
    packed = cdt == np.float32
    if algo == "depthwise-channels":
        wt = channels_last_weights(w5, cdt) if packed_w is None else packed_w
        _conv_kernel_dw_channels(x5.reshape(N, C, st.x5[3], st.x5[4]), wt, bias,
                                 out.reshape(N, M, o3[1], o3[2]), g, _schedule._DW_CHANNELS_PER_JOB, act, a0, a1)
    elif algo in ("direct", "depthwise"):
        if threads == 1:
            _conv_direct_serial(x5, w5, bias, out.reshape((N, M) + o3), group, g, st.HP, st.WP, act, a0, a1)
        else:
            _conv_kernel_direct(x5, w5, bias, out.reshape((N, M) + o3), group, g, st.HP, st.WP,
                                _tiling(st, threads), act, a0, a1)
    elif algo == "1x1-gemv":
        xt = np.ascontiguousarray(x5.reshape(N, C, P).transpose(0, 2, 1)).reshape(N * P, C)
        if threads == 1:
            gemv_rows(xt, w5.reshape(M, C), bias, out, 0, M, act, a0, a1)
        else:
            _conv_kernel_gemv(xt, w5.reshape(M, C), bias, out, act, a0, a1)
    elif algo == "patch-dot":
        _conv_kernel_patch_dot(x5, w5.reshape(M, -1), bias, out, group, g, act, a0, a1)
    elif algo == "winograd":
        u = winograd_weights(w5[:, :, 0]) if winograd_u is None else winograd_u
        if packed:
            wa = winograd_packed(u) if winograd_up is None or winograd_u is None else winograd_up
        else:
            _blas.ensure_ready()
            wa = u.reshape(16 * M, C)
        _conv_kernel_winograd(x5.reshape(N, C, st.x5[3], st.x5[4]), wa, bias, out.reshape(N, M, o3[1], o3[2]), M, g,
                              _tiling(st, threads), act, a0, a1)
    elif algo != "empty":
        # the weights as ops/kernels/gemm_block.py takes them: packed per group for float32, plain for float64
        w2 = w5.reshape(M, -1)
        if packed:
            wa = _gemm.pack_a(w2, group) if packed_w is None else packed_w
        else:
            _blas.ensure_ready()
            wa = w2
        if algo.endswith("-smallmap"):
            _conv_kernel_smalln_packed(x5, wa, M, w2.shape[1], bias, has_bias, out.reshape(-1), g,
                                       algo == "1x1-smallmap", _tiling(st, threads), act, a0, a1)
        elif algo == "1x1":
            _conv_kernel_1x1(x5.reshape(-1), wa, M // group, Cg, P, bias, has_bias, out.reshape(-1), N, group,
                             _tiling(st, threads), act, a0, a1)
        else:
            _conv_kernel_im2col(x5, wa, M // group, w2.shape[1], bias, has_bias, out.reshape(-1), group, g,
                                _tiling(st, threads), act, a0, a1)
    out = out.reshape(st.out_shape)
    return out.astype(dtype) if cdt != dtype else out
