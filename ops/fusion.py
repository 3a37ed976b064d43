"""Plan rewrites for CNN graphs, registered with :func:`onnumba.optimizer.register_rewrite` in a declared order.

They run per plan (constants and the training flag known) when graph_optimization_level is not 0:

1. an inference-mode Dropout whose mask nobody reads is removed (its readers read its input);
2. an inference BatchNormalization with constant parameters right after a producer that can fold an affine map
   into its weights (``fold_affine``, see ops/_fusable.py: Conv, Gemm) is folded into its W and B;
3. any other inference BatchNormalization with constant parameters becomes a ``ChannelAffine`` step, the same
   kernel (``kernels/affine.py``) with the same constants, so the result is bitwise the same;
4. a Mul / Add / Sub by a constant per-channel (or scalar) operand right after such a producer or a
   ``ChannelAffine`` is folded into it (DenseNet's and Inception-v2's BatchNormalization -> Mul -> Add "scale"
   chains become one pass);
5. a Relu / LeakyRelu / Clip (constant bounds) / HardSigmoid / HardSwish right after a fusable producer (Conv, Gemm, MatMul,
   ChannelAffine, any op following ops/_fusable.py) becomes its epilogue (``Epilogue.of(op_type, ...)``).

Fused and unfused plans compute the same thing, NaN, Inf and signed zeros included: activation fusion is the
same arithmetic (bitwise equal); folding changes rounding only, and is refused where it would change which
outputs are NaN, infinite or zero (tests/ops/test_fused_equals_unfused.py).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from onnumba.graph import Node
from onnumba.ops._fusable import can_fold_affine, is_fusable
from onnumba.ops.kernels.affine import channel_affine_kernel
from onnumba.ops.kernels.epilogue import FUSABLE_OPS, IDENTITY, Epilogue
from onnumba.ops.normalization import batchnorm_affine
from onnumba.optimizer import register_rewrite
from onnumba.registry import Op

#: rewrite order (the optimizer runs rewrites by this number, never by import order)
ORDER_DROPOUT, ORDER_BN_INTO_WEIGHTS, ORDER_BN_TO_AFFINE, ORDER_PER_CHANNEL, ORDER_ACTIVATION = 10, 20, 30, 40, 50

_FLOAT = (np.dtype(np.float32), np.dtype(np.float64))


def _producers(state) -> dict:
    return {o: st for st in state.steps for o in st.outputs if o}


def _is(st, op_type: str) -> bool:
    return st.node.op_type == op_type and st.node.domain == ""


def _absorb(state, prod, st) -> None:
    """``prod`` takes over ``st``'s outputs; ``st`` leaves the plan."""
    prod.outputs, prod.infos = st.outputs, st.infos
    state.steps.remove(st)


def _protocol(st):
    """The object answering ``with_epilogue`` / ``fold_affine`` for ``st``'s op, or None; and its epilogue."""
    if st.attrs is None:
        return None, None
    if is_fusable(st.node.impl, st.attrs):
        return st.node.impl, st.attrs.epilogue
    return None, None


def _float_producer(state, name: str, producers: dict, reader):
    """``name``'s producer when ``reader`` is its only reader and ``name`` its one output, of a float type; else
    None: only then can the producer take ``reader`` over."""
    prod = producers.get(name)
    if prod is None or state.single_consumer(name) is not reader:
        return None
    info = prod.infos[0] if prod.infos else None
    if info is None or info.dtype not in _FLOAT or len([o for o in prod.outputs if o]) != 1:
        return None
    return prod


def _candidates(state, match):
    """``(step, match(state, step), producer)`` for each step that ``match`` accepts (not None) and whose input 0
    comes from a :func:`_float_producer`. The caller may absorb the step into the producer between items: the
    producer map is rebuilt after each."""
    producers = _producers(state)
    for st in list(state.steps):
        found = match(state, st)
        if found is None:
            continue
        prod = _float_producer(state, st.inputs[0], producers, st)
        if prod is not None:
            yield st, found, prod
            producers = _producers(state)


@register_rewrite(order=ORDER_DROPOUT)
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


def _fold_into_producer(state, prod, sub, mul, add) -> bool:
    """Fold ``(y - sub) * mul + add`` into ``prod``'s constant W (input 1) and B (input 2) if it can."""
    proto, ep = _protocol(prod)
    if proto is None or ep is None or not ep.is_identity or not can_fold_affine(proto):
        return False
    if len(prod.inputs) < 2 or prod.inputs[1] not in state.consts:
        return False
    bname = prod.inputs[2] if len(prod.inputs) > 2 and prod.inputs[2] else ""
    if bname and bname not in state.consts:
        return False
    folded = proto.fold_affine(prod.node, prod.attrs, state.consts[prod.inputs[1]],
                               state.consts[bname] if bname else None, sub, mul, add)
    if folded is None:
        return False
    w2, b2 = folded
    prod.inputs = (prod.inputs[0], state.add_const(prod.inputs[1] + "_folded", w2),
                   state.add_const((bname or prod.outputs[0]) + "_folded", b2)) + tuple(prod.inputs[3:])
    state.rebind(prod)
    return True


def _bn_params(state, bn):
    """(scale, B, mean, var) of an inference BatchNormalization with constant parameters, as float64, or None."""
    if not _is(bn, "BatchNormalization") or bn.attrs.training or len([o for o in bn.outputs if o]) != 1:
        return None
    if not all(n and n in state.consts for n in bn.inputs[1:5]):
        return None
    return [np.asarray(state.consts[n], np.float64).reshape(-1) for n in bn.inputs[1:5]]


@register_rewrite(order=ORDER_BN_INTO_WEIGHTS)
def fold_batchnorm_into_weights(state) -> None:
    for bn, p, prod in _candidates(state, _bn_params):
        shape = prod.infos[0].shape
        if len(shape) < 2 or not all(v.shape == (shape[1],) for v in p):
            continue  # spatial=0 parameters (one value per position) are not per channel
        scale, bias, mean, var = p
        with np.errstate(divide="ignore", invalid="ignore"):
            a = scale / np.sqrt(var + bn.attrs.epsilon)
        if _fold_into_producer(state, prod, mean, a, bias):
            _absorb(state, prod, bn)


# ----------------------------------------------------------------------------------------------- ChannelAffine

@dataclass(frozen=True)
class ChannelAffineAttrs:
    m: np.ndarray  # per-channel offset, subtracted first, in the data's dtype
    a: np.ndarray  # per-channel scale
    b: np.ndarray  # per-channel shift
    epilogue: Epilogue = IDENTITY


class ChannelAffine(Op):
    """``y = act((x - m[c]) * a[c] + b[c])`` over axis 1: what folded BatchNormalization / Mul / Add / Relu chains
    become (the kernel inference BatchNormalization runs, ``kernels/affine.py``).

    Not an ONNX operator: only the plan rewrites create it (from nodes already validated by their own ops).
    """

    op_type = "ChannelAffine"
    domain = "onnumba"

    @classmethod
    def with_epilogue(cls, attrs, ep: Epilogue):
        return replace(attrs, epilogue=ep)

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        x3 = np.ascontiguousarray(x).reshape(x.shape[0], x.shape[1], int(np.prod(x.shape[2:])))
        out = np.empty(x3.shape, x.dtype)
        if out.size:
            channel_affine_kernel(x3, attrs.m, attrs.a, attrs.b, *attrs.epilogue.args(x.dtype), out)
        return [out.reshape(x.shape)]


@register_rewrite(order=ORDER_BN_TO_AFFINE)
def batchnorm_to_channel_affine(state) -> None:
    """Every remaining inference BatchNormalization with constant parameters becomes a ChannelAffine step with
    the constants BatchNormalization itself would compute (so the results are bitwise the same)."""
    for bn in list(state.steps):
        p = _bn_params(state, bn)
        if p is None:
            continue
        info = state.infos[bn.inputs[0]]
        if info.dtype not in _FLOAT or info.rank < 2 or not all(v.shape == (info.shape[1],) for v in p):
            continue
        scale, bias, mean, var = p
        m, a, b = batchnorm_affine(scale, bias, mean, var, bn.attrs.epsilon, info.dtype)
        node = Node(bn.node.name, "ChannelAffine", "onnumba", (bn.inputs[0],), bn.outputs[:1], {}, 1,
                    bn.node.index, ChannelAffine)
        bn.node, bn.inputs, bn.outputs = node, (bn.inputs[0],), bn.outputs[:1]
        bn.infos = bn.infos[:1]
        bn.attrs = ChannelAffineAttrs(m, a, b)


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


def _fold_into_affine(prod, mul, add) -> bool:
    """``ChannelAffine`` absorbs ``y * mul + add`` (a = a * mul, b = b * mul + add) when that changes rounding
    only: mul finite and non-zero, add finite, and no product or sum newly overflowing or underflowing."""
    attrs = prod.attrs
    if not attrs.epilogue.is_identity:
        return False
    if not (np.all(np.isfinite(mul)) and np.all(mul != 0) and np.all(np.isfinite(add))):
        return False
    a0, b0 = attrs.a.astype(np.float64), attrs.b.astype(np.float64)
    dt = attrs.a.dtype
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        a, b = (a0 * mul).astype(dt), (b0 * mul + add).astype(dt)
    for new, old in ((a, a0), (b, b0)):
        if not (np.array_equal(np.isfinite(new), np.isfinite(old)) and np.array_equal(new == 0, old == 0)):
            return False
    prod.attrs = replace(attrs, a=a, b=b)
    return True


@register_rewrite(order=ORDER_PER_CHANNEL)
def fold_per_channel_arithmetic(state) -> None:
    """Fold ``Mul`` / ``Add`` / ``Sub`` by constant per-channel operands into a preceding producer's weights or a
    ChannelAffine step."""
    producers = _producers(state)
    for st in list(state.steps):
        op = st.node.op_type if st.node.domain == "" else ""
        if op not in ("Mul", "Add", "Sub") or len(st.inputs) != 2:
            continue
        for data_index in ((0, 1) if op != "Sub" else (0,)):
            prod = _float_producer(state, st.inputs[data_index], producers, st)
            if prod is None:
                continue
            v = _per_channel_operand(state, st, data_index)
            if v is None:
                continue
            mul = v if op == "Mul" else np.ones_like(v)
            add = np.zeros_like(v) if op == "Mul" else (v if op == "Add" else -v)
            if prod.node.op_type == "ChannelAffine" and prod.node.domain == "onnumba":
                done = _fold_into_affine(prod, mul, add)
            else:
                done = _fold_into_producer(state, prod, np.zeros_like(v), mul, add)
            if done:
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


def _activation_epilogue(state, st) -> Epilogue | None:
    """The Epilogue equivalent to the activation step ``st``, or None (not fusable, or Clip bounds fed at run
    time)."""
    op = st.node.op_type if st.node.domain == "" else ""
    if op not in FUSABLE_OPS:
        return None
    if op == "Relu":
        return Epilogue.of(op)
    if op == "LeakyRelu":
        return Epilogue.of(op, st.node.attr("alpha", 0.01, "float"))
    if op == "HardSigmoid":
        return Epilogue.of(op, st.node.attr("alpha", 0.2, "float"), st.node.attr("beta", 0.5, "float"))
    if op == "HardSwish":
        return Epilogue.of(op, 1.0 / 6.0, 0.5)
    if st.node.version >= 11:
        try:
            lo, hi = _const_scalar(state, st, 1), _const_scalar(state, st, 2)
        except LookupError:
            return None
    else:
        lo, hi = st.attrs.lo, st.attrs.hi
    return Epilogue.of(op, -np.inf if lo is None else lo, np.inf if hi is None else hi)


@register_rewrite(order=ORDER_ACTIVATION)
def fuse_activation(state) -> None:
    """A Relu / LeakyRelu / Clip / HardSigmoid / HardSwish reading a fusable producer's float output (and nothing else reading it)
    becomes that producer's epilogue."""
    for st, ep, prod in _candidates(state, _activation_epilogue):
        if prod.infos[0].dtype != st.infos[0].dtype:
            continue
        proto, cur = _protocol(prod)
        if proto is None or cur is None or not cur.is_identity:
            continue
        prod.attrs = proto.with_epilogue(prod.attrs, ep)
        _absorb(state, prod, st)
