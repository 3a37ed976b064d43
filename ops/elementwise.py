"""elementwise operators (not implemented yet)."""
