"""Gemm and MatMul: shape tables, errors, naive reference, onnxruntime, hypothesis properties."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, run_onnumba
from tests.helpers import make_node_model as _make_node_model
from tests.reference import gemm as ref

RNG = np.random.default_rng(0)


def make_node_model(op_type, inputs, outputs, attrs=None, *, out_rank=None, out_dtype=None, **kw):
    """tests.helpers.make_node_model with each output declared with a type and a rank (symbolic dims).

    onnx's checker (which the session runs) refuses graph outputs without a shape. The rank defaults to the
    first input's, the type to the first input's.
    """
    m = _make_node_model(op_type, inputs, outputs, attrs, **kw)
    x = next(a for a in inputs.values() if a is not None)
    rank = x.ndim if out_rank is None else out_rank
    for o in m.graph.output:
        o.CopyFrom(onnx.helper.make_tensor_value_info(
            o.name, onnx.helper.np_dtype_to_tensor_dtype(np.dtype(out_dtype or x.dtype)),
            [f"{o.name}_d{k}" for k in range(rank)]))
    return m


def _r(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _gemm_model(a, b, c=None, attrs=None, opset=13, const_c=True):
    inputs = {"A": a, "B": b}
    inits = {}
    if c is not None:
        inputs["C"] = c
        if const_c:
            inits["C"] = c
    return make_node_model("Gemm", inputs, ["Y"], attrs or {}, opset=opset, initializers=inits, out_rank=2)


# ----------------------------------------------------------------------------------------------- Gemm tables

GEMM_CASES = [
    dict(m=3, k=4, n=5),
    dict(m=3, k=4, n=5, transA=1),
    dict(m=3, k=4, n=5, transB=1),
    dict(m=3, k=4, n=5, transA=1, transB=1, alpha=0.5, beta=2.0),
    dict(m=1, k=7, n=3, c=()),
    dict(m=3, k=4, n=5, c=(5,)),
    dict(m=3, k=4, n=5, c=(1, 5)),
    dict(m=3, k=4, n=5, c=(3, 1)),
    dict(m=3, k=4, n=5, c=(3, 5), beta=0.0),
    dict(m=3, k=4, n=5, c=(1,)),
    dict(m=3, k=4, n=5, c=(1, 1), alpha=-1.5),
    dict(m=0, k=4, n=5, c=(5,)),  # empty batch
    dict(m=2, k=0, n=3, c=(2, 3)),  # empty inner dim: Y = beta * C
]


@pytest.mark.parametrize("case", GEMM_CASES, ids=str)
def test_gemm_table(case):
    m, k, n = case["m"], case["k"], case["n"]
    ta, tb = case.get("transA", 0), case.get("transB", 0)
    a = _r(*((k, m) if ta else (m, k)))
    b = _r(*((n, k) if tb else (k, n)))
    c = _r(*case["c"]) if "c" in case else None
    attrs = {key: case[key] for key in ("transA", "transB", "alpha", "beta") if key in case}
    model = _gemm_model(a, b, c, attrs)
    (y,) = run_onnumba(model, {"A": a, "B": b})
    assert y.shape == (m, n) and y.dtype == np.float32
    want = ref.gemm(a, b, c, case.get("alpha", 1.0), case.get("beta", 1.0), ta, tb)
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    if m and k:
        assert_matches_ort(model, {"A": a, "B": b})


@pytest.mark.parametrize("opset", [7, 9, 11, 13])
def test_gemm_versions(opset):
    a, b, c = _r(2, 3), _r(3, 4), _r(4)
    model = _gemm_model(a, b, c, {"alpha": 2.0}, opset=opset)
    np.testing.assert_allclose(run_onnumba(model, {"A": a, "B": b})[0], ref.gemm(a, b, c, 2.0), rtol=1e-5, atol=1e-5)


def test_gemm_opset6_broadcast_attribute():
    a, b, c = _r(2, 3), _r(3, 4), _r(4)
    model = _gemm_model(a, b, c, {"broadcast": 1}, opset=6)
    np.testing.assert_allclose(run_onnumba(model, {"A": a, "B": b})[0], ref.gemm(a, b, c), rtol=1e-5, atol=1e-5)
    with pytest.raises(onnumba.ModelError, match=r"input 2 'C': expected shape \(M, N\) = \(2, 4\) \(broadcast=0\)"):
        onnumba.InferenceSession(_gemm_model(a, b, c, {}, opset=6).SerializeToString())


def test_gemm_c_fed_at_run_time():
    a, b, c = _r(3, 2), _r(2, 4), _r(3, 1)
    model = _gemm_model(a, b, c, {"beta": 0.25}, const_c=False)
    assert_matches_ort(model, {"A": a, "B": b, "C": c})


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_gemm_dtypes(dtype):
    a, b, c = _r(3, 4, dtype=dtype), _r(4, 2, dtype=dtype), _r(2, dtype=dtype)
    (y,) = run_onnumba(_gemm_model(a, b, c), {"A": a, "B": b})
    assert y.dtype == dtype
    tol = 1e-2 if dtype == np.float16 else 1e-12
    np.testing.assert_allclose(y.astype(np.float64), ref.gemm(a, b, c), rtol=tol, atol=tol)


def test_gemm_int64():
    a = RNG.integers(-5, 5, (3, 4)).astype(np.int64)
    b = RNG.integers(-5, 5, (4, 2)).astype(np.int64)
    c = np.array([1, -2], np.int64)
    (y,) = run_onnumba(_gemm_model(a, b, c), {"A": a, "B": b})
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, a @ b + c)


# ----------------------------------------------------------------------------------------------- Gemm errors

GEMM_ERRORS = [
    (dict(a=(3, 4), b=(5, 6)), r"input 1 'B': inner dimensions differ: A \(3, 4\) gives K=4 but B \(5, 6\) gives K=5"),
    (dict(a=(4, 3), b=(5, 6), attrs={"transA": 1}), r"A \(transA=1\) \(4, 3\) gives K=4"),
    (dict(a=(3, 4), b=(4, 5), c=(3,)), r"input 2 'C': expected shape one unidirectionally broadcastable to "
                                         r"\(M, N\) = \(3, 5\): a scalar, \(5\), \(1, 5\), \(3, 1\) or \(3, 5\), got \(3\)"),
    (dict(a=(3, 4), b=(4, 5), c=(2, 3, 5)), r"input 2 'C'.*got \(2, 3, 5\)"),
    (dict(a=(3, 4), b=(4, 5), c=(5, 3)), r"input 2 'C'.*got \(5, 3\)"),
    (dict(a=(2, 3, 4), b=(4, 5)), r"input 0 'A': A must be a matrix \(rank 2\), got shape \(2, 3, 4\)"),
    (dict(a=(3, 4), b=(4,)), r"input 1 'B': B must be a matrix"),
    (dict(a=(3, 4), b=(4, 5), attrs={"transA": 2}), r"attribute 'transA': expected 0 or 1, got 2"),
]


@pytest.mark.parametrize("spec,match", GEMM_ERRORS, ids=[m[:40] for _, m in GEMM_ERRORS])
def test_gemm_errors(spec, match):
    a, b = _r(*spec["a"]), _r(*spec["b"])
    c = _r(*spec["c"]) if "c" in spec else None
    model = _gemm_model(a, b, c, spec.get("attrs"))
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(model.SerializeToString(), sess_options=None)


def test_gemm_error_dtype_mismatch():
    a, b = _r(3, 4), _r(4, 5, dtype=np.float64)
    with pytest.raises(onnumba.ModelError, match=r"input 1 'B': element type float64 differs from input 0's float32"):
        onnumba.InferenceSession(_gemm_model(a, b).SerializeToString())


def test_gemm_error_c_required_before_11():
    a, b = _r(3, 4), _r(4, 5)
    model = make_node_model("Gemm", {"A": a, "B": b, "": None}, ["Y"], opset=9, out_rank=2)  # C named ''
    # onnx's checker refuses it first; Gemm.infer refuses it too for graphs that skip the checker
    with pytest.raises(onnumba.ModelError, match=r"input 2"):
        onnumba.InferenceSession(model.SerializeToString())


def test_gemm_error_int_before_9():
    a, b, c = (np.ones((2, 2), np.int32),) * 3
    with pytest.raises(onnumba.ModelError, match=r"element type int32 is not supported by Gemm-7"):
        onnumba.InferenceSession(_gemm_model(a, b, c, opset=7).SerializeToString())


# ----------------------------------------------------------------------------------------------- MatMul

def _mm_rank(a, b):
    return max(a.ndim, b.ndim, 2) - (a.ndim == 1) - (b.ndim == 1)


MATMUL_SHAPES = [
    ((3,), (3,), ()),
    ((3,), (3, 4), (4,)),
    ((2, 3), (3,), (2,)),
    ((2, 3), (3, 4), (2, 4)),
    ((5, 2, 3), (3, 4), (5, 2, 4)),
    ((3,), (5, 3, 4), (5, 4)),
    ((5, 2, 3), (3,), (5, 2)),
    ((2, 1, 3, 4), (5, 4, 2), (2, 5, 3, 2)),
    ((1, 3, 4), (6, 4, 2), (6, 3, 2)),
    ((1, 4), (4, 1), (1, 1)),
    ((0, 3), (3, 2), (0, 2)),
    ((2, 0), (0, 3), (2, 3)),
]


@pytest.mark.parametrize("sa,sb,out", MATMUL_SHAPES, ids=str)
def test_matmul_table(sa, sb, out):
    a, b = _r(*sa), _r(*sb)
    model = make_node_model("MatMul", {"A": a, "B": b}, ["Y"], out_rank=_mm_rank(a, b), opset=13)
    (y,) = run_onnumba(model, {"A": a, "B": b})
    assert y.shape == out and y.dtype == np.float32
    np.testing.assert_allclose(y, ref.matmul(a, b), rtol=1e-5, atol=1e-5)
    if 0 not in sa + sb:
        assert_matches_ort(model, {"A": a, "B": b})


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint64])
def test_matmul_integers(dtype):
    a = RNG.integers(0, 7, (2, 3, 4)).astype(dtype)
    b = RNG.integers(0, 7, (4, 2)).astype(dtype)
    (y,) = run_onnumba(make_node_model("MatMul", {"A": a, "B": b}, ["Y"], out_rank=_mm_rank(a, b)), {"A": a, "B": b})
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, np.matmul(a, b))


@pytest.mark.parametrize("opset", [1, 9, 13])
def test_matmul_versions_float16(opset):
    a, b = _r(2, 3, dtype=np.float16), _r(3, 2, dtype=np.float16)
    (y,) = run_onnumba(make_node_model("MatMul", {"A": a, "B": b}, ["Y"], out_rank=_mm_rank(a, b), opset=opset), {"A": a, "B": b})
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float64), ref.matmul(a, b), rtol=1e-2, atol=1e-2)


MATMUL_ERRORS = [
    ((2, 3), (4, 5), r"input 1 'B': inner dimensions differ: A \(2, 3\) has 3 on its last axis but B \(4, 5\) has 4 "
                     r"on its second-to-last axis"),
    ((2, 3), (4,), r"B \(4\) has 4 on its only axis"),
    ((), (3,), r"input 0 'A': A must have rank >= 1, got a scalar"),
    ((2, 2, 3), (3, 3, 4), r"input 1 'B': shape \(3\) cannot be broadcast"),
]


@pytest.mark.parametrize("sa,sb,match", MATMUL_ERRORS, ids=[m[:30] for *_, m in MATMUL_ERRORS])
def test_matmul_errors(sa, sb, match):
    a, b = _r(*sa), _r(*sb)
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(make_node_model("MatMul", {"A": a, "B": b}, ["Y"], out_rank=_mm_rank(a, b)).SerializeToString())


def test_matmul_error_int_before_9():
    a = np.ones((2, 2), np.int64)
    with pytest.raises(onnumba.ModelError, match=r"element type int64 is not supported by MatMul-1"):
        onnumba.InferenceSession(make_node_model("MatMul", {"A": a, "B": a}, ["Y"], opset=1).SerializeToString())


# ----------------------------------------------------------------------------------------------- properties

dims = st.integers(1, 6)


@st.composite
def gemm_cases(draw):
    m, k, n = draw(dims), draw(dims), draw(dims)
    ta, tb = draw(st.integers(0, 1)), draw(st.integers(0, 1))
    c_shape = draw(st.sampled_from([None, (), (1,), (n,), (1, n), (m, 1), (m, n), (1, 1)]))
    alpha = draw(st.sampled_from([1.0, 0.5, -2.0]))
    beta = draw(st.sampled_from([1.0, 0.0, 3.0]))
    return m, k, n, ta, tb, c_shape, alpha, beta


def _check_gemm(case):
    m, k, n, ta, tb, c_shape, alpha, beta = case
    a = _r(*((k, m) if ta else (m, k)))
    b = _r(*((n, k) if tb else (k, n)))
    c = None if c_shape is None else _r(*c_shape)
    model = _gemm_model(a, b, c, {"transA": ta, "transB": tb, "alpha": alpha, "beta": beta})
    (y,) = assert_matches_ort(model, {"A": a, "B": b})
    np.testing.assert_allclose(y, ref.gemm(a, b, c, alpha, beta, ta, tb), rtol=1e-4, atol=1e-4)


@given(gemm_cases())
def test_gemm_property(case):
    _check_gemm(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(gemm_cases())
def test_gemm_property_slow(case):
    _check_gemm(case)


@st.composite
def matmul_cases(draw):
    k = draw(dims)
    ra, rb = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(st.lists(st.integers(1, 3), min_size=2, max_size=2))
    sa = (() if ra == 1 else (draw(dims),)) + (k,)
    sb = (k,) + (() if rb == 1 else (draw(dims),))
    if ra == 1 or rb == 1:
        sa = (sa[0], k) if ra > 1 else sa
    # batch axes: each operand takes a suffix of `batch`, with some dims replaced by 1 (broadcast)
    ba = tuple(d if draw(st.booleans()) else 1 for d in batch[2 - max(ra - 2, 0):]) if ra > 2 else ()
    bb = tuple(d if draw(st.booleans()) else 1 for d in batch[2 - max(rb - 2, 0):]) if rb > 2 else ()
    sa = ba + (sa if ra > 1 else (k,))
    sb = bb + (sb if rb > 1 else (k,))
    return sa, sb


def _check_matmul(case):
    sa, sb = case
    a, b = _r(*sa), _r(*sb)
    (y,) = assert_matches_ort(make_node_model("MatMul", {"A": a, "B": b}, ["Y"], out_rank=_mm_rank(a, b)), {"A": a, "B": b})
    np.testing.assert_allclose(y, ref.matmul(a, b), rtol=1e-4, atol=1e-4)


@given(matmul_cases())
def test_matmul_property(case):
    _check_matmul(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(matmul_cases())
def test_matmul_property_slow(case):
    _check_matmul(case)


@pytest.mark.parametrize("k, n, trans_a, trans_b", [(1, 1, 0, 0), (7, 63, 0, 1), (300, 64, 1, 0), (513, 130, 0, 1)])
def test_gemm_fc_gemv_constant_b(k, n, trans_a, trans_b):
    # one row of A with a constant float32 B: the packed GEMV path (B packed at plan time), alpha/beta/C after it
    a = _r(*((k, 1) if trans_a else (1, k)))
    b = _r(*((n, k) if trans_b else (k, n)))
    c = _r(n)
    m = make_node_model("Gemm", {"A": a, "B": b, "C": c}, ["Y"], {"transA": trans_a, "transB": trans_b,
                                                                  "alpha": 0.5, "beta": 2.0},
                        opset=13, initializers={"B": b, "C": c}, out_rank=2)
    got = run_onnumba(m, {"A": a})[0]
    aa = a.T if trans_a else a
    bb = b.T if trans_b else b
    want = 0.5 * (aa.astype(np.float64) @ bb) + 2.0 * c
    assert got.shape == (1, n) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)


def test_gemm_fc_gemv_parallel_driver_equals_serial(monkeypatch):
    # small GEMVs run the serial kernel on the calling thread; the prange driver (large B at 2 threads) must give
    # the same bits: each panel is summed in the same order by the same serial kernel
    from onnumba.ops import gemm as gemm_mod

    a, b = _r(1, 70), _r(70, 130)
    m = make_node_model("Gemm", {"A": a, "B": b}, ["Y"], {}, opset=13, initializers={"B": b}, out_rank=2)
    opts = onnumba.SessionOptions()
    opts.intra_op_num_threads = 2
    serial = run_onnumba(m, {"A": a}, sess_options=opts)[0]
    monkeypatch.setattr(gemm_mod, "_GEMV_PAR_MIN_WEIGHTS", 0)
    assert np.array_equal(run_onnumba(m, {"A": a}, sess_options=opts)[0], serial)


def test_gemm_fc_gemv_identical_columns_are_equal():
    # every output feature with the same weights gives bitwise the same value wherever it falls in the panels
    a = _r(1, 700) * 100
    w = np.tile(_r(1, 700), (150, 1))  # (N, K) with transB=1, like an FC layer's weights
    m = make_node_model("Gemm", {"A": a, "B": w}, ["Y"], {"transB": 1}, opset=13, initializers={"B": w}, out_rank=2)
    y = run_onnumba(m, {"A": a})[0]
    assert np.all(y == y[0, 0])


def test_plans_share_packed_constant_weights():
    """Two plans of one session (here: different requested outputs) hold one packed copy of B, not two."""
    import onnumba
    from onnx import helper, numpy_helper, TensorProto

    b = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    g = helper.make_graph([helper.make_node("Gemm", ["a", "b"], ["y"]), helper.make_node("Relu", ["y"], ["r"])],
                          "g", [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32]),
                           helper.make_tensor_value_info("r", TensorProto.FLOAT, [1, 32])],
                          [numpy_helper.from_array(b, "b")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    sess = onnumba.InferenceSession(m)
    a = np.ones((1, 64), np.float32)
    y1 = sess.run(None, {"a": a})[0]
    y2 = sess.run(["y"], {"a": a})[0]
    np.testing.assert_array_equal(y1, y2)
    # white-box on purpose: sharing one packed B between the plans of two output sets has no public view
    packs = [st.attrs.gemv_b for p in sess._plans.values() for st in p.steps if st.node.op_type == "Gemm"]
    assert len(packs) == 2 and packs[0] is not None and packs[0] is packs[1]


@pytest.mark.parametrize("rows", [1, 3])
def test_matmul_with_constant_weights(rows):
    """A Linear layer as exported by PyTorch: MatMul of activations by a constant 2-d float32 weight."""
    a = np.random.default_rng(1).standard_normal((rows, 64)).astype(np.float32)
    b = np.random.default_rng(2).standard_normal((64, 32)).astype(np.float32)
    m = make_node_model("MatMul", {"a": a, "b": b}, ["y"], initializers={"b": b})
    (y,) = assert_matches_ort(m, {"a": a})
    np.testing.assert_allclose(y, a @ b, rtol=1e-5, atol=1e-5)
