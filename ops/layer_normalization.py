"""Normalizations over per-sample statistics: LayerNormalization, InstanceNormalization, GroupNormalization,
MeanVarianceNormalization and LpNormalization.

The first four are one computation: view X as rows ``(R, K, S)``, normalize each row by the mean and the
population variance of its ``K * S`` values, then scale and shift by parameters indexed ``[r % P, k, s]``
(``s`` only when the parameters vary along S). One Numba kernel does it per row in three reads of the row
(sum, centred sum of squares, normalize + scale + bias; float64 accumulators, so the variance is the sound
two-pass value), ``prange`` over rows. The ops only differ in how they reshape X and lay out the parameters:

================  =====================  ======================  ==============================
op                row                    K, S                    parameters (P, K, T)
================  =====================  ======================  ==============================
LayerNorm         X[:axis] flattened     1, prod(X[axis:])       (1 or R, 1, S)  scale, B
InstanceNorm      (n, c)                 1, spatial              (C, 1, 1)       per channel
GroupNorm         (n, g)                 C/G, spatial            (G, C/G, 1)     per channel (v18: per group)
MVN               the non-reduced axes   1, prod(reduced axes)   (1, 1, 1)       none (1, 0)
================  =====================  ======================  ==============================

float16 and bfloat16 inputs are computed in float32 (float64 inputs in float64) and cast back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops._common import FLOATS, check_dtype, check_rank, normalize_axis, require_input
from onnumba.ops._numba import KERNEL, njit, prange
from onnumba.registry import Op, TensorInfo, register


def _bfloat16():
    try:
        import ml_dtypes  # noqa: PLC0415  (an onnx dependency)

        return (np.dtype(ml_dtypes.bfloat16),)
    except ImportError:  # pragma: no cover
        return ()


#: element types these ops accept
NORM_FLOATS = FLOATS + _bfloat16()

#: stash_type values (TensorProto element types) -> the dtype the statistics are computed and returned in
_STASH = {1: np.dtype(np.float32), 11: np.dtype(np.float64)}


def _compute_dtype(dtype: np.dtype, stash: np.dtype | None = None) -> np.dtype:
    # float64 X is computed in float64 even under stash_type=1: more precise than the spec asks, never less
    if dtype == np.float64 or stash == np.float64:
        return np.dtype(np.float64)
    return np.dtype(np.float32)


# ----------------------------------------------------------------------------------------------- kernels

@njit(**KERNEL)
def _row_norm_kernel(x, scale, bias, eps, eps_after_sqrt, out, mean_out, inv_out):
    """x, out: (R, K, S); scale, bias: (P, K, T) with T in {1, S}; mean_out, inv_out: (R,) float64.

    ``inv = 1 / sqrt(var + eps)``, or ``1 / (sqrt(var) + eps)`` when ``eps_after_sqrt`` (MVN's definition).
    """
    r_n, k_n, s_n = x.shape
    p_n = scale.shape[0]
    per_s = scale.shape[2] != 1
    count = k_n * s_n
    for r in prange(r_n):
        xr = x[r]
        acc = 0.0
        for k in range(k_n):
            for s in range(s_n):
                acc += xr[k, s]
        mean = acc / count
        acc2 = 0.0
        for k in range(k_n):
            for s in range(s_n):
                d = xr[k, s] - mean
                acc2 += d * d
        var = acc2 / count
        if eps_after_sqrt:
            inv = 1.0 / (np.sqrt(var) + eps)
        else:
            inv = 1.0 / np.sqrt(var + eps)
        mean_out[r] = mean
        inv_out[r] = inv
        sc = scale[r % p_n]
        bi = bias[r % p_n]
        o = out[r]
        for k in range(k_n):
            if per_s:
                for s in range(s_n):
                    o[k, s] = (xr[k, s] - mean) * inv * sc[k, s] + bi[k, s]
            else:
                a = inv * sc[k, 0]
                b = bi[k, 0]
                for s in range(s_n):
                    o[k, s] = (xr[k, s] - mean) * a + b


@njit(**KERNEL)
def _lp_norm_kernel(x, p, out):
    """x, out: (A, L, B); each (a, :, b) divided by its L1 (p=1) or L2 (p=2) norm; a zero norm gives 0."""
    a_n, l_n, b_n = x.shape
    for a in prange(a_n):
        xa = x[a]
        oa = out[a]
        norm = np.zeros(b_n)
        for ll in range(l_n):
            for b in range(b_n):
                v = xa[ll, b]
                norm[b] += abs(v) if p == 1 else v * v
        for b in range(b_n):
            nb = norm[b] if p == 1 else np.sqrt(norm[b])
            norm[b] = 0.0 if nb == 0.0 else 1.0 / nb
        for ll in range(l_n):
            for b in range(b_n):
                oa[ll, b] = xa[ll, b] * norm[b]


def _normalize_rows(x3, scale3, bias3, eps, ctype, *, eps_after_sqrt=False):
    """Run the row kernel: returns (out (R, K, S) in ctype, mean (R,), inv_std (R,)) as float64 statistics."""
    r_n = x3.shape[0]
    out = np.empty(x3.shape, ctype)
    mean = np.empty(r_n, np.float64)
    inv = np.empty(r_n, np.float64)
    if x3.shape[1] * x3.shape[2] == 0:  # empty rows: no values, statistics undefined (0 / 0)
        mean.fill(np.nan)
        inv.fill(np.nan)
        return out, mean, inv
    if r_n:
        _row_norm_kernel(np.ascontiguousarray(x3, ctype), np.ascontiguousarray(scale3, ctype),
                         np.ascontiguousarray(bias3, ctype), float(eps), bool(eps_after_sqrt), out, mean, inv)
    return out, mean, inv


def _eps_attr(node, default=1e-5) -> float:
    eps = node.attr("epsilon", default, "float")
    if not (np.isfinite(eps) and eps >= 0):
        raise node.error(f"expected a finite value >= 0, got {eps}", attribute="epsilon")
    return float(eps)


def _stash_attr(node) -> np.dtype:
    st = node.attr("stash_type", 1, "int")
    if st not in _STASH:
        raise node.error(f"stash_type {st} is not supported; expected 1 (float) or 11 (double)",
                         attribute="stash_type")
    return _STASH[st]


def _check_params(node, inputs, idx, x, names):
    for i, nm in zip(idx, names):
        if i < len(inputs) and inputs[i] is not None:
            if inputs[i].dtype != x.dtype:
                raise node.error(f"{nm}: element type {inputs[i].dtype.name} differs from X's {x.dtype.name}; "
                                 f"the op requires one type", input=i)


# ----------------------------------------------------------------------------------------------- LayerNormalization

@dataclass(frozen=True)
class LayerNormAttrs:
    axis: int  # as given; resolved against X's rank in infer/run
    epsilon: float
    stash: np.dtype


@register("LayerNormalization", versions=(17,))
class LayerNormalization(Op):
    """``Y = (X - mean) / sqrt(var + epsilon) * Scale + B`` with statistics over axes ``axis..rank-1``.

    Scale and B broadcast to X (usually the normalized shape ``X.shape[axis:]``). Optional outputs Mean and
    InvStdDev have shape ``X.shape[:axis] + (1,) * (rank - axis)`` and stash_type's element type.
    """

    @classmethod
    def parse_attrs(cls, node):
        return LayerNormAttrs(node.attr("axis", -1, "int"), _eps_attr(node), _stash_attr(node))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        require_input(node, inputs, 1, "Scale")
        check_dtype(node, x, 0, NORM_FLOATS, "X")
        check_rank(node, x, 0, min_rank=1, what="X")
        _check_params(node, inputs, (1, 2), x, ("Scale", "B"))
        axis = normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        for i, nm in ((1, "Scale"), (2, "B")):
            if i < len(inputs) and inputs[i] is not None:
                p = inputs[i]
                tail = x.shape[x.rank - p.rank:] if p.rank <= x.rank else None
                if tail is None or any(d not in (1, e) for d, e in zip(p.shape, tail)):
                    raise node.error(f"{nm}: shape {p.shape} does not broadcast to X's shape {x.shape} (expected "
                                     f"the normalized shape {x.shape[axis:]})", input=i)
        stat_shape = x.shape[:axis] + (1,) * (x.rank - axis)
        outs = [TensorInfo(x.dtype, x.shape)]
        for _ in node.outputs[1:3]:
            outs.append(TensorInfo(attrs.stash, stat_shape))
        return outs

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        axis = attrs.axis + x.ndim if attrs.axis < 0 else attrs.axis
        ctype = _compute_dtype(x.dtype, attrs.stash)
        r_n = int(np.prod(x.shape[:axis], dtype=np.int64))
        d_n = int(np.prod(x.shape[axis:], dtype=np.int64))
        scale = arrays[1]
        bias = arrays[2] if len(arrays) > 2 and arrays[2] is not None else np.zeros((), x.dtype)
        # parameters that vary along the leading (row) axes are expanded per row; the usual ones are one row
        per_row = any(d != 1 for p in (scale, bias) for d in ((1,) * (x.ndim - p.ndim) + p.shape)[:axis])
        p_rows = r_n if per_row else 1
        params = []
        for p in (scale, bias):
            full = np.broadcast_to(p, x.shape)
            if not per_row:
                full = full[(0,) * axis]
            params.append(np.asarray(full, ctype).reshape(p_rows, 1, d_n))
        out, mean, inv = _normalize_rows(x.reshape(r_n, 1, d_n), params[0], params[1], attrs.epsilon, ctype)
        outs = [out.reshape(x.shape).astype(x.dtype, copy=False)]
        stat_shape = x.shape[:axis] + (1,) * (x.ndim - axis)
        for k in range(1, len(node.outputs)):
            if k <= 2:
                outs.append((mean if k == 1 else inv).astype(attrs.stash).reshape(stat_shape))
        return outs


# ----------------------------------------------------------------------------------------------- Instance / Group

@dataclass(frozen=True)
class GroupNormAttrs:
    num_groups: int  # 0: one group per channel (InstanceNormalization)
    epsilon: float
    stash: np.dtype | None
    per_group_params: bool  # GroupNormalization-18: scale and bias have one value per group


def _channels_infer(node, attrs, inputs, param_len):
    x = require_input(node, inputs, 0, "X")
    check_dtype(node, x, 0, NORM_FLOATS, "X")
    check_rank(node, x, 0, min_rank=2, what="X (N, C, D1, ...)")
    names = ("scale", "B" if node.op_type == "InstanceNormalization" else "bias")
    for i, nm in zip((1, 2), names):
        require_input(node, inputs, i, nm)
    _check_params(node, inputs, (1, 2), x, names)
    want = param_len(x.shape[1])
    for i, nm in zip((1, 2), names):
        if inputs[i].shape != (want,):
            raise node.error(f"{nm}: expected shape ({want},), got {inputs[i].shape}", input=i)
    return [TensorInfo(x.dtype, x.shape)]


def _channels_run(attrs, x, scale, bias):
    n, c = x.shape[:2]
    g = attrs.num_groups or c
    s = int(np.prod(x.shape[2:], dtype=np.int64))
    ctype = _compute_dtype(x.dtype, attrs.stash)
    cpg = c // g if g else 0
    sc = np.asarray(scale, ctype)
    bi = np.asarray(bias, ctype)
    if attrs.per_group_params:
        sc, bi = np.repeat(sc, cpg), np.repeat(bi, cpg)
    out, _, _ = _normalize_rows(x.reshape(n * g, cpg, s), sc.reshape(g, cpg, 1), bi.reshape(g, cpg, 1),
                                attrs.epsilon, ctype)
    return [out.reshape(x.shape).astype(x.dtype, copy=False)]


@register("InstanceNormalization", versions=(1, 6, 22))
class InstanceNormalization(Op):
    """``y = scale * (x - mean) / sqrt(variance + epsilon) + B`` with statistics per (instance, channel)."""

    @classmethod
    def parse_attrs(cls, node):
        return GroupNormAttrs(0, _eps_attr(node), None, False)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return _channels_infer(node, attrs, inputs, lambda c: c)

    @classmethod
    def run(cls, node, attrs, arrays):
        return _channels_run(attrs, *arrays[:3])


@register("GroupNormalization", versions=(18, 21))
class GroupNormalization(Op):
    """Statistics per (instance, group of ``C / num_groups`` channels); scale and bias per channel (opset 21)
    or per group (opset 18)."""

    @classmethod
    def parse_attrs(cls, node):
        g = node.attr("num_groups", None, "int")
        if g is None:
            raise node.error("the required attribute is missing", attribute="num_groups")
        if g < 1:
            raise node.error(f"expected a value >= 1, got {g}", attribute="num_groups")
        v21 = node.version >= 21
        return GroupNormAttrs(int(g), _eps_attr(node), _stash_attr(node) if v21 else None, not v21)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_rank(node, x, 0, min_rank=2, what="X (N, C, D1, ...)")
        if x.shape[1] % attrs.num_groups:
            raise node.error(f"num_groups {attrs.num_groups} does not divide the {x.shape[1]} channels of X "
                             f"{x.shape}", attribute="num_groups")
        return _channels_infer(node, attrs, inputs,
                               (lambda c: attrs.num_groups) if attrs.per_group_params else (lambda c: c))

    @classmethod
    def run(cls, node, attrs, arrays):
        return _channels_run(attrs, *arrays[:3])


# ----------------------------------------------------------------------------------------------- MVN

@dataclass(frozen=True)
class MVNAttrs:
    axes: tuple  # as given; resolved against X's rank in infer/run


def _resolve_axes(node, axes, rank) -> tuple:
    res = tuple(normalize_axis(node, a, rank, attribute="axes") for a in axes)
    if len(set(res)) != len(res):
        raise node.error(f"axes {list(axes)} name an axis more than once", attribute="axes")
    return res


@register("MeanVarianceNormalization", versions=(9, 13))
class MeanVarianceNormalization(Op):
    """``Y = (X - mean) / (sqrt(var) + 1e-9)`` with statistics over ``axes`` (default [0, 2, 3]); the 1e-9 is
    the onnx function body's."""

    @classmethod
    def parse_attrs(cls, node):
        return MVNAttrs(tuple(node.attr("axes", (0, 2, 3), "ints")))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "X")
        check_dtype(node, x, 0, NORM_FLOATS, "X")
        _resolve_axes(node, attrs.axes, x.rank)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        axes = _resolve_axes(node, attrs.axes, x.ndim)
        keep = [a for a in range(x.ndim) if a not in axes]
        perm = keep + sorted(axes)
        ctype = _compute_dtype(x.dtype)
        xt = np.transpose(x, perm)
        r_n = int(np.prod([x.shape[a] for a in keep], dtype=np.int64))
        d_n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        one = np.ones((1, 1, 1), ctype)
        out, _, _ = _normalize_rows(np.asarray(xt, ctype).reshape(r_n, 1, d_n), one, one * 0, 1e-9, ctype,
                                    eps_after_sqrt=True)
        y = np.transpose(out.reshape(xt.shape), np.argsort(perm))
        return [np.ascontiguousarray(y).astype(x.dtype, copy=False)]


# ----------------------------------------------------------------------------------------------- LpNormalization

@dataclass(frozen=True)
class LpNormAttrs:
    axis: int
    p: int


@register("LpNormalization", versions=(1, 22))
class LpNormalization(Op):
    """``y = x / ||x||_p`` along ``axis`` (default -1), p in {1, 2} (default 2); a zero norm gives 0."""

    @classmethod
    def parse_attrs(cls, node):
        p = node.attr("p", 2, "int")
        if p not in (1, 2):
            raise node.error(f"expected 1 or 2, got {p}", attribute="p")
        return LpNormAttrs(node.attr("axis", -1, "int"), int(p))

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        check_dtype(node, x, 0, NORM_FLOATS, "input")
        check_rank(node, x, 0, min_rank=1, what="input")
        normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        axis = attrs.axis + x.ndim if attrs.axis < 0 else attrs.axis
        ctype = _compute_dtype(x.dtype)
        a_n = int(np.prod(x.shape[:axis], dtype=np.int64))
        b_n = int(np.prod(x.shape[axis + 1:], dtype=np.int64))
        x3 = np.ascontiguousarray(x, ctype).reshape(a_n, x.shape[axis], b_n)
        out = np.empty(x3.shape, ctype)
        if out.size:
            _lp_norm_kernel(x3, attrs.p, out)
        return [out.reshape(x.shape).astype(x.dtype, copy=False)]
