"""shape operators (not implemented yet)."""
