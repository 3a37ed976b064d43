"""The fuzz suite (issue 13): generated hostile single-op models, odd feeds and damaged files, each case run in
a worker subprocess so a crash or a hang is caught. Every case must end in a result equal to onnxruntime's (or,
where they differ, onnx.reference's) or in a typed onnumba error; never a raw exception, a crash or a hang.

The default suite runs a short stream; ``pytest -m slow tests/test_fuzz.py`` runs 5,000 cases. By hand:
``python -m tests.fuzz.runner --seed 7 --cases 5000``.
"""

from __future__ import annotations

import pytest

from tests.fuzz import runner


def _check(seed: int, cases: int) -> None:
    results = runner.run(seed, cases, jobs=2, timeout=300)
    counts, failures, _ = runner.summary(results)
    assert len(results) == cases, f"only {len(results)} of {cases} cases reported"
    assert counts["match"] > cases // 5, f"too few cases ran to a result to mean anything: {dict(counts)}"
    lines = [f"{r['outcome']} {r['id']}: {r.get('error') or r.get('note', '')}" for r in failures]
    assert not failures, f"{len(failures)} failing cases (regenerate one with tests.fuzz.generate.case(seed, " \
                         f"index)):\n" + "\n".join(lines[:30])


def test_fuzz_short():
    _check(seed=2026, cases=300)


@pytest.mark.slow
def test_fuzz_5000():
    _check(seed=7, cases=5000)
