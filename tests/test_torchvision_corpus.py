"""Real torchvision exports (tests/corpus/make_torchvision_corpus.py) load in onnumba and match onnxruntime.

Runs whatever the cache folder (``$ONNUMBA_CORPUS_DIR`` or ``~/.cache/onnumba/corpus``) holds; without it every
case skips, so CI passes without torch. Models under 15 MB run in the default suite; the larger ones only in
the full sweep, ``python -m pytest -m corpus tests/test_torchvision_corpus.py``. Every output is compared with
rtol 1e-3 and atol 1e-4 times the output's scale (random-weight logits can be tiny or large).
"""

import os

import numpy as np
import onnx
import pytest

import onnumba
from tests.corpus.corpus import (SMALL_BYTES, atol_for, corpus_dir, feeds, manifest, max_rel_diff, missing_ops,
                                 model_files, ort_session)
from tests.corpus.make_torchvision_corpus import model_bytes

_FILES = model_files()
_NO_CORPUS = (f"no torchvision corpus in {corpus_dir()}: run python tests/corpus/make_torchvision_corpus.py "
              "(needs torch + torchvision) or set ONNUMBA_CORPUS_DIR")


def _full_sweep(config) -> bool:
    return "corpus" in (config.option.markexpr or "")


def _case(path):
    return pytest.param(path, id=os.path.basename(path)[:-5], marks=pytest.mark.corpus)


@pytest.mark.corpus
@pytest.mark.parametrize("path", [_case(p) for p in _FILES] or
                         [pytest.param(None, id="empty", marks=pytest.mark.skip(reason=_NO_CORPUS))])
def test_corpus_model_matches_onnxruntime(path, request):
    if model_bytes(path) >= SMALL_BYTES and not _full_sweep(request.config):
        pytest.skip(f"{model_bytes(path) / 1e6:.0f} MB model: full sweep only (-m corpus)")
    model = onnx.load(path)
    missing = missing_ops(model)
    assert not missing, f"{os.path.basename(path)}: onnumba lacks {', '.join(missing)}"
    feed = feeds(model, seed=0)
    ours = onnumba.InferenceSession(path).run(None, feed)
    refs = ort_session(path).run(None, feed)
    assert len(ours) == len(refs)
    for out, a, b in zip(model.graph.output, ours, refs):
        assert a.shape == b.shape and a.dtype == b.dtype, (out.name, a.shape, a.dtype, b.shape, b.dtype)
        assert np.ptp(b) > 0, f"output {out.name!r} is constant in onnxruntime: the comparison would be vacuous"
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=atol_for(b),
                                   err_msg=f"output {out.name!r}: max rel diff {max_rel_diff(a, b):.2e}")


_REFUSED = [e for e in manifest() if e["status"] != "ok"]


@pytest.mark.corpus
@pytest.mark.parametrize("entry", [pytest.param(e, id=e["file"][:-5]) for e in _REFUSED] or
                         [pytest.param(None, id="none")])
def test_corpus_export_refusals_are_recorded(entry):
    """A family torch.onnx could not export is listed with its error (a visible skip, never a silent gap)."""
    if entry is None:
        pytest.skip("the manifest records no export refusal" if manifest() else _NO_CORPUS)
    assert entry["error"], entry
    pytest.skip(f"torch.onnx could not export {entry['family']} at opset {entry['opset']}: {entry['error']}")
