"""Every layer configuration of the config tests, exported and run by onnumba's own runtime, equal
to onnxruntime's result (inference, opset 13 and the default opset, and the training export
where the layer is deterministic in training)."""

import numpy as np
import pytest

from onnumba.converters import Input, Model, layers
from tests.converters._util import export, rand, run_ort
from tests.converters.test_configs import CASES

onnumba = pytest.importorskip("onnumba")

# Dropout and the noise layers draw random numbers in training: compared at inference only
_RANDOM_IN_TRAINING = (layers.Dropout, layers.BaseSpatialDropout, layers.GaussianNoise,
                       layers.AlphaDropout)


def _feeds(proto, model, seed=0):
    names = [i.name for i in proto.graph.input if i.name != "training_mode"]
    feeds = {}
    for i, (name, t) in enumerate(zip(names, model.inputs)):
        shape = (2,) + tuple(t.shape[1:])
        if t.dtype != "float32":
            feeds[name] = np.random.default_rng(seed + i).integers(0, 4, shape).astype(t.dtype)
        else:
            feeds[name] = rand(*shape, seed=seed + i)
    return feeds


def _compare(model, **kwargs):
    proto = export(model, **kwargs)
    feeds = _feeds(proto, model)
    expected = run_ort(proto, feeds)
    got = onnumba.InferenceSession(proto.SerializeToString()).run(None, feeds)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def _model(cls, kw, shape):
    x = Input(shape, dtype="int32" if cls is layers.Embedding else None)
    y = cls(**kw)(x)
    return Model(x, y)


@pytest.mark.parametrize("cls,kw,shape", CASES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("opset", [13, 17])
def test_layer_export_runs_on_onnumba(cls, kw, shape, opset):
    _compare(_model(cls, kw, shape), opset=opset)


@pytest.mark.parametrize("cls,kw,shape", [c for c in CASES
                                          if not issubclass(c[0], _RANDOM_IN_TRAINING)],
                         ids=lambda v: getattr(v, "__name__", ""))
def test_training_export_runs_on_onnumba(cls, kw, shape):
    _compare(_model(cls, kw, shape), training=True)


@pytest.mark.parametrize("cls", [layers.Concatenate, layers.Add, layers.Subtract,
                                 layers.Multiply, layers.Average, layers.Maximum,
                                 layers.Minimum])
def test_merge_export_runs_on_onnumba(cls):
    a, b = Input((3, 2)), Input((3, 2))
    _compare(Model([a, b], cls()([a, b])))


def test_bidirectional_and_time_distributed_run_on_onnumba():
    x = Input((5, 3))
    y = layers.Bidirectional(layers.GRU(2, return_sequences=True, return_state=True),
                             merge_mode=None)(x)
    _compare(Model(x, y))
    z = layers.TimeDistributed(layers.Dense(2, activation="relu"))(x)
    _compare(Model(x, z))
