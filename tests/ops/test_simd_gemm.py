"""ops/kernels/simd.py intrinsics and the packed float32 GEMM of ops/kernels/packed_gemm.py: results vs numpy, edge tiles, K blocks,
fused epilogue, and the fixed summation order (equal rows of A give bitwise-equal rows of C)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onnumba.ops.kernels import packed_gemm as _gemm
from onnumba.ops._numba import SERIAL, njit
from onnumba.ops.kernels.simd import vfma, vload, vload_lanes, vsplat, vstore, vstore_lanes

RNG = np.random.default_rng(7)
F32 = np.float32


def _gemm_np(a, b, bias=None, act=0, a0=0.0, a1=0.0, c_pad=0, b_pad=0):
    """Run _gemm.gemm on (M, K) a and (K, N) b inside larger row strides; returns C (M, N)."""
    M, K = a.shape
    N = b.shape[1]
    bb = np.full((K, N + b_pad), np.nan, F32)
    bb[:, :N] = b
    c = np.full((M, N + c_pad), -7.0, F32)
    has_bias = bias is not None
    bias = np.zeros(M, F32) if bias is None else bias
    _gemm.gemm(_gemm.pack_a(a)[0], M, K, bb.reshape(-1), 0, N + b_pad, N, c.reshape(-1), 0, N + c_pad, bias, 0,
               has_bias, act, F32(a0), F32(a1))
    assert np.all(c[:, N:] == -7.0), "wrote past the N columns"
    return c[:, :N]


@njit(**SERIAL)
def _simd_roundtrip(x, y, n):
    v = vfma(vsplat(F32(1.0)), vload(x, 0), F32(2.0))
    vstore(y, 0, v)
    vstore_lanes(y, 16, vload_lanes(x, 16, n), 0, 16)


def test_simd_intrinsics():
    x = np.arange(32, dtype=F32)
    y = np.full(32, -1.0, F32)
    _simd_roundtrip(x, y, 5)
    np.testing.assert_array_equal(y[:16], 1.0 + 2.0 * x[:16])
    # masked load: lanes past n are zero
    np.testing.assert_array_equal(y[16:], np.where(np.arange(16) < 5, x[16:], 0.0))


@pytest.mark.parametrize("M, K, N", [(1, 1, 1), (8, 3, 32), (9, 5, 33), (7, 17, 31), (16, 256, 64),
                                     (13, 257, 50), (3, 600, 400), (24, 513, 385), (5, 0, 7)])
def test_gemm_matches_numpy(M, K, N):
    a = RNG.standard_normal((M, K)).astype(F32)
    b = RNG.standard_normal((K, N)).astype(F32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    got = _gemm_np(a, b, c_pad=3, b_pad=5)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-5 * max(1.0, np.sqrt(K)))


@pytest.mark.parametrize("act, a0, a1", [(0, 0, 0), (1, 0, 0), (2, 0.1, 0), (3, -0.5, 0.25)])
def test_gemm_epilogue(act, a0, a1):
    M, K, N = 11, 40, 45
    a = RNG.standard_normal((M, K)).astype(F32)
    b = RNG.standard_normal((K, N)).astype(F32)
    bias = RNG.standard_normal(M).astype(F32)
    y = (a.astype(np.float64) @ b + bias[:, None]).astype(F32)
    ref = {0: y, 1: np.maximum(y, 0), 2: np.where(y >= 0, y, y * F32(a0)), 3: np.clip(y, F32(a0), F32(a1))}[act]
    np.testing.assert_allclose(_gemm_np(a, b, bias, act, a0, a1), ref, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("M, K, N", [(67, 300, 77), (24, 2304, 49), (130, 64, 3136)])
def test_identical_rows_give_identical_outputs(M, K, N):
    # every row of A the same (squeezenet's constant-filled weights): every row of C must be bitwise equal,
    # wherever the row falls in the 8-row tiles and the K blocks, and every column wherever it falls in the
    # 32-column tiles when all of B's columns are equal too
    row = RNG.standard_normal(K).astype(F32) * 1e3
    a = np.tile(row, (M, 1))
    b = RNG.standard_normal((K, N)).astype(F32) * 1e3
    c = _gemm_np(a, b, bias=np.full(M, 0.5, F32))
    assert np.array_equal(c, np.broadcast_to(c[0], c.shape))
    bcol = np.tile(RNG.standard_normal((K, 1)).astype(F32), (1, N))
    c2 = _gemm_np(a, bcol)
    assert np.all(c2 == c2[0, 0])


def test_fixed_summation_order():
    # C[i, j] is exactly the chain acc = fma(a[i, k], b[k, j], acc) over k in order, from 0
    M, K, N = 9, 300, 35
    a = RNG.standard_normal((M, K)).astype(F32)
    b = RNG.standard_normal((K, N)).astype(F32)
    acc = np.zeros((M, N), np.float64)
    for k in range(K):
        # float32 fma: the exact product plus the float32 accumulator, rounded once (exact in float64 first)
        acc = (acc + a[:, k:k + 1].astype(np.float64) * b[k].astype(np.float64)).astype(F32).astype(np.float64)
    np.testing.assert_array_equal(_gemm_np(a, b), acc.astype(F32))


@settings(max_examples=25, deadline=None)
@given(M=st.integers(1, 40), K=st.integers(1, 300), N=st.integers(1, 100), groups=st.integers(1, 3))
def test_gemm_hypothesis_grouped(M, K, N, groups):
    a = RNG.standard_normal((M * groups, K)).astype(F32)
    b = RNG.standard_normal((K, N)).astype(F32)
    ap = _gemm.pack_a(a, groups)
    for g in range(groups):
        c = np.empty((M, N), F32)
        _gemm.gemm(ap[g], M, K, b.reshape(-1), 0, N, N, c.reshape(-1), 0, N, np.zeros(M, F32), 0, False, 0,
                   F32(0), F32(0))
        np.testing.assert_allclose(c, a[g * M:(g + 1) * M].astype(np.float64) @ b, rtol=1e-5, atol=1e-4)
