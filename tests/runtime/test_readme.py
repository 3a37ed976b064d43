"""The README's claims: the operator list matches the registry; its commands name files that exist."""

import os
import re

import onnx

import onnumba

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _readme() -> str:
    with open(os.path.join(ROOT, "README.md")) as f:
        return f.read()


def test_registry_covers_every_op_the_readme_claims():
    block = re.search(r"<!-- ops:begin -->(.*?)<!-- ops:end -->", _readme(), re.S).group(1)
    claimed = set(re.findall(r"`(\w+)`", block))
    registered = {r["op_type"]: r for r in onnumba.supported_ops()}
    assert claimed, "the README lists no operators"
    assert claimed == set(registered), (sorted(claimed - set(registered)), sorted(set(registered) - claimed))


def test_every_registered_op_claims_every_onnx_version():
    """'every onnx version of each': the registered versions are exactly onnx's since_versions."""
    defined = {}
    for s in onnx.defs.get_all_schemas_with_history():
        if s.domain == "":
            defined.setdefault(s.name, set()).add(s.since_version)
    for r in onnumba.supported_ops():
        if r["domain"] == "ai.onnx":
            missing = defined[r["op_type"]] - set(r["versions"])
            assert not missing, f"{r['op_type']}: onnx versions {sorted(missing)} not registered"


def test_readme_main_command_model_exists():
    m = re.search(r"onnumba run (models/\S+\.onnx)", _readme())
    assert m and os.path.isfile(os.path.join(ROOT, m.group(1)))
