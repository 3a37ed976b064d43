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
def test_real_keras_file_on_onnxruntime(case):
    xs, ys, _ = _data(case)
    proto = _proto(case)
    _check(run_ort(proto, _feeds(proto, xs)), ys)


def _onnumba_session(proto, request):
    onnumba = pytest.importorskip("onnumba")
    missing = sorted({n.op_type for n in proto.graph.node} - {op["op_type"] for op in onnumba.supported_ops()})
    if missing:
        request.applymarker(pytest.mark.xfail(
            reason=f"onnumba does not run {missing} yet (being added)", strict=False))
    return onnumba.InferenceSession(proto.SerializeToString())


@pytest.mark.parametrize("case", CASES)
def test_real_keras_file_on_onnumba(case, request):
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
