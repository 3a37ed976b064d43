"""Both register tiles of the packed GEMM (8x32 for AVX-512, 6x16 for AVX2) and the AVX2 code generation, each in
a fresh process: ONNUMBA_GEMM_TILE forces a tile on any machine, NUMBA_CPU_NAME=haswell compiles for AVX2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SCRIPT = r"""
import numpy as np
from onnumba.ops.kernels import packed_gemm as G
from onnumba.ops.kernels.epilogue import RELU
rng = np.random.default_rng(0)
for M, K, N in [(1, 1, 1), (7, 5, 33), (13, 300, 17), (8, 257, 64), (31, 40, 100)]:
    a = rng.standard_normal((M, K)).astype(np.float32)
    b = rng.standard_normal((K, N)).astype(np.float32)
    bias = rng.standard_normal(M).astype(np.float32)
    c = np.full((M, N), np.nan, np.float32)
    G.gemm(G.pack_a(a)[0], M, K, b.reshape(-1), 0, N, N, c.reshape(-1), 0, N, bias, 0, True, RELU,
           np.float32(0), np.float32(0))
    ref = np.maximum(a.astype(np.float64) @ b + bias[:, None], 0)
    assert np.allclose(c, ref, rtol=1e-4, atol=1e-4), (M, K, N, np.abs(c - ref).max())
    bp = np.empty(K * ((N + G.NR - 1) // G.NR * G.NR), np.float32)
    G.pack_b(b.reshape(-1), 0, N, K, N, bp)
    c2 = np.full((M, N), np.nan, np.float32)
    G.gemm_prepacked(G.pack_a(a)[0], M, K, bp, N, c2.reshape(-1), 0, N, 0, (M + G.MR - 1) // G.MR, bias, 0, True,
                     RELU, np.float32(0), np.float32(0))
    assert np.array_equal(c, c2)
print(G.MR, G.NR)
"""


@pytest.mark.parametrize("env, tile", [({"ONNUMBA_GEMM_TILE": "8x32"}, "8 32"), ({"ONNUMBA_GEMM_TILE": "6x16"}, "6 16"),
                                       ({"NUMBA_CPU_NAME": "haswell"}, "6 16")])
def test_gemm_tile(env, tile):
    full = dict(os.environ, **env)
    r = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=full, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == tile.split()
