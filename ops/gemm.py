"""Gemm and MatMul: matrix products through numpy's BLAS (``np.matmul``), validated at plan time.

float32 Gemm with one row (a batch-1 fully connected layer) and a constant B runs a GEMV of our own instead:
B is packed at plan time into 64-column panels (``B'[k, 64 g : 64 g + 64]`` contiguous for each k), and each
``prange`` task keeps four 16-lane accumulators for one panel, one FMA per (k, vector) in k order, so every
output is summed the same way wherever it falls (equal columns of B give equal outputs), and the weights are
streamed once (why it beats BLAS there: benchmarks/PERFORMANCE.md, Gemm). float16 / bfloat16 are computed in
float32 and cast back, integers use numpy's own loops. Both ops are fusable producers (ops/_fusable.py): a
following Relu / LeakyRelu / Clip becomes their ``epilogue``, applied by kernels/epilogue.py to the product.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import broadcast_shapes, check_size, check_types, compute_dtype, memo_by_array, require_input
from onnumba.ops._fusable import fold_into_weights
from onnumba.ops._numba import KERNEL, SERIAL, njit, num_threads, prange
from onnumba.ops.kernels.epilogue import IDENTITY, Epilogue, epilogue_rows
from onnumba.ops.kernels.simd import sload, vfma, vload, vstore, vzero
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


# ----------------------------------------------------------------------------------------------- Gemm

#: GEMV panel width (four 16-lane vectors)
_GEMV_NR = 64


#: a GEMV reading fewer weights than this runs on the calling thread (serial kernel, no parallel kernel
#: compiled): streaming them takes less time on one core than waking a sleeping worker saves (the rule of
#: ops/conv/schedule.py's ``_PAR_MIN_US``; the number: benchmarks/PERFORMANCE.md)
_GEMV_PAR_MIN_WEIGHTS = 1 << 20


@njit(**SERIAL)
def _gemv_panels(a, bp, K, y, g0, g1):
    """y[j] = sum_k a[k] * B'[k, j] for the 64-column panels g0..g1: bp (G, K * 64) packed, y (G * 64,)."""
    for g in range(g0, g1):
        w = bp[g]
        y0 = vzero(); y1 = y0; y2 = y0; y3 = y0  # noqa: E702
        off = 0
        for k in range(K):
            s = sload(a, k)
            y0 = vfma(y0, vload(w, off), s)
            y1 = vfma(y1, vload(w, off + 16), s)
            y2 = vfma(y2, vload(w, off + 32), s)
            y3 = vfma(y3, vload(w, off + 48), s)
            off += _GEMV_NR
        d = g * _GEMV_NR
        vstore(y, d, y0)
        vstore(y, d + 16, y1)
        vstore(y, d + 32, y2)
        vstore(y, d + 48, y3)


@njit(**KERNEL)
def _gemv_kernel(a, bp, K, y):
    """:func:`_gemv_panels`, one panel per ``prange`` task."""
    for g in prange(bp.shape[0]):
        _gemv_panels(a, bp, K, y, g, g + 1)


def _gemv(a, bp, K, y) -> None:
    if bp.size >= _GEMV_PAR_MIN_WEIGHTS and num_threads() > 1:
        _gemv_kernel(a, bp, K, y)
    else:
        _gemv_panels(a, bp, K, y, 0, bp.shape[0])


def gemv_pack(b, trans_b: bool) -> np.ndarray:
    """B (K, N), or (N, K) with ``trans_b``, as float32 64-column panels for :func:`_gemv_panels`: (G, K * 64)."""
    bt = np.asarray(b, np.float32)
    bt = bt.T if trans_b else bt
    K, N = bt.shape
    G = -(-N // _GEMV_NR)
    out = np.zeros((G, K, _GEMV_NR), np.float32)
    full = N // _GEMV_NR
    out[:full] = bt[:, :full * _GEMV_NR].reshape(K, full, _GEMV_NR).transpose(1, 0, 2)
    if full < G:
        out[full, :, :N - full * _GEMV_NR] = bt[:, full * _GEMV_NR:]
    return out.reshape(G, K * _GEMV_NR)


@dataclass(frozen=True)
class GemmAttrs:
    alpha: float
    beta: float
    trans_a: bool
    trans_b: bool
    broadcast: bool  # opset < 7: C must be exactly (M, N) unless broadcast=1
    #: B packed by :func:`gemv_pack` when it is a float32 plan-time constant (used when A has one row)
    gemv_b: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: activation fused by the plan rewrites (ops/_fusable.py)
    epilogue: Epilogue = IDENTITY


def _apply_epilogue(y: np.ndarray, ep: Epilogue) -> np.ndarray:
    """The fused activation on a float32 / float64 product in place (fusion only fuses into those types)."""
    if not ep.is_identity and y.size:
        y2 = y.reshape(-1, y.shape[-1]) if y.ndim else y.reshape(1, 1)
        epilogue_rows(y2, np.zeros(1, y.dtype), False, *ep.args(y.dtype))
    return y


@register("Gemm", versions=(1, 6, 7, 9, 11, 13))
class Gemm(Op):
    """Y = alpha * A' @ B' + beta * C, with A' = A.T if transA, B' = B.T if transB, C broadcast to (M, N)."""

    @classmethod
    def with_epilogue(cls, attrs, ep: Epilogue):
        return replace(attrs, epilogue=ep)

    @classmethod
    def fold_affine(cls, node, attrs, w, b, sub, mul, add):
        """(B, C) computing ``(Y - sub[j]) * mul[j] + add[j]`` per output column j (ops/_fusable.py), or None.

        Only with beta = 1 (a new C is not rescaled) and C absent or one value per column (C's other
        broadcasts vary along the rows, which no per-column map can absorb)."""
        if attrs.beta != 1.0 or w.ndim != 2:
            return None
        n = w.shape[0 if attrs.trans_b else 1]
        if b is not None and b.shape not in ((n,), (1, n)):
            return None
        return fold_into_weights(w, b, sub, mul, add, axis=0 if attrs.trans_b else 1)

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
    def bind(cls, node, attrs, inputs, consts, ctx):
        a = inputs[0] if inputs else None
        bc = consts[1] if len(consts) > 1 else None
        if (bc is not None and bc.dtype == np.float32 and bc.ndim == 2 and a is not None and a.rank == 2
                and (a.shape[1] if attrs.trans_a else a.shape[0]) == 1
                and bc.shape[1 if attrs.trans_b else 0] == (a.shape[0] if attrs.trans_a else a.shape[1])):
            return replace(attrs, gemv_b=memo_by_array(bc, f"gemv/{attrs.trans_b}",
                                                        lambda b: gemv_pack(b, attrs.trans_b)))
        return attrs

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        a = require_input(node, inputs, 0, "A")
        b = require_input(node, inputs, 1, "B")
        c = inputs[2] if len(inputs) > 2 else None
        if c is None and node.version < 11:
            raise node.error(f"input C is required before opset 11 (this node is Gemm-{node.version})", input=2)
        dt = check_types(node, inputs, (0, 1, 2), _allowed(node.version, 9, 13))
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
        with np.errstate(all="ignore"):  # NaN / Inf / overflow are results, not warnings (IEEE, as onnxruntime)
            return cls._run(attrs, arrays)

    @classmethod
    def _run(cls, attrs, arrays):
        a, b = arrays[0], arrays[1]
        c = arrays[2] if len(arrays) > 2 else None
        dt = a.dtype
        cdt = compute_dtype(dt)
        if cdt != dt:
            a, b = a.astype(cdt), b.astype(cdt)
            c = None if c is None else c.astype(cdt)
        if attrs.trans_a:
            a = a.T  # a view: BLAS reads it transposed, no copy
        if attrs.trans_b:
            b = b.T
        if attrs.gemv_b is not None and dt == np.float32 and a.shape[0] == 1:
            n = b.shape[1]
            y = np.empty(attrs.gemv_b.shape[0] * _GEMV_NR, np.float32)
            _gemv(np.ascontiguousarray(a).reshape(-1), attrs.gemv_b, a.shape[1], y)
            y = y[:n].reshape(1, n)
        else:
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
        return [_apply_epilogue(y, attrs.epilogue).astype(dt, copy=False)]


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


@dataclass(frozen=True)
class MatMulAttrs:
    #: activation fused by the plan rewrites (ops/_fusable.py)
    epilogue: Epilogue = IDENTITY


@register("MatMul", versions=(1, 9, 13))
class MatMul(Op):
    """Numpy ``matmul`` semantics: batched, batch axes broadcast, 1-d operands promoted and removed again."""

    @classmethod
    def parse_attrs(cls, node):
        return MatMulAttrs()

    @classmethod
    def with_epilogue(cls, attrs, ep: Epilogue):
        return replace(attrs, epilogue=ep)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        a = require_input(node, inputs, 0, "A")
        b = require_input(node, inputs, 1, "B")
        dt = check_types(node, inputs, (0, 1), _allowed(node.version, 9, 13))
        out = matmul_shape(node, a.shape, b.shape)
        check_size(node, out)
        return [TensorInfo(dt, out)]

    @classmethod
    def run(cls, node, attrs, arrays):
        a, b = arrays
        dt = a.dtype
        cdt = compute_dtype(dt)
        if cdt != dt:
            a, b = a.astype(cdt), b.astype(cdt)
        with np.errstate(all="ignore"):  # NaN / Inf / overflow are results, not warnings
            y = np.asarray(np.matmul(a, b))
        if not attrs.epilogue.is_identity:
            y = _apply_epilogue(np.ascontiguousarray(y), attrs.epilogue)
        return [y.astype(dt, copy=False)]
