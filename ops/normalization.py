"""normalization operators (not implemented yet)."""
