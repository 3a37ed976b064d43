"""Compile kernels ahead of time into the kernel cache, on every core: ``onnumba warmup [MODEL ...]``.

With models, each model is planned and run once on random data (batch 1 unless ``batch`` says otherwise) in
its own worker process, so exactly the kernels its plan uses are compiled, several models at a time. Without
models, a built-in set of small one-node models covering the common CNN and transformer ops is compiled,
split over the workers. Worker processes write to the same cache (:func:`onnumba.ops._numba.cache_dir`), so
a later ``InferenceSession`` in any process loads the kernels instead of compiling them.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

__all__ = ["warmup", "builtin_models", "WarmupResult"]


@dataclass(frozen=True)
class WarmupResult:
    """One warmed model: its name, seconds taken, kernels compiled by it (0 when all were cached), error text."""

    name: str
    seconds: float
    compiled: int
    error: str | None = None


def builtin_models() -> list:
    """``(name, ModelProto)`` pairs: one-node float32 models for the ops most exported models use."""
    import numpy as np  # noqa: PLC0415
    import onnx  # noqa: PLC0415
    from onnx import TensorProto, helper, numpy_helper  # noqa: PLC0415

    rng = np.random.default_rng(0)

    def model(name, op, x_shape, attrs=None, consts=(), extra_inputs=(), opset=17):
        inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), f"c{i}")
                 for i, s in enumerate(consts)]
        node = helper.make_node(op, ["x"] + [f"c{i}" for i in range(len(consts))] + list(extra_inputs), ["y"],
                                **(attrs or {}))
        g = helper.make_graph([node], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
        m.ir_version = 8
        inferred = {v.name: v for v in onnx.shape_inference.infer_shapes(m).graph.output}
        m.graph.output[0].CopyFrom(inferred["y"])  # a valid model declares its output's shape
        return name, m

    out = []
    for size in (8, 56):  # small maps run serial kernels, larger ones the parallel ones
        x = [1, 32, size, size]
        out += [
            model(f"conv3x3_{size}", "Conv", x, {"pads": [1, 1, 1, 1]}, [(32, 32, 3, 3), (32,)]),
            model(f"conv1x1_{size}", "Conv", x, {}, [(64, 32, 1, 1), (64,)]),
            model(f"conv_s2_{size}", "Conv", x, {"pads": [1, 1, 1, 1], "strides": [2, 2]}, [(32, 32, 3, 3)]),
            model(f"depthwise_{size}", "Conv", x, {"pads": [1, 1, 1, 1], "group": 32}, [(32, 1, 3, 3), (32,)]),
            model(f"convT_{size}", "ConvTranspose", x, {"strides": [2, 2]}, [(32, 16, 2, 2)]),
            model(f"maxpool_{size}", "MaxPool", x, {"kernel_shape": [3, 3], "strides": [2, 2]}),
            model(f"avgpool_{size}", "AveragePool", x, {"kernel_shape": [2, 2], "strides": [2, 2]}),
            model(f"gap_{size}", "GlobalAveragePool", x),
            model(f"relu_{size}", "Relu", x),
            model(f"sigmoid_{size}", "Sigmoid", x),
            model(f"hardswish_{size}", "HardSwish", x),
            model(f"bn_{size}", "BatchNormalization", x, {}, [(32,), (32,), (32,), (32,)]),
            model(f"softmax_{size}", "Softmax", x, {"axis": -1}),
            model(f"add_{size}", "Add", x, {}, [(32, 1, 1)]),
            model(f"mul_{size}", "Mul", x, {}, [(32, 1, 1)]),
        ]
    out += [
        model("gemm", "Gemm", [1, 512], {"transB": 1}, [(256, 512), (256,)]),
        model("matmul", "MatMul", [4, 64, 64], {}, [(64, 64)]),
        model("layernorm", "LayerNormalization", [4, 64, 64], {"axis": -1}, [(64,), (64,)]),
        model("reducemean", "ReduceMean", [4, 64, 64], {"axes": [-1]}, opset=13),
    ]
    return out


def _warm_one(item) -> WarmupResult:
    """Worker: plan and run one model (a path or serialized bytes) once on random data."""
    name, model, batch = item
    import numpy as np  # noqa: PLC0415

    import onnumba  # noqa: PLC0415
    from onnumba import progress  # noqa: PLC0415
    from onnumba.batch import _dtype_of  # noqa: PLC0415

    t0 = time.perf_counter()
    before = progress.compiled_count() if progress._state["installed"] else 0
    progress.ensure_installed()
    try:
        sess = onnumba.InferenceSession(model)
        rng = np.random.default_rng(0)
        feeds = {}
        for vi in sess.get_inputs():
            shape = [d if isinstance(d, int) and d >= 0 else batch for d in (vi.shape or [])]
            dt = _dtype_of(vi.type) or np.float32
            a = rng.standard_normal(shape) if np.dtype(dt).kind == "f" else rng.integers(0, 2, shape)
            feeds[vi.name] = np.asarray(a).astype(dt)
        sess.run(None, feeds)
        err = None
    except Exception as e:  # noqa: BLE001  (reported per model; the others still warm)
        err = f"{type(e).__name__}: {e}"
    return WarmupResult(name, time.perf_counter() - t0, progress.compiled_count() - before, err)


def warmup(models=None, *, jobs: int | None = None, batch: int = 1, on_result=None) -> list:
    """Compile the kernels ``models`` need (paths, bytes or ModelProtos; None: the built-in set) into the cache.

    Args:
        jobs: worker processes (default: one per core, at most one per model).
        batch: size used for symbolic (dynamic) dimensions.
        on_result: called with each :class:`WarmupResult` as it finishes (in completion order).

    Returns:
        the :class:`WarmupResult` of every model, in the order given.
    """
    import concurrent.futures as cf  # noqa: PLC0415
    import multiprocessing as mp  # noqa: PLC0415

    if models is None:
        items = [(n, m.SerializeToString(), batch) for n, m in builtin_models()]
    else:
        items = []
        for m in models:
            if isinstance(m, (str, os.PathLike)):
                items.append((os.fspath(m), os.fspath(m), batch))
            elif isinstance(m, bytes):
                items.append((f"model {len(items)}", m, batch))
            else:
                items.append((m.graph.name or f"model {len(items)}", m.SerializeToString(), batch))
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(items)))
    results: dict = {}
    if jobs == 1:
        for it in items:
            results[it[0]] = r = _warm_one(it)
            if on_result:
                on_result(r)
    else:
        # spawn: Numba's thread pool does not survive fork; each worker compiles different kernels into the cache
        with cf.ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as ex:
            futs = {ex.submit(_warm_one, it): it[0] for it in items}
            for f in cf.as_completed(futs):
                r = f.result()
                results[futs[f]] = r
                if on_result:
                    on_result(r)
    return [results[it[0]] for it in items]
