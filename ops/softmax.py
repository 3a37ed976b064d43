"""Softmax and LogSoftmax (every opset): the normalised exponential along one axis.

The input is viewed as (outer, n, inner) with n the reduced axis (opset < 13: the input coerced to 2-d, n the
product of the trailing axes). Rows (inner == 1) are reduced with vectorised max / sum loops; otherwise blocks of
up to 256 inner positions are processed together so each pass reads contiguous memory. float16 and bfloat16 are
computed in float32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from onnumba.ops._common import FLOATS, check_dtype, compute_dtype, normalize_axis, require_input
from onnumba.ops._numba import KERNEL, SERIAL, njit, num_threads, prange
from onnumba.ops.kernels.mathf32 import add_reduce, exp, fdiv, max_reduce
from onnumba.registry import Op, TensorInfo, register

try:
    import ml_dtypes

    _BF16 = (np.dtype(ml_dtypes.bfloat16),)
except ImportError:  # pragma: no cover - ml_dtypes ships with onnx
    _BF16 = ()

#: below this many elements softmax runs serially (a parallel region's wake-up costs more than it saves;
#: benchmarks/PERFORMANCE.md, Activations)
_SOFTMAX_PAR_MIN = 1 << 19



@njit(**SERIAL)
def _softmax_rows(x, out, r0, r1, n, log):
    """Rows r0..r1 of x viewed as (rows, n), softmax along each row."""
    for o in range(r0, r1):
        xr = x[o * n:(o + 1) * n]
        orow = out[o * n:(o + 1) * n]
        m = x.dtype.type(-np.inf)
        for k in range(n):
            m = max_reduce(xr[k], m)
        s = x.dtype.type(0.0)
        for k in range(n):
            e = exp(xr[k] - m)  # NaN in the row: NaN here and in the sum, so the whole row is NaN
            orow[k] = e
            s = add_reduce(s, e)  # vectorised: 64 partial sums, about as accurate as a pairwise sum
        if log:
            # log(sum) sets the absolute error of every output, the near-zero ones included: sum in float64
            s64 = 0.0
            for k in range(n):
                s64 = add_reduce(s64, np.float64(orow[k]))
            ls = x.dtype.type(math.log(s64))
            for k in range(n):
                orow[k] = (xr[k] - m) - ls
        else:
            r = fdiv(x.dtype.type(1.0), s)
            for k in range(n):
                orow[k] = orow[k] * r


@njit(**SERIAL)
def _softmax_cols(x, out, o, i0, w, n, inner, log, m, s):
    """Softmax along the middle axis of x viewed as (outer, n, inner) for outer index o and inner i0..i0+w; m is
    scratch of x's type, s of float64 (the sums), both of length >= w."""
    base = o * n * inner + i0
    ms = m[:w]
    ss = s[:w]
    first = x[base:base + w]
    for j in range(w):
        ms[j] = first[j]
        ss[j] = 0.0
    for k in range(1, n):
        xb = x[base + k * inner:base + k * inner + w]
        for j in range(w):
            v = xb[j]
            mj = ms[j]
            ms[j] = v if v > mj else mj
    for k in range(n):
        xb = x[base + k * inner:base + k * inner + w]
        ob = out[base + k * inner:base + k * inner + w]
        for j in range(w):
            e = exp(xb[j] - ms[j])
            ob[j] = e
            ss[j] += e
    if log:
        for j in range(w):
            ss[j] = math.log(ss[j])
        for k in range(n):
            xb = x[base + k * inner:base + k * inner + w]
            ob = out[base + k * inner:base + k * inner + w]
            for j in range(w):
                ob[j] = (xb[j] - ms[j]) - x.dtype.type(ss[j])
    else:
        for j in range(w):
            ss[j] = fdiv(1.0, ss[j])
        for k in range(n):
            ob = out[base + k * inner:base + k * inner + w]
            for j in range(w):
                ob[j] = ob[j] * x.dtype.type(ss[j])


_SOFTMAX_BLK = 256


@njit(**SERIAL)
def _softmax_task(x, out, t, ntasks, outer, n, inner, log, b1, b2):
    if inner == 1:
        r0 = t * outer // ntasks
        _softmax_rows(x, out, r0, (t + 1) * outer // ntasks, n, log)
    else:
        nblk = (inner + _SOFTMAX_BLK - 1) // _SOFTMAX_BLK
        for u in range(t * outer * nblk // ntasks, (t + 1) * outer * nblk // ntasks):
            i0 = (u % nblk) * _SOFTMAX_BLK
            _softmax_cols(x, out, u // nblk, i0, min(_SOFTMAX_BLK, inner - i0), n, inner, log, b1, b2)


@njit(**SERIAL)
def _softmax_serial(x, out, outer, n, inner, log):
    """The column case (inner > 1) on the calling thread (rows call :func:`_softmax_rows` directly, so a model
    that only has rows never compiles the column code)."""
    b1 = np.empty(_SOFTMAX_BLK, x.dtype)
    b2 = np.empty(_SOFTMAX_BLK, np.float64)
    _softmax_task(x, out, 0, 1, outer, n, inner, log, b1, b2)


@njit(**KERNEL)
def _softmax_kernel(x, out, outer, n, inner, log, ntasks):
    """Softmax (or log-softmax) over the middle axis of x viewed as (outer, n, inner); 1-d contiguous views,
    split into ntasks parallel tasks."""
    for t in prange(ntasks):
        b1 = np.empty(_SOFTMAX_BLK, x.dtype)
        b2 = np.empty(_SOFTMAX_BLK, np.float64)
        _softmax_task(x, out, t, ntasks, outer, n, inner, log, b1, b2)


def _run_softmax(x: np.ndarray, out: np.ndarray, outer: int, n: int, inner: int, log: bool) -> None:
    units = outer if inner == 1 else outer * ((inner + _SOFTMAX_BLK - 1) // _SOFTMAX_BLK)
    threads = num_threads() if x.size >= _SOFTMAX_PAR_MIN and units > 1 else 1
    if threads > 1:
        _softmax_kernel(x, out, outer, n, inner, log, min(units, 4 * threads))
    elif inner == 1:
        _softmax_rows(x, out, 0, outer, n, log)
    else:
        _softmax_serial(x, out, outer, n, inner, log)


@dataclass(frozen=True)
class SoftmaxAttrs:
    axis: int
    log: bool


class _SoftmaxBase(Op):
    log = False

    @classmethod
    def parse_attrs(cls, node):
        return SoftmaxAttrs(node.attr("axis", 1 if node.version < 13 else -1, "int"), cls.log)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        check_dtype(node, x, 0, FLOATS + (_BF16 if node.version >= 13 else ()))
        normalize_axis(node, attrs.axis, x.rank, attribute="axis")
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        shape = x.shape
        axis = attrs.axis + x.ndim if attrs.axis < 0 else attrs.axis
        if x.ndim == 0:
            outer, n, inner = 1, 1, 1
        elif node.version < 13:
            # opset < 13: X is coerced to 2-d (prod(shape[:axis]), prod(shape[axis:])) and normalised per row
            outer, n, inner = math.prod(shape[:axis]), math.prod(shape[axis:]), 1
        else:
            outer, n, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
        dt = x.dtype
        cdt = compute_dtype(dt)
        xc = np.ascontiguousarray(x, dtype=cdt)
        out = np.empty(shape, cdt)
        if out.size:
            _run_softmax(xc.reshape(-1), out.reshape(-1), outer, n, inner, attrs.log)
        return [out if cdt == dt else out.astype(dt)]


@register("Softmax", versions=(1, 11, 13))
class Softmax(_SoftmaxBase):
    log = False


@register("LogSoftmax", versions=(1, 11, 13))
class LogSoftmax(_SoftmaxBase):
    log = True

