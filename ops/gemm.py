"""Gemm and MatMul: matrix products through numpy's BLAS (``np.matmul``), validated at plan time.

PERFORMANCE.md: for a batch-1 fully connected layer (M = 1) OpenBLAS beat onnxruntime, so the product itself
is left to BLAS; float16 / bfloat16 are computed in float32 and cast back, integers use numpy's own loops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import broadcast_shapes, check_size, require_input
from onnumba.registry import Op, TensorInfo, register

_F = tuple(np.dtype(t) for t in (np.float16, np.float32, np.float64))
_I = tuple(np.dtype(t) for t in (np.int32, np.int64, np.uint32, np.uint64))


def _bfloat16():
    try:
        import ml_dtypes

        return (np.dtype(ml_dtypes.bfloat16),)
    except ImportError:  # pragma: no cover - ml_dtypes ships with onnx
        return ()


_BF16 = _bfloat16()


def _allowed(version: int, int_since: int, bf16_since: int) -> tuple:
    out = _F
    if version >= int_since:
        out = out + _I
    if version >= bf16_since:
        out = out + _BF16
    return out


def _check_types(node, inputs, idx, allowed) -> np.dtype:
    """All of ``idx`` present share one element type from ``allowed``."""
    dt = inputs[idx[0]].dtype
    for i in idx:
        if i >= len(inputs) or inputs[i] is None:
            continue
        t = inputs[i].dtype
        if t not in allowed:
            names = ", ".join(np.dtype(d).name for d in allowed)
            raise node.error(f"element type {t.name} is not supported by {node.op_type}-{node.version}; "
                             f"expected one of {names}", input=i)
        if t != dt:
            raise node.error(f"element type {t.name} differs from input {idx[0]}'s {dt.name}; "
                             f"{node.op_type} needs one type", input=i)
    return dt


def _compute_dtype(dt: np.dtype) -> np.dtype:
    """float16 / bfloat16 are computed in float32; everything else in its own type."""
    if dt.kind == "V" or dt == np.float16:
        return np.dtype(np.float32)
    return dt


# ----------------------------------------------------------------------------------------------- Gemm

@dataclass(frozen=True)
class GemmAttrs:
    alpha: float
    beta: float
    trans_a: bool
    trans_b: bool
    broadcast: bool  # opset < 7: C must be exactly (M, N) unless broadcast=1


@register("Gemm", versions=(1, 6, 7, 9, 11, 13))
class Gemm(Op):
    """Y = alpha * A' @ B' + beta * C, with A' = A.T if transA, B' = B.T if transB, C broadcast to (M, N)."""

    @classmethod
    def parse_attrs(cls, node):
        def flag(name):
            v = node.attr(name, 0, "int")
            if v not in (0, 1):
                raise node.error(f"expected 0 or 1, got {v}", attribute=name)
            return bool(v)

        broadcast = flag("broadcast") if node.version < 7 else True
        return GemmAttrs(node.attr("alpha", 1.0, "float"), node.attr("beta", 1.0, "float"),
                         flag("transA"), flag("transB"), broadcast)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        a = require_input(node, inputs, 0, "A")
        b = require_input(node, inputs, 1, "B")
        c = inputs[2] if len(inputs) > 2 else None
        if c is None and node.version < 11:
            raise node.error(f"input C is required before opset 11 (this node is Gemm-{node.version})", input=2)
        dt = _check_types(node, inputs, (0, 1, 2), _allowed(node.version, 9, 13))
        for i, info, nm in ((0, a, "A"), (1, b, "B")):
            if info.rank != 2:
                raise node.error(f"{nm} must be a matrix (rank 2), got shape {shape_str(info.shape)}", input=i)
        m, ka = (a.shape[1], a.shape[0]) if attrs.trans_a else a.shape
        kb, n = (b.shape[1], b.shape[0]) if attrs.trans_b else b.shape
        if ka != kb:
            raise node.error(
                f"inner dimensions differ: A{' (transA=1)' if attrs.trans_a else ''} {shape_str(a.shape)} gives "
                f"K={ka} but B{' (transB=1)' if attrs.trans_b else ''} {shape_str(b.shape)} gives K={kb}", input=1)
        if c is not None:
            ok = c.rank <= 2 and all(d == t or d == 1 for d, t in zip(reversed(c.shape), (n, m)))
            if not attrs.broadcast:
                ok = c.shape == (m, n)
            if not ok:
                want = (f"(M, N) = ({m}, {n}) (broadcast=0)" if not attrs.broadcast else
                        f"one unidirectionally broadcastable to (M, N) = ({m}, {n}): a scalar, ({n}), (1, {n}), "
                        f"({m}, 1) or ({m}, {n})")
                raise node.error(f"expected shape {want}, got {shape_str(c.shape)}", input=2)
        check_size(node, (m, n))
        return [TensorInfo(dt, (m, n))]

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays[0], arrays[1]
        c = arrays[2] if len(arrays) > 2 else None
        dt = a.dtype
        cdt = _compute_dtype(dt)
        if cdt != dt:
            a, b = a.astype(cdt), b.astype(cdt)
            c = None if c is None else c.astype(cdt)
        if attrs.trans_a:
            a = a.T  # a view: BLAS reads it transposed, no copy
        if attrs.trans_b:
            b = b.T
        y = np.matmul(a, b)
        if attrs.alpha != 1.0:
            if y.dtype.kind == "f":
                y *= y.dtype.type(attrs.alpha)
            else:
                y = (y * attrs.alpha).astype(y.dtype)
        if c is not None and attrs.beta != 0.0:
            if attrs.beta == 1.0:
                y += c
            elif y.dtype.kind == "f":
                y += y.dtype.type(attrs.beta) * c
            else:
                y += (attrs.beta * c).astype(y.dtype)
        return [y.astype(dt, copy=False)]


# ----------------------------------------------------------------------------------------------- MatMul

def matmul_shape(node, sa: tuple, sb: tuple) -> tuple:
    """Output shape of numpy-style ``matmul(A, B)``; a ModelError naming both inputs when they do not fit."""
    for i, s, nm in ((0, sa, "A"), (1, sb, "B")):
        if len(s) == 0:
            raise node.error(f"{nm} must have rank >= 1, got a scalar", input=i)
    ka = sa[-1]
    kb = sb[0] if len(sb) == 1 else sb[-2]
    if ka != kb:
        where_b = "its only axis" if len(sb) == 1 else "its second-to-last axis"
        raise node.error(f"inner dimensions differ: A {shape_str(sa)} has {ka} on its last axis but "
                         f"B {shape_str(sb)} has {kb} on {where_b}", input=1)
    batch = broadcast_shapes(node, [sa[:-2], sb[:-2]], idx=[0, 1])
    out = batch + (sa[-2],) if len(sa) >= 2 else batch
    if len(sb) >= 2:
        out = out + (sb[-1],)
    return tuple(out)


@register("MatMul", versions=(1, 9, 13))
class MatMul(Op):
    """Numpy ``matmul`` semantics: batched, batch axes broadcast, 1-d operands promoted and removed again."""

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        a = require_input(node, inputs, 0, "A")
        b = require_input(node, inputs, 1, "B")
        dt = _check_types(node, inputs, (0, 1), _allowed(node.version, 9, 13))
        out = matmul_shape(node, a.shape, b.shape)
        check_size(node, out)
        return [TensorInfo(dt, out)]

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays
        dt = a.dtype
        cdt = _compute_dtype(dt)
        if cdt != dt:
            a, b = a.astype(cdt), b.astype(cdt)
        y = np.matmul(a, b)
        return [np.asarray(y).astype(dt, copy=False)]
