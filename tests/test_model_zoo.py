"""The nine model-zoo architectures shipped in the onnx wheel.

1. They reproduce their stored outputs the way onnx's backend runner checks them (input = arange(n)/n).
2. With seeded random weights in place of their constant fills, they match onnxruntime within 1e-4 relative.
"""

import numpy as np
import pytest

import onnumba
from benchmarks.cases import ZOO, random_feeds, random_weight_model, runner_feeds, zoo_expected, zoo_model
from tests.helpers import run_ort


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_reproduces_stored_output(name):
    model = zoo_model(name)
    (y,) = onnumba.InferenceSession(model).run(None, runner_feeds(model))
    ref = zoo_expected(name)
    assert y.shape == ref.shape and y.dtype == ref.dtype
    np.testing.assert_allclose(y, ref, rtol=ZOO[name][1], atol=1e-7)


@pytest.mark.parametrize("name", sorted(ZOO))
@pytest.mark.parametrize("optimized", [True, False], ids=["opt", "noopt"])
def test_zoo_random_weights_match_onnxruntime(name, optimized):
    model = random_weight_model(name, seed=1, expose_logits=True)
    feeds = random_feeds(model, seed=2)
    opts = onnumba.SessionOptions()
    if not optimized:
        opts.graph_optimization_level = onnumba.GraphOptimizationLevel.ORT_DISABLE_ALL
    ours = onnumba.InferenceSession(model, opts).run(None, feeds)
    refs = run_ort(model, feeds)
    assert len(ours) == len(refs)
    for a, b in zip(ours, refs):
        assert a.shape == b.shape
        # 1e-4 relative to the output's scale (probabilities, and the logits before the softmax)
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4 * float(np.abs(b).max()))
