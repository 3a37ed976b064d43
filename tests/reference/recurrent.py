"""Naive float64 references for LSTM, GRU and RNN, written from the ONNX spec: one batch entry and one time
step at a time, every gate spelled out. Layout 0 shapes in and out (tests transpose for layout 1)."""

from __future__ import annotations

import math

import numpy as np

# name -> f(x, alpha, beta), defaults (alpha, beta) as the onnx operators of the same name
_F = {
    "sigmoid": (lambda x, a, b: 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0, None, None),
    "tanh": (lambda x, a, b: math.tanh(x), None, None),
    "relu": (lambda x, a, b: max(x, 0.0), None, None),
    "hardsigmoid": (lambda x, a, b: min(1.0, max(0.0, a * x + b)), 0.2, 0.5),
    "affine": (lambda x, a, b: a * x + b, 1.0, 0.0),
    "leakyrelu": (lambda x, a, b: x if x >= 0 else a * x, 0.01, None),
    "thresholdedrelu": (lambda x, a, b: x if x > a else 0.0, 1.0, None),
    "scaledtanh": (lambda x, a, b: a * math.tanh(b * x), 1.0, 1.0),
    "elu": (lambda x, a, b: x if x >= 0 else a * (math.exp(x) - 1.0), 1.0, None),
    "softsign": (lambda x, a, b: x / (1.0 + abs(x)), None, None),
    "softplus": (lambda x, a, b: math.log1p(math.exp(-abs(x))) + max(x, 0.0), None, None),
}

DEFAULT_ACTS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"], "RNN": ["Tanh"]}


def activation_fns(names, alphas=(), betas=()):
    """Scalar functions for ``names``; alphas / betas are taken in order by the functions that use them."""
    alphas, betas = list(alphas), list(betas)
    fns = []
    for nm in names:
        f, da, db = _F[nm.lower()]
        a = alphas.pop(0) if da is not None and alphas else (da or 0.0)
        b = betas.pop(0) if db is not None and betas else (db or 0.0)
        fns.append(np.vectorize(lambda x, f=f, a=a, b=b: f(float(x), a, b), otypes=[np.float64]))
    return fns


def recurrent_ref(kind, x, w, r, b=None, seq_lens=None, h0=None, c0=None, p=None, *, direction="forward",
                  activations=None, alphas=(), betas=(), clip=None, input_forget=0, linear_before_reset=0):
    """Returns (Y (T, D, B, H), Y_h (D, B, H), Y_c (D, B, H) or None) in float64."""
    t_n, b_n, _ = x.shape
    dirs = ["forward", "reverse"] if direction == "bidirectional" else [direction]
    d_n = len(dirs)
    hid = r.shape[2]
    g = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    n_act = len(DEFAULT_ACTS[kind])
    names = activations or DEFAULT_ACTS[kind] * d_n
    fns = activation_fns(names, alphas, betas)
    f64 = lambda a: None if a is None else np.asarray(a, np.float64)  # noqa: E731
    x, w, r, b, h0, c0, p = map(f64, (x, w, r, b, h0, c0, p))
    b = np.zeros((d_n, 2 * g * hid)) if b is None else b
    seq_lens = np.full(b_n, t_n) if seq_lens is None else np.asarray(seq_lens)
    cl = (lambda v: np.clip(v, -clip, clip)) if clip is not None else (lambda v: v)
    y = np.zeros((t_n, d_n, b_n, hid))
    yh = np.zeros((d_n, b_n, hid))
    yc = np.zeros((d_n, b_n, hid))
    for d, dr in enumerate(dirs):
        acts = fns[d * n_act:(d + 1) * n_act]
        wd, rd = w[d], r[d]
        wb, rb = b[d, :g * hid], b[d, g * hid:]
        for n in range(b_n):
            h = np.zeros(hid) if h0 is None else h0[d, n].copy()
            c = np.zeros(hid) if c0 is None else c0[d, n].copy()
            steps = range(seq_lens[n]) if dr == "forward" else range(seq_lens[n] - 1, -1, -1)
            for t in steps:
                xt = x[t, n]

                def gate(k, hh=h):
                    s = slice(k * hid, (k + 1) * hid)
                    return wd[s] @ xt + rd[s] @ hh + wb[s] + rb[s]

                if kind == "RNN":
                    h = acts[0](cl(gate(0)))
                elif kind == "LSTM":
                    pi, po, pf = (np.zeros(hid),) * 3 if p is None else np.split(p[d], 3)
                    i = acts[0](cl(gate(0) + pi * c))
                    f = 1.0 - i if input_forget else acts[0](cl(gate(2) + pf * c))
                    c = f * c + i * acts[1](cl(gate(3)))
                    o = acts[0](cl(gate(1) + po * c))
                    h = o * acts[2](c)
                else:
                    z = acts[0](cl(gate(0)))
                    rr = acts[0](cl(gate(1)))
                    s = slice(2 * hid, 3 * hid)
                    if linear_before_reset:
                        pre = wd[s] @ xt + wb[s] + rr * (rd[s] @ h + rb[s])
                    else:
                        pre = wd[s] @ xt + wb[s] + rd[s] @ (rr * h) + rb[s]
                    h = (1.0 - z) * acts[1](cl(pre)) + z * h
                y[t, d, n] = h
            if seq_lens[n] > 0:  # no steps, no last output: zeros (the spec is silent; onnxruntime's choice)
                yh[d, n] = h
                yc[d, n] = c
    return y, yh, (yc if kind == "LSTM" else None)
