"""Einsum: the equation is parsed and validated at load, sizes are checked per shape signature, and the
contraction runs in ``np.einsum`` with the contraction order chosen once in ``bind`` (``np.einsum_path``:
batched matmul-like terms reach BLAS through ``tensordot``, pinned to one thread by the session).

Supported: explicit (``->``) and implicit output, one ``...`` per term (broadcast like numpy), repeated
letters within one operand (diagonals), sums, transposes, any number of operands. float16 / bfloat16 are
computed in float32 and rounded once; integers in their own type.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import NUMERIC, broadcast_shapes, check_dtype, check_size, compute_dtype, require_input
from onnumba.ops.indexing import BF16
from onnumba.registry import Op, TensorInfo, register

_ELL = "."  # a parsed term is a tuple of letters, with "." standing for the whole ellipsis


@dataclass(frozen=True)
class EinsumAttrs:
    equation: str  # spaces removed, explicit output added
    terms: tuple  # per operand: tuple of letters / "."
    output: tuple  # letters / "." of the output
    out_shape: tuple | None = None
    #: np.einsum's ``optimize`` argument: the contraction order chosen in bind for 3+ operands; for one or
    #: two, True (numpy's pairwise route, tensordot when possible) or False (a single operand)
    optimize: object = None


def _parse_term(node, term: str, what: str) -> tuple:
    out, k = [], 0
    while k < len(term):
        ch = term[k]
        if term.startswith("...", k):
            if _ELL in out:
                raise node.error(f"{what} {term!r} has more than one ellipsis '...'", attribute="equation")
            out.append(_ELL)
            k += 3
            continue
        if not (ch.isascii() and ch.isalpha()):
            raise node.error(f"{what} {term!r} has the character {ch!r}; only letters a-z, A-Z and one '...' "
                             f"are allowed", attribute="equation")
        out.append(ch)
        k += 1
    return tuple(out)


def parse_equation(node, equation: str, n_inputs: int) -> tuple:
    """Validate ``equation`` for ``n_inputs`` operands; return (terms, output) with the implicit output
    (``...`` then the letters used once, in ASCII order, as numpy does) made explicit."""
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise node.error(f"{equation!r} has more than one '->'", attribute="equation")
    lhs, arrow, rhs = eq.partition("->")
    parts = lhs.split(",")
    if len(parts) != n_inputs:
        raise node.error(f"{equation!r} has {len(parts)} operand terms but the node has {n_inputs} inputs",
                         attribute="equation")
    terms = tuple(_parse_term(node, t, f"operand term {k}") for k, t in enumerate(parts))
    used = [s for t in terms for s in t]
    has_ell = _ELL in used
    if arrow:
        output = _parse_term(node, rhs, "output term")
        for s in output:
            if s == _ELL and not has_ell:
                raise node.error(f"the output {rhs!r} has '...' but no operand does", attribute="equation")
            if s != _ELL and s not in used:
                raise node.error(f"output letter {s!r} does not appear in any operand of {equation!r}",
                                 attribute="equation")
            if output.count(s) > 1:
                raise node.error(f"output letter {s!r} appears more than once in {rhs!r}", attribute="equation")
    else:
        once = sorted(s for s in set(used) if s != _ELL and used.count(s) == 1)
        output = ((_ELL,) if has_ell else ()) + tuple(once)
    return terms, output


def _spell(symbols) -> str:
    return "".join("..." if s == _ELL else s for s in symbols)


@register("Einsum", versions=(12, 28))
class Einsum(Op):
    """Einstein summation over the inputs as given by ``equation`` (numpy's conventions)."""

    @classmethod
    def parse_attrs(cls, node):
        if "equation" not in node.attrs:
            raise node.error("the 'equation' attribute is required", attribute="equation")
        if node.n_inputs < 1:
            raise node.error("needs at least one input")
        terms, output = parse_equation(node, node.attr("equation", kind="str"), node.n_inputs)
        eq = ",".join(_spell(t) for t in terms) + "->" + _spell(output)
        return EinsumAttrs(eq, terms, output)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        sizes, ells = {}, []
        allowed = NUMERIC + ((BF16,) if node.version >= 28 and BF16 is not None else ())
        for i, term in enumerate(attrs.terms):
            x = require_input(node, inputs, i)
            check_dtype(node, x, i, allowed)
            if x.dtype != inputs[0].dtype:
                raise node.error(f"element type {x.dtype.name} differs from input 0's {inputs[0].dtype.name}",
                                 input=i)
            n_letters = len(term) - (1 if _ELL in term else 0)
            if x.rank < n_letters or (_ELL not in term and x.rank != n_letters):
                raise node.error(f"term {_spell(term)!r} needs rank {n_letters}{' or more' if _ELL in term else ''}"
                                 f", got shape {shape_str(x.shape)}", input=i)
            ell_rank = x.rank - n_letters
            dims = list(x.shape)
            for s in term:
                if s == _ELL:
                    ells.append(tuple(dims[:ell_rank]))
                    del dims[:ell_rank]
                    continue
                d = dims.pop(0)
                if sizes.setdefault(s, d) != d:
                    raise node.error(f"letter {s!r} of {attrs.equation!r} has size {d} here but {sizes[s]} "
                                     f"elsewhere (shape {shape_str(x.shape)})", input=i)
        ell = broadcast_shapes(node, ells) if ells else ()
        if ell and _ELL not in attrs.output:
            raise node.error(f"'...' stands for the dims {shape_str(ell)} but the output of {attrs.equation!r} has "
                             f"no '...'; name those dims or add '...' to the output", attribute="equation")
        out = []
        for s in attrs.output:
            out.extend(ell if s == _ELL else (sizes[s],))
        check_size(node, tuple(out))
        ops = [np.empty(x.shape, np.float32) for x in inputs[:node.n_inputs]]
        optimize = np.einsum_path(attrs.equation, *ops, optimize="greedy")[0] if len(ops) > 2 else len(ops) == 2
        return replace(attrs, out_shape=tuple(out), optimize=optimize)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        dt = arrays[0].dtype
        cdt = compute_dtype(dt)
        ops = [a if a.dtype == cdt else a.astype(cdt) for a in arrays]
        out = np.einsum(attrs.equation, *ops, optimize=attrs.optimize)
        return [np.asarray(out).astype(dt, copy=False)]
