"""Einsum (ops/einsum.py): exporters' contractions vs numpy and onnxruntime, pinned equation errors, and a
hypothesis property over random two-operand equations."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onnumba.errors import ModelError
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, session

RNG = np.random.default_rng(2)
F32 = np.float32


def _x(shape, dtype=F32):
    return (np.arange(int(np.prod(shape))).reshape(shape) + 1).astype(dtype)


# ============================================================================================ Einsum

@pytest.mark.parametrize("eq,shapes", [
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]), ("bhqd,bhkd->bhqk", [(1, 2, 3, 4), (1, 2, 5, 4)]),
    ("bhqk,bhkd->bhqd", [(1, 2, 3, 5), (1, 2, 5, 4)]), ("ij->ji", [(3, 4)]), ("ij->", [(3, 4)]),
    ("i,i", [(5,), (5,)]), ("ij,jk", [(2, 3), (3, 4)]), ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 2)]),
    ("ii->i", [(3, 3)]), ("bii->bi", [(2, 3, 3)]), ("i,j->ij", [(3,), (4,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 2)]),
    ("nchw,oc->nohw", [(1, 3, 2, 2), (4, 3)]), ("", [()]), ("ab...->...ba", [(2, 3, 4)]),
])
def test_einsum_vs_numpy_and_ort(eq, shapes):
    arrays = {f"x{k}": RNG.standard_normal(s).astype(F32) for k, s in enumerate(shapes)}
    m = make_node_model("Einsum", arrays, ["y"], {"equation": eq}, opset=12)
    (y,) = run_onnumba(m, arrays)
    np.testing.assert_allclose(y, np.einsum(eq, *arrays.values()), rtol=1e-5, atol=1e-5)
    if "ii" not in eq and eq:
        assert_matches_ort(m, arrays)


def test_einsum_ellipsis_of_different_ranks_broadcasts_like_numpy():
    # onnx's shape inference (so onnxruntime) wants equal ellipsis ranks; numpy's rule is the general one
    a, b = RNG.standard_normal((2, 1, 3, 4)).astype(F32), RNG.standard_normal((3, 4, 2)).astype(F32)
    m = make_node_model("Einsum", {"a": a, "b": b}, ["y"], {"equation": "...ij,...jk->...ik"}, opset=12,
                        output_types={"y": 1})
    np.testing.assert_allclose(run_onnumba(m, {"a": a, "b": b})[0], np.einsum("...ij,...jk->...ik", a, b),
                               rtol=1e-5)


def test_einsum_integers_and_float16():
    a, b = _x((2, 3), np.int32), _x((3, 2), np.int32)
    (y,) = run_onnumba(make_node_model("Einsum", {"a": a, "b": b}, ["y"], {"equation": "ij,jk->ik"}, opset=12),
                       {"a": a, "b": b})
    assert y.dtype == np.int32 and y.tolist() == (a @ b).tolist()
    h = RNG.standard_normal((2, 3)).astype(np.float16)
    (z,) = run_onnumba(make_node_model("Einsum", {"h": h}, ["z"], {"equation": "ij->j"}, opset=12), {"h": h})
    assert z.dtype == np.float16
    np.testing.assert_allclose(z, h.astype(F32).sum(0).astype(np.float16))


@pytest.mark.parametrize("eq,shapes,match", [
    ("ij,jk->ik", [(2, 3)], r"has 2 operand terms but the node has 1 inputs"),
    ("ij->k", [(2, 3)], r"output letter 'k' does not appear in any operand"),
    ("i1->i", [(2, 3)], r"operand term 0 'i1' has the character '1'"),
    ("ij,jk->ik", [(2, 3), (4, 5)], r"input 1 'x1': letter 'j' of 'ij,jk->ik' has size 4 here but 3 elsewhere"),
    ("ijk->i", [(2, 3)], r"term 'ijk' needs rank 3, got shape \(2, 3\)"),
    ("ij->ii", [(2, 3)], r"output letter 'i' appears more than once"),
    ("ij->...", [(2, 3)], r"the output '...' has '...' but no operand does"),
    ("...ij->ij", [(4, 2, 3)], r"'...' stands for the dims \(4\) but the output of '...ij->ij' has no '...'"),
])
def test_einsum_errors(eq, shapes, match):
    arrays = {f"x{k}": np.zeros(s, F32) for k, s in enumerate(shapes)}
    m = make_node_model("Einsum", arrays, ["y"], {"equation": eq}, opset=12, output_types={"y": 1})
    with pytest.raises(ModelError, match=match):
        session(m)


@st.composite
def einsum_cases(draw):
    """Two operands over letters a-e with random sizes; output: a random subset of the letters, shuffled."""
    sizes = {c: draw(st.integers(1, 3)) for c in "abcde"}
    terms = [draw(st.lists(st.sampled_from("abcde"), min_size=0, max_size=3, unique=True)) for _ in range(2)]
    used = sorted(set(terms[0]) | set(terms[1]))
    out = draw(st.permutations(used).map(lambda p: p[:draw(st.integers(0, len(p)))])) if used else []
    eq = ",".join("".join(t) for t in terms) + "->" + "".join(out)
    return eq, [tuple(sizes[c] for c in t) for t in terms], draw(st.integers(0, 2 ** 16))


def _check_einsum(case):
    eq, shapes, seed = case
    rng = np.random.default_rng(seed)
    arrays = {f"x{k}": rng.standard_normal(s).astype(F32) for k, s in enumerate(shapes)}
    m = make_node_model("Einsum", arrays, ["y"], {"equation": eq}, opset=12, output_types={"y": 1})
    (y,) = run_onnumba(m, arrays)
    np.testing.assert_allclose(y, np.einsum(eq, *[a.astype(np.float64) for a in arrays.values()]), rtol=1e-4,
                               atol=1e-5)


@given(einsum_cases())
def test_hypothesis_einsum(case):
    _check_einsum(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(einsum_cases())
def test_hypothesis_einsum_slow(case):
    _check_einsum(case)
