"""The corpus as the test and the sweep see it: what is in the cache folder, the feeds, the comparison with
onnxruntime, why a model does not load, and which node first diverges. No torch here: the cache is enough.
"""

from __future__ import annotations

import json
import os
from collections import Counter

import numpy as np
import onnx

from tests.corpus.make_torchvision_corpus import MANIFEST, corpus_dir

#: models below this size run in the default suite; the rest only under ``-m corpus``
SMALL_BYTES = 15_000_000
RTOL = 1e-3
ATOL = 1e-4


def model_files(folder: str | None = None) -> list:
    """Paths of the ``.onnx`` files in the cache folder, sorted by family then opset."""
    folder = folder or corpus_dir()
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".onnx"))


def manifest(folder: str | None = None) -> list:
    """The generator's manifest entries (exported or refused by torch.onnx); empty when there is none."""
    path = os.path.join(folder or corpus_dir(), MANIFEST)
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return json.load(f)["models"]


_NP = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
       onnx.TensorProto.INT64: np.int64, onnx.TensorProto.INT32: np.int32}


def feeds(model: onnx.ModelProto, seed: int = 0) -> dict:
    """Seeded standard-normal feeds for the graph inputs that are not initializers; a dynamic axis gets 2."""
    rng = np.random.default_rng(seed)
    inits = {t.name for t in model.graph.initializer}
    out = {}
    for vi in model.graph.input:
        if vi.name in inits:
            continue
        tt = vi.type.tensor_type
        shape = [d.dim_value if d.dim_value > 0 else 2 for d in tt.shape.dim]
        out[vi.name] = rng.standard_normal(shape).astype(_NP[tt.elem_type])
    return out


def ort_session(model, threads: int = 0):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])


def atol_for(ref: np.ndarray) -> float:
    """1e-4, scaled by the output's magnitude: tiny logits get a tighter bound, large ones a looser one."""
    scale = float(np.max(np.abs(ref))) if ref.size else 0.0
    return ATOL * scale if scale > 0 else ATOL


def max_rel_diff(ours: np.ndarray, ref: np.ndarray) -> float:
    """max |ours - ref| / max |ref|; inf when shapes differ or NaNs disagree."""
    if ours.shape != ref.shape:
        return float("inf")
    if ours.size == 0:
        return 0.0
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    m = ~np.isnan(b)
    return float(np.max(np.abs(a[m] - b[m]), initial=0.0) / (np.max(np.abs(b[m]), initial=0.0) + 1e-30))


def outputs_match(ours: np.ndarray, ref: np.ndarray) -> bool:
    return (ours.shape == ref.shape and ours.dtype == ref.dtype and
            bool(np.allclose(ours, ref, rtol=RTOL, atol=atol_for(ref), equal_nan=True)))


def missing_ops(model: onnx.ModelProto) -> list:
    """``["ReduceMean v13 (x2)", ...]``: the operators (version in force) onnumba's registry does not provide."""
    from onnumba.errors import UnsupportedOpError
    from onnumba.registry import resolve, schema_version

    opsets = {("" if o.domain in ("", "ai.onnx") else o.domain): o.version for o in model.opset_import}
    counts = Counter()
    for n in model.graph.node:
        dom = "" if n.domain in ("", "ai.onnx") else n.domain
        try:
            resolve(dom, n.op_type, opsets.get(dom, 0))
        except UnsupportedOpError:
            v = schema_version(dom, n.op_type, opsets.get(dom, 0))
            counts[f"{(dom + '.') if dom else ''}{n.op_type} v{v}"] += 1
    return [f"{k} (x{c})" if c > 1 else k for k, c in sorted(counts.items())]


def first_divergence(model: onnx.ModelProto, feed: dict) -> str:
    """Expose every node output, run both runtimes, and name the first node (graph order) whose output differs.

    Fusion in onnumba sees every intermediate as a graph output, so this runs nodes one by one; the answer is
    the first divergent node, not a proof that the fused run diverges there.
    """
    import onnumba

    inferred = onnx.shape_inference.infer_shapes(model)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in inferred.graph.value_info}
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have and o in types:
                m.graph.output.append(onnx.helper.make_tensor_value_info(o, types[o], None))
                have.add(o)
    data = m.SerializeToString()
    names = [o.name for o in m.graph.output]
    ours = dict(zip(names, onnumba.InferenceSession(data).run(None, feed)))
    refs = dict(zip(names, ort_session(data).run(None, feed)))
    for i, n in enumerate(m.graph.node):
        for o in n.output:
            if o in ours and not outputs_match(np.asarray(ours[o]), np.asarray(refs[o])):
                return (f"node {i} {n.name or '?'} ({n.op_type}) output {o!r}: max rel diff "
                        f"{max_rel_diff(np.asarray(ours[o]), np.asarray(refs[o])):.2e}, shapes "
                        f"{np.shape(ours[o])} vs {np.shape(refs[o])}")
    return "no single node diverges when every intermediate is an output (a fusion difference?)"
