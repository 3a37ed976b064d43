"""The interface between the plan rewrites (ops/fusion.py) and the ops they fuse into.

A *fusable producer* is an ``Op`` class whose bound attrs carry the epilogue it applies to its output:

* ``attrs.epilogue: Epilogue`` (``kernels/epilogue.py``), ``IDENTITY`` unless a rewrite fused an activation;
* ``Op.with_epilogue(attrs, ep) -> attrs``: the same attrs applying ``ep`` (a frozen-dataclass ``replace``);
* optionally ``Op.fold_affine(node, attrs, w, b, sub, mul, add) -> (w2, b2) | None``: constant weights ``w``
  (input 1) and bias ``b`` (input 2, or None) such that the op with them computes ``(y - sub[c]) * mul[c] +
  add[c]`` per output channel ``c`` of its output ``y``, or None when that cannot be done without changing
  which outputs are NaN, infinite or zero. :func:`fold_into_weights` implements it for weights whose output
  channels are one axis of ``w`` (Conv: axis 0).

Fusion never reads or writes an op's other attribute fields: it asks :func:`is_fusable`, reads
``attrs.epilogue`` and calls these classmethods.
"""

from __future__ import annotations

import numpy as np


def is_fusable(impl, attrs) -> bool:
    """Whether ``impl`` (an Op class) with bound ``attrs`` follows the protocol above."""
    return hasattr(impl, "with_epilogue") and hasattr(attrs, "epilogue")


def can_fold_affine(impl) -> bool:
    return hasattr(impl, "fold_affine")


def fold_into_weights(w: np.ndarray, b: np.ndarray | None, sub, mul, add, axis: int = 0):
    """``(w * mul, (b - sub) * mul + add)`` along ``w``'s output-channel ``axis``, in ``w``'s dtype, or None.

    Refused (None) unless it is exact up to rounding on every input, NaN and Inf included: ``mul`` finite and
    non-zero, every new bias value finite, the bias finite before, and ``w * mul`` zero and non-finite exactly
    where ``w`` is (a product that underflows to 0 or overflows to inf would turn a ``0 * inf`` or an overflow
    into something the unfused graph does not compute).
    """
    if w.dtype not in (np.float32, np.float64):
        return None  # float16 weights would lose precision when rescaled
    m = w.shape[axis]
    sub, mul, add = (np.broadcast_to(np.asarray(v, np.float64).reshape(-1), (m,)) for v in (sub, mul, add))
    b0 = np.zeros(m) if b is None else np.asarray(b, np.float64).reshape(-1)
    if b0.shape != (m,):
        return None
    if not (np.all(np.isfinite(mul)) and np.all(mul != 0) and np.all(np.isfinite(b0))
            and np.all(np.isfinite(sub)) and np.all(np.isfinite(add))):
        return None
    shape = [1] * w.ndim
    shape[axis] = m
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        w2 = (w.astype(np.float64) * mul.reshape(shape)).astype(w.dtype)
        b2 = ((b0 - sub) * mul + add).astype(w.dtype)
    if not np.all(np.isfinite(b2)):
        return None
    if not (np.array_equal(np.isfinite(w2), np.isfinite(w)) and np.array_equal(w2 == 0, w == 0)):
        return None
    return w2, b2
