"""Which Conv algorithm runs, how its work is tiled, and whether it is worth waking a second thread.

Every decision here is a rule on the concrete shapes (and the thread count at run time); the thresholds are
named constants whose comment states the rule. Their measurements, with the commands that reproduce them and
the ISA they were taken on, are in ``benchmarks/PERFORMANCE.md`` (section "Conv").

Algorithms (the labels :func:`choose_algorithm` returns, shown in plan views):

* ``"depthwise"`` / ``"direct"``: one input channel per group (``ops/conv/direct.py``);
* ``"depthwise-channels"``: 2-d depthwise (one output channel per group) on a map of at most
  ``_DW_CHANNELS_MAX_PIXELS`` output pixels, vectorised across channels (``direct._conv_kernel_dw_channels``);
* ``"winograd"``: 2-d 3x3, stride 1, dilation 1, one group, enough channels and pixels (``winograd.py``);
* ``"1x1"``: 1x1 kernel, stride 1, no pads (``pointwise.py``);
* ``"im2col"``: everything else (``im2col.py``);
* ``"1x1-smallmap"`` / ``"im2col-smallmap"``: float32, one group, a small output map: B packed once per
  image, the chunks split the output channels (``im2col._conv_kernel_smalln_packed``);
* ``"1x1-gemv"``: float32, one group, a 1x1 conv with at most ``_GEMV_MAX_COLS`` output columns per batch:
  dot products per output channel (``pointwise._conv_kernel_gemv``);
* ``"patch-dot"``: float32, any kernel and groups (more than one input channel per group), at most
  ``_GEMV_MAX_COLS`` output pixels per batch: each group's input patch gathered once, one dot product per output
  channel (``pointwise._conv_kernel_patch_dot``; regnet's grouped 3x3 convs on 1x1 maps);
* ``"empty"``: nothing to compute (an empty batch, channel or map).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from onnumba.ops.kernels import packed_gemm as _gemm

#: Winograd needs at least this many input and output channels: below it the transforms outweigh the GEMMs
_WINOGRAD_MIN_CHANNELS = 32
#: ... and at least this many output pixels per image: on small maps the 2x2 tiles are too few to fill the GEMM
_WINOGRAD_MIN_PIXELS = 100
#: ... and, when W is not a plan-time constant (transformed on every call), this many output pixels per batch
_WINOGRAD_MIN_PIXELS_UNTRANSFORMED = 1024
#: most 2x2 output tiles per Winograd chunk
_WINO_TILES = 256
#: Winograd chunk buffers (v and z: 16 * (C + M) elements per tile) stay within this many elements (2 MiB of f32)
_WINO_BUFFER_ELEMS = 2 ** 19

#: float32 one-group 1x1 convs with at most this many output columns (N * pixels) run as dot products: the packed
#: GEMM would pad them to NR columns
_GEMV_MAX_COLS = 4

#: float32 one-group convs with at most this many output pixels per image take the small-map path
_SMALLN_MAX_PIXELS = 400

#: 1x1 GEMM tile budget in elements (about 1 MiB of float32: stays in L2/L3 while the GEMM reads it)
_TILE_ELEMS = 2 ** 18
#: im2col tiles: at least this many output columns (the GEMM amortises packing W) ...
_IM2COL_MIN_COLS = 448
#: ... else about this many elements of im2col tile + output tile (256 KiB of float32)
_IM2COL_TILE_ELEMS = 65536

#: A conv whose estimated 1-thread time is below this many microseconds runs on the calling thread alone:
#: waking a sleeping worker (passive OpenMP waiting, ops/_numba.py) costs more than it saves
_PAR_MIN_US = 150.0
#: the estimate: microseconds per multiply-add pair of the GEMM ...
_US_PER_FLOP = 1 / 1.3e5
#: ... per output element written ...
_US_PER_OUT = 1 / 6e3
#: ... and per im2col element written (paths with a column buffer)
_US_PER_COL = 1 / 3e3
#: ... and per multiply-add of a dot-product 1x1 conv ("1x1-gemv"): it streams its weights once, memory bound
_US_PER_GEMV_MAC = 1 / 1.2e4
#: one-input-channel (depthwise) convs are memory bound: parallel from this many input + output elements
_PAR_MIN_DIRECT_ELEMS = 300_000
#: 2-d depthwise convs with at most this many output pixels run vectorised across channels
_DW_CHANNELS_MAX_PIXELS = 16
#: channels per chunk of that kernel
_DW_CHANNELS_PER_JOB = 256
#: direct-kernel chunks per thread (a few, so uneven channels still balance)
_DIRECT_CHUNKS_PER_THREAD = 4


def _threads() -> int:
    return max(1, numba.get_num_threads())


def _tiles(units: int, outer_jobs: int, unit_cost: int, budget: int | None = None) -> int:
    """Units (output rows or columns) per tile: within ``budget`` elements of buffer, and enough tiles that
    every thread gets work, balanced across threads."""
    threads = _threads()
    budget = _TILE_ELEMS if budget is None else budget
    per = max(1, min(units, budget // max(unit_cost, 1)))
    ntile = -(-units // per)
    if outer_jobs * ntile < 2 * threads:
        ntile = min(units, max(ntile, -(-2 * threads // max(outer_jobs, 1))))
    # balance: grow the tile count until the jobs divide evenly over the threads (while tiles stay >= 1 unit)
    for extra in range(threads):
        cand = ntile + extra
        if cand > units:
            break
        if (outer_jobs * cand) % threads == 0:
            ntile = cand
            break
    return -(-units // max(ntile, 1))


def run_serially(x_shape, w_shape, group, strides, pads, out_sizes) -> bool:
    """True when a conv of these concrete shapes is estimated too small to repay waking a second thread."""
    N, C = x_shape[:2]
    M, Cg = w_shape[:2]
    P = math.prod(out_sizes)
    out = N * M * P
    if Cg == 1:
        return math.prod(x_shape) + out < _PAR_MIN_DIRECT_ELEMS
    # the packed GEMM computes whole panels of NR columns: a 1x1 output map (a conv as a fully connected
    # layer) costs NR columns
    is1x1 = all(k == 1 for k in w_shape[2:]) and all(s == 1 for s in strides) and not any(pads)
    if N * P <= _GEMV_MAX_COLS:  # the dot-product paths
        return N * P * M * Cg * math.prod(w_shape[2:]) * _US_PER_GEMV_MAC < _PAR_MIN_US
    Pg = -(-P // _gemm.NR) * _gemm.NR
    flops = 2.0 * N * M * Pg * Cg * math.prod(w_shape[2:])
    est = flops * _US_PER_FLOP + out * _US_PER_OUT
    if not is1x1:
        est += N * group * Cg * math.prod(w_shape[2:]) * P * _US_PER_COL  # im2col elements written
    return est < _PAR_MIN_US


def winograd_applies(x5_shape, w5_shape, s3, d3, group) -> bool:
    """3x3 (2-d), stride 1, dilation 1, one group, enough channels that the 16 GEMMs dominate (shapes in the
    internal 5-d layout; the pixel counts are checked by :func:`choose_algorithm`)."""
    return (tuple(w5_shape[2:]) == (1, 3, 3) and x5_shape[2] == 1 and tuple(s3) == (1, 1, 1)
            and tuple(d3) == (1, 1, 1) and group == 1 and w5_shape[1] >= _WINOGRAD_MIN_CHANNELS
            and w5_shape[0] >= _WINOGRAD_MIN_CHANNELS)


def choose_algorithm(x5_shape, w5_shape, s3, p3, d3, o3, group, dtype, *, winograd=True,
                     transformed=False, zero_taps=False) -> str:
    """The algorithm label (see the module docstring) for a conv in the internal 5-d layout.

    ``transformed``: W's Winograd transform is precomputed (a plan-time constant), so Winograd pays off on
    every map of at least ``_WINOGRAD_MIN_PIXELS`` pixels, not only large batches.
    ``zero_taps``: padded taps must be multiplied like any other (W holds an Inf or NaN and the conv is padded:
    the spec's zero padding gives 0 * Inf = NaN there). The direct, depthwise, patch-dot and Winograd kernels skip
    or transform padded taps; im2col writes the zeros and multiplies them.
    """
    N, C = x5_shape[:2]
    M, Cg = w5_shape[:2]
    P = o3[0] * o3[1] * o3[2]
    if not N * M * P:
        return "empty"
    if zero_taps:
        return "im2col"
    if Cg == 1:
        if group > 1 and M == group and x5_shape[2] == 1 and w5_shape[2] == 1 and P <= _DW_CHANNELS_MAX_PIXELS:
            return "depthwise-channels"
        return "depthwise" if group > 1 else "direct"
    if (winograd and winograd_applies(x5_shape, w5_shape, s3, d3, group) and P >= _WINOGRAD_MIN_PIXELS
            and (transformed or N * P >= _WINOGRAD_MIN_PIXELS_UNTRANSFORMED)):
        return "winograd"
    is1x1 = (tuple(w5_shape[2:]) == (1, 1, 1) and tuple(s3) == (1, 1, 1) and tuple(p3) == (0, 0, 0)
             and tuple(o3) == tuple(x5_shape[2:]))
    if np.dtype(dtype) == np.float32 and N * P <= _GEMV_MAX_COLS:
        return "1x1-gemv" if is1x1 and group == 1 else "patch-dot"
    if np.dtype(dtype) == np.float32 and group == 1 and P <= _SMALLN_MAX_PIXELS:
        return "1x1-smallmap" if is1x1 else "im2col-smallmap"
    return "1x1" if is1x1 else "im2col"


def winograd_rows_per_job(N, C, M, OH, OW) -> int:
    """Rows of 2x2 output tiles per Winograd chunk."""
    TW = (OW + 1) // 2
    TH = (OH + 1) // 2
    budget = max(min(_WINO_TILES, _WINO_BUFFER_ELEMS // (16 * (C + M))), TW)
    threads = _threads()
    if threads > 1:
        # one run of tile rows per thread: splitting further shrinks the 16 GEMMs' widths below what the
        # packed GEMM runs well
        return min(max(1, budget // TW), -(-TH // -(-threads // N)))
    return _tiles(TH, N, TW, budget=budget)


def pointwise_cols_per_tile(P, N, group, Cg) -> int:
    """Output columns per chunk of a 1x1 conv."""
    return _tiles(P, N * group, Cg)


def im2col_rows_per_tile(KK, Mg, o3, N, group) -> int:
    """Output rows (od, oh) per im2col chunk: tiles of at least ``_IM2COL_MIN_COLS`` columns so the GEMM
    amortises packing W, else about ``_IM2COL_TILE_ELEMS`` of im2col + output tile (small-K convs such as a
    3-channel stem prefer small tiles)."""
    cols = max(_IM2COL_MIN_COLS, _IM2COL_TILE_ELEMS // (KK + Mg))
    return _tiles(o3[0] * o3[1], N * group, o3[2], budget=max(cols, o3[2]))


def direct_jobs_per_chunk(njob) -> int:
    """(n, m, od) jobs per chunk of the direct (depthwise) kernel: ``_DIRECT_CHUNKS_PER_THREAD`` chunks per
    thread, so scratch buffers are allocated per chunk rather than per channel."""
    return max(1, -(-njob // (_DIRECT_CHUNKS_PER_THREAD * _threads())))


def smallmap_panels_per_job(M) -> int:
    """Panels of ``MR`` output channels per chunk of the small-map path: one run per thread."""
    npan = -(-M // _gemm.MR)
    return -(-npan // _threads())
