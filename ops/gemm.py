"""gemm operators (not implemented yet)."""
