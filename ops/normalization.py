"""BatchNormalization (inference and training forms of every opset) and LRN.

BatchNormalization turns its four parameter vectors into a mean, a scale (computed in float64) and a shift per
channel and runs the kernel floor's per-channel affine kernel ``y = (x - m[c]) * a[c] + b[c]`` over (N, C, R),
the kernel plan rewrites' ``ChannelAffine`` steps run too. In training form the batch
statistics (mean and population variance over every axis but the channel) replace the estimated ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops._common import FLOATS, check_dtype, check_rank, check_size, compute_dtype, require_input
from onnumba.ops._numba import KERNEL, njit, prange
from onnumba.ops.kernels.affine import channel_affine_kernel
from onnumba.ops.kernels.epilogue import NONE
from onnumba.registry import Op, TensorInfo, register


# ----------------------------------------------------------------------------------------------- kernels

@njit(**KERNEL)
def _lrn_kernel(x, out, size, alpha_over_size, beta, bias):
    n_n, c_n, s_n = x.shape
    before = (size - 1) // 2
    after = size - 1 - before  # ceil((size - 1) / 2)
    for t in prange(n_n * c_n):
        n = t // c_n
        c = t - n * c_n
        dst = out[n, c]
        for s in range(s_n):
            dst[s] = 0.0
        for cc in range(max(0, c - before), min(c_n, c + after + 1)):
            src = x[n, cc]
            for s in range(s_n):
                dst[s] += src[s] * src[s]
        own = x[n, c]
        for s in range(s_n):
            dst[s] = own[s] / (bias + alpha_over_size * dst[s]) ** beta


# ----------------------------------------------------------------------------------------------- BatchNormalization

def batchnorm_affine(scale, bias, mean, var, epsilon: float, dtype) -> tuple:
    """``(m, a, b)`` for ``kernels/affine.py``, so that ``(x - m) * a + b`` is the spec's
    ``(x - mean) / sqrt(var + epsilon) * scale + B``; ``a`` is formed in float64, all three cast to ``dtype``.
    A variance below -epsilon gives NaN, variance + epsilon = 0 gives an infinite ``a`` (as the spec's division
    does)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        a = np.asarray(scale, np.float64) / np.sqrt(np.asarray(var, np.float64) + epsilon)
        dt = np.dtype(dtype)
        return (np.asarray(mean, np.float64).astype(dt), a.astype(dt), np.asarray(bias, np.float64).astype(dt))



@dataclass(frozen=True)
class BatchNormAttrs:
    epsilon: float
    momentum: float
    training: bool
    spatial: bool
    n_outputs: int  # outputs the node asks for (trailing omitted ones ignored)


def _requested_outputs(node) -> int:
    n = len(node.outputs)
    while n > 1 and node.outputs[n - 1] == "":
        n -= 1
    return n


@register("BatchNormalization", versions=(1, 6, 7, 9, 14, 15))
class BatchNormalization(Op):
    """Batch normalization, ``Y = (X - mean) / sqrt(var + epsilon) * scale + B`` per channel (axis 1).

    Inference uses the given mean and var. Training form (opset 14+: ``training_mode=1``; earlier opsets:
    extra outputs requested and, before opset 7, ``is_test=0``) uses the batch mean and population variance
    over every axis but the channel and returns the running statistics
    ``running = input * momentum + batch * (1 - momentum)``; opsets < 14 also return the batch mean and
    variance as saved_mean / saved_var. ``spatial=0`` (opsets < 9) normalizes every (C, D1, ...) position
    separately when the parameters have that shape.
    """

    @classmethod
    def parse_attrs(cls, node):
        v = node.version
        eps = node.attr("epsilon", 1e-5, "float")
        if not eps >= 0 or not np.isfinite(eps):
            raise node.error(f"expected a finite value >= 0, got {eps}", attribute="epsilon")
        momentum = node.attr("momentum", 0.9, "float")
        if not np.isfinite(momentum):
            raise node.error(f"expected a finite value, got {momentum}", attribute="momentum")
        n_out = _requested_outputs(node)
        max_out = 3 if v >= 14 else 5
        if n_out > max_out:
            raise node.error(f"BatchNormalization-{v} has at most {max_out} outputs, got {n_out}")
        spatial = True
        if v < 9:
            sp = node.attr("spatial", 1, "int")
            if sp not in (0, 1):
                raise node.error(f"expected 0 or 1, got {sp}", attribute="spatial")
            spatial = bool(sp)
        if v >= 14:
            tm = node.attr("training_mode", 0, "int")
            if tm not in (0, 1):
                raise node.error(f"expected 0 or 1, got {tm}", attribute="training_mode")
            training = bool(tm)
            if not training and n_out > 1:
                raise node.error("running_mean / running_var outputs are only valid with training_mode=1 "
                                 "(the spec forbids extra outputs in inference)", output=1)
        elif v < 7:
            is_test = node.attr("is_test", 0, "int")
            if is_test not in (0, 1):
                raise node.error(f"expected 0 or 1, got {is_test}", attribute="is_test")
            if is_test and n_out > 1:
                raise node.error("outputs mean / var / saved_mean / saved_var are not filled in test mode "
                                 "(is_test=1); remove them or set is_test=0", output=1)
            training = n_out > 1
        else:
            training = n_out > 1
        return BatchNormAttrs(float(eps), float(momentum), training, spatial, n_out)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        v = node.version
        x = require_input(node, inputs, 0, "X")
        params = [require_input(node, inputs, i, nm) for i, nm in enumerate(("scale", "B", "mean", "var"), 1)]
        check_dtype(node, x, 0, FLOATS)
        check_rank(node, x, 0, min_rank=2, what="X (N, C, D1, ...)")
        for i, p in enumerate(params, 1):
            check_dtype(node, p, i, FLOATS)
        pairs = [(0, 1, 2, 3, 4)] if v < 14 else ([(0, 1, 2), (3, 4)] if v == 14 else [(0,), (1, 2), (3, 4)])
        all_infos = [x] + params
        for group in pairs:
            for i in group[1:]:
                if all_infos[i].dtype != all_infos[group[0]].dtype:
                    raise node.error(f"element type {all_infos[i].dtype.name} differs from input {group[0]}'s "
                                     f"{all_infos[group[0]].dtype.name}; BatchNormalization-{v} requires them "
                                     f"to be equal", input=i)
        c = x.shape[1]
        per_act = x.shape[1:]
        for i, p in enumerate(params, 1):
            ok = p.shape == (c,)
            if not attrs.spatial and x.rank > 2:
                ok = ok or p.shape == per_act or p.shape == (int(np.prod(per_act)),)
            if not ok:
                want = f"({c},)" if attrs.spatial else f"({c},) or {tuple(per_act)}"
                raise node.error(f"expected shape {want} (channels of X {x.shape}), got {p.shape}", input=i)
        outs = [TensorInfo(x.dtype, x.shape)]
        if attrs.n_outputs > 1:
            stat = params[2]
            for _ in range(1, attrs.n_outputs):
                outs.append(TensorInfo(stat.dtype, stat.shape))
        return outs

    @classmethod
    def run(cls, node, attrs, arrays):
        x, scale, bias, mean, var = arrays[:5]
        ctype = compute_dtype(x.dtype)
        n = x.shape[0]
        p = scale.size
        x3 = np.ascontiguousarray(x.reshape(n, p, -1) if x.size else x.reshape(n, p, 0), dtype=ctype)
        s64, b64 = scale.astype(np.float64).reshape(-1), bias.astype(np.float64).reshape(-1)
        m64, v64 = mean.astype(np.float64).reshape(-1), var.astype(np.float64).reshape(-1)
        if attrs.training:
            xs = x3.astype(np.float64)
            bm = xs.mean(axis=(0, 2))
            bv = np.square(xs - bm[None, :, None]).mean(axis=(0, 2))
            use_m, use_v = bm, bv
        else:
            use_m, use_v = m64, v64
        m, a, b = batchnorm_affine(s64, b64, use_m, use_v, attrs.epsilon, ctype)
        out = np.empty(x3.shape, ctype)
        if out.size:
            z = ctype.type(0.0)
            channel_affine_kernel(x3, m, a, b, NONE, z, z, out)
        outs = [out.reshape(x.shape).astype(x.dtype, copy=False)]
        if attrs.n_outputs > 1:
            mom = attrs.momentum
            st = mean.dtype
            # saved_var is the batch variance, as the spec names it (onnxruntime returns 1/sqrt(var + eps))
            extra = [m64 * mom + bm * (1 - mom), v64 * mom + bv * (1 - mom), bm, bv]
            for k in range(attrs.n_outputs - 1):
                outs.append(extra[k].astype(st).reshape(mean.shape))
        return outs


# ----------------------------------------------------------------------------------------------- LRN

@dataclass(frozen=True)
class LRNAttrs:
    size: int
    alpha: float
    beta: float
    bias: float


@register("LRN", versions=(1, 13))
class LRN(Op):
    """Local response normalization across channels (axis 1).

    ``y = x / (bias + alpha / size * square_sum) ** beta`` with square_sum over the channels
    ``c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2)`` that exist.
    """

    @classmethod
    def parse_attrs(cls, node):
        size = node.attr("size", None, "int")
        if size is None:
            raise node.error("the required attribute is missing", attribute="size")
        if not 1 <= size <= 2 ** 31 - 1:
            raise node.error(f"expected a value >= 1, got {size}", attribute="size")
        vals = {}
        for name, default in (("alpha", 1e-4), ("beta", 0.75), ("bias", 1.0)):
            val = node.attr(name, default, "float")
            if not np.isfinite(val):
                raise node.error(f"expected a finite value, got {val}", attribute=name)
            vals[name] = float(val)
        return LRNAttrs(int(size), vals["alpha"], vals["beta"], vals["bias"])

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, FLOATS)
        # the spec's X is (N x C x D1 x ... x Dk): rank >= 3 (onnxruntime and onnx.reference run only 4-d)
        check_rank(node, x, 0, min_rank=3, what="X (N, C, D1, ...)")
        check_size(node, x.shape)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        ctype = compute_dtype(x.dtype)
        n, c = x.shape[:2]
        s = int(np.prod(x.shape[2:]))
        x3 = np.ascontiguousarray(x.reshape(n, c, s), dtype=ctype)
        out = np.empty(x3.shape, ctype)
        if out.size:
            _lrn_kernel(x3, out, attrs.size, attrs.alpha / attrs.size, attrs.beta, attrs.bias)
        return [out.reshape(x.shape).astype(x.dtype, copy=False)]
