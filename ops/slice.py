"""slice operators (not implemented yet)."""
