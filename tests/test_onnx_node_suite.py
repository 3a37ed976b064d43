"""Every onnx node test case whose ops onnumba registers (at the case's opset) runs through onnumba.backend.

Cases whose ops we do not claim are not collected; the ones we claim but deliberately fail carry a reason
in tests/node_exclusions.py and are reported as skipped.
"""

import pytest

from tests.node_exclusions import EXCLUDED
from tests.node_suite import all_cases, is_supported, run_case

CASES = [c for c in all_cases() if is_supported(c)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_node_case(case):
    if case.name in EXCLUDED:
        pytest.skip(EXCLUDED[case.name])
    run_case(case)


def test_exclusions_are_claimed_cases():
    """An exclusion for a case we do not even claim is stale."""
    claimed = {c.name for c in CASES}
    stale = sorted(set(EXCLUDED) - claimed)
    assert not stale, f"exclusions for cases not run: {stale}"
