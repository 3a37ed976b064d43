"""Fuzz worker: ``python -m tests.fuzz.worker SEED START STOP`` runs those cases and prints one JSON line per case
as soon as it is done (flushed), so the parent can tell which case a crash or a hang happened in.

Outcome of one case, judged against onnxruntime and, where they disagree, onnx.reference (the spec):

* ``match``: onnumba ran, and its outputs equal onnxruntime's (or the reference's);
* ``refused``: onnumba raised a typed OnnumbaError (``ort`` says whether onnxruntime accepted the case);
* ``ours_only``: onnumba ran, onnxruntime refused, and onnx.reference agrees with onnumba or cannot run it;
* failures: ``raw`` (an exception that is not an OnnumbaError), ``mismatch`` (outputs differ from both
  onnxruntime and the reference); the parent adds ``crash`` and ``hang``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import warnings

import numpy as np


def _limit_memory(gib: float) -> None:
    """Cap the address space so an allocation bomb raises MemoryError here instead of hurting the machine."""
    lim = int(gib * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (lim, lim))


def _same(a, b) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return False
    if a.dtype.kind in "fc" or b.dtype.kind in "fc":
        a64, b64 = a.astype(np.float64), b.astype(np.float64)
        # the largest finite value and Inf are one outcome (onnx.reference's Resize saturates where x + Inf is Inf)
        big = float(np.finfo(a.dtype if a.dtype.kind == "f" else np.float64).max)
        a64, b64 = (np.where(np.abs(v) >= big, np.sign(v) * np.inf, v) for v in (a64, b64))
        if not np.array_equal(np.isnan(a64), np.isnan(b64)):
            return False
        ok = ~np.isnan(a64)
        tol = 1e-3 if a.dtype == np.float16 else 1e-4
        return bool(np.allclose(a64[ok], b64[ok], rtol=tol, atol=1e-5))
    return bool(np.array_equal(a, b))


def _all_same(xs, ys) -> bool:
    return len(xs) == len(ys) and all(_same(x, y) for x, y in zip(xs, ys))


def _spec_reference(model: bytes):
    """A naive reference of the spec's formula for ops where onnx.reference is itself wrong, else None.

    GlobalMaxPool / GlobalAveragePool: see below. LRN: onnx.reference loops its channel window over the batch size (``range(x.shape[0])``) and onnxruntime's
    running channel sum turns one Inf into NaN for channels outside its window. ConvTranspose with
    ``output_shape``: onnx.reference derives pads from it only under SAME_*, the spec's text always does.
    The spec's text is the judge (tests/reference).
    """
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load_from_string(model)
    if len(m.graph.node) != 1:
        return None
    node = m.graph.node[0]
    a = {x.name: helper.get_attribute_value(x) for x in node.attribute}
    a = {k: v.decode() if isinstance(v, bytes) else v for k, v in a.items()}
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}

    def args(feeds):
        return [feeds[n] if n in feeds else inits.get(n) for n in node.input]

    if node.op_type == "LRN":
        from tests.reference.normalization import lrn

        kw = {k: a[k] for k in ("alpha", "beta", "bias") if k in a}
        return lambda feeds: [lrn(args(feeds)[0], a["size"], **kw)]
    if node.op_type in ("GlobalMaxPool", "GlobalAveragePool"):
        # the spec's max / mean over the spatial axes (IEEE: a NaN in the plane gives NaN); onnx.reference's
        # global pools lose NaNs in some planes and give a wrong rank for C = 0, onnxruntime skips NaNs
        reduce = np.max if node.op_type == "GlobalMaxPool" else np.mean

        def global_pool(feeds):
            x = args(feeds)[0]
            axes = tuple(range(2, x.ndim))
            if x.size == 0:
                return [np.zeros(x.shape[:2] + (1,) * len(axes), x.dtype)]
            return [reduce(x.astype(np.float64), axis=axes, keepdims=True).astype(x.dtype)]

        return global_pool
    if node.op_type in ("MaxPool", "AveragePool") and len(node.output) == 1:
        # the spec's windows with IEEE max (a NaN in a window gives NaN); onnxruntime skips NaNs and
        # onnx.reference drops some padded windows
        from tests.reference.pool import average_pool, max_pool

        keys = ("kernel_shape", "strides", "pads", "auto_pad", "ceil_mode") + \
            (("dilations", "storage_order") if node.op_type == "MaxPool" else ("count_include_pad",))
        kw = {k: a[k] for k in keys if k in a}
        if max(list(a.get("pads", [0])) + [0]) > 64:  # the naive windows would take minutes
            return None
        if node.op_type == "MaxPool":
            return lambda feeds: [max_pool(args(feeds)[0], **kw)[0]]
        return lambda feeds: [average_pool(args(feeds)[0], **kw)]
    if node.op_type == "ConvTranspose" and "output_shape" in a:
        from tests.reference.conv_transpose import conv_transpose_ref

        return lambda feeds: [conv_transpose_ref(*args(feeds), **a).astype(np.float32)]
    return None


def run_case(model: bytes, feeds) -> dict:
    import onnumba
    from onnumba.errors import OnnumbaError

    out = {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sess = onnumba.InferenceSession(model)
            ours = sess.run(None, feeds) if feeds is not None else None
    except OnnumbaError as e:
        out.update(outcome="refused", error=f"{type(e).__name__}: {str(e)[:300]}")
        ours = e
    except Exception as e:  # noqa: BLE001  (the finding this suite looks for)
        out.update(outcome="raw", error=f"{type(e).__name__}: {str(e)[:300]}")
        return out
    if feeds is None:  # file cases: loading either works or raises a typed error
        out.setdefault("outcome", "match")
        return out
    try:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.log_severity_level = 4
        so.intra_op_num_threads = 1
        theirs = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"]).run(None, feeds)
        out["ort"] = "ok"
    except Exception as e:  # noqa: BLE001
        theirs = None
        out["ort"] = f"refused: {str(e)[:160]}"
    if isinstance(ours, Exception):
        return out
    if theirs is not None and _all_same(ours, theirs):
        out["outcome"] = "match"
        return out
    if sum(np.asarray(o).size for o in ours) > 200_000:  # onnx.reference would take minutes: no verdict
        out["outcome"] = "ours_only" if theirs is None else "mismatch"
        out["note"] = "output too large for onnx.reference"
        return out
    try:  # onnxruntime refused or disagrees: the spec's reference decides
        from onnx.reference import ReferenceEvaluator

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            spec = _spec_reference(model)
            ref = spec(feeds) if spec is not None else ReferenceEvaluator(model).run(None, feeds)
        agrees = _all_same(ours, ref)
    except Exception:  # noqa: BLE001
        ref, agrees = None, None
    if theirs is None:
        out["outcome"] = "ours_only" if agrees in (True, None) else "mismatch"
    else:
        out["outcome"] = "match" if agrees else "mismatch"
        out["note"] = "differs from onnxruntime, equals onnx.reference" if agrees else "differs from both"
    return out


def main() -> None:
    from tests.fuzz.generate import case

    seed, start, stop = (int(a) for a in sys.argv[1:4])
    _limit_memory(float(os.environ.get("ONNUMBA_FUZZ_GIB", "6")))
    for i in range(start, stop):
        cid, model, feeds = case(seed, i)
        print(json.dumps({"id": cid, "index": i, "started": True}), flush=True)
        res = run_case(model, feeds)
        res.update(id=cid, index=i)
        print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
