"""activation operators (not implemented yet)."""
