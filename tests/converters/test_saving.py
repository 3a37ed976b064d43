"""Keras interchange: model_from_config / model_from_json / load_keras / save.

The two .keras fixtures here were written by hand by fixtures/make_keras_fixtures.py in Keras 3's
format; files saved by real Keras are tested in test_real_keras.py.
"""

import io
import json
import os
import zipfile

import numpy as np
import pytest

from onnumba.converters import (Input, Model, Sequential, layers, load_keras, model_from_config,
                                model_from_json)
from tests.converters._util import load_build_script, rand, run_model
from tests.reference import keras_ref as ref

h5py = pytest.importorskip("h5py", reason="h5py (extra 'keras') is needed to read .keras weights")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def _h5_vars(path, group):
    with zipfile.ZipFile(path) as z, h5py.File(io.BytesIO(z.read("model.weights.h5")), "r") as f:
        g = f["layers"][group]["vars"]
        return [g[str(i)][()] for i in range(len(g))]


def test_load_functional_archive():
    path = os.path.join(FIXTURES, "functional_small.keras")
    model = load_keras(path)
    assert model.name == "small_functional"
    assert [l.name for l in model.layers] == ["image", "conv_a", "bn", "pool", "up", "merge",
                                              "conv_b", "gap", "probs"]
    # weights went to the right layers: h5 groups are numbered per class, not by layer name
    for group, name in [("conv2d", "conv_a"), ("conv2d_1", "conv_b"),
                        ("batch_normalization", "bn"), ("conv2d_transpose", "up"),
                        ("dense", "probs")]:
        for a, b in zip(model.get_layer(name).get_weights(), _h5_vars(path, group)):
            np.testing.assert_array_equal(a, b)
    assert model.get_layer("up").kernel.shape == (2, 2, 3, 4)  # (k, k, out, in)
    x = rand(2, 8, 8, 3)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, ref.model_forward(model, x)[0], rtol=1e-4, atol=1e-5)


def test_load_sequential_archive():
    model = load_keras(os.path.join(FIXTURES, "sequential_small.keras"))
    assert isinstance(model, Sequential)
    assert [l.name for l in model.layers] == ["hidden", "dropout", "out"]
    assert model.layers[1].rate == 0.3
    x = rand(3, 6)
    (y,) = run_model(model, x)
    k1, b1, k2, b2 = model.get_weights()
    expected = ref.activation("sigmoid", np.maximum(x @ k1 + b1, 0) @ k2 + b2)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)


def test_config_json_of_fixture_matches_our_get_config():
    path = os.path.join(FIXTURES, "functional_small.keras")
    with zipfile.ZipFile(path) as z:
        written = json.loads(z.read("config.json"))
    ours = load_keras(path).get_config()
    for theirs, mine in zip(written["config"]["layers"], ours["layers"]):
        assert theirs["class_name"] == mine["class_name"] and theirs["name"] == mine["name"]
        assert theirs["inbound_nodes"] == mine["inbound_nodes"]
        for key, value in theirs["config"].items():
            assert mine["config"][key] == value, (theirs["name"], key)
    assert ours["input_layers"] == written["config"]["input_layers"]


@pytest.mark.parametrize("name", ["unet", "vgg", "separable"])
def test_json_round_trip(name):
    model = load_build_script(name).build(seed=0)
    text = model.to_json()
    clone = model_from_json(text)
    assert clone.count_params() == model.count_params()
    assert json.loads(clone.to_json()) == json.loads(text)
    clone.set_weights(model.get_weights())
    shape = model.inputs[0].shape[1:] if not isinstance(model, Sequential) else \
        model.input_layer.batch_shape[1:]
    if name == "unet":
        return  # same graph and weights; the small models below run it
    x = rand(1, *shape)
    np.testing.assert_allclose(run_model(clone, x)[0], run_model(model, x)[0], rtol=1e-6)


def test_model_from_inner_config_and_keras2_nodes():
    inp = Input((4,), name="a")
    out = layers.Dense(2, name="d")(layers.Dense(3, name="h")(inp))
    cfg = Model(inp, out).get_config()
    clone = model_from_config(cfg)
    assert [l.name for l in clone.layers] == ["a", "h", "d"]
    # Keras 2 wrote inbound nodes as [[name, node, tensor, kwargs]]
    cfg2 = json.loads(json.dumps(cfg))
    for entry in cfg2["layers"][1:]:
        hist = entry["inbound_nodes"][0]["args"][0]["config"]["keras_history"]
        entry["inbound_nodes"] = [[hist + [{}]]]
    assert model_from_config(cfg2).count_params() == 3 * 4 + 3 * 2 + 5


def test_save_and_load_round_trip(tmp_path):
    model = load_build_script("separable").build(seed=3)
    path = tmp_path / "m.keras"
    model.save(str(path))
    loaded = load_keras(str(path))
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_config_errors(tmp_path):
    with pytest.raises(ValueError, match="class 'ConvLSTM2D' is not supported"):
        model_from_config({"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 3, 2]}},
            {"class_name": "ConvLSTM2D", "config": {"name": "conv_lstm"}}]}})
    with pytest.raises(ValueError, match=r"layer 'd' \(Dense\).*units=-1 is invalid"):
        model_from_config({"class_name": "Sequential", "config": {"name": "s", "layers": [
            {"class_name": "InputLayer", "config": {"batch_shape": [None, 3]}},
            {"class_name": "Dense", "config": {"name": "d", "units": -1}}]}})
    with pytest.raises(ValueError, match="invalid model JSON"):
        model_from_json("{not json")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a .keras archive"):
        load_keras(str(bad))
    with zipfile.ZipFile(tmp_path / "w.keras", "w") as z:
        z.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {
            "name": "s", "layers": [{"class_name": "InputLayer",
                                     "config": {"batch_shape": [None, 3]}},
                                    {"class_name": "Dense", "config": {"units": 2}}]}}))
        buf = io.BytesIO()
        with h5py.File(buf, "w") as f:
            f.create_group("layers").create_group("dense").create_group("vars") \
                .create_dataset("0", data=np.zeros((4, 2)))
        z.writestr("model.weights.h5", buf.getvalue())
    with pytest.raises(ValueError, match=r"layers/dense/vars: .*set_weights got 1 arrays, "
                                         r"expected 2"):
        load_keras(str(tmp_path / "w.keras"))
