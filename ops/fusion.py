"""Plan rewrites for CNN graphs, registered with :func:`onnumba.optimizer.register_rewrite`.

They run per plan (constants and the training flag known) when graph_optimization_level is not 0:

* an inference-mode Dropout whose mask nobody reads is removed (its readers read its input);
* an inference BatchNormalization with constant parameters right after a Conv (whose output only it reads)
  is folded into the Conv's W and B;
* a Relu / LeakyRelu / Clip (constant bounds) right after a Conv becomes the Conv's fused epilogue.

Each gives the same results as the unrewritten plan within float tolerance (tests/ops/test_fusion.py).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from onnumba.optimizer import register_rewrite


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


def _fusable_conv(state, name: str, producers: dict, reader):
    """The Conv step producing ``name`` when ``reader`` is its only reader and nothing is fused into it yet."""
    conv = producers.get(name)
    if conv is None or not _is(conv, "Conv") or conv.attrs.activation != "none":
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
        _absorb(state, conv, bn)
        producers = _producers(state)


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
        conv = _fusable_conv(state, st.inputs[0], producers, st)
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
