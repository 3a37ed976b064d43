"""onnx's shipped model tests (data/pytorch-converted, pytorch-operator, simple): small real exported models with
stored inputs and outputs. Every model whose ops onnumba supports must reproduce its outputs; the rest must be
refused at load with UnsupportedOpError (checked too, so no model is silently skipped)."""

import glob
import os

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import onnumba

DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
MODELS = sorted(d for kind in ("pytorch-converted", "pytorch-operator", "simple")
                for d in glob.glob(os.path.join(DATA, kind, "*")) if os.path.exists(os.path.join(d, "model.onnx")))


def _load(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)  # read-only views of the protobuf bytes, as users often feed them


@pytest.mark.parametrize("model_dir", MODELS, ids=[os.path.basename(d) for d in MODELS])
def test_model_reproduces_stored_outputs(model_dir):
    try:
        sess = onnumba.InferenceSession(os.path.join(model_dir, "model.onnx"))
    except onnumba.UnsupportedOpError as e:
        assert "not implemented" in str(e) or "not imported" in str(e) or "not support" in str(e)
        return
    names = [i.name for i in sess.get_inputs()]
    sets = sorted(glob.glob(os.path.join(model_dir, "test_data_set_*")))
    assert sets
    for ds in sets:
        inputs = [_load(p) for p in sorted(glob.glob(os.path.join(ds, "input_*.pb")))]
        expected = [_load(p) for p in sorted(glob.glob(os.path.join(ds, "output_*.pb")))]
        got = sess.run(None, dict(zip(names, inputs)))
        assert len(got) == len(expected)
        for g, r in zip(got, expected):
            assert g.shape == r.shape and g.dtype == r.dtype
            np.testing.assert_allclose(g, r, rtol=1e-3, atol=1e-5)


def test_enough_models_are_supported():
    supported = 0
    for d in MODELS:
        try:
            onnumba.InferenceSession(os.path.join(d, "model.onnx"))
            supported += 1
        except onnumba.UnsupportedOpError:
            pass
    assert supported >= 60, supported
