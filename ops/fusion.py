"""Plan rewrites for CNN graphs, registered with :func:`onnumba.optimizer.register_rewrite`.

They run per plan (constants and the training flag known) when graph_optimization_level is not 0:

* an inference-mode Dropout whose mask nobody reads is removed (its readers read its input);
* an inference BatchNormalization with constant parameters right after a Conv (whose output only it reads)
  is folded into the Conv's W and B;
* a Mul / Add / Sub by a constant per-channel (or scalar) operand right after a Conv is folded into its W / B;
* any other inference BatchNormalization with constant parameters becomes a ``ChannelAffine`` step
  (``y = x * a[c] + b[c]``), which absorbs following per-channel Mul / Add / Sub steps in the same way
  (DenseNet's and Inception-v2's BatchNormalization -> Mul -> Add "scale" chains become one pass);
* a Relu / LeakyRelu / Clip (constant bounds) right after a Conv or a ChannelAffine becomes its fused
  epilogue.

Each gives the same results as the unrewritten plan within float tolerance (tests/ops/test_fusion.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from onnumba.graph import Node
from onnumba.ops._numba import KERNEL, njit, prange
from onnumba.optimizer import register_rewrite
from onnumba.registry import Op


def _producers(state) -> dict:
    return {o: st for st in state.steps for o in st.outputs if o}


def _is(st, op_type: str) -> bool:
    return st.node.op_type == op_type and st.node.domain == ""


@register_rewrite
def drop_inference_dropout(state) -> None:
    for st in list(state.steps):
        if not _is(st, "Dropout") or st.attrs.training is not False:
            continue
        mask = st.outputs[1] if len(st.outputs) > 1 else ""
        y = st.outputs[0]
        if (mask and (mask in state.wanted or state.consumers(mask))) or y in state.wanted:
            continue
        state.steps.remove(st)
        state.rename_uses(y, st.inputs[0])


def _fusable_conv(state, name: str, producers: dict, reader, *, affine: bool = False):
    """The Conv (or, with ``affine``, ChannelAffine) step producing ``name`` when ``reader`` is its only reader
    and nothing is fused into it yet."""
    conv = producers.get(name)
    if conv is None or conv.attrs is None or getattr(conv.attrs, "activation", None) != "none":
        return None
    if not (_is(conv, "Conv") or (affine and conv.node.op_type == "ChannelAffine")):
        return None
    if state.single_consumer(name) is not reader:
        return None
    return conv


def _absorb(state, conv, st) -> None:
    """``conv`` takes over ``st``'s outputs; ``st`` leaves the plan."""
    conv.outputs, conv.infos = st.outputs, st.infos
    state.steps.remove(st)


@register_rewrite
def fold_batchnorm_into_conv(state) -> None:
    producers = _producers(state)
    for bn in list(state.steps):
        if not _is(bn, "BatchNormalization") or bn.attrs.training or len([o for o in bn.outputs if o]) != 1:
            continue
        if not all(n and n in state.consts for n in bn.inputs[1:5]):
            continue
        conv = _fusable_conv(state, bn.inputs[0], producers, bn)
        if conv is None or conv.inputs[1] not in state.consts:
            continue
        w = state.consts[conv.inputs[1]]
        if w.dtype not in (np.float32, np.float64):
            continue  # float16 weights would lose precision when rescaled
        m = w.shape[0]
        scale, bias, mean, var = (np.asarray(state.consts[n], np.float64).reshape(-1) for n in bn.inputs[1:5])
        if not all(p.shape == (m,) for p in (scale, bias, mean, var)):
            continue
        b = conv.inputs[2] if len(conv.inputs) > 2 and conv.inputs[2] else ""
        if b and b not in state.consts:
            continue
        s = scale / np.sqrt(var + bn.attrs.epsilon)
        w2 = (w.astype(np.float64) * s.reshape((m,) + (1,) * (w.ndim - 1))).astype(w.dtype)
        b0 = np.asarray(state.consts[b], np.float64).reshape(-1) if b else np.zeros(m)
        b2 = ((b0 - mean) * s + bias).astype(w.dtype)
        conv.inputs = (conv.inputs[0], state.add_const(conv.inputs[1] + "_bnfold", w2),
                       state.add_const((b or conv.outputs[0]) + "_bnfold", b2))
        state.rebind(conv)
        _absorb(state, conv, bn)
        producers = _producers(state)


# ----------------------------------------------------------------------------------------------- ChannelAffine

#: fused epilogue codes, the same meaning as Conv's
_ACTS = {"none": 0, "relu": 1, "leakyrelu": 2, "clip": 3}


@njit(**KERNEL)
def _channel_affine_kernel(x3, a, b, act, p0, p1, out):
    """out[n, c, :] = act(x3[n, c, :] * a[c] + b[c]); one chunk per (n, c) plane."""
    n_img, n_ch, size = x3.shape
    zero = a.dtype.type(0.0)
    for job in prange(n_img * n_ch):
        c = job % n_ch
        n = job // n_ch
        av = a[c]
        bv = b[c]
        src = x3[n, c]
        dst = out[n, c]
        if act == 0:
            for i in range(size):
                dst[i] = src[i] * av + bv
        elif act == 1:
            for i in range(size):
                v = src[i] * av + bv
                dst[i] = max(v, zero)
        elif act == 2:
            for i in range(size):
                v = src[i] * av + bv
                dst[i] = v if v >= zero else v * p0
        else:
            for i in range(size):
                v = src[i] * av + bv
                dst[i] = min(max(v, p0), p1)


@dataclass(frozen=True)
class ChannelAffineAttrs:
    a: np.ndarray  # per-channel scale, in the data's dtype
    b: np.ndarray  # per-channel shift
    activation: str = "none"
    alpha: float = 0.01
    clip_min: float = -np.inf
    clip_max: float = np.inf


class ChannelAffine(Op):
    """``y = act(x * a[c] + b[c])`` over axis 1: what folded BatchNormalization / Mul / Add / Relu chains become.

    Not an ONNX operator: only the plan rewrites create it (from nodes already validated by their own ops).
    """

    op_type = "ChannelAffine"
    domain = "onnumba"

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        x3 = np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], -1)
        out = np.empty(x3.shape, x.dtype)
        if out.size:
            dt = x.dtype.type
            _channel_affine_kernel(x3, attrs.a, attrs.b, _ACTS[attrs.activation],
                                   dt(attrs.alpha if attrs.activation == "leakyrelu" else attrs.clip_min),
                                   dt(attrs.clip_max), out)
        return [out.reshape(x.shape)]


def _affine_step_from_batchnorm(state, bn):
    """Turn an inference BatchNormalization step with constant parameters into a ChannelAffine step."""
    info = state.infos[bn.inputs[0]]
    if info.dtype not in (np.float32, np.float64) or info.rank < 2:
        return False
    c = info.shape[1]
    scale, bias, mean, var = (np.asarray(state.consts[n], np.float64).reshape(-1) for n in bn.inputs[1:5])
    if not all(p.shape == (c,) for p in (scale, bias, mean, var)):
        return False
    a = scale / np.sqrt(var + bn.attrs.epsilon)
    b = bias - mean * a
    node = Node(bn.node.name, "ChannelAffine", "onnumba", (bn.inputs[0],), bn.outputs[:1], {}, 1, bn.node.index,
                ChannelAffine)
    bn.node, bn.inputs, bn.outputs = node, (bn.inputs[0],), bn.outputs[:1]
    bn.infos = bn.infos[:1]
    bn.attrs = ChannelAffineAttrs(a.astype(info.dtype), b.astype(info.dtype))
    return True


@register_rewrite
def batchnorm_to_channel_affine(state) -> None:
    for bn in list(state.steps):
        if (_is(bn, "BatchNormalization") and not bn.attrs.training and len([o for o in bn.outputs if o]) == 1
                and all(n and n in state.consts for n in bn.inputs[1:5])):
            _affine_step_from_batchnorm(state, bn)


def _per_channel_operand(state, st, data_index: int):
    """The constant operand of a binary step as a per-channel vector (C,), or None if it is not one."""
    other = st.inputs[1 - data_index]
    if other not in state.consts:
        return None
    x = state.infos[st.inputs[data_index]]
    out = st.infos[0]
    if out is None or out.shape != x.shape or x.rank < 2 or out.dtype != x.dtype:
        return None
    v = np.asarray(state.consts[other])
    c = x.shape[1]
    if v.ndim > x.rank:
        return None
    shape = (1,) * (x.rank - v.ndim) + v.shape
    if any(d != 1 for i, d in enumerate(shape) if i != 1) or shape[1] not in (1, c):
        return None
    return np.broadcast_to(v.reshape(-1).astype(np.float64), (c,)) if v.size else None


@register_rewrite
def fold_per_channel_arithmetic(state) -> None:
    """Fold ``Mul`` / ``Add`` / ``Sub`` by constant per-channel operands into a preceding Conv or ChannelAffine."""
    producers = _producers(state)
    for st in list(state.steps):
        op = st.node.op_type if st.node.domain == "" else ""
        if op not in ("Mul", "Add", "Sub") or len(st.inputs) != 2:
            continue
        for data_index in ((0, 1) if op != "Sub" else (0,)):
            prod = producers.get(st.inputs[data_index])
            if prod is None or state.single_consumer(st.inputs[data_index]) is not st:
                continue
            if prod.node.op_type == "ChannelAffine" and prod.attrs.activation == "none":
                kind = "affine"
            elif _is(prod, "Conv") and prod.attrs.activation == "none" and prod.inputs[1] in state.consts \
                    and (len(prod.inputs) < 3 or not prod.inputs[2] or prod.inputs[2] in state.consts) \
                    and state.consts[prod.inputs[1]].dtype in (np.float32, np.float64):
                kind = "conv"
            else:
                continue
            v = _per_channel_operand(state, st, data_index)
            if v is None:
                continue
            scale = v if op == "Mul" else np.ones_like(v)
            shift = np.zeros_like(v) if op == "Mul" else (v if op == "Add" else -v)
            if kind == "affine":
                a = prod.attrs.a.astype(np.float64) * scale
                b = prod.attrs.b.astype(np.float64) * scale + shift
                prod.attrs = replace(prod.attrs, a=a.astype(prod.attrs.a.dtype), b=b.astype(prod.attrs.b.dtype))
            else:
                w = state.consts[prod.inputs[1]]
                m = w.shape[0]
                if v.shape != (m,):
                    continue
                bname = prod.inputs[2] if len(prod.inputs) > 2 and prod.inputs[2] else ""
                b0 = np.asarray(state.consts[bname], np.float64).reshape(-1) if bname else np.zeros(m)
                w2 = (w.astype(np.float64) * scale.reshape((m,) + (1,) * (w.ndim - 1))).astype(w.dtype)
                b2 = (b0 * scale + shift).astype(w.dtype)
                prod.inputs = (prod.inputs[0], state.add_const(prod.inputs[1] + "_scaled", w2),
                               state.add_const((bname or prod.outputs[0]) + "_scaled", b2))
                state.rebind(prod)
            _absorb(state, prod, st)
            producers = _producers(state)
            break


def _const_scalar(state, st, i: int):
    if i >= len(st.inputs) or not st.inputs[i]:
        return None
    c = state.consts.get(st.inputs[i])
    if c is None:
        raise LookupError
    return float(np.asarray(c).reshape(-1)[0])


@register_rewrite
def fuse_conv_activation(state) -> None:
    producers = _producers(state)
    for st in list(state.steps):
        op = st.node.op_type if st.node.domain == "" else ""
        if op not in ("Relu", "LeakyRelu", "Clip"):
            continue
        conv = _fusable_conv(state, st.inputs[0], producers, st, affine=True)
        if conv is None:
            continue
        if op == "Relu":
            attrs = replace(conv.attrs, activation="relu")
        elif op == "LeakyRelu":
            attrs = replace(conv.attrs, activation="leakyrelu", alpha=st.node.attr("alpha", 0.01, "float"))
        else:
            if st.node.version >= 11:
                try:
                    lo, hi = _const_scalar(state, st, 1), _const_scalar(state, st, 2)
                except LookupError:
                    continue  # bounds fed at run time
            else:
                lo, hi = st.attrs.lo, st.attrs.hi
            attrs = replace(conv.attrs, activation="clip", clip_min=-np.inf if lo is None else lo,
                            clip_max=np.inf if hi is None else hi)
        conv.attrs = attrs
        _absorb(state, conv, st)
        producers = _producers(state)
