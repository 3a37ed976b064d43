"""The numerics of LSTM, GRU and RNN: activation functions and one direction's time loop.

Per step, the recurrent matrix product runs on the whole batch through numpy's matmul (BLAS); the input
projection ``X @ W^T + biases`` of every step is one product before the loop. The gate arithmetic is numpy
on ``(batch, hidden)`` arrays. Inputs arrive already validated and in the compute dtype (float32, or
float64 for float64 models).

Sequence lengths: a batch entry whose sequence has ended keeps its state (so the final state is the one of
its last valid step) and writes zeros to Y. A reverse direction reads each entry's sequence from its own last
valid step backwards: :func:`reverse_index` gives that per-entry permutation of the time axis. An entry of
length 0 has final states of zeros.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def _sigmoid(x, a, b):
    return 1.0 / (1.0 + np.exp(-x))


def _hard_sigmoid(x, a, b):
    return np.clip(a * x + b, 0.0, 1.0)


def _leaky_relu(x, a, b):
    return np.where(x >= 0, x, a * x)


def _thresholded_relu(x, a, b):
    return np.where(x > a, x, 0.0)


def _elu(x, a, b):
    return np.where(x >= 0, x, a * np.expm1(np.minimum(x, 0.0)))


#: lower-cased name -> (function(x, alpha, beta), number of parameters it reads, default alpha, default beta);
#: the defaults are those of the onnx operators of the same name (ScaledTanh, Affine: 1, 1 and 1, 0)
ACTIVATIONS = {
    "sigmoid": (_sigmoid, 0, 0.0, 0.0),
    "tanh": (lambda x, a, b: np.tanh(x), 0, 0.0, 0.0),
    "relu": (lambda x, a, b: np.maximum(x, 0.0), 0, 0.0, 0.0),
    "hardsigmoid": (_hard_sigmoid, 2, 0.2, 0.5),
    "affine": (lambda x, a, b: a * x + b, 2, 1.0, 0.0),
    "leakyrelu": (_leaky_relu, 1, 0.01, 0.0),
    "thresholdedrelu": (_thresholded_relu, 1, 1.0, 0.0),
    "scaledtanh": (lambda x, a, b: a * np.tanh(b * x), 2, 1.0, 1.0),
    "elu": (_elu, 1, 1.0, 0.0),
    "softsign": (lambda x, a, b: x / (1.0 + np.abs(x)), 0, 0.0, 0.0),
    "softplus": (lambda x, a, b: np.logaddexp(0.0, x), 0, 0.0, 0.0),
}


@dataclass(frozen=True)
class Activation:
    """One activation function of a recurrent op with its resolved alpha and beta."""

    name: str  # lower-cased key of ACTIVATIONS
    alpha: float
    beta: float

    def __call__(self, x: np.ndarray) -> np.ndarray:
        fn = ACTIVATIONS[self.name][0]
        t = x.dtype.type
        with np.errstate(over="ignore"):  # exp overflow saturates sigmoid / softplus correctly
            return np.asarray(fn(x, t(self.alpha), t(self.beta)), x.dtype)


def resolve_activations(names, alphas, betas) -> tuple[tuple[Activation, ...], int, int]:
    """Pair each activation name with its parameters, consuming ``alphas`` / ``betas`` in order by the
    functions that take them (as onnxruntime does), defaults where a list runs out.

    Returns (activations, alphas used, betas used); raises KeyError(name) for an unknown function.
    """
    out = []
    ia = ib = 0
    for name in names:
        key = name.lower()
        if key not in ACTIVATIONS:
            raise KeyError(name)
        _, n_params, da, db = ACTIVATIONS[key]
        a, b = da, db
        if n_params >= 1 and ia < len(alphas):
            a, ia = float(alphas[ia]), ia + 1
        if n_params >= 2 and ib < len(betas):
            b, ib = float(betas[ib]), ib + 1
        out.append(Activation(key, a, b))
    return tuple(out), ia, ib


def reverse_index(lens: np.ndarray, t_n: int) -> np.ndarray:
    """(T, B) time index: entry b's step k reads time ``lens[b] - 1 - k`` while ``k < lens[b]``, else ``k``.

    Each column is a permutation of ``range(T)``, so it also scatters the reversed outputs back in place.
    """
    k = np.arange(t_n)[:, None]
    return np.where(k < lens[None, :], lens[None, :] - 1 - k, k)


def _clip(x, clip):
    return x if clip is None else np.clip(x, -clip, clip, out=x)


@dataclass(frozen=True)
class CellSpec:
    """What one direction's loop needs besides the arrays."""

    kind: str  # "LSTM", "GRU" or "RNN"
    acts: tuple  # this direction's activations: LSTM (f, g, h), GRU (f, g), RNN (f,)
    clip: float | None
    input_forget: bool = False  # LSTM: couple the forget gate to the input gate, f = 1 - i
    linear_before_reset: bool = False  # GRU


def run_direction(spec: CellSpec, xw, r, rb_h, h0, c0, p, lens):
    """One direction over time.

    Args:
        xw: (T, B, G*H) input projections ``X_t W^T + Wb + Rb`` (GRU: without Rb of the h gate), in the order
            this direction reads them.
        r: (G*H, H) recurrence weights; rb_h: (H,) GRU's h-gate recurrence bias (else None).
        h0, c0: (B, H) initial states (c0 only for LSTM); p: (3H,) LSTM peepholes i, o, f or None.
        lens: (B,) valid steps per batch entry.

    Returns:
        y (T, B, H) with zeros past each entry's length, and the final h and c (c None unless LSTM).
    """
    t_n, b_n, _ = xw.shape
    hid = h0.shape[1]
    y = np.zeros((t_n, b_n, hid), xw.dtype)
    h, c = h0, c0
    rt = np.ascontiguousarray(r.T)
    acts = spec.acts
    for t in range(t_n):
        active = (t < lens)[:, None]
        if not active.any():
            break
        g = xw[t] + h @ rt if spec.kind != "GRU" else None
        if spec.kind == "RNN":
            h_new = acts[0](_clip(g, spec.clip))
        elif spec.kind == "LSTM":
            f_act, g_act, h_act = acts
            gi, go, gf, gc = (g[:, k * hid:(k + 1) * hid] for k in range(4))
            if p is not None:
                gi = gi + p[:hid] * c
                gf = gf + p[2 * hid:] * c
            i = f_act(_clip(gi, spec.clip))
            f = 1.0 - i if spec.input_forget else f_act(_clip(gf, spec.clip))
            c_new = f * c + i * g_act(_clip(gc, spec.clip))
            if p is not None:
                go = go + p[hid:2 * hid] * c_new
            h_new = f_act(_clip(go, spec.clip)) * h_act(c_new)
            c = np.where(active, c_new, c)
        else:
            f_act, g_act = acts
            zr = xw[t, :, :2 * hid] + h @ rt[:, :2 * hid]
            z = f_act(_clip(zr[:, :hid], spec.clip))
            rr = f_act(_clip(zr[:, hid:], spec.clip))
            if spec.linear_before_reset:
                pre = xw[t, :, 2 * hid:] + rr * (h @ rt[:, 2 * hid:] + rb_h)
            else:
                pre = xw[t, :, 2 * hid:] + (rr * h) @ rt[:, 2 * hid:] + rb_h
            h_new = (1.0 - z) * g_act(_clip(pre, spec.clip)) + z * h
        h = np.where(active, h_new, h)
        y[t] = np.where(active, h_new, 0.0)
    # an entry with no steps has no last output: zeros, as onnxruntime (the spec does not say)
    ran = (lens > 0)[:, None]
    return y, np.where(ran, h, 0.0), (None if c is None else np.where(ran, c, 0.0))
