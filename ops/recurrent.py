"""LSTM, GRU and RNN: forward, reverse and bidirectional, layouts 0 and 1, sequence_lens, initial states,
peepholes (LSTM), clip, activations with alpha / beta, input_forget (LSTM), linear_before_reset (GRU).

This module parses and validates; :mod:`onnumba.ops.recurrent_cells` holds the numerics. Gate order within W,
R and B is onnx's: LSTM i, o, f, c; GRU z, r, h; RNN one gate. Shapes (layout 0 / layout 1)::

    X          (T, B, I)        / (B, T, I)
    W          (D, G*H, I)          R  (D, G*H, H)        B  (D, 2*G*H)       P  (D, 3*H)
    sequence_lens (B,)              initial_h, initial_c, Y_h, Y_c  (D, B, H) / (B, D, H)
    Y          (T, D, B, H)     / (B, T, D, H)

with D = 2 for bidirectional, else 1, and G gates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.errors import InputError
from onnumba.ops._common import INDEX, check_dtype, check_rank, require_input
from onnumba.ops.layer_normalization import NORM_FLOATS
from onnumba.ops.recurrent_cells import CellSpec, reverse_index, resolve_activations, run_direction
from onnumba.registry import Op, TensorInfo, register

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}
_DEFAULT_ACTS = {"LSTM": ("Sigmoid", "Tanh", "Tanh"), "GRU": ("Sigmoid", "Tanh"), "RNN": ("Tanh",)}
_DIRECTIONS = ("forward", "reverse", "bidirectional")


@dataclass(frozen=True)
class RecurrentAttrs:
    kind: str
    hidden_size: int | None  # None: taken from R's last dimension
    directions: tuple  # ("forward",), ("reverse",) or ("forward", "reverse")
    layout: int
    acts: tuple  # per direction: a tuple of Activation
    clip: float | None
    input_forget: bool
    linear_before_reset: bool


def _parse(node, kind: str) -> RecurrentAttrs:
    hs = node.attr("hidden_size", None, "int")
    if hs is not None and hs < 1:
        raise node.error(f"expected a value >= 1, got {hs}", attribute="hidden_size")
    direction = node.attr("direction", "forward", "str")
    if direction not in _DIRECTIONS:
        raise node.error(f"expected one of {', '.join(_DIRECTIONS)}, got {direction!r}", attribute="direction")
    dirs = ("forward", "reverse") if direction == "bidirectional" else (direction,)
    layout = node.attr("layout", 0, "int") if node.version >= 14 else 0
    if layout not in (0, 1):
        raise node.error(f"expected 0 or 1, got {layout}", attribute="layout")
    n_act = len(_DEFAULT_ACTS[kind])
    names = node.attr("activations", None, "strs")
    if names is None:
        names = _DEFAULT_ACTS[kind] * len(dirs)
    elif len(names) == n_act and len(dirs) == 2:
        names = tuple(names) * 2  # one list given for a bidirectional node: both directions use it
    elif len(names) != n_act * len(dirs):
        raise node.error(f"expected {n_act * len(dirs)} names ({n_act} per direction, {len(dirs)} "
                         f"direction{'s' if len(dirs) > 1 else ''}), got {len(names)}: {list(names)}",
                         attribute="activations")
    alphas = node.attr("activation_alpha", (), "floats")
    betas = node.attr("activation_beta", (), "floats")
    try:
        acts, _, _ = resolve_activations(names, alphas, betas)
    except KeyError as e:
        raise node.error(f"unknown activation function {e.args[0]!r}; supported: Sigmoid, Tanh, Relu, HardSigmoid, "
                         f"Affine, LeakyRelu, ThresholdedRelu, ScaledTanh, Elu, Softsign, Softplus",
                         attribute="activations") from None
    per_dir = tuple(acts[k * n_act:(k + 1) * n_act] for k in range(len(dirs)))
    clip = node.attr("clip", None, "float")
    if clip is not None and not (clip > 0):
        raise node.error(f"expected a value > 0, got {clip}", attribute="clip")
    input_forget = node.attr("input_forget", 0, "int") if kind == "LSTM" else 0
    lbr = node.attr("linear_before_reset", 0, "int") if kind == "GRU" else 0
    for name, v in (("input_forget", input_forget), ("linear_before_reset", lbr)):
        if v not in (0, 1):
            raise node.error(f"expected 0 or 1, got {v}", attribute=name)
    return RecurrentAttrs(kind, hs, dirs, layout, per_dir, clip, bool(input_forget), bool(lbr))


def _expect(node, inputs, i, name, want, what):
    info = inputs[i] if i < len(inputs) else None
    if info is None:
        return
    if info.shape != want:
        raise node.error(f"{name}: expected shape {what} = {want}, got {info.shape}", input=i)


def _infer(node, attrs, inputs):
    kind = attrs.kind
    x = require_input(node, inputs, 0, "X")
    w = require_input(node, inputs, 1, "W")
    r = require_input(node, inputs, 2, "R")
    check_dtype(node, x, 0, NORM_FLOATS, "X")
    check_rank(node, x, 0, rank=3, what="X")
    for i, nm in ((1, "W"), (2, "R"), (3, "B"), (5, "initial_h"), (6, "initial_c"), (7, "P")):
        if i < len(inputs) and inputs[i] is not None and inputs[i].dtype != x.dtype:
            raise node.error(f"{nm}: element type {inputs[i].dtype.name} differs from X's {x.dtype.name}; "
                             f"the op requires one type", input=i)
    if kind != "LSTM":
        for i in (6, 7):
            if i < len(inputs) and inputs[i] is not None:
                raise node.error(f"{kind} has no input {i}", input=i)
    d = len(attrs.directions)
    g = _GATES[kind]
    t_n, b_n = (x.shape[1], x.shape[0]) if attrs.layout else x.shape[:2]
    i_n = x.shape[2]
    check_rank(node, r, 2, rank=3, what="R")
    hid = attrs.hidden_size if attrs.hidden_size is not None else r.shape[2]
    gname = {4: "4*hidden_size", 3: "3*hidden_size", 1: "hidden_size"}[g]
    _expect(node, inputs, 1, "W", (d, g * hid, i_n), f"(num_directions, {gname}, input_size)")
    _expect(node, inputs, 2, "R", (d, g * hid, hid), f"(num_directions, {gname}, hidden_size)")
    _expect(node, inputs, 3, "B", (d, 2 * g * hid), f"(num_directions, 2*{gname})")
    _expect(node, inputs, 7, "P", (d, 3 * hid), "(num_directions, 3*hidden_size)")
    state = (b_n, d, hid) if attrs.layout else (d, b_n, hid)
    state_what = "(batch_size, num_directions, hidden_size)" if attrs.layout else \
        "(num_directions, batch_size, hidden_size)"
    _expect(node, inputs, 5, "initial_h", state, state_what)
    _expect(node, inputs, 6, "initial_c", state, state_what)
    if len(inputs) > 4 and inputs[4] is not None:
        check_dtype(node, inputs[4], 4, INDEX, "sequence_lens")
        _expect(node, inputs, 4, "sequence_lens", (b_n,), "(batch_size,)")
    y = (b_n, t_n, d, hid) if attrs.layout else (t_n, d, b_n, hid)
    n_out = 3 if kind == "LSTM" else 2
    if len(node.outputs) > n_out:
        raise node.error(f"{kind} has at most {n_out} outputs, got {len(node.outputs)}")
    return [TensorInfo(x.dtype, y)] + [TensorInfo(x.dtype, state)] * (len(node.outputs) - 1)


def _run(node, attrs, arrays):
    kind = attrs.kind
    x, w, r = arrays[:3]

    def opt(i):
        return arrays[i] if i < len(arrays) and arrays[i] is not None else None

    ctype = np.dtype(np.float64) if x.dtype == np.float64 else np.dtype(np.float32)
    if attrs.layout:
        x = np.swapaxes(x, 0, 1)
    t_n, b_n, i_n = x.shape
    d = len(attrs.directions)
    g = _GATES[kind]
    hid = r.shape[2]
    xc = np.asarray(x, ctype)
    bias = np.asarray(opt(3), ctype) if opt(3) is not None else np.zeros((d, 2 * g * hid), ctype)
    lens = opt(4)
    if lens is None:
        lens = np.full(b_n, t_n, np.int64)
    else:
        lens = np.asarray(lens, np.int64).reshape(-1)
        bad = (lens < 0) | (lens > t_n)
        if bad.any():
            raise InputError(f"{node.where(input=4)}: sequence lengths must be in [0, {t_n}] (the sequence "
                             f"length of X), got {lens.tolist()}")

    def state(i):
        s = opt(i)
        if s is None:
            return np.zeros((d, b_n, hid), ctype)
        s = np.asarray(s, ctype)
        return np.swapaxes(s, 0, 1) if attrs.layout else s

    h0, c0 = state(5), state(6) if kind == "LSTM" else None
    p = opt(7)
    ys, hs, cs = [], [], []
    for k, direction in enumerate(attrs.directions):
        wb, rb = bias[k, :g * hid], bias[k, g * hid:]
        xb = wb + rb
        rb_h = None
        if kind == "GRU":  # the h gate's recurrence bias is applied with the recurrence (inside r * (...))
            xb = xb.copy()
            xb[2 * hid:] = wb[2 * hid:]
            rb_h = rb[2 * hid:]
        xw = (xc.reshape(t_n * b_n, i_n) @ np.asarray(w[k], ctype).T + xb).reshape(t_n, b_n, g * hid)
        if direction == "reverse":
            idx = reverse_index(lens, t_n)
            xw = xw[idx, np.arange(b_n)[None, :]]
        spec = CellSpec(kind, attrs.acts[k], attrs.clip, attrs.input_forget, attrs.linear_before_reset)
        y, h, c = run_direction(spec, xw, np.asarray(r[k], ctype), rb_h, h0[k], c0[k] if c0 is not None else None,
                                None if p is None else np.asarray(p[k], ctype), lens)
        if direction == "reverse":
            y_back = np.empty_like(y)
            y_back[idx, np.arange(b_n)[None, :]] = y
            y = y_back
        ys.append(y)
        hs.append(h)
        cs.append(c)
    y = np.stack(ys, axis=1)  # (T, D, B, H)
    h = np.stack(hs)
    outs = [np.ascontiguousarray(np.transpose(y, (2, 0, 1, 3)) if attrs.layout else y)]
    outs.append(np.ascontiguousarray(np.swapaxes(h, 0, 1)) if attrs.layout else h)
    if kind == "LSTM":
        c = np.stack(cs)
        outs.append(np.ascontiguousarray(np.swapaxes(c, 0, 1)) if attrs.layout else c)
    res = []
    for k, name in enumerate(node.outputs):
        res.append(outs[k].astype(arrays[0].dtype, copy=False) if name else None)
    return res


class _Recurrent(Op):
    kind = ""

    @classmethod
    def parse_attrs(cls, node):
        return _parse(node, cls.kind)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return _infer(node, attrs, inputs)

    @classmethod
    def run(cls, node, attrs, arrays):
        return _run(node, attrs, arrays)


@register("LSTM", versions=(1, 7, 14, 22))
class LSTM(_Recurrent):
    """Long short-term memory: ``i, f, o = f(...)``, ``c~ = g(...)``, ``C = f*C + i*c~``, ``H = o * h(C)``."""

    kind = "LSTM"


@register("GRU", versions=(1, 3, 7, 14, 22))
class GRU(_Recurrent):
    """Gated recurrent unit: ``z, r = f(...)``, ``h~ = g(...)``, ``H = (1 - z) * h~ + z * H``."""

    kind = "GRU"


@register("RNN", versions=(1, 7, 14, 22))
class RNN(_Recurrent):
    """Simple recurrent network: ``H = f(X W^T + H R^T + Wb + Rb)``."""

    kind = "RNN"
