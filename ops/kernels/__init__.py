"""The kernel floor of ``onnumba.ops``: numerics only.

SIMD helpers (``simd``), the packed float32 GEMM (``packed_gemm``), single-threaded BLAS access from inside
kernels (``blas``), the ONE fused epilogue (``epilogue``: bias then activation, one numbering), the float32
math functions (``mathf32``), the pointwise activation loop (``pointwise``) and the per-channel affine kernel of
BatchNormalization / ChannelAffine (``affine``). Modules here import numpy, numba, llvmlite, scipy and each
other -- never the registry, graph, session or an op family (tests/converters/test_package_rules.py enforces
it). Op families above parse, validate, bind and dispatch into these kernels.
"""
