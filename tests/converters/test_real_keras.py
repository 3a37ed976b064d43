"""Files saved by real Keras 3.15 (TensorFlow and JAX backends) load, convert and reproduce Keras's
own outputs on onnxruntime and on onnumba; the Keras-user surface (predict, model(x),
save_weights / load_weights) against the same recordings.

Keras is not needed here: the fixtures were written by fixtures/make_real_keras_fixtures.py in a
separate environment (see its docstring).
"""

import functools
import glob
import os
import warnings
import zipfile

import numpy as np
import pytest

from onnumba.converters import load_keras, model_from_json
from tests.converters._util import run_ort

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "real_keras")
CASES = sorted(os.path.relpath(p, HERE)[:-len(".keras")]
               for p in glob.glob(os.path.join(HERE, "*", "*.keras")))
JSON_CASES = sorted(os.path.relpath(p, HERE)[:-len(".json")]
                    for p in glob.glob(os.path.join(HERE, "*", "*.json"))
                    if not p.endswith("VERSIONS.json"))
BN_CASES = [c for c in CASES if "t0" in np.load(os.path.join(HERE, c + ".npz")).files]
ATOL = RTOL = 1e-4
#: cases where what ONNX can express differs from the Keras backend's own kernel
KNOWN_DIFFERENCES = {
    "tensorflow/resizing_bicubic": "TensorFlow's bicubic resize at a non-integer scale differs "
                                   "(~2e-3) from Keys a=-0.5 with renormalised edges, which is "
                                   "JAX's and ONNX Resize's (exclude_outside=1)",
}


def _known_difference(case, request):
    if case in KNOWN_DIFFERENCES:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_DIFFERENCES[case], strict=True))


def _data(case):
    data = np.load(os.path.join(HERE, case + ".npz"))
    xs = [data[f"x{i}"] for i in range(sum(k.startswith("x") for k in data.files))]
    ys = [data[f"y{i}"] for i in range(sum(k.startswith("y") for k in data.files))]
    ts = [data[f"t{i}"] for i in range(sum(k.startswith("t") for k in data.files))]
    return xs, ys, ts


@functools.lru_cache(maxsize=None)
def _proto(case, training=False):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every key Keras 3.15 writes is known
        model = load_keras(os.path.join(HERE, case + ".keras"))
    return model.to_onnx(training=training)


def _feeds(proto, xs):
    names = [i.name for i in proto.graph.input if i.name != "training_mode"]
    return dict(zip(names, xs))


def _check(got, expected):
    assert len(got) >= len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=RTOL, atol=ATOL)


def test_fixtures_cover_both_backends():
    backends = {c.split("/")[0] for c in CASES}
    assert backends == {"tensorflow", "jax"} and len(CASES) > 150


@pytest.mark.parametrize("case", CASES)
def test_real_keras_file_on_onnxruntime(case, request):
    _known_difference(case, request)
    xs, ys, _ = _data(case)
    proto = _proto(case)
    _check(run_ort(proto, _feeds(proto, xs)), ys)


def _onnumba_session(proto, request):
    onnumba = pytest.importorskip("onnumba")
    known = {op["op_type"] for op in onnumba.supported_ops()}
    missing = sorted({n.op_type for n in proto.graph.node} - known)
    if missing:
        request.applymarker(pytest.mark.xfail(
            reason=f"onnumba does not run {missing} yet (being added)", strict=False))
    return onnumba.InferenceSession(proto.SerializeToString())


@pytest.mark.parametrize("case", CASES)
def test_real_keras_file_on_onnumba(case, request):
    _known_difference(case, request)
    xs, ys, _ = _data(case)
    proto = _proto(case)
    session = _onnumba_session(proto, request)
    _check(session.run(None, _feeds(proto, xs)), ys)


@pytest.mark.parametrize("case", BN_CASES)
def test_batch_normalization_training_mode_matches_keras(case, request):
    xs, _, ts = _data(case)
    proto = _proto(case, training=True)
    _check(run_ort(proto, _feeds(proto, xs)), ts)
    session = _onnumba_session(proto, request)
    _check(session.run(None, _feeds(proto, xs)), ts)


@pytest.mark.parametrize("case", JSON_CASES)
def test_to_json_and_weights_h5_from_keras(case):
    xs, ys, _ = _data(case)
    with open(os.path.join(HERE, case + ".json")) as f:
        model = model_from_json(f.read())
    model.load_weights(os.path.join(HERE, case + ".weights.h5"))
    proto = model.to_onnx()
    _check(run_ort(proto, _feeds(proto, xs)), ys)


def test_keras_archive_is_what_keras_wrote():
    with zipfile.ZipFile(os.path.join(HERE, "tensorflow", "conv2d_valid.keras")) as z:
        assert {"config.json", "metadata.json", "model.weights.h5"} <= set(z.namelist())
        assert b'"keras_version": "3.15' in z.read("metadata.json")


# ---------------------------------------------------------------------------------------------
# the Keras-user surface, against Keras's recorded outputs

PREDICT_CASES = ["tensorflow/conv2d_valid", "jax/multi_io", "tensorflow/nested_functional",
                 "jax/dropout_dense", "tensorflow/unet_like"]


def _model(case):
    return load_keras(os.path.join(HERE, case + ".keras"))


@pytest.mark.parametrize("case", PREDICT_CASES)
def test_predict_and_call_match_keras(case):
    pytest.importorskip("onnumba")
    xs, ys, _ = _data(case)
    model = _model(case)
    feed = xs if len(xs) > 1 else xs[0]
    for got in (model.predict(feed), model.predict(feed, batch_size=1), model(feed)):
        _check(got if isinstance(got, list) else [got], ys)


def test_predict_takes_a_dict_by_input_name_and_checks_shapes():
    pytest.importorskip("onnumba")
    xs, ys, _ = _data("jax/multi_io")
    model = _model("jax/multi_io")
    _check(model.predict({"img": xs[0], "vec": xs[1]}, batch_size=1), ys)
    with pytest.raises(ValueError, match=r"input 'vec' expects shape \(None, 3\), got an array "
                                         r"of shape \(2, 4\)"):
        model.predict([xs[0], np.zeros((2, 4), np.float32)])
    with pytest.raises(ValueError, match=r"inputs \['vec'\] are missing"):
        model.predict({"img": xs[0]})


def test_call_training_flag_batch_normalization_and_dropout():
    pytest.importorskip("onnumba")
    xs, ys, ts = _data("tensorflow/batchnorm")
    model = _model("tensorflow/batchnorm")
    _check([model(xs[0], training=True)], ts)
    _check([model(xs[0])], ys)
    dropout = _model("tensorflow/dropout_dense")
    x = np.repeat(_data("tensorflow/dropout_dense")[0][0], 50, axis=0)
    assert not np.allclose(dropout(x, training=True), dropout.predict(x))


def test_predict_session_follows_set_weights():
    pytest.importorskip("onnumba")
    xs, ys, _ = _data("tensorflow/conv2d_valid")
    model = _model("tensorflow/conv2d_valid")
    _check([model.predict(xs[0])], ys)
    model.set_weights([2 * w for w in model.get_weights()])
    _check([model.predict(xs[0])], [2 * ys[0]])


@pytest.mark.parametrize("case", ["tensorflow/nested_functional", "jax/shared",
                                  "tensorflow/batchnorm"])
def test_weights_round_trip_through_weights_h5(case, tmp_path):
    pytest.importorskip("h5py")
    xs, ys, _ = _data(case)
    model = _model(case)
    model.save_weights(tmp_path / "w.weights.h5")
    clone = _model(case)
    clone.set_weights([np.zeros_like(w) for w in clone.get_weights()])
    clone.load_weights(tmp_path / "w.weights.h5")
    for a, b in zip(clone.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)
    clone.set_weights([np.zeros_like(w) for w in clone.get_weights()])
    clone.load_weights(os.path.join(HERE, case + ".keras"))
    proto = clone.to_onnx()
    _check(run_ort(proto, _feeds(proto, xs)), ys)


def test_save_and_load_weights_errors(tmp_path):
    model = _model("tensorflow/conv2d_valid")
    with pytest.raises(ValueError, match=r"must end in '\.weights\.h5', got .*w\.h5"):
        model.save_weights(tmp_path / "w.h5")
    other = _model("tensorflow/dense_rank3")
    other.save_weights(tmp_path / "other.weights.h5")
    with pytest.raises(ValueError, match=r"no weights for layer 'conv2d.*' at layers/conv2d/vars"):
        model.load_weights(tmp_path / "other.weights.h5")


@pytest.mark.skipif(not os.environ.get("ONNUMBA_KERAS_PYTHON"),
                    reason="set ONNUMBA_KERAS_PYTHON to a python with keras installed")
def test_files_written_by_onnumba_are_read_by_real_keras():
    import subprocess
    import sys
    script = os.path.join(os.path.dirname(HERE), "check_files_in_real_keras.py")
    done = subprocess.run([os.environ["ONNUMBA_KERAS_PYTHON"], script, "--onnumba-python",
                           sys.executable], capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
