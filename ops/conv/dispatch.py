"""``conv_nchw``: a convolution as a plain function, on the internal 5-d layout, by the algorithm the schedule
chooses. ``Conv.run`` calls it with what ``Conv.bind`` precomputed (transformed / packed weights, geometry)."""

from __future__ import annotations

import numpy as np

from onnumba.ops._common import compute_dtype
from onnumba.ops._geometry import Padding, window_array, window_output_sizes
from onnumba.ops.conv import schedule as _schedule
from onnumba.ops.conv.direct import _conv_kernel_direct, _conv_kernel_dw_channels, padded_plane
from onnumba.ops.conv.im2col import _conv_kernel_im2col, _conv_kernel_im2col_packed, _conv_kernel_smalln_packed
from onnumba.ops.conv.pointwise import _conv_kernel_1x1, _conv_kernel_1x1_packed, _conv_kernel_gemv
from onnumba.ops.conv.winograd import _conv_kernel_winograd, _conv_kernel_winograd_packed, winograd_packed, \
    winograd_weights
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
        packed_w: :func:`packed_weights` of ``w``, precomputed (else packed here on each call).
        winograd_up: :func:`winograd_packed` of ``winograd_u``, precomputed (else packed here on each call).
        geometry: ``ops/_geometry.window_array`` of this conv, precomputed (else built here).

    Returns:
        (N, M, *out) array of x's dtype. Shapes are NOT validated here (the op's ``infer`` does that);
        callers outside the op must pass consistent arguments.
    """
    nsp = x.ndim - 2
    one = (1,) * nsp
    strides = tuple(strides or one)
    dilations = tuple(dilations or one)
    pads_begin = tuple(pads_begin or (0,) * nsp)
    pads_end = tuple(pads_end or (0,) * nsp)
    ksz = tuple(w.shape[2:])
    out_sp = window_output_sizes(x.shape[2:], ksz, strides, dilations, Padding(pads_begin, pads_end))
    dtype = x.dtype
    cdt = compute_dtype(dtype)
    N, C = x.shape[:2]
    M = w.shape[0]
    pad3 = (3 - nsp)
    x5 = np.ascontiguousarray(x, dtype=cdt).reshape((N, C) + (1,) * pad3 + tuple(x.shape[2:]))
    w5 = np.ascontiguousarray(w, dtype=cdt).reshape((M, w.shape[1]) + (1,) * pad3 + ksz)
    has_bias = b is not None
    # always M values (zeros without B), and epilogue scalars in the compute dtype, so no float64 promotion
    bias = np.ascontiguousarray(b, dtype=cdt) if has_bias else np.zeros(M, cdt)
    s3 = (1,) * pad3 + strides
    d3 = (1,) * pad3 + dilations
    p3 = (0,) * pad3 + pads_begin
    o3 = (1,) * pad3 + out_sp
    k3 = w5.shape[2:]
    g = window_array(ksz, strides, dilations, pads_begin, out_sp, x.shape[2:]) if geometry is None else geometry
    act, a0, a1 = epilogue.args(cdt)
    P = o3[0] * o3[1] * o3[2]
    out = np.empty((N, M, P), cdt)
    Cg = C // group
    packed = cdt == np.float32
    algo = _schedule.choose_algorithm(x5.shape, w5.shape, s3, p3, d3, o3, group, cdt, winograd=winograd,
                                      transformed=winograd_u is not None)
    if algo == "depthwise-channels":
        wt = np.ascontiguousarray(w5.reshape(M, k3[1], k3[2]).transpose(1, 2, 0))
        _conv_kernel_dw_channels(x5.reshape(N, C, x5.shape[3], x5.shape[4]), wt, bias,
                                 out.reshape(N, M, o3[1], o3[2]), g, _schedule._DW_CHANNELS_PER_JOB, act, a0, a1)
    elif algo in ("direct", "depthwise"):
        HP, WP = padded_plane(x5.shape[3:], o3, k3, s3, d3)
        per = _schedule.direct_jobs_per_chunk(N * M * o3[0])
        _conv_kernel_direct(x5, w5, bias, out.reshape((N, M) + o3), group, g, HP, WP, per, act, a0, a1)
    elif algo == "winograd":
        per = _schedule.winograd_rows_per_job(N, C, M, o3[1], o3[2])
        out4 = out.reshape(N, M, o3[1], o3[2])
        u = winograd_weights(w5[:, :, 0]) if winograd_u is None else winograd_u
        x4 = x5.reshape(N, C, x5.shape[3], x5.shape[4])
        if packed:
            up = winograd_packed(u) if winograd_up is None or winograd_u is None else winograd_up
            _conv_kernel_winograd_packed(x4, up, bias, out4, M, g, per, act, a0, a1)
        else:
            _blas.ensure_ready()
            _conv_kernel_winograd(x4, u, bias, has_bias, out4, g, per, act, a0, a1)
    elif algo == "1x1-gemv":
        xt = np.ascontiguousarray(x5.reshape(N, C, P).transpose(0, 2, 1)).reshape(N * P, C)
        _conv_kernel_gemv(xt, w5.reshape(M, C), bias, out, act, a0, a1)
    elif algo != "empty":
        w2 = w5.reshape(M, -1)
        if packed:
            ap = _gemm.pack_a(w2, group) if packed_w is None else packed_w
        else:
            _blas.ensure_ready()
        if algo.endswith("-smallmap"):
            _conv_kernel_smalln_packed(x5, ap, M, w2.shape[1], bias, has_bias, out.reshape(-1), g,
                                       algo == "1x1-smallmap", _schedule.smallmap_panels_per_job(M), act, a0, a1)
        elif algo == "1x1":
            cols = _schedule.pointwise_cols_per_tile(P, N, group, Cg)
            if packed:
                _conv_kernel_1x1_packed(x5.reshape(-1), ap, M // group, Cg, P, bias, has_bias, out.reshape(-1), N,
                                        group, cols, act, a0, a1)
            else:
                _conv_kernel_1x1(x5.reshape(N, C, P), w2, bias, has_bias, out, group, cols, act, a0, a1)
        else:
            rows = _schedule.im2col_rows_per_tile(w2.shape[1], M // group, o3, N, group)
            if packed:
                _conv_kernel_im2col_packed(x5, ap, M // group, w2.shape[1], bias, has_bias, out.reshape(-1), group,
                                           g, rows, act, a0, a1)
            else:
                _conv_kernel_im2col(x5, w2, bias, has_bias, out, group, g, rows, act, a0, a1)
    out = out.reshape((N, M) + out_sp)
    return out.astype(dtype) if cdt != dtype else out
