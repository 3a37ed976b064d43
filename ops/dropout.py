"""dropout operators (not implemented yet)."""
