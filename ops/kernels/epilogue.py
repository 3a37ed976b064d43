"""The ONE definition of a fused epilogue: "add a per-row bias, then an activation".

Every producer that fuses an activation (Conv, ConvTranspose, Gemm / MatMul, ChannelAffine, inference
BatchNormalization) and the standalone activation ops use the numbering and the semantics defined here, so a
fused graph computes exactly what the unfused one does:

* ``RELU``: ``0 if v < 0 else v`` -- NaN stays NaN and -0.0 stays -0.0, like the standalone Relu and
  onnxruntime (``max(v, 0)`` written as a select that keeps v when the comparison is false).
* ``LEAKY_RELU``: ``alpha * v if v < 0 else v`` (any alpha, 0 and negative included).
* ``CLIP``: ``min(max(v, lo), hi)`` evaluated in that order, so ``lo > hi`` gives ``hi`` everywhere (the
  spec's formula) and NaN passes through.
* ``HARD_SIGMOID`` / ``HARD_SWISH``: ``h = max(0, min(1, alpha * v + beta))`` (a multiply, then an add), then
  ``h`` / ``v * h``; the standalone ops run this same function.

Activations are identified by small ints (:data:`NONE` ... ) and carried through plans as an
:class:`Epilogue` (frozen: kind + two float parameters). Kernels receive the plain ``(act, a0, a1)`` triple.
This module is part of the kernel floor: it imports only numpy, numba and the floor's own modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops._numba import INLINE, SERIAL, njit
from onnumba.ops.kernels.simd import vadd, vmul, vmulv, vsel_gt, vsel_lt, vsplat, vzero

# The one activation numbering of the tree. The first four are the ones producers fuse into their
# epilogue; the rest are the standalone pointwise kinds (ops/kernels/pointwise.py), numbered after them.
NONE, RELU, LEAKY_RELU, CLIP = 0, 1, 2, 3
(ELU, SELU, CELU, SIGMOID, HARD_SIGMOID, HARD_SWISH, TANH, SOFTPLUS, SOFTSIGN, GELU, GELU_TANH, MISH,
 THRESHOLDED_RELU, SWISH, EXP, ERF) = range(4, 20)

#: kinds a producer's epilogue can apply (the kernels below implement exactly these)
FUSABLE = (NONE, RELU, LEAKY_RELU, CLIP, HARD_SIGMOID, HARD_SWISH)

#: ONNX op name -> kind, for the activations fusion may fold into a producer
FUSABLE_OPS = {"Relu": RELU, "LeakyRelu": LEAKY_RELU, "Clip": CLIP, "HardSigmoid": HARD_SIGMOID,
               "HardSwish": HARD_SWISH}

_NAMES = {NONE: "none", RELU: "Relu", LEAKY_RELU: "LeakyRelu", CLIP: "Clip", HARD_SIGMOID: "HardSigmoid",
          HARD_SWISH: "HardSwish"}


@dataclass(frozen=True)
class Epilogue:
    """What a producer applies to each output before storing it: ``act(v + bias[row])``.

    Attributes:
        act: one of :data:`FUSABLE`.
        a0: LeakyRelu's alpha, Clip's lower bound, or HardSigmoid's / HardSwish's alpha.
        a1: Clip's upper bound, or HardSigmoid's / HardSwish's beta (unused otherwise).
    """

    act: int = NONE
    a0: float = 0.0
    a1: float = 0.0

    def __post_init__(self):
        if self.act not in FUSABLE:
            raise ValueError(f"activation kind {self.act} cannot be fused into an epilogue; expected one of "
                             f"{FUSABLE}")

    @property
    def is_identity(self) -> bool:
        return self.act == NONE

    @property
    def name(self) -> str:
        return _NAMES[self.act]

    def describe(self) -> str:
        """A short human-readable form for plan views, e.g. ``Clip(0, 6)``."""
        if self.act == LEAKY_RELU:
            return f"LeakyRelu(alpha={self.a0:g})"
        if self.act == CLIP:
            return f"Clip({self.a0:g}, {self.a1:g})"
        if self.act == HARD_SIGMOID:
            return f"HardSigmoid(alpha={self.a0:g}, beta={self.a1:g})"
        return self.name

    def args(self, dtype=np.float32) -> tuple:
        """``(act, a0, a1)`` as kernels take them, the parameters in the kernel's float type."""
        t = np.dtype(dtype).type
        return self.act, t(self.a0), t(self.a1)

    @staticmethod
    def of(op_type: str, a0: float = 0.0, a1: float = 0.0) -> "Epilogue":
        """The epilogue equivalent to the standalone activation ``op_type`` with its parameters."""
        return Epilogue(FUSABLE_OPS[op_type], float(a0), float(a1))


IDENTITY = Epilogue()


@njit(**INLINE)
def activate(v, act, a0, a1):
    """The fused activation on one scalar (see the module docstring for the exact semantics)."""
    if act == RELU:
        # a float32 zero unifies with float32 and float64 alike; NaN and -0.0 are kept (the comparison is false)
        return np.float32(0.0) if v < 0 else v
    if act == LEAKY_RELU:
        return v * a0 if v < 0 else v
    if act == CLIP:
        v = a0 if v < a0 else v
        return a1 if v > a1 else v
    if act == HARD_SIGMOID or act == HARD_SWISH:
        # max(0, min(1, alpha * v + beta)), the comparisons written so that NaN passes through
        h = a0 * v + a1
        h = np.float32(1.0) if h > 1 else h
        h = np.float32(0.0) if h < 0 else h
        return h if act == HARD_SIGMOID else v * h
    return v


@njit(**SERIAL)
def epilogue_row(row, bv, has_bias, act, a0, a1):
    """In place on a 1-d array or view: ``row[j] = activate(row[j] + bv)`` (no add without has_bias)."""
    if has_bias:
        for j in range(row.shape[0]):
            row[j] = activate(row[j] + bv, act, a0, a1)
    elif act != NONE:
        for j in range(row.shape[0]):
            row[j] = activate(row[j], act, a0, a1)


@njit(**SERIAL)
def epilogue_rows(y, bias, has_bias, act, a0, a1):
    """In place on a 2-d (rows, cols) array or view: ``y[r] = activate(y[r] + bias[r])``."""
    if act == NONE and not has_bias:
        return
    for r in range(y.shape[0]):
        row = y[r]
        if has_bias:
            bv = bias[r]
            for j in range(row.shape[0]):
                row[j] = activate(row[j] + bv, act, a0, a1)
        else:
            for j in range(row.shape[0]):
                row[j] = activate(row[j], act, a0, a1)


@njit(**SERIAL)
def epilogue_vec(v, bv, has_bias, act, a0, a1):
    """The epilogue on one 16-lane float32 vector (kernels/simd.py): ``+ bv`` when has_bias, then ``act``.

    The selects are ordered comparisons (a NaN lane compares false), written so that a NaN lane keeps v.
    """
    if has_bias:
        v = vadd(v, vsplat(bv))
    if act == RELU:
        z = vzero()
        v = vsel_lt(v, z, z, v)
    elif act == LEAKY_RELU:
        v = vsel_lt(v, vzero(), vmul(v, a0), v)
    elif act == CLIP:
        v = vsel_lt(v, vsplat(a0), vsplat(a0), v)
        v = vsel_gt(v, vsplat(a1), vsplat(a1), v)
    elif act == HARD_SIGMOID or act == HARD_SWISH:
        one, z = vsplat(np.float32(1.0)), vzero()
        h = vadd(vmul(v, a0), vsplat(a1))  # a multiply then an add, as the scalar form (no FMA contraction)
        h = vsel_gt(h, one, one, h)
        h = vsel_lt(h, z, z, h)
        v = h if act == HARD_SIGMOID else vmulv(v, h)
    return v
