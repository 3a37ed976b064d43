"""GatherElements, GatherND, ScatterElements, Scatter, ScatterND (ops/scatter.py): naive references, onnxruntime
on one-node models, pinned index errors, and hypothesis properties over random geometries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onnumba.errors import InputError, ModelError
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, session
from tests.reference.indexing import gather_elements_ref, gather_nd_ref, scatter_elements_ref, scatter_nd_ref

RNG = np.random.default_rng(1)
F32 = np.float32


def _x(shape, dtype=F32):
    return (np.arange(int(np.prod(shape))).reshape(shape) + 1).astype(dtype)


# ============================================================================ GatherElements, Scatter*

def elements_model(op, data, idx, upd=None, axis=0, reduction=None, opset=18, const_idx=False):
    inputs = {"x": data, "i": idx}
    if upd is not None:
        inputs["u"] = upd
    attrs = {"axis": axis}
    if reduction is not None:
        attrs["reduction"] = reduction
    return make_node_model(op, inputs, ["y"], attrs, opset=opset, initializers={"i": idx} if const_idx else None)


def _feeds(m, **arrays):
    names = {i.name for i in m.graph.input}
    return {k: v for k, v in arrays.items() if k in names}


# (data shape, indices shape, axis)
ELEMENTS_TABLE = [((3, 4), (2, 4), 0), ((3, 4), (3, 6), 1), ((3, 4), (2, 2), -1), ((2, 3, 4), (2, 1, 4), 1),
                  ((5,), (7,), 0), ((2, 3, 4), (1, 2, 3), 2), ((2, 3), (0, 3), 0)]


@pytest.mark.parametrize("dshape,ishape,axis", ELEMENTS_TABLE)
@pytest.mark.parametrize("dtype,idtype", [(F32, np.int64), (np.int64, np.int32), (np.float16, np.int64)])
def test_gather_elements_vs_reference(dshape, ishape, axis, dtype, idtype):
    x = _x(dshape, dtype)
    n = dshape[axis]
    idx = RNG.integers(-n, n, size=ishape).astype(idtype)
    m = elements_model("GatherElements", x, idx, axis=axis, opset=13)
    (y,) = run_onnumba(m, {"x": x, "i": idx})
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, gather_elements_ref(x, idx, axis % len(dshape)))


@pytest.mark.parametrize("dshape,ishape,axis", ELEMENTS_TABLE)
def test_gather_elements_vs_ort(dshape, ishape, axis):
    x = RNG.standard_normal(dshape).astype(F32)
    n = dshape[axis]
    idx = RNG.integers(-n, n, size=ishape).astype(np.int64)
    assert_matches_ort(elements_model("GatherElements", x, idx, axis=axis, opset=13), {"x": x, "i": idx})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("dshape,ishape,axis", [t for t in ELEMENTS_TABLE if t[1][t[2]] <= 7])
def test_scatter_elements_vs_reference(dshape, ishape, axis, reduction):
    x = RNG.standard_normal(dshape).astype(F32)
    n = dshape[axis]
    idx = RNG.integers(-n, n, size=ishape).astype(np.int64)  # duplicates included: applied in index order
    upd = RNG.standard_normal(ishape).astype(F32)
    (y,) = run_onnumba(elements_model("ScatterElements", x, idx, upd, axis, reduction), {"x": x, "i": idx, "u": upd})
    np.testing.assert_allclose(y, scatter_elements_ref(x, idx, upd, axis % len(dshape), reduction), rtol=1e-6)


@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_scatter_elements_reductions_vs_ort(reduction):
    x = RNG.standard_normal((4, 5)).astype(F32)
    idx = np.array([[0, 1, 3, 3, 0], [3, 1, 0, 0, 2]], np.int64)
    upd = RNG.standard_normal(idx.shape).astype(F32)
    assert_matches_ort(elements_model("ScatterElements", x, idx, upd, 0, reduction), {"x": x, "i": idx, "u": upd})


@pytest.mark.parametrize("dtype", [np.int32, np.float16, np.bool_])
def test_scatter_elements_other_types(dtype):
    x = (RNG.integers(0, 3, size=(3, 4))).astype(dtype)
    idx = np.array([[2, 0, 1, 1]], np.int64)
    upd = (RNG.integers(0, 3, size=(1, 4))).astype(dtype)
    for red in ("none", "add", "max"):
        (y,) = run_onnumba(elements_model("ScatterElements", x, idx, upd, 0, red), {"x": x, "i": idx, "u": upd})
        assert y.dtype == dtype
        np.testing.assert_array_equal(y, scatter_elements_ref(x, idx, upd, 0, red))


def test_scatter_old_name_opset9_and_10():
    x = np.zeros((3, 3), F32)
    idx = np.array([[1, 0, 2], [0, 2, 1]], np.int64)
    upd = _x((2, 3))
    for opset in (9, 10):  # onnx's checker refuses Scatter from opset 11 (deprecated)
        m = elements_model("Scatter", x, idx, upd, 0, opset=opset)
        (y,) = assert_matches_ort(m, {"x": x, "i": idx, "u": upd})
        np.testing.assert_array_equal(y, scatter_elements_ref(x, idx, upd, 0))
    neg = np.array([[-1, 0, 2]], np.int64)
    m = elements_model("Scatter", x, neg, upd[:1], 0, opset=9)
    with pytest.raises(InputError, match=r"\(Scatter\), input 1 'i': index -1 at position \(0, 0\) is out of "
                                         r"range for data axis 0 of size 3 \(expected 0 <= index < 3\)"):
        run_onnumba(m, {"x": x, "i": neg, "u": upd[:1]})


@pytest.mark.parametrize("op,make", [
    ("GatherElements", lambda x, i: elements_model("GatherElements", x, i, axis=1, opset=13)),
    ("ScatterElements", lambda x, i: elements_model("ScatterElements", x, i, np.ones(i.shape, F32), 1)),
])
def test_elements_out_of_range_index_errors(op, make):
    x = _x((2, 3))
    idx = np.array([[0, 2], [-3, 3]], np.int64)
    m = make(x, idx)
    with pytest.raises(InputError, match=rf"\({op}\), input 1 'i': index 3 at position \(1, 1\) is out of range for "
                                         r"data axis 1 of size 3 \(expected -3 <= index < 3\)"):
        run_onnumba(m, _feeds(m, x=x, i=idx, u=np.ones(idx.shape, F32)))


def test_constant_out_of_range_index_fails_at_load():
    x, idx = _x((2, 3)), np.array([[0, -4]], np.int64)
    with pytest.raises(ModelError, match=r"index -4 at position \(0, 1\) is out of range for data axis 1 of size 3"):
        session(elements_model("GatherElements", x, idx, axis=1, opset=13, const_idx=True))


def test_elements_shape_errors():
    x = _x((2, 3))
    with pytest.raises(ModelError, match=r"indices shape \(3, 1\) exceeds data shape \(2, 3\) on axis 0"):
        session(elements_model("GatherElements", x, np.zeros((3, 1), np.int64), axis=1, opset=13))
    with pytest.raises(ModelError, match=r"input 2 'u': updates must have the shape of indices \(1, 2\), got \(2, 1\)"):
        session(elements_model("ScatterElements", x, np.zeros((1, 2), np.int64), np.zeros((2, 1), F32), 1))
    with pytest.raises(ModelError, match=r"attribute 'reduction': must be one of none, add, mul at opset 16, "
                                         r"got 'max'"):
        session(elements_model("ScatterElements", x, np.zeros((1, 2), np.int64), np.zeros((1, 2), F32), 1, "max",
                               opset=16))


# ============================================================================== GatherND, ScatterND

# (data shape, indices shape, batch_dims)
ND_TABLE = [((2, 2), (2, 2), 0), ((2, 2), (2, 1), 0), ((2, 2, 2), (2, 1, 2), 0), ((2, 3, 4), (2, 1), 1),
            ((2, 3, 4), (2, 5, 2), 1), ((2, 3, 4, 2), (2, 3, 1), 2), ((3, 4), (1,), 0), ((4, 3), (0, 2), 0)]


def _nd_indices(dshape, ishape, b):
    k = ishape[-1]
    bounds = np.array(dshape[b:b + k], np.int64)
    return (RNG.integers(0, 1 << 30, size=ishape) % (2 * bounds) - bounds).astype(np.int64)


@pytest.mark.parametrize("dshape,ishape,b", ND_TABLE)
def test_gather_nd_vs_reference_and_ort(dshape, ishape, b):
    x = RNG.standard_normal(dshape).astype(F32)
    idx = _nd_indices(dshape, ishape, b)
    m = make_node_model("GatherND", {"x": x, "i": idx}, ["y"], {"batch_dims": b}, opset=13)
    (y,) = run_onnumba(m, {"x": x, "i": idx})
    np.testing.assert_array_equal(y, gather_nd_ref(x, idx, b))
    if idx.size:
        assert_matches_ort(m, {"x": x, "i": idx})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
@pytest.mark.parametrize("dshape,ishape", [((4, 4, 4), (2, 1)), ((4, 4, 4), (3, 2)), ((5,), (6, 1)),
                                           ((2, 3), (2, 2)), ((2, 3), (1, 0, 1))])
def test_scatter_nd_vs_reference(dshape, ishape, reduction):
    x = RNG.standard_normal(dshape).astype(F32)
    idx = _nd_indices(dshape, ishape, 0)
    if reduction == "none":  # duplicates are undefined without a reduction: keep the rows distinct
        idx = np.unique(idx.reshape(-1, ishape[-1]) % np.array(dshape[:ishape[-1]]), axis=0)
        idx = idx.reshape(idx.shape[0], ishape[-1]) if ishape[:-1] != (1, 0) else idx.reshape(ishape)
    upd = RNG.standard_normal(idx.shape[:-1] + dshape[idx.shape[-1]:]).astype(F32)
    m = make_node_model("ScatterND", {"x": x, "i": idx, "u": upd}, ["y"], {"reduction": reduction}, opset=18)
    (y,) = run_onnumba(m, {"x": x, "i": idx, "u": upd})
    np.testing.assert_allclose(y, scatter_nd_ref(x, idx, upd, reduction), rtol=1e-6)
    if idx.size and reduction != "none":
        assert_matches_ort(m, {"x": x, "i": idx, "u": upd})


@pytest.mark.parametrize("op,x,idx,upd", [
    ("ScatterND", np.zeros((0, 3), F32), np.array([[0]], np.int64), np.zeros((1, 3), F32)),
    ("ScatterElements", np.zeros((2, 0), F32), np.zeros((2, 1), np.int64), np.zeros((2, 1), F32)),
])
def test_indices_into_an_empty_axis_are_refused_at_load(op, x, idx, upd):
    # the output is empty, so the plan folds it without running the op: the check must happen at plan time
    attrs = {"axis": 1} if op == "ScatterElements" else {}
    m = make_node_model(op, {"x": x, "i": idx, "u": upd}, ["y"], attrs, opset=18)
    with pytest.raises(ModelError, match=r"address data axis \d, which has size 0 .* every index would be out of "
                                         r"range"):
        session(m)


def test_nd_errors():
    x = _x((2, 3))
    idx = np.array([[1, 3]], np.int64)
    m = make_node_model("GatherND", {"x": x, "i": idx}, ["y"], opset=13)
    with pytest.raises(InputError, match=r"\(GatherND\), input 1 'i': index 3 at position \(0, 1\) is out of range "
                                         r"for the data axis it indexes of size 3 \(expected -3 <= index < 3\)"):
        run_onnumba(m, {"x": x, "i": idx})
    with pytest.raises(ModelError, match=r"the last dim of indices \(1, 3\) is 3; it must be in \[1, 2\]"):
        session(make_node_model("GatherND", {"x": x, "i": np.zeros((1, 3), np.int64)}, ["y"], opset=13))
    with pytest.raises(ModelError, match=r"the first 1 \(batch\) dims of indices \(3, 1\) must equal those of data"):
        session(make_node_model("GatherND", {"x": x, "i": np.zeros((3, 1), np.int64)}, ["y"], {"batch_dims": 1},
                                opset=13))
    u = np.zeros((2,), F32)
    with pytest.raises(ModelError, match=r"input 2 'u': updates must have shape indices.shape\[:-1\] \+ "
                                         r"data.shape\[1:\] = \(1, 3\), got \(2\)"):
        session(make_node_model("ScatterND", {"x": x, "i": np.zeros((1, 1), np.int64), "u": u}, ["y"], opset=13))


@st.composite
def elements_cases(draw):
    rank = draw(st.integers(1, 3))
    dshape = tuple(draw(st.lists(st.integers(1, 4), min_size=rank, max_size=rank)))
    axis = draw(st.integers(-rank, rank - 1))
    ishape = tuple(draw(st.integers(0, d)) if k != axis % rank else draw(st.integers(0, 5))
                   for k, d in enumerate(dshape))
    seed = draw(st.integers(0, 2 ** 16))
    reduction = draw(st.sampled_from(["none", "add", "mul", "max", "min"]))
    return dshape, ishape, axis, seed, reduction


def _check_elements(case):
    dshape, ishape, axis, seed, reduction = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(dshape).astype(F32)
    n = dshape[axis]
    idx = rng.integers(-n, n, size=ishape).astype(np.int64)
    upd = rng.standard_normal(ishape).astype(F32)
    (g,) = run_onnumba(elements_model("GatherElements", x, idx, axis=axis, opset=13), {"x": x, "i": idx})
    np.testing.assert_array_equal(g, gather_elements_ref(x, idx, axis % len(dshape)))
    (s,) = run_onnumba(elements_model("ScatterElements", x, idx, upd, axis, reduction), {"x": x, "i": idx, "u": upd})
    np.testing.assert_allclose(s, scatter_elements_ref(x, idx, upd, axis % len(dshape), reduction), rtol=1e-6)


@st.composite
def nd_cases(draw):
    r = draw(st.integers(1, 4))
    dshape = tuple(draw(st.lists(st.integers(1, 3), min_size=r, max_size=r)))
    b = draw(st.integers(0, r - 1))
    k = draw(st.integers(1, r - b))
    mid = tuple(draw(st.lists(st.integers(0, 3), min_size=0, max_size=2)))
    ishape = dshape[:b] + mid + (k,)
    return dshape, ishape, b, draw(st.integers(0, 2 ** 16))


def _check_nd(case):
    dshape, ishape, b, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(dshape).astype(F32)
    bounds = np.array(dshape[b:b + ishape[-1]], np.int64)
    idx = (rng.integers(0, 1 << 30, size=ishape) % (2 * bounds) - bounds).astype(np.int64)
    m = make_node_model("GatherND", {"x": x, "i": idx}, ["y"], {"batch_dims": b}, opset=13, output_types={"y": 1})
    (g,) = run_onnumba(m, {"x": x, "i": idx})
    np.testing.assert_array_equal(g, gather_nd_ref(x, idx, b))
    if b == 0:
        upd = rng.standard_normal(g.shape).astype(F32)
        m = make_node_model("ScatterND", {"x": x, "i": idx, "u": upd}, ["y"], {"reduction": "add"}, opset=18,
                            output_types={"y": 1})
        (s,) = run_onnumba(m, {"x": x, "i": idx, "u": upd})
        np.testing.assert_allclose(s, scatter_nd_ref(x, idx, upd, "add"), rtol=1e-5, atol=1e-6)


@given(elements_cases())
def test_hypothesis_elements(case):
    _check_elements(case)


@given(nd_cases())
def test_hypothesis_nd(case):
    _check_nd(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(elements_cases())
def test_hypothesis_elements_slow(case):
    _check_elements(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(nd_cases())
def test_hypothesis_nd_slow(case):
    _check_nd(case)
