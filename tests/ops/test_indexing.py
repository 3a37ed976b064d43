"""Indexing family (ops/indexing.py, ops/scatter.py, ops/einsum.py): shape tables, pinned errors, naive
references, onnxruntime on one-node models, fed data-dependent sizes, and hypothesis properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onnumba.errors import InputError, ModelError
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, session
from tests.ops.test_slice import node_case_with_const_inputs
from tests.reference.indexing import (
    compress_ref,
    depth_to_space_ref,
    gather_elements_ref,
    gather_nd_ref,
    nonzero_ref,
    one_hot_ref,
    range_ref,
    scatter_elements_ref,
    scatter_nd_ref,
    space_to_depth_ref,
    split_sizes_ref,
    trilu_ref,
)

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("name,consts", [
    ("test_range_float_type_positive_delta", {"start", "limit", "delta"}),
    ("test_range_int32_type_negative_delta", {"start", "limit", "delta"}),
    ("test_split_variable_parts_2d_opset13", {"split"}), ("test_split_zero_size_splits_opset18", {"split"}),
    ("test_tile", {"y"}), ("test_tril_neg", {"k"}), ("test_onehot_with_axis", {"depth"}),
    ("test_compress_0", {"condition"}), ("test_compress_default_axis", {"condition"}),
    ("test_nonzero_example", {"condition"}), ("test_gather_elements_negative_indices", {"indices"}),
    ("test_scatternd_add", {"indices"}), ("test_gathernd_example_int32_batch_dim1", {"indices"})])
def test_onnx_node_case_with_constant_inputs(name, consts):
    """onnx's cases feed these inputs; here the same data runs with them as initializers (plan constants)."""
    node_case_with_const_inputs(name, consts)
F32 = np.float32


def _x(shape, dtype=F32):
    return (np.arange(int(np.prod(shape))).reshape(shape) + 1).astype(dtype)


# ================================================================================================ Split

def split_model(x, n_out, axis=0, split=None, opset=18, num_outputs=None, split_as="auto"):
    outs = [f"y{k}" for k in range(n_out)]
    attrs = {"axis": axis}
    if num_outputs is not None:
        attrs["num_outputs"] = num_outputs
    if split is not None and (split_as == "attr" or (split_as == "auto" and opset < 13)):
        attrs["split"] = list(split)
        return make_node_model("Split", {"x": x}, outs, attrs, opset=opset)
    if split is not None:
        s = np.array(split, np.int64)
        return make_node_model("Split", {"x": x, "s": s}, outs, attrs, opset=opset, initializers={"s": s})
    return make_node_model("Split", {"x": x}, outs, attrs, opset=opset)


# (shape, n_out, axis, split, opset, num_outputs)
SPLIT_TABLE = [
    ((6,), 3, 0, None, 13, None),
    ((7,), 4, 0, None, 18, 4),  # uneven: 2, 2, 2, 1
    ((2, 9), 4, 1, None, 18, 4),  # 3, 3, 3, 0
    ((2, 6), 2, -1, [2, 4], 13, None),
    ((2, 6), 3, 1, [0, 6, 0], 18, None),  # zero-size parts
    ((4, 3), 2, 0, [1, 3], 2, None),  # attribute form
    ((4, 3), 2, -2, [3, 1], 11, None),
]


@pytest.mark.parametrize("shape,n_out,axis,split,opset,num", SPLIT_TABLE)
def test_split_table(shape, n_out, axis, split, opset, num):
    x = _x(shape)
    outs = run_onnumba(split_model(x, n_out, axis, split, opset, num), {"x": x})
    sizes = split_sizes_ref(x.shape[axis], n_out, split)
    np.testing.assert_array_equal(np.concatenate(outs, axis=axis), x)
    assert [o.shape[axis] for o in outs] == sizes


def test_split_opset1_sizes_as_input():
    x = _x((5, 2))
    outs = run_onnumba(split_model(x, 2, 0, [2, 3], opset=1, split_as="input"), {"x": x})
    assert [o.shape for o in outs] == [(2, 2), (3, 2)]


@pytest.mark.parametrize("shape,n_out,axis,split,opset,num", [t for t in SPLIT_TABLE if 0 not in (t[3] or [1])])
def test_split_vs_ort(shape, n_out, axis, split, opset, num):
    x = RNG.standard_normal(shape).astype(F32)
    assert_matches_ort(split_model(x, n_out, axis, split, opset, num), {"x": x})


@pytest.mark.parametrize("kw,match", [
    (dict(n_out=4, num_outputs=4, shape=(5,)), r"cannot be cut into 4 parts of 2 .*last would be -1"),
    (dict(n_out=2, split=[1, 2], shape=(5,)), r"input 1 's': split \[1, 2\] must be non-negative sizes summing "
                                              r"to the size 5 of axis 0"),
    (dict(n_out=3, split=[1, 4], shape=(5,)), r"split \[1, 4\] has 2 sizes but the node has 3 outputs"),
    (dict(n_out=2, shape=(5,), opset=13), r"axis 0 of size 5 does not split evenly into the node's 2 outputs"),
    (dict(n_out=2, num_outputs=3, shape=(6,)), r"attribute 'num_outputs': num_outputs=3 must be >= 1 and equal"),
])
def test_split_errors(kw, match):
    shape = kw.pop("shape")
    x = _x(shape)
    with pytest.raises(ModelError, match=match):
        session(split_model(x, kw.pop("n_out"), **kw))


# ================================================================================================ Range

def range_model(start, limit, delta, fed=False, opset=27):
    vals = {"s": np.array(start), "l": np.array(limit), "d": np.array(delta)}
    return make_node_model("Range", vals, ["y"], opset=opset, initializers=None if fed else vals)


@pytest.mark.parametrize("start,limit,delta,dtype", [
    (3, 9, 3, np.int64), (10, 4, -2, np.int32), (0, 0, 1, np.int64), (5, 1, 1, np.int16),
    (1.0, 2.0, 0.3, np.float32), (-1.5, 1.0, 0.25, np.float64), (0.0, 10.0, 1.5, np.float16)])
def test_range_table(start, limit, delta, dtype):
    vals = [np.array(v, dtype) for v in (start, limit, delta)]
    (y,) = run_onnumba(range_model(*vals), {})
    ref = range_ref(*(v.item() for v in vals), dtype)
    assert y.dtype == dtype
    np.testing.assert_allclose(y.astype(np.float64), ref.astype(np.float64), rtol=1e-3)


def test_range_fed_inputs_give_data_dependent_sizes():
    vals = [np.array(v, np.int64) for v in (0, 5, 1)]
    s = session(range_model(*vals, fed=True, opset=11))
    assert s.run(None, {"s": vals[0], "l": vals[1], "d": vals[2]})[0].tolist() == [0, 1, 2, 3, 4]
    assert s.run(None, {"s": vals[0], "l": np.array(9), "d": np.array(4)})[0].tolist() == [0, 4, 8]


def test_range_vs_ort():
    vals = [np.array(v, F32) for v in (0.5, 7.25, 0.75)]
    assert_matches_ort(range_model(*vals, opset=11), {})


def test_range_zero_delta_error():
    vals = [np.array(v, np.int64) for v in (0, 5, 0)]
    with pytest.raises(ModelError, match=r"\(Range\), input 2 'd': delta must not be 0"):
        session(range_model(*vals))


# ======================================================================================== Tile, Trilu

@pytest.mark.parametrize("shape,reps", [((2, 3), (2, 1)), ((3,), (4,)), ((2, 1, 2), (1, 3, 0)), ((), ())])
def test_tile_vs_ort(shape, reps):
    x = RNG.standard_normal(shape).astype(F32)
    r = np.array(reps, np.int64)
    m = make_node_model("Tile", {"x": x, "r": r}, ["y"], opset=13, initializers={"r": r})
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, np.tile(x, reps))


def test_tile_opset1_tiles_and_axis():
    x = _x((2, 3))
    vals = {"x": x, "t": np.array(3, np.int64), "a": np.array(1, np.int64)}
    m = make_node_model("Tile", vals, ["y"], opset=1, initializers={"t": vals["t"], "a": vals["a"]})
    np.testing.assert_array_equal(run_onnumba(m, {"x": x})[0], np.tile(x, (1, 3)))


def test_tile_errors():
    x = _x((2, 3))
    r = np.array([2, -1], np.int64)
    m = make_node_model("Tile", {"x": x, "r": r}, ["y"], opset=13, initializers={"r": r})
    with pytest.raises(ModelError, match=r"\(Tile\), input 1 'r': repeats \[2, -1\] must be non-negative"):
        session(m)


@pytest.mark.parametrize("shape,k,upper", [((4, 5), 0, 1), ((4, 5), 2, 0), ((2, 3, 4), -1, 1), ((3, 3), -7, 1),
                                           ((3, 6), 9, 0), ((1, 5), -1, 0), ((2, 0, 3), 1, 1)])
def test_trilu_vs_reference_and_ort(shape, k, upper):
    x = RNG.standard_normal(shape).astype(F32)
    kk = np.array(k, np.int64)
    m = make_node_model("Trilu", {"x": x, "k": kk}, ["y"], {"upper": upper}, opset=14)
    (y,) = assert_matches_ort(m, {"x": x, "k": kk})
    np.testing.assert_array_equal(y, trilu_ref(x, k, bool(upper)))


# =========================================================================================== OneHot

@pytest.mark.parametrize("shape,depth,axis,dtype", [((3,), 5, -1, np.int64), ((2, 3), 4, 0, np.int32),
                                                    ((2, 3), 4, 1, np.float32), ((2, 2), 3, -2, np.int64)])
def test_onehot_vs_reference_and_ort(shape, depth, axis, dtype):
    idx = RNG.integers(-depth - 1, depth + 2, size=shape).astype(dtype)  # includes out-of-range: all off
    d = np.array(depth, np.int64)
    vals = np.array([-1.0, 3.0], F32)
    m = make_node_model("OneHot", {"i": idx, "d": d, "v": vals}, ["y"], {"axis": axis}, opset=11,
                        initializers={"d": d})
    (y,) = run_onnumba(m, {"i": idx, "v": vals})
    np.testing.assert_array_equal(y, one_hot_ref(idx, depth, vals, axis))
    if dtype == np.int64:  # onnxruntime's OneHot kernels take int64 / float indices with int64 depth only
        assert_matches_ort(m, {"i": idx, "v": vals})


def test_onehot_opset9_negative_indices_match_nothing():
    idx, d, vals = np.array([-1, 1], np.int64), np.array(3, np.int64), np.array([0, 1], F32)
    for opset, row0 in ((9, [0, 0, 0]), (11, [0, 0, 1])):
        m = make_node_model("OneHot", {"i": idx, "d": d, "v": vals}, ["y"], opset=opset, initializers={"d": d})
        # onnxruntime wraps negatives at opset 9 too; the OneHot-9 spec matches [0, depth) only
        (y,) = assert_matches_ort(m, {"i": idx, "v": vals}) if opset == 11 else run_onnumba(m, {"i": idx, "v": vals})
        assert y[0].tolist() == row0


@pytest.mark.parametrize("op,inputs,attrs", [
    ("Compress", {"x": np.array([["a", "b"], ["c", "d"]], object), "c": np.array([0, 1], bool)}, {"axis": 0}),
    ("Tile", {"x": np.array(["a", "bc"], object), "r": np.array([2], np.int64)}, {}),
    ("GatherElements", {"x": np.array([["a", "b"], ["c", "d"]], object), "i": np.array([[1, 0]], np.int64)},
     {"axis": 0}),
])
def test_string_data_vs_ort(op, inputs, attrs):
    const = {k: v for k, v in inputs.items() if k in ("c", "r")}
    m = make_node_model(op, inputs, ["y"], attrs, opset=13, initializers=const)
    feeds = {k: v for k, v in inputs.items() if k not in const}
    (ours,) = run_onnumba(m, feeds)
    from tests.helpers import run_ort  # noqa: PLC0415

    (theirs,) = run_ort(m, feeds)
    assert ours.tolist() == theirs.tolist()


def test_onehot_depth_error():
    idx, d, vals = np.array([0, 1], np.int64), np.array(0, np.int64), np.array([0, 1], F32)
    m = make_node_model("OneHot", {"i": idx, "d": d, "v": vals}, ["y"], opset=11, initializers={"d": d})
    with pytest.raises(ModelError, match=r"\(OneHot\), input 1 'd': depth must be >= 1, got 0"):
        session(m)


# ================================================================================= NonZero, Compress

def test_nonzero_fed_input_sizes_follow_the_data():
    x = np.array([[1, 0, 2], [0, 0, 3]], F32)
    s = session(make_node_model("NonZero", {"x": x}, ["y"], opset=13))
    for v in (x, np.zeros_like(x), np.ones_like(x)):
        (y,) = s.run(None, {"x": v})
        np.testing.assert_array_equal(y, nonzero_ref(v))
    assert_matches_ort(make_node_model("NonZero", {"x": x}, ["y"], opset=13), {"x": x})


def test_nonzero_scalar_like_onnxruntime():
    x = np.array(2.0, F32)
    assert_matches_ort(make_node_model("NonZero", {"x": x}, ["y"], opset=13), {"x": x})


@pytest.mark.parametrize("shape,cond,axis", [((3, 2), [0, 1, 1], 0), ((3, 2), [0, 1], 1), ((3, 2), [1, 0, 1], None),
                                             ((2, 3, 2), [1, 0], -1), ((3, 2), [0, 0, 0], 0), ((4,), [1, 0], 0)])
def test_compress_vs_reference_and_ort(shape, cond, axis):
    x = RNG.standard_normal(shape).astype(F32)
    c = np.array(cond, bool)
    attrs = {} if axis is None else {"axis": axis}
    m = make_node_model("Compress", {"x": x, "c": c}, ["y"], attrs, opset=11, initializers={"c": c})
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, compress_ref(x, c, axis))


def test_compress_fed_condition_and_error():
    x = _x((3, 2))
    m = make_node_model("Compress", {"x": x, "c": np.array([1, 0, 1], bool)}, ["y"], {"axis": 0}, opset=11)
    m.graph.input[1].type.tensor_type.shape.dim[0].dim_param = "n"  # the condition's length is fed too
    s = session(m)
    assert s.run(None, {"x": x, "c": np.array([1, 0, 1], bool)})[0].shape == (2, 2)
    assert s.run(None, {"x": x, "c": np.array([0, 0, 1], bool)})[0].shape == (1, 2)
    with pytest.raises(ModelError, match=r"\(Compress\), input 1 'c': condition has 4 values but the axis has "
                                         r"only 3 slices"):
        s.run(None, {"x": x, "c": np.array([0, 0, 1, 1], bool)})


# ====================================================================== DepthToSpace, SpaceToDepth

@pytest.mark.parametrize("shape,b,mode", [((1, 8, 2, 3), 2, "DCR"), ((2, 8, 2, 3), 2, "CRD"),
                                          ((1, 9, 1, 2), 3, "DCR"), ((1, 3, 2, 2), 1, "CRD")])
def test_depth_to_space(shape, b, mode):
    x = RNG.standard_normal(shape).astype(F32)
    m = make_node_model("DepthToSpace", {"x": x}, ["y"], {"blocksize": b, "mode": mode}, opset=13)
    (y,) = assert_matches_ort(m, {"x": x})
    np.testing.assert_array_equal(y, depth_to_space_ref(x, b, mode))


@pytest.mark.parametrize("shape,b,mode", [((1, 2, 4, 6), 2, "DCR"), ((2, 3, 6, 3), 3, "CRD"),
                                          ((1, 1, 2, 2), 2, "DCR")])
def test_space_to_depth(shape, b, mode):
    x = RNG.standard_normal(shape).astype(F32)
    attrs = {"blocksize": b} if mode == "DCR" else {"blocksize": b, "mode": mode}
    m = make_node_model("SpaceToDepth", {"x": x}, ["y"], attrs, opset=13 if mode == "DCR" else 28)
    (y,) = run_onnumba(m, {"x": x})
    np.testing.assert_array_equal(y, space_to_depth_ref(x, b, mode))
    if mode == "DCR":
        assert_matches_ort(m, {"x": x})
    # DepthToSpace inverts it in the same mode
    m2 = make_node_model("DepthToSpace", {"y": y}, ["z"], {"blocksize": b, "mode": mode}, opset=13)
    np.testing.assert_array_equal(run_onnumba(m2, {"y": y})[0], x)


def test_depth_space_errors():
    x = _x((1, 6, 2, 2))
    with pytest.raises(ModelError, match=r"\(DepthToSpace\), input 0 'x': channels 6 of the input \(1, 6, 2, 2\) "
                                         r"are not divisible by blocksize² = 4"):
        session(make_node_model("DepthToSpace", {"x": x}, ["y"], {"blocksize": 2}, opset=13))
    with pytest.raises(ModelError, match=r"\(SpaceToDepth\), attribute 'mode': the 'mode' attribute exists from "
                                         r"opset 28"):
        session(make_node_model("SpaceToDepth", {"x": x}, ["y"], {"blocksize": 2, "mode": "CRD"}, opset=13))


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


# ======================================================================================= hypothesis

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


def test_masked_select_chain_follows_the_fed_data():
    """x -> NonZero -> Transpose -> GatherND(x): the exported form of ``x[x != 0]``; each fed value gets its
    own plan, so the data-dependent sizes flow through the following ops."""
    from onnx import TensorProto, helper  # noqa: PLC0415

    g = helper.make_graph(
        [helper.make_node("NonZero", ["x"], ["nz"]), helper.make_node("Transpose", ["nz"], ["idx"]),
         helper.make_node("GatherND", ["x", "idx"], ["y"])], "masked",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n"])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    s = session(m)
    for x in (np.array([[1, 0, 2], [0, 0, 3]], F32), np.zeros((2, 3), F32), np.arange(6, dtype=F32).reshape(2, 3)):
        (y,) = s.run(None, {"x": x})
        np.testing.assert_array_equal(y, x[x != 0])
