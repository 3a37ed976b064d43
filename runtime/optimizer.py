"""Graph rewrites applied at load when the session's graph_optimization_level is not 0.

Each rewrite must give the same results as the unoptimised graph within float tolerance.
"""

from __future__ import annotations


def optimize(graph):
    """Return ``graph`` with the registered rewrites applied (none yet)."""
    return graph
