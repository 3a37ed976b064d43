"""An onnxruntime-shaped session: build = load -> graph -> plan; run = validate feeds -> execute plan.

Code written for ``onnxruntime.InferenceSession`` (``get_inputs``, ``get_outputs``, ``run(None, feeds)``,
``run([name], feeds)``) runs unchanged on :class:`InferenceSession`.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field

import numba
import numpy as np

import onnumba.ops  # noqa: F401  (fills the registry)
from onnumba.ops._numba import BlasPinned
from onnumba.errors import InputError, InputTypeError, ModelWarning, OnnumbaError, shape_str
from onnumba.graph import ValueInfo, build_graph, check_model, dtype_to_type_name, load_model
from onnumba.planner import execute, make_plan, value_inputs
from onnumba.registry import PlanContext, TensorInfo

#: most elements a fed input may have when plans are specialised on its value
_MAX_VALUE_INPUT = 4096

#: run-config key that switches every Dropout (and training-capable op) of the model into training mode
TRAINING_MODE_KEY = "onnumba.training_mode"


class GraphOptimizationLevel:
    """Mirror of ``onnxruntime.GraphOptimizationLevel`` (the values are the same ints)."""

    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99


class SessionOptions:
    """Subset of ``onnxruntime.SessionOptions`` that onnumba honours.

    Attributes:
        intra_op_num_threads: Numba threads used by this session's runs (0: Numba's default).
        graph_optimization_level: ``GraphOptimizationLevel``; 0 disables graph rewrites (fusions, folding
            of BatchNormalization into Conv); anything else enables them.
        enable_profiling: record each node's run time; ``session.end_profiling()`` writes them to a file.
    """

    def __init__(self):
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.log_severity_level = 2
        self.enable_profiling = False


class RunOptions:
    """Subset of ``onnxruntime.RunOptions``.

    ``training_mode``: None (default) runs each op as the model says; True runs every Dropout in training
    mode; False runs every Dropout as in inference, including one the model asks to train (a Dropout before
    opset 7 without ``is_test``, or a ``training_mode`` input that is true).
    ``add_run_config_entry("onnumba.training_mode", "1")`` (or ``"0"``) does the same, onnxruntime-style.
    """

    def __init__(self, training_mode: bool | None = None):
        self._entries = {}
        self.training_mode = training_mode
        self.log_severity_level = 2

    def add_run_config_entry(self, key: str, value: str) -> None:
        self._entries[str(key)] = str(value)
        if key == TRAINING_MODE_KEY:
            self.training_mode = str(value).strip().lower() in ("1", "true", "yes", "on")

    def get_run_config_entry(self, key: str) -> str:
        return self._entries[key]


@dataclass(frozen=True)
class NodeArg:
    """What ``get_inputs()`` / ``get_outputs()`` return: ``.name``, ``.shape``, ``.type``."""

    name: str
    shape: list
    type: str

    def __repr__(self):
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"


@dataclass(frozen=True)
class PlanStep:
    """One step of a session's plan, as :meth:`InferenceSession.get_plan` shows it (read-only).

    Attributes:
        name: the node's name (a rewrite that replaces a node keeps the replaced node's name).
        op_type: the op the step runs (e.g. ``Conv``, or ``ChannelAffine`` for a rewritten BatchNormalization).
        domain: the op's domain ('' for ai.onnx).
        inputs, outputs: value names ('' marks an omitted optional one).
        output_shapes: the concrete shape of each output (None for an omitted one).
        fused: ``(name, op_type)`` of each node the optimiser folded into this step, in graph order.
        epilogue: the fused "bias, then activation" the step applies, as text (None: none).
        algorithm: the algorithm the op chose for these shapes, when it exposes one (None otherwise).
    """

    name: str
    op_type: str
    domain: str
    inputs: tuple
    outputs: tuple
    output_shapes: tuple
    fused: tuple = ()
    epilogue: str | None = None
    algorithm: str | None = None


def _epilogue_text(attrs) -> str | None:
    epi = getattr(attrs, "epilogue", None)
    if epi is not None:
        text = getattr(epi, "describe", None)
        text = text() if callable(text) else str(epi)
        return None if text in ("", "none", "identity") else text
    act = getattr(attrs, "activation", None)
    return act if isinstance(act, str) and act != "none" else None


def _plan_view(plan) -> list:
    out = []
    for st in plan.steps:
        algo = getattr(st.attrs, "algorithm", None)
        out.append(PlanStep(
            name=st.node.name, op_type=st.node.op_type, domain=st.node.domain, inputs=tuple(st.inputs),
            outputs=tuple(st.outputs), output_shapes=tuple(None if i is None else i.shape for i in st.infos),
            fused=tuple((n.name, n.op_type) for n in getattr(st, "fused", ())),
            epilogue=_epilogue_text(st.attrs), algorithm=None if algo is None else str(algo)))
    return out


@dataclass(frozen=True)
class ModelMetadata:
    producer_name: str
    graph_name: str
    domain: str
    description: str
    graph_description: str
    version: int
    custom_metadata_map: dict = field(default_factory=dict)


def _node_arg(vi) -> NodeArg:
    shape = None if vi.shape is None else list(vi.shape)
    return NodeArg(vi.name, shape, vi.type_name)


def _warn_declared_mismatch(g, infos: dict) -> None:
    """One warning when the model's value_info / output declarations disagree with the inferred types and
    shapes (the inferred ones are what runs, as in onnxruntime)."""
    bad = []
    for vi in list(g.value_info) + list(g.output):
        info = infos.get(vi.name)
        try:
            decl = ValueInfo.from_proto(vi)
        except OnnumbaError:
            continue  # a non-tensor declaration: nothing to compare
        if info is None:
            continue
        dtype_bad = decl.elem_type and decl.dtype != info.dtype
        shape_bad = decl.shape is not None and (len(decl.shape) != info.rank or any(
            isinstance(d, int) and d != got for d, got in zip(decl.shape, info.shape)))
        if dtype_bad or shape_bad:
            bad.append(f"{vi.name!r} declared {decl.type_name} {shape_str(decl.shape or ())}, inferred "
                       f"{dtype_to_type_name(info.dtype)} {shape_str(info.shape)}")
    if bad:
        warnings.warn(f"{len(bad)} declared value info(s) disagree with shape inference, which is used: "
                      + "; ".join(bad[:3]) + ("; ..." if len(bad) > 3 else ""), ModelWarning, stacklevel=4)


def _training_flag(run_options) -> bool | None:
    mode = getattr(run_options, "training_mode", None)
    return None if mode is None else bool(mode)


def _feed_dtype_ok(arr: np.ndarray, want: np.dtype) -> bool:
    if want == object:
        return arr.dtype == object or arr.dtype.kind in "US"
    return arr.dtype == want


class InferenceSession:
    """Load an ONNX model and run it, with onnxruntime's API.

    Args:
        path_or_bytes: a path to an ``.onnx`` file, the file's bytes, or an ``onnx.ModelProto``.
        sess_options: :class:`SessionOptions` (threads, graph optimization level).
        providers: accepted for compatibility; onnumba always runs on the CPU.
    """

    def __init__(self, path_or_bytes, sess_options: SessionOptions | None = None, providers=None,
                 provider_options=None, **kwargs):
        self._options = sess_options or SessionOptions()
        proto = load_model(path_or_bytes, check=False)
        self._model = proto
        graph = build_graph(proto)  # structural errors (cycles, unsupported ops) get onnumba's own messages
        check_model(proto, graph)  # node-level problems refuse; model-level ones that leave it clear warn
        self._optimize = bool(self._options.graph_optimization_level)
        self._graph = graph
        self._inputs = {vi.name: vi for vi in graph.inputs}
        self._outputs = [vi.name for vi in graph.outputs]
        self._plans: dict = {}
        self._profile = [] if self._options.enable_profiling else None
        # small fed inputs whose values shape the plan (e.g. a Reshape's shape given as a graph input)
        self._value_inputs = value_inputs(graph)
        self._lock = threading.Lock()
        self._last_plan = None  # the plan of the latest run (or the one made at load): what get_plan() shows
        # a model whose inputs are all fully static is planned now, so its errors show at load
        if all(vi.shape is not None and all(isinstance(d, int) for d in vi.shape) for vi in graph.inputs):
            infos = {vi.name: TensorInfo(vi.dtype, vi.shape) for vi in graph.inputs}
            if not self._value_inputs:
                self._plan_for(infos, frozenset(), None, None)

    # ---------------------------------------------------------------------------------- metadata
    def get_inputs(self) -> list:
        return [_node_arg(vi) for vi in self._graph.inputs]

    def get_outputs(self) -> list:
        return [_node_arg(vi) for vi in self._graph.outputs]

    def get_overridable_initializers(self) -> list:
        return [_node_arg(vi) for vi in self._graph.overridable.values()]

    def get_modelmeta(self) -> ModelMetadata:
        m = self._model
        return ModelMetadata(
            producer_name=m.producer_name, graph_name=m.graph.name, domain=m.domain,
            description=m.doc_string, graph_description=m.graph.doc_string, version=int(m.model_version),
            custom_metadata_map={p.key: p.value for p in m.metadata_props})

    def get_providers(self) -> list:
        return ["CPUExecutionProvider"]

    def get_provider_options(self) -> dict:
        return {"CPUExecutionProvider": {}}

    def get_session_options(self) -> SessionOptions:
        return self._options

    def end_profiling(self) -> str:
        """Write the per-node timings recorded since the session started (``enable_profiling``) as JSON.

        Like onnxruntime, returns the file's path; the file holds one record per node run with its name,
        op type and duration in microseconds, plus a per-op-type summary (see :meth:`profile_summary`).
        """
        import json  # noqa: PLC0415
        import tempfile  # noqa: PLC0415

        if self._profile is None:
            return ""
        records = [{"name": n.name, "op_type": n.op_type, "dur_us": round(t * 1e6, 1)} for n, t in self._profile]
        fd, path = tempfile.mkstemp(prefix="onnumba_profile_", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump({"nodes": records, "by_op_type": self.profile_summary()}, f, indent=1)
        self._profile = []
        return path

    def profile_summary(self) -> dict:
        """op_type -> {"calls", "total_ms"} over the runs recorded so far, slowest first."""
        acc: dict = {}
        for n, t in self._profile or []:
            d = acc.setdefault(n.op_type, {"calls": 0, "total_ms": 0.0})
            d["calls"] += 1
            d["total_ms"] += t * 1e3
        return dict(sorted(acc.items(), key=lambda kv: -kv[1]["total_ms"]))

    # ---------------------------------------------------------------------------------- running
    def _check_feeds(self, input_feed) -> dict:
        if not isinstance(input_feed, dict):
            raise InputError(f"input_feed must be a dict of input name -> numpy array, got "
                             f"{type(input_feed).__name__}")
        feeds = {}
        expected = list(self._inputs)
        for name, value in input_feed.items():
            vi = self._inputs.get(name) or self._graph.overridable.get(name)
            if vi is None:
                raise InputError(f"unknown input {name!r}; the model's inputs are {expected}")
            arr = value if isinstance(value, np.ndarray) else np.asarray(value)
            want = vi.dtype
            if not _feed_dtype_ok(arr, want):
                raise InputTypeError(f"input {name!r}: expected element type {vi.type_name}, got "
                                     f"{dtype_to_type_name(arr.dtype) if arr.dtype.kind not in 'US' else 'string'}"
                                     f" (numpy {arr.dtype}); convert it with .astype(np.{want.name})")
            if want == object and arr.dtype != object:
                arr = arr.astype(object)
            elif not (arr.flags.writeable and arr.flags.aligned):
                # e.g. np.frombuffer data: kernels are compiled for writeable, aligned arrays only
                arr = np.array(arr, copy=True)
            if vi.shape is not None:
                if arr.ndim != len(vi.shape):
                    raise InputError(f"input {name!r}: expected rank {len(vi.shape)} with shape "
                                     f"{shape_str(vi.shape)}, got rank {arr.ndim} with shape {shape_str(arr.shape)}")
                for axis, (d, got) in enumerate(zip(vi.shape, arr.shape)):
                    if isinstance(d, int) and d != got:
                        raise InputError(f"input {name!r}: dimension {axis} must be {d} (expected shape "
                                         f"{shape_str(vi.shape)}), got shape {shape_str(arr.shape)}")
            feeds[name] = arr
        missing = [n for n in self._inputs if n not in feeds]
        if missing:
            raise InputError(f"missing input(s) {missing}; the model's inputs are {expected}")
        return feeds

    def _plan_for(self, infos: dict, overrides: frozenset, training: bool | None, wanted, values: dict | None = None):
        vkey = tuple(sorted((n, a.dtype.str, a.shape, a.tobytes()) for n, a in (values or {}).items()))
        key = (tuple(sorted((n, i.dtype.str, i.shape) for n, i in infos.items())), overrides, training, wanted, vkey)
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    ctx = PlanContext(training=training is True, inference=training is False)
                    plan = make_plan(self._graph, infos, overrides, ctx, wanted,
                                     optimize=self._optimize, fed_values=values)
                    if not self._plans:
                        _warn_declared_mismatch(self._model.graph, plan.infos)
                    if len(self._plans) > 64:  # bounded cache of shape signatures
                        self._plans.pop(next(iter(self._plans)))
                    self._plans[key] = plan
        self._last_plan = plan
        return plan

    def get_plan(self, input_shapes: dict | None = None, run_options: RunOptions | None = None) -> list:
        """The steps this session executes, after graph optimisation, as a list of frozen :class:`PlanStep`.

        Args:
            input_shapes: input name -> concrete shape; the plan for those shapes is made (or reused) without
                running anything. Inputs left out use their declared shape, which must then be fully static.
                None: the plan of the latest ``run`` (or, for a model whose inputs are all static, the plan
                made at load).
            run_options: the :class:`RunOptions` the plan is made for (training mode changes Dropout steps).

        A plan may also depend on the values of small fed inputs (e.g. a Reshape's shape given as an input);
        such a session's plan is shown after a ``run`` only.
        """
        if input_shapes is None:
            if self._last_plan is None:
                raise InputError("no plan yet: the model has inputs with symbolic dims, so its plan is made per "
                                 "input shape; call get_plan({name: shape, ...}) or run the model first")
            return _plan_view(self._last_plan)
        if not isinstance(input_shapes, dict):
            raise InputError(f"input_shapes must be a dict of input name -> shape, got {type(input_shapes).__name__}")
        if self._value_inputs:
            raise InputError(f"the plan depends on the values of input(s) {sorted(self._value_inputs)}; run the "
                             f"model and call get_plan() without arguments")
        infos = {}
        for name, vi in self._inputs.items():
            shape = input_shapes.get(name, vi.shape)
            if shape is None or not all(isinstance(d, (int, np.integer)) and d >= 0 for d in shape):
                raise InputError(f"input {name!r}: a concrete shape is needed to make a plan, got "
                                 f"{'no shape' if shape is None else shape_str(shape)}; pass "
                                 f"input_shapes={{{name!r}: (...)}}")
            if vi.shape is not None:
                if len(shape) != len(vi.shape) or any(isinstance(d, int) and d != g
                                                       for d, g in zip(vi.shape, shape)):
                    raise InputError(f"input {name!r}: shape {shape_str(shape)} does not match the declared "
                                     f"{shape_str(vi.shape)}")
            infos[name] = TensorInfo(vi.dtype, tuple(int(d) for d in shape))
        unknown = sorted(set(input_shapes) - set(self._inputs))
        if unknown:
            raise InputError(f"unknown input(s) {unknown}; the model's inputs are {list(self._inputs)}")
        training = _training_flag(run_options)
        return _plan_view(self._plan_for(infos, frozenset(), training, None))

    def run(self, output_names, input_feed, run_options: RunOptions | None = None) -> list:
        """Compute ``output_names`` (None: all outputs) from ``input_feed`` (name -> numpy array)."""
        if output_names is None:
            wanted = None
            names = self._outputs
        else:
            names = list(output_names)
            for n in names:
                if n not in self._outputs:
                    raise InputError(f"unknown output name {n!r}; the model's outputs are {self._outputs}")
            wanted = tuple(names)
        feeds = self._check_feeds(input_feed)
        infos = {n: TensorInfo(a.dtype, a.shape) for n, a in feeds.items()}
        overrides = frozenset(n for n in feeds if n in self._graph.overridable)
        training = _training_flag(run_options)
        values = {}
        for n in self._value_inputs & feeds.keys():
            a = feeds[n]
            if a.size > _MAX_VALUE_INPUT or a.dtype == object:
                raise InputError(f"input {n!r} sets shapes or indices when the plan is made, so onnumba keys its "
                                 f"plans on its value; it has {a.size} elements, more than {_MAX_VALUE_INPUT}")
            values[n] = np.array(a, copy=True)
        plan = self._plan_for(infos, overrides, training, wanted, values)
        threads = int(self._options.intra_op_num_threads or 0)
        with BlasPinned():
            prev = numba.get_num_threads()
            want = min(threads, numba.config.NUMBA_NUM_THREADS) if threads > 0 else prev
            if want != prev:
                numba.set_num_threads(want)
                try:
                    outs = execute(plan, feeds, self._profile)
                finally:
                    numba.set_num_threads(prev)
            else:
                outs = execute(plan, feeds, self._profile)
        return [np.asarray(o) for o in outs]
