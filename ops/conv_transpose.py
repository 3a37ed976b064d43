"""conv_transpose operators (not implemented yet)."""
