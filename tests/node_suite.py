"""onnx's official node test cases (onnx.backend.test.case.node), run through onnumba.backend."""

from __future__ import annotations

import functools
import warnings

import numpy as np

from onnumba.registry import resolve


@functools.lru_cache(maxsize=1)
def all_cases() -> tuple:
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return tuple(sorted(collect_testcases(), key=lambda c: c.name))


def case_ops(case) -> set:
    return {(n.domain, n.op_type) for n in case.model.graph.node}


def is_supported(case) -> bool:
    """True when every node of the case resolves to a registered op version at the model's opset."""
    opsets = {o.domain: o.version for o in case.model.opset_import}
    for n in case.model.graph.node:
        d = n.domain if n.domain not in ("ai.onnx",) else ""
        try:
            resolve(d, n.op_type, opsets.get(d, opsets.get("", 0)))
        except Exception:
            return False
    return True


def cases_for(op_types) -> list:
    """Cases whose graph uses only ``op_types`` (every node), supported or not."""
    op_types = set(op_types)
    return [c for c in all_cases() if {op for _, op in case_ops(c)} <= op_types]


def run_case(case) -> None:
    """Run one case the way onnx's backend runner does and compare with its stored outputs."""
    from onnumba import backend

    from onnx import TensorProto, numpy_helper

    def arr(v):
        return numpy_helper.to_array(v) if isinstance(v, TensorProto) else v

    rep = backend.prepare(case.model, "CPU")
    for inputs, expected in case.data_sets:
        inputs = [arr(v) for v in inputs]
        expected = [arr(v) for v in expected]
        outputs = list(rep.run(inputs))
        assert len(outputs) == len(expected), f"{len(outputs)} outputs, expected {len(expected)}"
        for i, (got, ref) in enumerate(zip(outputs, expected)):
            ref = np.asarray(ref)
            got = np.asarray(got)
            assert got.dtype == ref.dtype, f"output {i}: dtype {got.dtype}, expected {ref.dtype}"
            assert got.shape == ref.shape, f"output {i}: shape {got.shape}, expected {ref.shape}"
            if ref.dtype == object or ref.dtype.kind in "US":
                assert got.tolist() == ref.tolist(), f"output {i}"
            else:
                np.testing.assert_allclose(got, ref, rtol=case.rtol, atol=case.atol, err_msg=f"output {i}")
