"""Dropout: inference identity, seeded training masks (onnx's recipe), run-time training_mode and ratio,
the session's training run option, old-opset forms, errors."""

import numpy as np
import onnx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper

import onnumba
from tests.helpers import assert_matches_ort, make_node_model, run_onnumba, session
from tests.reference import dropout as ref

RNG = np.random.default_rng(2)


def _model(*, opset=22, inputs=("x",), feeds=None, consts=None, outputs=("y",), attrs=None, shape=(3, 4, 5),
           dtype=np.float32):
    """One Dropout node; ``feeds`` names graph inputs (with example arrays), ``consts`` initializers."""
    arrays = {"x": np.zeros(shape, dtype), **(feeds or {}), **(consts or {})}
    return make_node_model("Dropout", {n: arrays.get(n) for n in inputs}, list(outputs), attrs, opset=opset,
                           initializers=consts, ir_version=8)


def _x(shape=(3, 4, 5), dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _training(model, feeds):
    return session(model).run(None, feeds, onnumba.RunOptions(training_mode=True))


# ----------------------------------------------------------------------------------------------- inference

@pytest.mark.parametrize("opset", [7, 10, 12, 13, 22])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
def test_inference_is_identity_with_all_true_mask(opset, dtype):
    x = _x(dtype=dtype)
    model = _model(opset=opset, outputs=("y", "mask"), dtype=dtype)
    y, mask = run_onnumba(model, {"x": x})
    np.testing.assert_array_equal(y, x)
    assert y.dtype == dtype
    assert mask.dtype == (np.bool_ if opset >= 10 else dtype) and mask.all()
    if opset >= 12 and dtype != np.float16:  # onnxruntime's opset 10-11 inference mask is all false
        assert_matches_ort(model, {"x": x})


@pytest.mark.parametrize("opset", [1, 6])
def test_old_is_test_one_is_identity(opset):
    x = _x()
    (y,) = run_onnumba(_model(opset=opset, attrs=dict(is_test=1, ratio=0.3)), {"x": x})
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("opset", [1, 6])
def test_old_is_test_zero_trains(opset):
    # opsets 1 and 6: is_test=0 (the default) is training per their spec; the mask has the input's type
    x = np.ones((200, 50), np.float32)
    y, mask = run_onnumba(_model(opset=opset, attrs=dict(ratio=0.25), outputs=("y", "mask"), shape=x.shape),
                          {"x": x})
    assert mask.dtype == np.float32 and set(np.unique(mask)) <= {0.0, 1.0}
    np.testing.assert_allclose(y, mask / 0.75, rtol=1e-6)
    assert abs(1 - mask.mean() - 0.25) < 0.02


def test_training_mode_false_ignores_ratio():
    x = _x()
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.float32(0.9), t=np.array(False)), outputs=("y", "m"),
                   attrs=dict(seed=1))
    y, m = run_onnumba(model, {"x": x})
    np.testing.assert_array_equal(y, x)
    assert m.all()


# ----------------------------------------------------------------------------------------------- training

@pytest.mark.parametrize("ratio", [0.5, 0.1, 0.75])
@pytest.mark.parametrize("seed", [0, 7, 123456])
def test_seeded_training_matches_onnx_recipe(ratio, seed):
    x = _x()
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.float32(ratio), t=np.array(True)),
                   outputs=("y", "m"), attrs=dict(seed=seed))
    y, m = run_onnumba(model, {"x": x})
    want_y, want_m = ref.dropout(x, ratio, True, seed)
    np.testing.assert_array_equal(m, want_m)
    np.testing.assert_allclose(y, want_y, rtol=1e-6, atol=0)
    assert m.dtype == np.bool_
    # a fresh RandomState per call: the same mask again
    sess = session(model)
    m1, m2 = sess.run(None, {"x": x})[1], sess.run(None, {"x": x})[1]
    np.testing.assert_array_equal(m1, want_m)
    np.testing.assert_array_equal(m2, want_m)


def test_unseeded_training_draws_a_new_mask_each_run():
    x = np.ones((64, 64), np.float32)
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.float32(0.5), t=np.array(True)),
                   outputs=("y", "m"), shape=x.shape)
    sess = session(model)
    (y1, m1), (y2, m2) = sess.run(None, {"x": x}), sess.run(None, {"x": x})
    assert not np.array_equal(m1, m2)
    for y, m in ((y1, m1), (y2, m2)):
        np.testing.assert_array_equal(y, m * 2.0)
        assert abs(m.mean() - 0.5) < 0.05


def test_not_folded_when_every_input_is_constant():
    # foldable=False: an all-constant unseeded Dropout still draws per run
    x = np.ones((32, 32), np.float32)
    node = helper.make_node("Dropout", ["x", "r", "t"], ["y"])
    inits = [onnx.numpy_helper.from_array(x, "x"), onnx.numpy_helper.from_array(np.float32(0.5), "r"),
             onnx.numpy_helper.from_array(np.array(True), "t")]
    graph = helper.make_graph([node], "g", [], [helper.make_tensor_value_info("y", TensorProto.FLOAT, x.shape)], inits)
    sess = session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8))
    assert not np.array_equal(sess.run(None, {})[0], sess.run(None, {})[0])


def test_ratio_zero_training_is_identity():
    x = _x()
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.float32(0.0), t=np.array(True)), outputs=("y", "m"))
    y, m = run_onnumba(model, {"x": x})
    np.testing.assert_array_equal(y, x)
    assert m.all()
    assert_matches_ort(model, {"x": x})


def test_training_mode_fed_at_run_time():
    x = _x()
    model = _model(inputs=("x", "r", "t"), feeds=dict(t=np.array(True)), consts=dict(r=np.float32(0.4)),
                   outputs=("y", "m"), attrs=dict(seed=3))
    sess = session(model)
    y, m = sess.run(None, {"x": x, "t": np.array(False)})
    np.testing.assert_array_equal(y, x)
    assert m.all()
    y, m = sess.run(None, {"x": x, "t": np.array(True)})
    want_y, want_m = ref.dropout(x, 0.4, True, 3)
    np.testing.assert_array_equal(m, want_m)
    np.testing.assert_allclose(y, want_y, rtol=1e-6)


def test_ratio_fed_at_run_time():
    x = _x()
    model = _model(inputs=("x", "r", "t"), feeds=dict(r=np.float32(0.5)), consts=dict(t=np.array(True)),
                   outputs=("y", "m"), attrs=dict(seed=5))
    sess = session(model)
    for r in (0.2, 0.6):
        y, m = sess.run(None, {"x": x, "r": np.float32(r)})
        want_y, want_m = ref.dropout(x, r, True, 5)
        np.testing.assert_array_equal(m, want_m)
        np.testing.assert_allclose(y, want_y, rtol=1e-6)
    with pytest.raises(onnumba.InputError, match=r"input 1 'r': the dropout ratio must be in \[0, 1\), got 1.0"):
        sess.run(None, {"x": x, "r": np.float32(1.0)})


@pytest.mark.parametrize("kw", [dict(opset=10, attrs=dict(ratio=1.0)), dict(opset=7, attrs=dict(ratio=1.0))])
def test_ratio_attribute_one_in_inference_is_accepted(kw):
    # the ratio attribute (before opset 12) has no range in the spec and is unused in inference; onnxruntime
    # accepts 1.0 (fuzz finding): identity. The opset 12+ input is "in [0, 1)" per the spec (test_errors)
    x = _x()
    model = _model(**kw)
    (y,) = run_onnumba(model, {"x": x})
    np.testing.assert_array_equal(y, x)
    assert_matches_ort(model, {"x": x})


@pytest.mark.parametrize("opset", [7, 10, 12, 22])
def test_run_option_switches_training_on(opset):
    x = _x()
    attrs = dict(seed=11) if opset >= 12 else dict(ratio=0.5)
    model = _model(opset=opset, outputs=("y", "m"), attrs=attrs)
    y, m = _training(model, {"x": x})
    assert not m.all()
    keep = m.astype(bool)
    np.testing.assert_allclose(y[keep], x[keep] * 2.0, rtol=1e-6)
    assert (y[~keep] == 0).all()
    if opset >= 12:  # seeded: the onnx recipe with the default ratio 0.5
        np.testing.assert_array_equal(m, ref.dropout(x, 0.5, True, 11)[1])
    # the same session without the option stays in inference
    y, m = session(model).run(None, {"x": x})
    np.testing.assert_array_equal(y, x)


def test_run_option_overrides_a_false_training_mode_input():
    x = _x()
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.float32(0.3), t=np.array(False)), outputs=("y", "m"),
                   attrs=dict(seed=2))
    opts = onnumba.RunOptions()
    opts.add_run_config_entry("onnumba.training_mode", "1")
    y, m = session(model).run(None, {"x": x}, opts)
    np.testing.assert_array_equal(m, ref.dropout(x, 0.3, True, 2)[1])


def test_negative_seed_keeps_low_bits():
    x = _x()
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.float32(0.5), t=np.array(True)), outputs=("y", "m"),
                   attrs=dict(seed=-1))
    _, m = run_onnumba(model, {"x": x})
    np.testing.assert_array_equal(m, ref.dropout(x, 0.5, True, 2 ** 32 - 1)[1])


# ----------------------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("kw,msg", [
    (dict(opset=6, attrs=dict(ratio=1.0, is_test=0)), r"attribute 'ratio': the dropout ratio must be in \[0, 1\)"),
    (dict(opset=6, attrs=dict(is_test=2)), "attribute 'is_test'"),
    (dict(inputs=("x", "r"), consts=dict(r=np.float32(-0.1))), r"input 1 'r': the dropout ratio must be in"),
    (dict(inputs=("x", "r"), consts=dict(r=np.float32(1.0))), r"input 1 'r': the dropout ratio must be in"),
    (dict(inputs=("x", "r"), consts=dict(r=np.array([0.1, 0.2], np.float32))), "input 1 'r': ratio must be a scalar"),
    (dict(inputs=("x", "r"), consts=dict(r=np.int64(0))), "input 1 'r': ratio: element type int64"),
    (dict(inputs=("x", "", "t"), consts=dict(t=np.float32(1))), "input 2 't': training_mode: element type float32"),
])
def test_errors(kw, msg):
    with pytest.raises(onnumba.ModelError, match=msg):
        session(_model(**kw))


def test_integer_data_refused():
    node = helper.make_node("Dropout", ["x"], ["y"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.INT32, (2,))],
                              [helper.make_tensor_value_info("y", TensorProto.INT32, (2,))])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    with pytest.raises(onnumba.ModelError):  # onnx's checker or our dtype check
        session(model)


# ----------------------------------------------------------------------------------------------- properties

@st.composite
def dropout_cases(draw):
    shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(0, 4))))
    ratio = draw(st.sampled_from([0.0, 0.1, 0.5, 0.9, 0.999]))
    seed = draw(st.integers(0, 2 ** 32 - 1))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    return shape, ratio, seed, dtype


def _check_dropout(case):
    shape, ratio, seed, dtype = case
    x = RNG.standard_normal(shape).astype(dtype)
    model = _model(inputs=("x", "r", "t"), consts=dict(r=np.array(ratio, dtype), t=np.array(True)),
                   outputs=("y", "m"), attrs=dict(seed=seed), shape=shape, dtype=dtype)
    y, m = run_onnumba(model, {"x": x})
    # the ratio as the model stores it (0.999 in float32 is 0.99900001: scale 1000.013, not 1000)
    want_y, want_m = ref.dropout(x, float(np.array(ratio, dtype)), True, seed)
    assert y.shape == shape and m.shape == shape and y.dtype == dtype
    np.testing.assert_array_equal(m, want_m)
    np.testing.assert_allclose(y, want_y, rtol=1e-6, atol=0)


@given(dropout_cases())
def test_dropout_property(case):
    _check_dropout(case)


@pytest.mark.slow
@settings(max_examples=500)
@given(dropout_cases())
def test_dropout_property_slow(case):
    _check_dropout(case)


@pytest.mark.parametrize("opset", [1, 6])
def test_old_dropout_without_is_test_warns_once_at_load_and_run_option_turns_it_off(opset):
    x = np.ones((40, 50), np.float32)
    model = _model(opset=opset, attrs=dict(ratio=0.5), shape=x.shape)
    with pytest.warns(onnumba.ModelWarning, match=r"Node 'Dropout_0' \(Dropout\): a Dropout before opset 7 "
                                                  r"without 'is_test' trains.*training_mode=False") as rec:
        sess = session(model)
    assert len(rec) == 1
    (y,) = sess.run(None, {"x": x})
    assert (y == 0).any()  # trains, as the spec says
    (y,) = sess.run(None, {"x": x}, onnumba.RunOptions(training_mode=False))
    np.testing.assert_array_equal(y, x)
    opts = onnumba.RunOptions()
    opts.add_run_config_entry("onnumba.training_mode", "0")
    np.testing.assert_array_equal(sess.run(None, {"x": x}, opts)[0], x)
