"""The conformance table: per registered op, onnx's official node cases run through onnumba, and the
same cases cross-checked against onnxruntime when it is installed.

``onnumba conformance`` prints it; the test suite runs the same cases (tests/test_onnx_node_suite.py).
"""

from __future__ import annotations

import collections
import warnings

import numpy as np

from onnumba.registry import DEFAULT_DOMAINS, resolve, supported_ops


def _collect():
    from onnx.backend.test.case.node import collect_testcases

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sorted(collect_testcases(), key=lambda c: c.name)


def _supported(case) -> bool:
    opsets = {("" if o.domain in DEFAULT_DOMAINS else o.domain): o.version for o in case.model.opset_import}
    try:
        for n in case.model.graph.node:
            d = "" if n.domain in DEFAULT_DOMAINS else n.domain
            resolve(d, n.op_type, opsets.get(d, 0))
    except Exception:
        return False
    return True


def _compare(got, ref, rtol, atol) -> str | None:
    got, ref = np.asarray(got), np.asarray(ref)
    if got.dtype != ref.dtype:
        return f"dtype {got.dtype} vs {ref.dtype}"
    if got.shape != ref.shape:
        return f"shape {got.shape} vs {ref.shape}"
    if ref.dtype == object:
        return None if got.tolist() == ref.tolist() else "values differ"
    try:
        np.testing.assert_allclose(got, ref, rtol=rtol, atol=atol)
    except AssertionError:
        return "values differ"
    return None


def _array(v):
    from onnx import TensorProto, numpy_helper  # noqa: PLC0415

    return numpy_helper.to_array(v) if isinstance(v, TensorProto) else v


def run_case(case, session_factory) -> str | None:
    """None when the case passes, else a one-line reason (starting with 'refused:' when onnumba declines the
    model at load with its own error, e.g. for an element type it does not support)."""
    from onnumba.errors import ModelError  # noqa: PLC0415

    try:
        sess = session_factory(case.model)
    except ModelError as e:
        return f"refused: {str(e).splitlines()[0]}"[:200]
    except Exception as e:
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:200]
    try:
        names = [i.name for i in sess.get_inputs()]
        for inputs, expected in case.data_sets:
            feeds = dict(zip(names, (_array(v) for v in inputs)))
            expected = [_array(v) for v in expected]
            outs = sess.run(None, feeds)
            for got, ref in zip(outs, expected):
                why = _compare(got, ref, case.rtol, case.atol)
                if why:
                    return why
    except Exception as e:  # the table reports failures, it does not stop at them
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"[:160]
    return None


def conformance_table(ops=None, with_ort: bool = True, progress=None) -> list[dict]:
    """Rows of {op, versions, cases, passed, failed, ort_agree, ort_cases, failures}.

    ``progress``, if given, is called as ``progress(op, k, n)`` before the k-th of n ops is checked.
    """
    import onnumba

    ort = None
    if with_ort:
        try:
            import onnxruntime as ort
        except ImportError:
            ort = None
    ops = set(ops) if ops else None
    by_op = collections.defaultdict(list)
    for case in _collect():
        kinds = {n.op_type for n in case.model.graph.node}
        if len(kinds) == 1 and _supported(case):
            by_op[next(iter(kinds))].append(case)
    rows = []
    todo = [r for r in supported_ops() if not ops or r["op_type"] in ops]
    for k, r in enumerate(todo):
        op = r["op_type"]
        if progress is not None:
            progress(op, k, len(todo))
        cases = by_op.get(op, [])
        fails, refused = {}, {}
        ort_agree = ort_cases = 0
        for c in cases:
            why = run_case(c, lambda m: onnumba.InferenceSession(m))
            if why and why.startswith("refused:"):
                refused[c.name] = why
            elif why:
                fails[c.name] = why
            if ort is not None:
                def ort_factory(m):
                    so = ort.SessionOptions()
                    so.log_severity_level = 4
                    return ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])

                if run_case(c, ort_factory) is None:  # ORT passes the case itself: do we agree with it?
                    ort_cases += 1
                    ort_agree += why is None
        rows.append({"op": op, "versions": r["versions"], "cases": len(cases),
                     "passed": len(cases) - len(fails) - len(refused), "failed": len(fails),
                     "refused": refused, "ort_cases": ort_cases if ort else None, "ort_agree": ort_agree,
                     "failures": fails})
    return rows


def format_table(rows) -> str:
    lines = ["| op | versions | onnx node cases passed | refused at load (out of scope) | failed | "
             "cases onnxruntime passes: we agree |", "|---|---|---|---|---|---|"]
    for r in rows:
        ort = "n/a" if r["ort_cases"] is None else f"{r['ort_agree']}/{r['ort_cases']}"
        lines.append(f"| {r['op']} | {', '.join(map(str, r['versions']))} | {r['passed']}/{r['cases']} | "
                     f"{len(r['refused'])} | {r['failed']} | {ort} |")
    tot = sum(r["cases"] for r in rows)
    ok = sum(r["passed"] for r in rows)
    ref = sum(len(r["refused"]) for r in rows)
    bad = sum(r["failed"] for r in rows)
    lines.append(f"\n{ok}/{tot} single-op node cases pass across {len(rows)} ops; {ref} refused at load with a "
                 f"clear error (element types onnumba does not support); {bad} failed.")
    kinds = sorted({w.split(":", 2)[-1].strip()[:90] for r in rows for w in r["refused"].values()})
    if kinds:
        lines.append("\nRefusals:")
        lines += [f"- {k}" for k in kinds[:20]]
    fails = [(r["op"], n, w) for r in rows for n, w in r["failures"].items()]
    if fails:
        lines.append("\nFailures:")
        lines += [f"- {op} {n}: {w}" for op, n, w in fails]
    return "\n".join(lines)
