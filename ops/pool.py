"""pool operators (not implemented yet)."""
