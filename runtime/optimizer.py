"""Plan rewrites (graph optimizations), applied per plan when graph_optimization_level is not 0.

Rewrites run on a specialised plan, where constants and concrete shapes are known and the run's training
flag is fixed, so e.g. a Dropout is only dropped when it cannot train. The rewrite rules themselves live with
the ops (``ops/fusion.py``) and are registered here with :func:`register_rewrite`: nothing in ``runtime/``
knows an op's name. Each rewrite must give the same results as the unoptimised plan within float tolerance.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from onnumba.registry import PlanContext, TensorInfo

_REWRITES: list = []


def register_rewrite(fn=None, *, order: int | None = None):
    """Decorator: ``fn(state: RewriteState) -> None`` edits the plan in place.

    Rewrites run by ascending ``order`` (declared by the rule's module, e.g. BatchNormalization folding before
    activation fusion), never by import order; ties keep registration order.
    """
    if fn is None:
        return lambda f: register_rewrite(f, order=order)
    _REWRITES.append((1000 if order is None else order, len(_REWRITES), fn))
    _REWRITES.sort(key=lambda t: t[:2])
    return fn


@dataclass
class RewriteState:
    steps: list  # planner.Step, in execution order
    consts: dict
    infos: dict
    wanted: tuple  # graph outputs to keep
    ctx: PlanContext

    _counter = itertools.count()

    def consumers(self, name: str) -> list:
        """(step, input index) pairs reading ``name``."""
        return [(st, k) for st in self.steps for k, n in enumerate(st.inputs) if n == name]

    def single_consumer(self, name: str):
        """The one step reading ``name`` when exactly one does and it is not a graph output, else None."""
        if name in self.wanted:
            return None
        cons = self.consumers(name)
        if len(cons) != 1 or cons[0][0].inputs.count(name) != 1:
            return None
        return cons[0][0]

    def add_const(self, hint: str, value: np.ndarray) -> str:
        name = f"{hint}__onnumba_{next(self._counter)}"
        self.consts[name] = value
        self.infos[name] = TensorInfo(value.dtype, value.shape)
        return name

    def rebind(self, st) -> None:
        """Re-specialise a step after a rewrite changed its inputs (e.g. new constant weights): its ``bind``
        may have precomputed from the old constants (packed or transformed weights)."""
        node = st.node
        infos = [self.infos[n] if n else None for n in st.inputs]
        consts = [self.consts.get(n) if n else None for n in st.inputs]
        st.attrs = node.impl.bind(node, node.parsed, infos, consts, self.ctx)

    def rename_uses(self, old: str, new: str) -> None:
        for st in self.steps:
            if old in st.inputs:
                st.inputs = tuple(new if n == old else n for n in st.inputs)


def apply_rewrites(state: RewriteState) -> None:
    for _, _, fn in _REWRITES:
        fn(state)
