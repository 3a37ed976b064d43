"""Conv (opsets 1, 11, 22): 1-d, 2-d and 3-d, groups, depthwise, dilations, strides, pads, auto_pad, bias.

Everything runs on one internal 3-d layout: 1-d and 2-d inputs are viewed as (N, C, 1, 1, W) and
(N, C, 1, H, W), so one kernel of each kind serves every rank. The package:

* ``__init__``: the op (parse, validate, bind, run) and :class:`ConvAttrs`;
* ``dispatch``: :func:`conv_nchw`, the same computation as a plain function;
* ``schedule``: which algorithm runs, tiling, the serial/parallel cost model;
* ``direct`` (one input channel per group), ``im2col`` (with the small-map packed path), ``pointwise`` (1x1)
  and ``winograd``: one module per algorithm, each with its kernels and weight packing.

Threads: one pool. Every kernel is a ``prange`` over independent chunks; GEMMs inside a chunk are
single-threaded (``ops/kernels/blas.py`` pins BLAS to one thread). float32 and float64 are computed natively,
float16 in float32 and cast back.

The fused epilogue: :class:`ConvAttrs` carries an :class:`~onnumba.ops.kernels.epilogue.Epilogue` (bias, then
an activation) that every kernel applies before storing. Conv follows the fusable-producer protocol of
``ops/_fusable.py``: a graph optimizer fuses a following Relu / LeakyRelu / Clip with
:meth:`Conv.with_epilogue`, and folds a BatchNormalization or per-channel Mul / Add into W and B with
:meth:`Conv.fold_affine`.
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass, field, replace

import numba
import numpy as np

from onnumba.ops._fusable import fold_into_weights
from onnumba.ops._common import FLOATS, check_dtype, check_rank, check_same_dtype, check_size, compute_dtype, \
    memo_by_array, require_input
from onnumba.ops._geometry import AUTO_PADS, MAX_DIM, GeometryError, Padding, check_pads, check_window, pad3, \
    resolve_padding, window_array, window_output_sizes
from onnumba.ops.conv import schedule
from onnumba.ops.conv.dispatch import channels_last_weights, conv_nchw, conv_run, conv_setup
from onnumba.ops.conv.im2col import packed_weights
from onnumba.ops.conv.schedule import choose_algorithm, run_serially
from onnumba.ops.conv.winograd import winograd_packed, winograd_weights
from onnumba.ops.kernels.epilogue import CLIP, IDENTITY, LEAKY_RELU, NONE, RELU, Epilogue
from onnumba.registry import Op, TensorInfo, register

__all__ = ["Conv", "ConvAttrs", "conv_nchw", "packed_weights", "run_serially", "winograd_packed",
           "winograd_weights"]

#: the legacy activation names (``ConvAttrs.activation``) and their epilogue kinds
_LEGACY_NAMES = {"none": NONE, "relu": RELU, "leakyrelu": LEAKY_RELU, "clip": CLIP}
_LEGACY_OF_KIND = {v: k for k, v in _LEGACY_NAMES.items()}
_LEGACY_ALPHA = 0.01


def _legacy_epilogue(activation, alpha, clip_min, clip_max) -> Epilogue:
    kind = _LEGACY_NAMES.get(activation)
    if kind is None:
        raise ValueError(f"unknown fused activation {activation!r}; expected one of {sorted(_LEGACY_NAMES)}")
    if kind == LEAKY_RELU:
        return Epilogue(kind, _LEGACY_ALPHA if alpha is None else float(alpha))
    if kind == CLIP:
        return Epilogue(kind, -math.inf if clip_min is None else float(clip_min),
                        math.inf if clip_max is None else float(clip_max))
    return Epilogue(kind)


@dataclass(frozen=True)
class ConvAttrs:
    """Conv attributes with defaults filled in; ``bind`` adds the resolved geometry, the algorithm and the
    precomputed weights.

    ``kernel_shape``/``strides``/``dilations``/``pads`` are None where the model omits them (their length
    depends on the input rank, known in ``bind``). ``epilogue`` is the identity unless a graph optimizer fused
    an activation (:meth:`Conv.with_epilogue`).

    Read-only compatibility: ``activation`` ('none', 'relu', 'leakyrelu', 'clip'), ``alpha``, ``clip_min``
    and ``clip_max`` describe ``epilogue`` the old way, and ``dataclasses.replace(attrs, activation=...,
    alpha=...)`` still sets it from them. To replace the epilogue itself use :meth:`Conv.with_epilogue`
    (``replace(attrs, epilogue=...)`` alone would be overridden by the old fields read back).
    """

    kernel_shape: tuple | None = None
    strides: tuple | None = None
    dilations: tuple | None = None
    pads: tuple | None = None
    auto_pad: str = "NOTSET"
    group: int = 1
    epilogue: Epilogue = IDENTITY
    # filled by bind
    padding: Padding | None = None
    out_sizes: tuple | None = None
    #: the algorithm ``run`` takes for the bound shapes (``schedule.choose_algorithm``), for plan views
    algorithm: str = ""
    #: ``ops/_geometry.window_array`` of the bound shapes
    geometry: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: Winograd-transformed weights when W is a plan-time constant and the Winograd path applies
    winograd_u: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: ``winograd_u`` packed for ops/kernels/packed_gemm.py (:func:`winograd_packed`), float32 / float16 only
    winograd_up: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: W packed for ops/kernels/packed_gemm.py (:func:`packed_weights`) when W is a plan-time constant
    packed_w: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: set by bind when the conv is too small to repay waking a second thread (``schedule.run_serially``)
    serial: bool = False
    #: ``dispatch.conv_setup`` of the bound shapes: run does no geometry or algorithm work in Python
    setup: object = field(default=None, compare=False, repr=False)
    #: W was a plan-time constant whose finiteness bind already took into account (else run checks fed weights)
    weights_known: bool = False
    # the old description of the epilogue, accepted by the constructor and dataclasses.replace
    activation: InitVar[str | None] = None
    alpha: InitVar[float | None] = None
    clip_min: InitVar[float | None] = None
    clip_max: InitVar[float | None] = None

    def __post_init__(self, activation, alpha, clip_min, clip_max):
        if activation is not None:
            object.__setattr__(self, "epilogue", _legacy_epilogue(activation, alpha, clip_min, clip_max))


# the old fields read back from the epilogue (set after the dataclass is built: its __init__ keeps None defaults)
ConvAttrs.activation = property(lambda self: _LEGACY_OF_KIND[self.epilogue.act],
                                doc="the epilogue's activation: 'none', 'relu', 'leakyrelu' or 'clip'")
ConvAttrs.alpha = property(lambda self: self.epilogue.a0 if self.epilogue.act == LEAKY_RELU else _LEGACY_ALPHA,
                           doc="LeakyRelu's slope (0.01 when the epilogue is not a LeakyRelu)")
ConvAttrs.clip_min = property(lambda self: self.epilogue.a0 if self.epilogue.act == CLIP else -math.inf,
                              doc="Clip's lower bound (-inf when the epilogue is not a Clip)")
ConvAttrs.clip_max = property(lambda self: self.epilogue.a1 if self.epilogue.act == CLIP else math.inf,
                              doc="Clip's upper bound (+inf when the epilogue is not a Clip)")


def _ints_attr(node, name):
    v = node.attr(name, None, "ints")
    return None if v is None else tuple(int(i) for i in v)


@register("Conv", versions=(1, 11, 22))
class Conv(Op):
    """ONNX Conv: Y = conv(X, W) + B, with groups, dilations, strides, pads or auto_pad."""

    @classmethod
    def with_epilogue(cls, attrs: ConvAttrs, epilogue: Epilogue) -> ConvAttrs:
        """``attrs`` with ``epilogue`` fused (bound attrs stay bound: the algorithm does not depend on it)."""
        if not isinstance(epilogue, Epilogue):
            raise TypeError(f"expected an Epilogue, got {type(epilogue).__name__}")
        return replace(attrs, epilogue=epilogue, activation=None, alpha=None, clip_min=None, clip_max=None)

    @classmethod
    def fold_affine(cls, node, attrs: ConvAttrs, w, b, sub, mul, add):
        """W and B computing ``(conv(x) - sub[m]) * mul[m] + add[m]`` per output channel m, or None where that
        would change which outputs are NaN, infinite or zero (``ops/_fusable.fold_into_weights``: W's output
        channels are its axis 0, grouped or not)."""
        return fold_into_weights(w, b, sub, mul, add, axis=0)

    @classmethod
    def parse_attrs(cls, node) -> ConvAttrs:
        auto_pad = node.attr("auto_pad", "NOTSET", "str")
        if isinstance(auto_pad, bytes):
            auto_pad = auto_pad.decode()
        if auto_pad not in AUTO_PADS:
            raise node.error(f"expected one of {', '.join(AUTO_PADS)}, got {auto_pad!r}", attribute="auto_pad")
        group = int(node.attr("group", 1, "int"))
        if group < 1 or group > MAX_DIM:
            raise node.error(f"must be >= 1, got {group}", attribute="group")
        a = ConvAttrs(kernel_shape=_ints_attr(node, "kernel_shape"), strides=_ints_attr(node, "strides"),
                      dilations=_ints_attr(node, "dilations"), pads=_ints_attr(node, "pads"),
                      auto_pad=auto_pad, group=group)
        for name, lo in (("kernel_shape", 1), ("strides", 1), ("dilations", 1), ("pads", 0)):
            vals = getattr(a, name)
            if vals is not None and any(v < lo or v > MAX_DIM for v in vals):
                raise node.error(f"values must be in [{lo}, {MAX_DIM}], got {list(vals)}", attribute=name)
        return a

    @classmethod
    def bind(cls, node, attrs: ConvAttrs, inputs, consts, ctx) -> ConvAttrs:
        x = require_input(node, inputs, 0, "X")
        w = require_input(node, inputs, 1, "W")
        check_dtype(node, x, 0, FLOATS)
        check_same_dtype(node, inputs, (0, 1, 2))
        check_rank(node, x, 0, min_rank=3, what="X (N, C, spatial...)")
        nsp = x.rank - 2
        if nsp > 3:
            raise node.error(f"onnumba's Conv supports 1 to 3 spatial axes, got input shape {x.shape}", input=0)
        if w.rank != x.rank:
            raise node.error(f"expected rank {x.rank} (M, C/group, kernel...) like X, got shape {w.shape}",
                             input=1)
        kernel = tuple(w.shape[2:])
        if attrs.kernel_shape is not None and tuple(attrs.kernel_shape) != kernel:
            raise node.error(f"{list(attrs.kernel_shape)} does not match W's spatial shape {list(kernel)} "
                             f"(W has shape {w.shape})", attribute="kernel_shape")
        if any(k < 1 for k in kernel):
            raise node.error(f"expected kernel sizes >= 1, got shape {w.shape}", input=1)
        one = (1,) * nsp
        try:
            _, strides, dilations = check_window(kernel, attrs.strides or one, attrs.dilations or one, nsp)
            if attrs.auto_pad == "NOTSET" and attrs.pads is not None:
                check_pads(attrs.pads, nsp)
            padding = resolve_padding(attrs.auto_pad, attrs.pads, x.shape[2:], kernel, strides, dilations)
            out_sizes = window_output_sizes(x.shape[2:], kernel, strides, dilations, padding)
        except GeometryError as e:
            raise node.error(str(e), attribute=e.attribute) from None
        x5 = x.shape[:2] + pad3(x.shape[2:], 1)
        w5 = w.shape[:2] + pad3(kernel, 1)
        s3, d3, p3, o3 = pad3(strides, 1), pad3(dilations, 1), pad3(padding.begins, 0), pad3(out_sizes, 1)
        consistent = x.shape[1] == w.shape[1] * attrs.group and w.shape[0] % attrs.group == 0
        u = pw = up = None
        wc = consts[1] if len(consts) > 1 else None
        padded = any(padding.begins) or any(padding.ends)
        zero_taps = bool(wc is not None and padded and not np.isfinite(wc).all())
        if (wc is not None and not zero_taps and consistent and schedule.winograd_applies(x5, w5, s3, d3, attrs.group)
                and o3[1] * o3[2] >= schedule._WINOGRAD_MIN_PIXELS):
            u = memo_by_array(wc, "winograd_u", winograd_weights)
            if u.dtype == np.float32:
                up = memo_by_array(wc, "winograd_up", lambda _: winograd_packed(u))
        if (wc is not None and u is None and wc.dtype in (np.float32, np.float16) and w.shape[1] > 1
                and consistent):
            pw = memo_by_array(wc, f"packed_w/{attrs.group}", lambda a: packed_weights(a, attrs.group))
        serial = run_serially(x.shape, w.shape, attrs.group, strides, padding.onnx_pads, out_sizes)
        algorithm = choose_algorithm(x5, w5, s3, p3, d3, o3, attrs.group, compute_dtype(x.dtype),
                                     transformed=u is not None, zero_taps=zero_taps)
        cdt = compute_dtype(x.dtype)
        if wc is not None and consistent and algorithm == "depthwise-channels":
            pw = memo_by_array(wc, f"channels_last/{np.dtype(cdt).name}", lambda a: channels_last_weights(a, cdt))
        geometry = window_array(kernel, strides, dilations, padding.begins, out_sizes, x.shape[2:])
        setup = None
        if consistent:
            setup = conv_setup(x.shape, w.shape, x.dtype, strides, dilations, padding.begins, padding.ends,
                               attrs.group, transformed=u is not None, geometry=geometry, zero_taps=zero_taps)
        return replace(attrs, kernel_shape=kernel, strides=strides, dilations=dilations, padding=padding,
                       out_sizes=out_sizes, algorithm=algorithm, geometry=geometry,
                       winograd_u=u, packed_w=pw, winograd_up=up, serial=serial, setup=setup,
                       weights_known=wc is not None or not padded)

    @classmethod
    def infer(cls, node, attrs: ConvAttrs, inputs, consts):
        x, w = inputs[0], inputs[1]
        N, C = x.shape[:2]
        M, Cg = w.shape[:2]
        g = attrs.group
        if C % g:
            raise node.error(f"group {g} does not divide the {C} input channels of X {x.shape}",
                             attribute="group")
        if M % g:
            raise node.error(f"group {g} does not divide the {M} output channels (W's first axis, W shape "
                             f"{w.shape})", attribute="group")
        if Cg != C // g:
            want = (M, C // g) + tuple(w.shape[2:])
            raise node.error(f"expected shape (M, C/group, kernel...) = {want} with C/group={C // g} "
                             f"(C={C}, group={g}), got {w.shape}", input=1)
        if node.has_input(2) and len(inputs) > 2 and inputs[2] is not None:
            b = inputs[2]
            if b.shape != (M,):
                raise node.error(f"expected shape ({M},) (one bias per output channel), got {b.shape}", input=2)
        out = (N, M) + tuple(attrs.out_sizes)
        check_size(node, out)
        return [TensorInfo(x.dtype, out)]

    @classmethod
    def run(cls, node, attrs: ConvAttrs, arrays):
        x, w = arrays[0], arrays[1]
        b = arrays[2] if len(arrays) > 2 else None
        threads = numba.get_num_threads()
        if attrs.serial and threads > 1:
            # thread-local and cheap; restored even if the kernel raises
            numba.set_num_threads(1)
            try:
                return cls._run(attrs, x, w, b, 1)
            finally:
                numba.set_num_threads(threads)
        return cls._run(attrs, x, w, b, threads)

    @staticmethod
    def _run(attrs: ConvAttrs, x, w, b, threads):
        if (attrs.setup is not None and not attrs.weights_known and attrs.setup.algo != "im2col"
                and not np.isfinite(w).all()):  # fed weights with Inf / NaN in a padded conv: multiply the zeros
            p = attrs.padding
            setup = conv_setup(x.shape, w.shape, x.dtype, attrs.strides, attrs.dilations, p.begins, p.ends,
                               attrs.group, geometry=attrs.geometry, zero_taps=True)
            return [conv_run(setup, x, w, b, attrs.epilogue, None, None, None, threads)]
        if attrs.setup is not None:
            return [conv_run(attrs.setup, x, w, b, attrs.epilogue, attrs.winograd_u, attrs.packed_w,
                             attrs.winograd_up, threads)]
        p = attrs.padding
        return [conv_nchw(x, w, b, attrs.strides, attrs.dilations, p.begins, p.ends, attrs.group, attrs.epilogue,
                          winograd_u=attrs.winograd_u, packed_w=attrs.packed_w, winograd_up=attrs.winograd_up,
                          geometry=attrs.geometry)]
