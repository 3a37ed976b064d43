"""Resize / Upsample: onnx's node cases with constant scales/sizes/roi, tables vs the naive reference and
onnxruntime, errors, hypothesis properties."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import helper, numpy_helper

import onnumba
from tests.helpers import run_onnumba, run_ort
from tests.reference import resize as ref

RNG = np.random.default_rng(2)


def _x(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def resize_model(x, scales=None, sizes=None, roi=None, attrs=None, opset=19, op="Resize", const=True):
    """A one-node Resize (11+) / Resize-10 / Upsample model; scales, sizes and roi are initializers."""
    names, inits, graph_inputs = ["X"], [], [helper.make_tensor_value_info("X", helper.np_dtype_to_tensor_dtype(
        x.dtype), x.shape)]

    def add(name, arr):
        names.append(name)
        if arr is None:
            names[-1] = ""
            return
        a = np.asarray(arr)
        if const:
            inits.append(numpy_helper.from_array(a, name))
        else:
            graph_inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(a.dtype), a.shape))

    if op == "Resize" and opset >= 11:
        add("roi", None if roi is None else np.array(roi, np.float32))
        add("scales", None if scales is None else np.array(scales, np.float32))
        add("sizes", None if sizes is None else np.array(sizes, np.int64))
        while names and names[-1] == "":
            names.pop()
    elif scales is not None:
        add("scales", np.array(scales, np.float32))
    node = helper.make_node(op, names, ["Y"], **(attrs or {}))
    out = helper.make_tensor_value_info("Y", helper.np_dtype_to_tensor_dtype(x.dtype), [f"d{i}" for i in range(x.ndim)])
    g = helper.make_graph([node], "resize", graph_inputs, [out], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


# ----------------------------------------------------------------------------------------------- node cases

def _resize_case_names():
    from tests.node_suite import all_cases, case_ops

    return [c.name for c in all_cases() if {op for _, op in case_ops(c)} & {"Resize", "Upsample"}]


@pytest.mark.parametrize("name", _resize_case_names())
def test_onnx_node_case_with_constant_inputs(name):
    """onnx's case with scales / sizes / roi turned into initializers (the node suite feeds them at run time)."""
    from tests.node_suite import all_cases

    case = next(c for c in all_cases() if c.name == name)
    x_name = case.model.graph.node[0].input[0]
    for inputs, expected in case.data_sets:
        model = onnx.ModelProto()
        model.CopyFrom(case.model)
        g = model.graph
        feeds = dict(zip([i.name for i in g.input], inputs))
        for nm, arr in feeds.items():
            if nm != x_name:
                g.initializer.append(numpy_helper.from_array(np.asarray(arr), nm))
        keep = [i for i in g.input if i.name == x_name]
        del g.input[:]
        g.input.extend(keep)
        (y,) = onnumba.InferenceSession(model.SerializeToString()).run(None, {x_name: feeds[x_name]})
        assert y.dtype == expected[0].dtype and y.shape == expected[0].shape
        np.testing.assert_allclose(y, expected[0], rtol=case.rtol, atol=case.atol)


# ----------------------------------------------------------------------------------------------- tables

TABLE = [
    # Keras UpSampling2D(interpolation='nearest') export
    dict(shape=(2, 3, 4, 5), scales=(1, 1, 2, 2), attrs=dict(mode="nearest", coordinate_transformation_mode="asymmetric",
                                                           nearest_mode="floor")),
    # Keras UpSampling2D(interpolation='bilinear') / U-Net decoders
    dict(shape=(1, 2, 4, 5), scales=(1, 1, 2, 2), attrs=dict(mode="linear")),
    dict(shape=(1, 2, 4, 5), scales=(1, 1, 2, 3), attrs=dict(mode="linear", coordinate_transformation_mode="align_corners")),
    dict(shape=(1, 2, 6, 5), sizes=(1, 2, 3, 9), attrs=dict(mode="linear", coordinate_transformation_mode="pytorch_half_pixel")),
    dict(shape=(1, 1, 5, 7), scales=(1, 1, 0.6, 0.5), attrs=dict(mode="nearest")),
    dict(shape=(1, 1, 5, 7), scales=(1, 1, 1.5, 2.5), attrs=dict(mode="nearest", nearest_mode="round_prefer_ceil")),
    dict(shape=(1, 1, 5, 7), scales=(1, 1, 1.5, 2.5), attrs=dict(mode="nearest", nearest_mode="ceil",
                                                                 coordinate_transformation_mode="tf_half_pixel_for_nn")),
    dict(shape=(1, 1, 4, 4), scales=(1, 1, 0.5, 0.75), attrs=dict(mode="cubic")),
    dict(shape=(1, 1, 4, 4), scales=(1, 1, 2, 1.5), attrs=dict(mode="cubic", exclude_outside=1, cubic_coeff_a=-0.5)),
    dict(shape=(2, 3, 4), scales=(2, 1, 2), attrs=dict(mode="linear")),
    # found by hypothesis: 2 -> 1 at asymmetric reads position 0 with weight 1 but is no identity (lengths differ)
    dict(shape=(1, 1, 1, 2), sizes=(1, 1, 1, 1), attrs=dict(mode="linear", coordinate_transformation_mode="asymmetric")),  # leading axis resized: per-axis path
    dict(shape=(3, 4, 2, 2), scales=(1, 2, 1, 1), attrs=dict(mode="nearest")),
    # onnxruntime's linear mode refuses 1-d inputs
    dict(shape=(6,), scales=(2.5,), attrs=dict(mode="linear", coordinate_transformation_mode="asymmetric"), ort=False),
    dict(shape=(2, 5, 6), sizes=(3, 4), attrs=dict(mode="linear", axes=[2, 1]), ort=False),
    dict(shape=(1, 1, 6, 8), sizes=(3, 3), attrs=dict(mode="nearest", axes=[2, 3], keep_aspect_ratio_policy="not_larger")),
    dict(shape=(1, 1, 6, 8), sizes=(3, 3), attrs=dict(mode="linear", axes=[2, 3], keep_aspect_ratio_policy="not_smaller")),
    dict(shape=(1, 1, 8, 8), scales=(1, 1, 0.5, 0.375), attrs=dict(mode="linear", antialias=1)),
    dict(shape=(1, 1, 8, 8), scales=(1, 1, 0.5, 0.625), attrs=dict(mode="cubic", antialias=1)),
    dict(shape=(1, 1, 5, 5), scales=(1, 1, 1.6, 1.6), attrs=dict(mode="linear", coordinate_transformation_mode="half_pixel_symmetric")),
    dict(shape=(1, 1, 4, 4), sizes=(1, 1, 3, 3), roi=(0, 0, 0.4, 0.6, 1, 1, 1.2, 0.7),
         attrs=dict(mode="linear", coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=-9.0)),
    dict(shape=(1, 1, 4, 4), sizes=(1, 1, 3, 2), roi=(0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3),
         attrs=dict(mode="nearest", coordinate_transformation_mode="tf_crop_and_resize")),
]


@pytest.mark.parametrize("case", TABLE, ids=lambda c: f"{c['shape']}-{c.get('scales') or c.get('sizes')}-{c['attrs']}")
def test_resize_table(case):
    x = _x(*case["shape"])
    model = resize_model(x, case.get("scales"), case.get("sizes"), case.get("roi"), case["attrs"])
    (y,) = run_onnumba(model, {"X": x})
    want = ref.resize(x, case.get("scales"), case.get("sizes"), roi=case.get("roi"), **case["attrs"])
    assert y.shape == want.shape and y.dtype == x.dtype
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    if case.get("ort", True):
        np.testing.assert_allclose(y, run_ort(model, {"X": x})[0], rtol=1e-4, atol=1e-4)


# Upsample-10 is registered but onnx's checker refuses it as deprecated, so no model can use it
@pytest.mark.parametrize("op,opset", [("Resize", 10), ("Upsample", 9), ("Upsample", 7)])
@pytest.mark.parametrize("mode", ["nearest", "linear"])
@pytest.mark.parametrize("scales", [(1, 1, 2, 3), (1, 1, 1.5, 2.5), (1, 1, 0.6, 0.5)], ids=str)
def test_old_forms_match_onnxruntime(op, opset, mode, scales):
    if op == "Upsample" and min(scales) < 1:
        pytest.skip("Upsample scales are >= 1")
    x = _x(1, 2, 5, 7)
    attrs = {"mode": mode}
    if opset == 7:
        attrs["scales"] = [float(s) for s in scales]
    model = resize_model(x, None if opset == 7 else scales, attrs=attrs, opset=opset, op=op)
    (y,) = run_onnumba(model, {"X": x})
    np.testing.assert_allclose(y, ref.resize(x, scales, mode=mode, coordinate_transformation_mode="asymmetric",
                                             nearest_mode="simple"), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(y, run_ort(model, {"X": x})[0], rtol=1e-5, atol=1e-5)


def test_upsample_opset1_attributes():
    x = _x(1, 2, 3, 4)
    model = resize_model(x, attrs={"mode": "bilinear", "height_scale": 2.0, "width_scale": 3.0}, opset=1, op="Upsample")
    (y,) = run_onnumba(model, {"X": x})
    np.testing.assert_allclose(y, ref.resize(x, (1, 1, 2, 3), mode="linear", coordinate_transformation_mode="asymmetric"),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int64, np.float16, np.float64])
def test_nearest_any_dtype(dtype):
    x = RNG.integers(0, 100, (1, 2, 3, 4)).astype(dtype)
    model = resize_model(x, (1, 1, 2, 1.5), attrs={"mode": "nearest"})
    (y,) = run_onnumba(model, {"X": x})
    assert y.dtype == dtype
    np.testing.assert_array_equal(y, ref.resize(x, (1, 1, 2, 1.5)).astype(dtype))


def test_linear_float16():
    x = _x(1, 1, 3, 4, dtype=np.float16)
    (y,) = run_onnumba(resize_model(x, (1, 1, 2, 2), attrs={"mode": "linear"}), {"X": x})
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.astype(np.float64), ref.resize(x, (1, 1, 2, 2), mode="linear"), rtol=2e-3, atol=2e-3)


def test_identity_and_empty():
    x = _x(1, 2, 3, 4)
    (y,) = run_onnumba(resize_model(x, (1, 1, 1, 1), attrs={"mode": "linear"}), {"X": x})
    np.testing.assert_array_equal(y, x)
    (y,) = run_onnumba(resize_model(x, sizes=(1, 2, 0, 4)), {"X": x})
    assert y.shape == (1, 2, 0, 4)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_batch_and_channel_axes_resize(mode):
    # the spec resizes every axis it is given scales or sizes for, batch and channels included, as onnx.reference
    # does; onnxruntime's linear / cubic modes refuse outer scales other than 1: we follow the spec (fuzz finding)
    x = _x(2, 3, 4, 4)
    (y,) = run_onnumba(resize_model(x, sizes=(4, 2, 3, 5), attrs={"mode": mode}), {"X": x})
    from onnx.reference import ReferenceEvaluator

    (want,) = ReferenceEvaluator(resize_model(x, sizes=(4, 2, 3, 5), attrs={"mode": mode})).run(None, {"X": x})
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("mode", ["nearest", "linear", "cubic"])
def test_empty_input(mode):
    x = _x(0, 3, 4, 4)
    (y,) = run_onnumba(resize_model(x, scales=(1, 1, 2, 2), attrs={"mode": mode}), {"X": x})
    assert y.shape == (0, 3, 8, 8) and y.dtype == np.float32
    x = _x(2, 3, 0, 4)
    (y,) = run_onnumba(resize_model(x, scales=(1, 1, 2, 2), attrs={"mode": mode}), {"X": x})
    assert y.shape == (2, 3, 0, 8)


# ----------------------------------------------------------------------------------------------- errors

ERRORS = [
    (dict(scales=(1, 1, 2, 2), sizes=(1, 1, 4, 4)), r"exactly one of scales \(input 2\) and sizes \(input 3\) must be "
                                                    r"given \(both are\)"),
    (dict(), r"exactly one of scales .* \(neither is\)"),
    (dict(scales=(1, 2, 2)), r"input 2 'scales': scales has 3 values, expected 4 \(the rank of X\)"),
    (dict(scales=(1, 1, -2, 2)), r"input 2 'scales': scales must be finite and > 0"),
    (dict(sizes=(1, 1, -4, 4)), r"input 3 'sizes': sizes must be >= 0"),
    (dict(sizes=(3, 3), attrs=dict(axes=[2, 4])), r"attribute 'axes': axis 4 is out of range for X of rank 4"),
    (dict(sizes=(3, 3), attrs=dict(axes=[2, 2])), r"attribute 'axes': axes must be unique"),
    (dict(scales=(1, 1, 2, 2), attrs=dict(mode="area")), r"attribute 'mode': expected one of nearest, linear, cubic, "
                                                         r"got 'area'"),
    (dict(scales=(1, 1, 2, 2), attrs=dict(nearest_mode="up")), r"attribute 'nearest_mode': expected one of"),
    (dict(scales=(1, 1, 2, 2), attrs=dict(coordinate_transformation_mode="half_pixel_symmetric"), opset=18),
     r"attribute 'coordinate_transformation_mode': expected one of half_pixel, pytorch_half_pixel"),
    (dict(scales=(1, 1, 2, 2), attrs=dict(keep_aspect_ratio_policy="fit")), r"attribute 'keep_aspect_ratio_policy'"),
    (dict(scales=(1, 1, 1e9, 1e9)), r"output shape \(1, 1, 4000000000, 5000000000\) has .* elements, more than"),
    (dict(sizes=(1, 1, 3, 3), roi=(0, 0, 1, 1), attrs=dict(coordinate_transformation_mode="tf_crop_and_resize")),
     r"input 1 'roi': roi has 4 values, expected 8"),
]


@pytest.mark.parametrize("spec,match", ERRORS, ids=[m[:40] for _, m in ERRORS])
def test_errors(spec, match):
    x = _x(1, 1, 4, 5)
    model = resize_model(x, spec.get("scales"), spec.get("sizes"), spec.get("roi"), spec.get("attrs"),
                         opset=spec.get("opset", 19))
    with pytest.raises(onnumba.ModelError, match=match):
        onnumba.InferenceSession(model.SerializeToString())


def test_error_linear_on_integers():
    x = np.zeros((1, 1, 2, 2), np.uint8)
    with pytest.raises(onnumba.ModelError, match=r"input 0 'X': mode 'linear' needs a floating-point X, got uint8"):
        onnumba.InferenceSession(resize_model(x, (1, 1, 2, 2), attrs={"mode": "linear"}).SerializeToString())


def test_scales_and_sizes_fed_at_run_time():
    """Fed scales / sizes specialise the plan to their values: a new value gives a new output shape."""
    x = _x(1, 1, 2, 3)
    sess = onnumba.InferenceSession(resize_model(x, (1, 1, 2, 2), const=False).SerializeToString())
    for sc in ((1, 1, 2, 2), (1, 1, 1.5, 3)):
        (y,) = sess.run(None, {"X": x, "scales": np.array(sc, np.float32)})
        np.testing.assert_allclose(y, ref.resize(x, sc), rtol=1e-6)
    sess = onnumba.InferenceSession(resize_model(x, sizes=(1, 1, 3, 3), const=False).SerializeToString())
    (y,) = sess.run(None, {"X": x, "sizes": np.array((1, 1, 5, 2), np.int64)})
    np.testing.assert_allclose(y, ref.resize(x, sizes=(1, 1, 5, 2)), rtol=1e-6)


def test_error_upsample_scale_below_one():
    x = _x(1, 1, 4, 4)
    model = resize_model(x, (1, 1, 0.5, 1), opset=9, op="Upsample")
    with pytest.raises(onnumba.ModelError, match=r"input 1 'scales': Upsample scales must be >= 1"):
        onnumba.InferenceSession(model.SerializeToString())


# ----------------------------------------------------------------------------------------------- properties

@st.composite
def resize_cases(draw):
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    mode = draw(st.sampled_from(["nearest", "linear"]))
    coord = draw(st.sampled_from(["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]))
    attrs = dict(mode=mode, coordinate_transformation_mode=coord)
    if mode == "nearest":
        attrs["nearest_mode"] = draw(st.sampled_from(["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]))
    if draw(st.booleans()):
        sc = (1.0, 1.0, draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])), draw(st.sampled_from([0.5, 1.0, 2.0, 2.5])))
        return shape, sc, None, attrs
    sizes = (shape[0], shape[1], draw(st.integers(1, 9)), draw(st.integers(1, 9)))
    return shape, None, sizes, attrs


def _check_resize(case):
    shape, scales, sizes, attrs = case
    x = _x(*shape)
    model = resize_model(x, scales, sizes, attrs=attrs)
    (y,) = run_onnumba(model, {"X": x})
    want = ref.resize(x, scales, sizes, **attrs)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-5, atol=1e-5)
    # align_corners: onnx's reference (and its node data) divides by the fractional scale * length - 1, onnxruntime
    # by the integer output length - 1; they agree only where that product is whole
    fractional = scales is not None and any(s * n != int(s * n) for s, n in zip(scales, shape))
    if 0 not in y.shape and not (attrs["coordinate_transformation_mode"] == "align_corners" and fractional):
        np.testing.assert_allclose(y, run_ort(model, {"X": x})[0], rtol=1e-4, atol=1e-4)


@given(resize_cases())
def test_resize_property(case):
    _check_resize(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(resize_cases())
def test_resize_property_slow(case):
    _check_resize(case)
