"""The vector ISA the kernels are compiled for, which decides register tiles and blocking (as onnxruntime's MLAS
dispatches per ISA).

Numba compiles for its target CPU: the host, or ``NUMBA_CPU_NAME`` / ``NUMBA_CPU_FEATURES`` when set (so an
AVX-512 machine can build and time the AVX2 code with ``NUMBA_CPU_NAME=haswell``). Register tiles follow it:
AVX-512 has 32 vector registers of 16 floats, AVX2 16 of 8 floats, and a tile that does not fit spills.
"""

from __future__ import annotations

import functools

#: CPU names whose default features include AVX-512F (used when NUMBA_CPU_NAME is set without features)
_AVX512_NAMES = ("avx512", "cascadelake", "cooperlake", "icelake", "tigerlake", "sapphirerapids", "graniterapids",
                 "emeraldrapids", "rocketlake", "znver4", "znver5", "x86-64-v4", "knl", "knm", "cannonlake")


@functools.lru_cache(maxsize=1)
def target() -> tuple:
    """``(cpu name, has AVX-512F, has AVX2 and FMA)`` for the CPU Numba compiles for."""
    import llvmlite.binding as llvm
    from numba.core import config

    if config.CPU_NAME and config.CPU_NAME != "host":
        name, feats = config.CPU_NAME, config.CPU_FEATURES or ""
        if not feats:  # the named CPU's defaults
            avx512 = any(k in name for k in _AVX512_NAMES)
            return name, avx512, avx512 or name not in ("generic", "x86-64", "core2", "nehalem", "westmere",
                                                        "sandybridge", "ivybridge", "btver2", "bdver1")
    else:
        name, feats = llvm.get_host_cpu_name(), config.CPU_FEATURES or llvm.get_host_cpu_features().flatten()
    return name, "+avx512f" in feats, "+avx2" in feats and "+fma" in feats


def has_avx512() -> bool:
    return target()[1]


def describe() -> str:
    """e.g. ``AVX2+FMA (numba target znver3)``, for benchmark tables and ``onnumba info``."""
    name, avx512, avx2 = target()
    return f"{'AVX-512' if avx512 else 'AVX2+FMA' if avx2 else 'SSE'} (numba target {name})"


#: ``ONNUMBA_GEMM_TILE=8x32`` or ``6x16`` forces the packed GEMM's register tile whatever the ISA, so tests can run
#: both tiles' code on one machine (the 8x32 tile runs, slowly, on AVX2); the kernel cache keys on it
TILE_OVERRIDE = __import__("os").environ.get("ONNUMBA_GEMM_TILE", "").strip().lower()


def gemm_tile() -> tuple:
    """``(MR, NR)`` of the packed GEMM: 8 x 32 on AVX-512 (16 of 32 zmm registers accumulate), 6 x 16 on AVX2
    (12 of 16 ymm registers; 8 x 32 would need 32 and spill)."""
    if TILE_OVERRIDE in ("8x32", "6x16"):
        return (8, 32) if TILE_OVERRIDE == "8x32" else (6, 16)
    return (8, 32) if has_avx512() else (6, 16)
