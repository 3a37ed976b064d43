"""resize operators (not implemented yet)."""
