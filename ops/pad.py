"""pad operators (not implemented yet)."""
