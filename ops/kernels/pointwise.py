"""The pointwise loop: ``out[i] = f_kind(x[i])`` for every standalone activation kind.

ONE serial Numba loop, :func:`activation_loop`, branches on the integer ``kind`` (numbered by
``kernels/epilogue.py``) once, so each inner loop is branch-free and LLVM vectorises it, and reads its parameters
from a small array of the data's own type (:func:`params`), so float32 data is computed in float32 and each dtype
is one specialisation. Relu, LeakyRelu and Clip call the epilogue's :func:`~onnumba.ops.kernels.epilogue.activate`
with a constant kind, so a fused and a standalone activation are the same code. Large tensors run the loop over
chunks in parallel; small ones call it directly, with no thread wake-up (:func:`run_activation`).

Part of the kernel floor: imports numpy, numba and the floor's own modules only.
"""

from __future__ import annotations

import math

import numpy as np

from onnumba.ops._numba import KERNEL, SERIAL, njit, num_threads, prange
from onnumba.ops.kernels.epilogue import (
    CELU, CLIP, ELU, ERF, EXP, GELU, GELU_TANH, HARD_SIGMOID, HARD_SWISH, LEAKY_RELU, MISH, RELU, SELU, SIGMOID,
    SOFTPLUS, SOFTSIGN, SWISH, TANH, THRESHOLDED_RELU, activate)
from onnumba.ops.kernels.mathf32 import erf, exp, expm1, fdiv, gelu, tanh

#: activation op names -> kind, for :func:`apply_activation_inplace` ("GeluTanh": Gelu with approximate='tanh')
KIND_OF = {
    "Relu": RELU, "LeakyRelu": LEAKY_RELU, "Elu": ELU, "Selu": SELU, "Celu": CELU, "Sigmoid": SIGMOID,
    "HardSigmoid": HARD_SIGMOID, "HardSwish": HARD_SWISH, "Tanh": TANH, "Softplus": SOFTPLUS,
    "Softsign": SOFTSIGN, "Clip": CLIP, "Gelu": GELU, "GeluTanh": GELU_TANH, "Mish": MISH,
    "ThresholdedRelu": THRESHOLDED_RELU, "Swish": SWISH,
}

#: elements per parallel chunk (64 KiB of float32: a chunk's input and output stay in L2)
CHUNK = 16384
#: below this many elements a cheap (memory-bound) kind runs serially: waking the other workers of a parallel
#: region costs more than it saves on a single pass over this much memory (benchmarks/PERFORMANCE.md, Activations)
PAR_MIN_CHEAP = 1 << 21
#: the same threshold for kinds that evaluate exp / tanh / erf per element (compute-bound, so parallel earlier)
PAR_MIN_COSTLY = 1 << 19
CHEAP = frozenset((RELU, LEAKY_RELU, HARD_SIGMOID, HARD_SWISH, SOFTSIGN, CLIP, THRESHOLDED_RELU))

_BLOCK = 2048


def params(dtype, alpha: float = 0.0, beta: float = 0.0, gamma: float = 0.0) -> np.ndarray:
    """Kernel parameters and constants in the data's own type (float literals in Numba are float64).

    ``alpha`` / ``beta`` / ``gamma`` as the ONNX op names them; Clip takes its bounds as ``(alpha, beta)``.
    """
    return np.array([alpha, beta, gamma, 0.0, 1.0, 0.5, math.sqrt(2.0 / math.pi), 0.044715,
                     1.0 / math.sqrt(2.0)], dtype=dtype)


@njit(**SERIAL)
def activation_loop(x, out, kind, p):
    """out[i] = f_kind(x[i]) over 1-d contiguous arrays; one loop per kind, each free of branches."""
    alpha, beta, gamma, zero, one, half, c_gelu, c_cube = p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]
    n = x.shape[0]
    if kind == RELU:
        for i in range(n):
            out[i] = activate(x[i], RELU, alpha, beta)
    elif kind == LEAKY_RELU:
        for i in range(n):
            out[i] = activate(x[i], LEAKY_RELU, alpha, beta)
    elif kind == CLIP:
        for i in range(n):
            out[i] = activate(x[i], CLIP, alpha, beta)
    elif kind == ELU:
        for i in range(n):
            v = x[i]
            out[i] = alpha * expm1(v) if v < zero else v
    elif kind == SELU:
        for i in range(n):
            v = x[i]
            out[i] = gamma * (alpha * expm1(v)) if v <= zero else gamma * v
    elif kind == CELU:
        # the spec's max(0, v) + min(0, alpha * expm1(v / alpha)), NaN propagating through both (alpha = -inf
        # gives NaN for v > 0 too: -inf * expm1(-0.0))
        for i in range(n):
            v = x[i]
            e = alpha * expm1(fdiv(v, alpha))
            out[i] = (zero if v <= zero else v) + (zero if e >= zero else e)
    elif kind == SIGMOID:
        for i in range(n):
            out[i] = fdiv(one, one + exp(-x[i]))  # exp overflow gives inf -> 0, the right limit
    elif kind == HARD_SIGMOID or kind == HARD_SWISH:
        for i in range(n):
            out[i] = activate(x[i], kind, alpha, beta)  # the fused epilogue's definition
    elif kind == TANH:
        for i in range(n):
            out[i] = tanh(x[i])
    elif kind == SOFTPLUS:
        for i in range(n):
            v = x[i]
            out[i] = max(v, zero) + math.log1p(math.exp(-abs(v)))
    elif kind == SOFTSIGN:
        for i in range(n):
            v = x[i]
            out[i] = fdiv(v, one + abs(v))
    elif kind == GELU:
        for i in range(n):
            out[i] = gelu(x[i])
    elif kind == GELU_TANH:
        for i in range(n):
            v = x[i]
            out[i] = half * v * (one + tanh(c_gelu * (v + c_cube * v * v * v)))
    elif kind == MISH:
        for i in range(n):
            v = x[i]
            out[i] = v * math.tanh(max(v, zero) + math.log1p(math.exp(-abs(v))))
    elif kind == THRESHOLDED_RELU:
        for i in range(n):
            v = x[i]
            out[i] = v if v > alpha else zero
    elif kind == SWISH:
        for i in range(n):
            v = x[i]
            out[i] = fdiv(v, one + exp(-alpha * v))
    elif kind == EXP:
        for i in range(n):
            out[i] = exp(x[i])
    elif kind == ERF:
        for i in range(n):
            out[i] = erf(x[i])


@njit(**SERIAL)
def activation_serial(x, out, kind, p, inplace):
    """:func:`activation_loop`, also when ``out`` is ``x`` (``inplace``)."""
    if not inplace:
        activation_loop(x, out, kind, p)
        return
    # out is x: LLVM's overlap check would fail and fall back to its scalar loop, so go through a small buffer
    n = x.shape[0]
    tmp = np.empty(min(n, _BLOCK), x.dtype)
    for lo in range(0, n, _BLOCK):
        m = min(_BLOCK, n - lo)
        xs = x[lo:lo + m]
        ts = tmp[:m]
        activation_loop(xs, ts, kind, p)
        for i in range(m):
            xs[i] = ts[i]


@njit(**KERNEL)
def activation_parallel(x, out, kind, p, inplace):
    """:func:`activation_serial` over chunks of :data:`CHUNK` in parallel."""
    n = x.size
    nchunks = (n + CHUNK - 1) // CHUNK
    for c in prange(nchunks):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        activation_serial(x[lo:hi], out[lo:hi], kind, p, inplace)


def run_activation(x: np.ndarray, out: np.ndarray, kind: int, p: np.ndarray) -> None:
    """f_kind over 1-d contiguous x into out (which may be x): serial below the kind's size threshold."""
    n = x.size
    if n == 0:
        return
    inplace = out is x
    if n >= (PAR_MIN_CHEAP if kind in CHEAP else PAR_MIN_COSTLY) and num_threads() > 1:
        activation_parallel(x, out, kind, p, inplace)
    else:
        activation_serial(x, out, kind, p, inplace)


def apply_activation_inplace(y: np.ndarray, kind: str, alpha: float = 0.0, beta: float = 0.0,
                             gamma: float = 0.0) -> np.ndarray:
    """Apply a pointwise activation to ``y`` in place and return it.

    Args:
        y: a C-contiguous float32 or float64 array (any shape); it is overwritten.
        kind: a key of :data:`KIND_OF`: ``"Relu"``, ``"LeakyRelu"`` (alpha = slope), ``"Clip"`` (alpha = min,
            beta = max), ``"Sigmoid"``, ``"HardSigmoid"`` (alpha, beta), ``"HardSwish"`` (alpha=1/6, beta=0.5),
            ``"Elu"``/``"Celu"``/``"ThresholdedRelu"``/``"Swish"`` (alpha), ``"Selu"`` (alpha, gamma),
            ``"Tanh"``, ``"Softplus"``, ``"Softsign"``, ``"Gelu"``, ``"GeluTanh"``, ``"Mish"``.
        alpha, beta, gamma: the activation's parameters as the ONNX op names them (see above).

    Raises:
        ValueError: unknown kind, or an array that is not contiguous float32/float64.
    """
    if kind not in KIND_OF:
        raise ValueError(f"unknown activation {kind!r}; expected one of {', '.join(KIND_OF)}")
    if y.dtype not in (np.float32, np.float64) or not y.flags.c_contiguous:
        raise ValueError(f"apply_activation_inplace needs a C-contiguous float32/float64 array, got {y.dtype} "
                         f"(contiguous={y.flags.c_contiguous})")
    flat = y.reshape(-1)
    run_activation(flat, flat, KIND_OF[kind], params(y.dtype, alpha, beta, gamma))
    return y
