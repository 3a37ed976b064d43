"""MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool: shapes, errors, numpy reference, onnxruntime."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba
from tests.reference import pool as ref

RNG = np.random.default_rng(0)


def _x(shape, dtype=np.float32):
    dtype = np.dtype(dtype)
    if dtype.kind == "f":
        return RNG.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return RNG.integers(info.min, info.max, shape, endpoint=True).astype(dtype)


def _model(op, x, attrs, outputs=("y",), opset=22):
    return make_node_model(op, {"x": x}, list(outputs), attrs, opset=opset)


# ----------------------------------------------------------------------------------------------- shapes

SHAPE_CASES = [
    # (input shape, attrs, expected output shape)
    dict(x=(1, 1, 7), a=dict(kernel_shape=[3]), out=(1, 1, 5)),
    dict(x=(2, 3, 5, 5), a=dict(kernel_shape=[2, 2]), out=(2, 3, 4, 4)),
    dict(x=(1, 1, 5, 5), a=dict(kernel_shape=[3, 3], strides=[2, 2]), out=(1, 1, 2, 2)),
    dict(x=(1, 1, 5, 5), a=dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1), out=(1, 1, 3, 3)),
    # ceil mode: a last window that would start in the right padding is dropped (3, not 4)
    dict(x=(1, 1, 5, 5), a=dict(kernel_shape=[2, 2], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1),
         out=(1, 1, 3, 3)),
    dict(x=(1, 1, 32, 32), a=dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"), out=(1, 1, 16, 16)),
    dict(x=(1, 1, 7, 7), a=dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_LOWER"), out=(1, 1, 4, 4)),
    # auto_pad VALID ignores ceil_mode (spec formula)
    dict(x=(1, 1, 6), a=dict(kernel_shape=[2], strides=[2], auto_pad="VALID", ceil_mode=1), out=(1, 1, 3)),
    dict(x=(1, 1, 7), a=dict(kernel_shape=[2], strides=[2], auto_pad="VALID", ceil_mode=1), out=(1, 1, 3)),
    dict(x=(1, 1, 4, 4), a=dict(kernel_shape=[2, 2], dilations=[2, 2]), out=(1, 1, 2, 2)),
    dict(x=(1, 2, 4, 5, 6), a=dict(kernel_shape=[2, 2, 2], strides=[1, 2, 3]), out=(1, 2, 3, 2, 2)),
    dict(x=(1, 1, 3, 3), a=dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1]), out=(1, 1, 3, 3)),
]


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("case", SHAPE_CASES, ids=lambda c: f"{c['x']}-{c['a']}")
def test_output_shape_and_reference(op, case):
    x = _x(case["x"])
    (y,) = run_onnumba(_model(op, x, case["a"]), {"x": x})
    assert y.shape == case["out"]
    want = ref.max_pool(x, **case["a"])[0] if op == "MaxPool" else ref.average_pool(x, **case["a"])
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------------------------- errors

ERROR_CASES = [
    ("MaxPool", (1, 1, 4, 4), {}, 22, "attribute 'kernel_shape': the required attribute is missing"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], strides=[0, 1]), 22, "attribute 'strides'"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], pads=[1, 1]), 22, "attribute 'pads': expected 4 values"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], pads=[-1, 0, 0, 0]), 22, "attribute 'pads'"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], auto_pad="FOO"), 22, "attribute 'auto_pad'"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2]), 22, r"input 0 'x': expected rank 3"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[5, 5]), 22, "attribute 'kernel_shape': the window"),
    ("MaxPool", (1, 1, 2, 2, 2, 2), dict(kernel_shape=[1, 1, 1, 1]), 22, "1 to 3 spatial axes"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], storage_order=2), 22, "attribute 'storage_order'"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], ceil_mode=3), 22, "attribute 'ceil_mode'"),
    ("MaxPool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], strides=[2 ** 40, 1]), 22, "attribute 'strides'"),
    ("AveragePool", (1, 1, 4, 4), dict(kernel_shape=[2, 2], count_include_pad=2), 22,
     "attribute 'count_include_pad'"),
]


@pytest.mark.parametrize("op,shape,attrs,opset,msg", ERROR_CASES, ids=[c[-1][:30] for c in ERROR_CASES])
def test_errors(op, shape, attrs, opset, msg):
    x = _x(shape)
    with pytest.raises(onnumba.ModelError, match=msg):
        onnumba.InferenceSession(_model(op, x, attrs, opset=opset).SerializeToString())


def test_int8_refused_by_averagepool_and_old_maxpool():
    x = _x((1, 1, 4, 4), np.int8)
    with pytest.raises(onnumba.ModelError, match="element type int8 is not supported"):
        onnumba.InferenceSession(_model("AveragePool", x, dict(kernel_shape=[2, 2])).SerializeToString())
    # int8 / uint8 MaxPool arrived in opset 12
    with pytest.raises(onnumba.ModelError, match="element type int8 is not supported"):
        onnumba.InferenceSession(_model("MaxPool", x, dict(kernel_shape=[2, 2]), opset=11).SerializeToString())


def test_global_pool_errors():
    x = _x((2, 3))
    with pytest.raises(onnumba.ModelError, match="expected rank >= 3"):
        onnumba.InferenceSession(_model("GlobalMaxPool", x, {}).SerializeToString())
    with pytest.raises(onnumba.ModelError, match="element type int8"):
        xi = _x((1, 2, 3), np.int8)
        onnumba.InferenceSession(_model("GlobalAveragePool", xi, {}).SerializeToString())


# ----------------------------------------------------------------------------------------------- vs reference and ORT

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int8, np.uint8])
def test_maxpool_dtypes(dtype):
    x = _x((2, 3, 6, 7), dtype)
    attrs = dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1])
    (y,) = run_onnumba(_model("MaxPool", x, attrs), {"x": x})
    assert y.dtype == x.dtype
    np.testing.assert_array_equal(y, ref.max_pool(x, **attrs)[0])
    assert_matches_ort(_model("MaxPool", x, attrs), {"x": x}, rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_averagepool_dtypes(dtype):
    x = _x((2, 3, 6, 7), dtype)
    attrs = dict(kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1], count_include_pad=1)
    (y,) = run_onnumba(_model("AveragePool", x, attrs), {"x": x})
    assert y.dtype == x.dtype
    tol = 2e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(y.astype(np.float64), ref.average_pool(x, **attrs).astype(np.float64),
                               rtol=tol, atol=tol)
    if dtype != np.float64:  # onnxruntime has no float64 AveragePool kernel
        assert_matches_ort(_model("AveragePool", x, attrs), {"x": x}, rtol=tol, atol=tol)


@pytest.mark.parametrize("storage_order", [0, 1])
@pytest.mark.parametrize("shape,attrs", [
    ((2, 3, 5), dict(kernel_shape=[2], strides=[2], pads=[1, 1])),
    ((2, 3, 5, 6), dict(kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 1])),
    ((1, 2, 4, 5, 3), dict(kernel_shape=[2, 3, 2], strides=[1, 2, 1])),
    ((1, 2, 7, 7), dict(kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1, dilations=[2, 1])),
])
def test_maxpool_indices(shape, attrs, storage_order):
    x = _x(shape)
    attrs = dict(attrs, storage_order=storage_order)
    model = _model("MaxPool", x, attrs, outputs=("y", "i"))
    y, ind = run_onnumba(model, {"x": x})
    want_y, want_i = ref.max_pool(x, **attrs)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(ind, want_i)
    assert ind.dtype == np.int64
    np.testing.assert_array_equal(x.reshape(-1)[ind] if storage_order == 0 or len(shape) == 3 else y, y)
    assert_matches_ort(model, {"x": x}, rtol=0, atol=0)


def test_maxpool_indices_ties_first_wins():
    # equal values: the first maximum in row-major window order is reported
    x = np.zeros((1, 1, 4, 4), np.float32)
    y, ind = run_onnumba(_model("MaxPool", x, dict(kernel_shape=[2, 2], strides=[2, 2]), outputs=("y", "i")),
                         {"x": x})
    np.testing.assert_array_equal(ind.reshape(-1), [0, 2, 8, 10])


def test_maxpool_indices_batch_channel_offset():
    x = _x((2, 3, 4, 4))
    _, ind = run_onnumba(_model("MaxPool", x, dict(kernel_shape=[4, 4]), outputs=("y", "i")), {"x": x})
    flat = x.reshape(6, 16)
    np.testing.assert_array_equal(ind.reshape(-1), np.arange(6) * 16 + flat.argmax(axis=1))


def test_maxpool_int_extremes():
    # every value at the type's minimum: the result is that minimum, not a sentinel
    x = np.full((1, 1, 3, 3), -128, np.int8)
    (y,) = run_onnumba(_model("MaxPool", x, dict(kernel_shape=[2, 2])), {"x": x})
    assert (y == -128).all()
    x = np.full((1, 1, 3, 3), 255, np.uint8)
    y, ind = run_onnumba(_model("MaxPool", x, dict(kernel_shape=[2, 2]), outputs=("y", "i")), {"x": x})
    assert (y == 255).all() and ind.reshape(-1).tolist() == [0, 1, 3, 4]


def test_window_all_in_padding():
    # pads as large as the dilated window leave windows with no input element: -inf (max), nan (average);
    # onnxruntime refuses pads >= kernel_shape, the spec does not
    x = _x((1, 1, 3))
    attrs = dict(kernel_shape=[2], pads=[2, 0])
    (y,) = run_onnumba(_model("MaxPool", x, attrs), {"x": x})
    assert y[0, 0, 0] == -np.inf and y[0, 0, 2] == max(x[0, 0, 0], x[0, 0, 1])
    (y,) = run_onnumba(_model("AveragePool", x, attrs), {"x": x})
    assert np.isnan(y[0, 0, 0])
    (y,) = run_onnumba(_model("AveragePool", x, dict(attrs, count_include_pad=1)), {"x": x})
    assert y[0, 0, 0] == 0


@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_averagepool_ceil_overhang_not_counted(count_include_pad):
    # last window: taps at 4 and 5 (padded end is 5): only tap 4 counts even with count_include_pad
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 5)
    attrs = dict(kernel_shape=[2], strides=[2], ceil_mode=1, count_include_pad=count_include_pad)
    (y,) = run_onnumba(_model("AveragePool", x, attrs), {"x": x})
    np.testing.assert_allclose(y.reshape(-1), [0.5, 2.5, 4.0])
    assert_matches_ort(_model("AveragePool", x, attrs), {"x": x})


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[7, 7]),  # the ResNet head: one window covering the whole 7x7 map
    dict(kernel_shape=[9, 9], pads=[1, 1, 1, 1], count_include_pad=1),  # whole map plus padding, divisor 81
    dict(kernel_shape=[9, 9], pads=[1, 1, 1, 1]),  # whole map plus padding, divisor 49
    dict(kernel_shape=[7, 7], dilations=[1, 1], strides=[3, 3], ceil_mode=1),
])
def test_pool_single_window_over_whole_map(op, attrs):
    # these run as a per-plane reduction; compare with the windowed reference
    attrs = dict(attrs)
    if op == "MaxPool":
        attrs.pop("count_include_pad", None)
    x = _x((2, 5, 7, 7))
    (y,) = run_onnumba(_model(op, x, attrs), {"x": x})
    want = ref.max_pool(x, **attrs)[0] if op == "MaxPool" else ref.average_pool(x, **attrs)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-6)
    assert_matches_ort(_model(op, x, attrs), {"x": x}, rtol=1e-5, atol=1e-6)


def test_averagepool_count_include_pad_with_ceil_and_pads():
    x = np.ones((1, 1, 6), np.float32)
    attrs = dict(kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1, count_include_pad=1)
    (y,) = run_onnumba(_model("AveragePool", x, attrs), {"x": x})
    # windows start at -1, 1, 3, 5; the last covers 5 (input), 6 (pad, counted), 7 (overhang, not counted)
    np.testing.assert_allclose(y.reshape(-1), [2 / 3, 1, 1, 1 / 2])
    np.testing.assert_allclose(y, ref.average_pool(x, **attrs))
    assert_matches_ort(_model("AveragePool", x, attrs), {"x": x})


@pytest.mark.parametrize("opset", [1, 7, 10, 11, 19, 22])
def test_averagepool_versions(opset):
    x = _x((1, 2, 5, 5))
    attrs = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    (y,) = run_onnumba(_model("AveragePool", x, attrs, opset=opset), {"x": x})
    # opset 1 has no count_include_pad: the padding is never counted
    np.testing.assert_allclose(y, ref.average_pool(x, **attrs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opset", [1, 8, 10, 11, 12, 22])
def test_maxpool_versions(opset):
    x = _x((1, 2, 5, 5))
    attrs = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    model = _model("MaxPool", x, attrs, opset=opset)
    np.testing.assert_array_equal(run_onnumba(model, {"x": x})[0], ref.max_pool(x, **attrs)[0])
    assert_matches_ort(model, {"x": x})


def test_maxpool_v1_has_no_indices():
    x = _x((1, 1, 4, 4))
    with pytest.raises(onnumba.ModelError, match="Indices needs opset 8"):
        onnumba.InferenceSession(_model("MaxPool", x, dict(kernel_shape=[2, 2]), outputs=("y", "i"),
                                        opset=7).SerializeToString())


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(2, 3, 5), (1, 4, 3, 5), (2, 2, 2, 3, 4)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_global_pools(op, shape, dtype):
    x = _x(shape, dtype)
    model = _model(op, x, {})
    (y,) = run_onnumba(model, {"x": x})
    want = ref.global_max_pool(x) if op == "GlobalMaxPool" else ref.global_average_pool(x)
    assert y.dtype == x.dtype and y.shape == want.shape
    tol = 2e-3 if dtype == np.float16 else 1e-5
    np.testing.assert_allclose(y.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol)
    if dtype == np.float32:  # onnxruntime's global pools are float32-only at opset 22
        assert_matches_ort(model, {"x": x})


@pytest.mark.parametrize("opset", [1, 22])
def test_global_pool_versions(opset):
    x = _x((1, 3, 4, 4))
    for op in ("GlobalAveragePool", "GlobalMaxPool"):
        assert_matches_ort(_model(op, x, {}, opset=opset), {"x": x})


# ----------------------------------------------------------------------------------------------- properties

@st.composite
def pool_cases(draw):
    n = draw(st.integers(1, 3))
    kernel = [draw(st.integers(1, 3)) for _ in range(n)]
    strides = [draw(st.integers(1, 3)) for _ in range(n)]
    dilations = [draw(st.integers(1, 2)) for _ in range(n)]
    # onnxruntime requires each pad < kernel_shape
    pads = [draw(st.integers(0, k - 1)) for k in kernel] * 1
    pads = pads + [draw(st.integers(0, k - 1)) for k in kernel]
    ceil_mode = draw(st.integers(0, 1))
    auto_pad = draw(st.sampled_from(["NOTSET", "NOTSET", "NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]))
    spatial = [draw(st.integers((k - 1) * d + 1, (k - 1) * d + 6)) for k, d in zip(kernel, dilations)]
    batch, ch = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    attrs = dict(kernel_shape=kernel, strides=strides, dilations=dilations, ceil_mode=ceil_mode)
    if auto_pad == "NOTSET":
        attrs["pads"] = pads
    else:
        attrs["auto_pad"] = auto_pad
    return (batch, ch, *spatial), attrs, draw(st.integers(0, 1))


def _ort_follows_spec(attrs) -> bool:
    # onnxruntime sizes SAME pads of a pool with the undilated kernel (see test_same_with_dilation_follows_spec)
    # and applies ceil_mode to VALID (see test_valid_ignores_ceil_mode)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad.startswith("SAME") and max(attrs["dilations"]) > 1:
        return False
    return not (auto_pad == "VALID" and attrs.get("ceil_mode"))


def test_valid_ignores_ceil_mode():
    # found by hypothesis: the spec's VALID size is ceil((4 - 3 + 1) / 2) = 1 with or without ceil_mode;
    # onnxruntime applies ceil_mode to VALID and returns 2 values, the second window past the input's end
    x = _x((1, 1, 4))
    attrs = dict(kernel_shape=[2], strides=[2], dilations=[2], ceil_mode=1, auto_pad="VALID")
    (y,) = run_onnumba(_model("MaxPool", x, attrs), {"x": x})
    assert y.shape == (1, 1, 1) and y[0, 0, 0] == max(x[0, 0, 0], x[0, 0, 2])


def _check_pool_property(case):
    shape, attrs, cip = case
    x = _x(shape)
    model = _model("MaxPool", x, attrs, outputs=("y", "i"))
    y, ind = run_onnumba(model, {"x": x})
    want_y, want_i = ref.max_pool(x, **attrs)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(ind, want_i)
    if _ort_follows_spec(attrs):
        assert_matches_ort(model, {"x": x}, rtol=0, atol=0)
    attrs = dict(attrs, count_include_pad=cip)
    model = _model("AveragePool", x, attrs)
    (y,) = run_onnumba(model, {"x": x})
    np.testing.assert_allclose(y, ref.average_pool(x, **attrs), rtol=1e-5, atol=1e-6)
    if _ort_follows_spec(attrs):
        assert_matches_ort(model, {"x": x})


def test_same_with_dilation_follows_spec():
    # found by hypothesis: onnxruntime pads SAME with the undilated kernel and returns 2 values; the spec's
    # output is ceil(3 / 1) = 3 with pad (3 - 1) * 1 + (2 - 1) * 2 + 1 - 3 = 2
    x = _x((1, 1, 3))
    attrs = dict(kernel_shape=[2], strides=[1], dilations=[2], auto_pad="SAME_UPPER")
    (y,) = run_onnumba(_model("MaxPool", x, attrs), {"x": x})
    assert y.shape == (1, 1, 3)
    np.testing.assert_array_equal(y, ref.max_pool(x, **attrs)[0])
    np.testing.assert_array_equal(y.reshape(-1), [x[0, 0, 1], max(x[0, 0, 0], x[0, 0, 2]), x[0, 0, 1]])


@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER"])
@pytest.mark.parametrize("n,k,s", [(3, 1, 3), (4, 1, 2), (7, 1, 4), (5, 2, 4)])
def test_same_negative_pad_shifts_windows(auto_pad, n, k, s):
    # found by hypothesis: a kernel smaller than its stride gives a negative SAME pad (the spec does not clamp
    # it; onnxruntime shifts the windows, rounding the split toward zero; _geometry.same_padding clamps to 0)
    x = _x((1, 2, n))
    attrs = dict(kernel_shape=[k], strides=[s], auto_pad=auto_pad)
    model = _model("MaxPool", x, attrs, outputs=("y", "i"))
    y, ind = run_onnumba(model, {"x": x})
    np.testing.assert_array_equal(y, ref.max_pool(x, **attrs)[0])
    assert_matches_ort(model, {"x": x}, rtol=0, atol=0)
    assert_matches_ort(_model("AveragePool", x, attrs), {"x": x})


@given(pool_cases())
def test_pool_property_vs_reference_and_ort(case):
    _check_pool_property(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(pool_cases())
def test_pool_property_vs_reference_and_ort_slow(case):
    _check_pool_property(case)


@pytest.mark.parametrize("op, attrs", [
    ("MaxPool", dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])),
    ("AveragePool", dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1], count_include_pad=1)),
    ("MaxPool", dict(kernel_shape=[5, 4], strides=[3, 3])),
    ("GlobalAveragePool", {}),
    ("GlobalMaxPool", {}),
])
def test_parallel_driver_equals_serial_kernel(op, attrs, monkeypatch):
    # small passes run the serial kernels on the calling thread; the prange drivers (large passes at 2 threads)
    # must give the same bits: every plane or row is reduced by the same serial kernel
    from onnumba.ops import pool as pool_mod

    x = _x((2, 5, 11, 13))
    model = _model(op, x, attrs)
    opts = onnumba.SessionOptions()
    opts.intra_op_num_threads = 2
    serial = run_onnumba(model, {"x": x}, sess_options=opts)[0]
    monkeypatch.setattr(pool_mod, "_POOL_PAR_MIN_ELEMS", 0)
    parallel = run_onnumba(model, {"x": x}, sess_options=opts)[0]
    assert np.array_equal(parallel, serial, equal_nan=True)
    assert_matches_ort(model, {"x": x})


def test_max_pools_propagate_nan_and_average_keeps_infinities():
    """A NaN in a window gives NaN whatever its position (IEEE maximum, the spec's max; onnxruntime skips NaNs,
    which is why this is pinned here and not compared with it); a plane holding -inf averages to -inf."""
    from tests.helpers import make_node_model, run_onnumba

    x = np.array([[[np.nan, 0.4, 2.0, -1.4, np.nan]]], np.float32)
    m = make_node_model("MaxPool", {"x": x}, ["y"], {"kernel_shape": [3], "pads": [0, 1]})
    np.testing.assert_array_equal(run_onnumba(m, {"x": x})[0].ravel(), [np.nan, 2.0, np.nan, np.nan])
    m = make_node_model("MaxPool", {"x": x}, ["y", "i"], {"kernel_shape": [3], "pads": [0, 1]})
    y, i = run_onnumba(m, {"x": x})
    np.testing.assert_array_equal(y.ravel(), [np.nan, 2.0, np.nan, np.nan])
    np.testing.assert_array_equal(i.ravel(), [0, 2, 4, 4])  # the first NaN's index
    g = np.ones((1, 2, 40), np.float32)
    g[0, 0, 17] = np.nan
    g[0, 1, 3] = -np.inf
    (gm,) = run_onnumba(make_node_model("GlobalMaxPool", {"x": g}, ["y"]), {"x": g})
    (ga,) = run_onnumba(make_node_model("GlobalAveragePool", {"x": g}, ["y"]), {"x": g})
    assert np.isnan(gm[0, 0, 0]) and gm[0, 1, 0] == 1.0
    assert np.isnan(ga[0, 0, 0]) and ga[0, 1, 0] == -np.inf
