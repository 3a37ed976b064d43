"""An onnxruntime-shaped session: build = load -> graph -> plan; run = validate feeds -> execute plan.

Code written for ``onnxruntime.InferenceSession`` (``get_inputs``, ``get_outputs``, ``run(None, feeds)``,
``run([name], feeds)``) runs unchanged on :class:`InferenceSession`.
"""

from __future__ import annotations

import os
import threading
import warnings
import contextlib
import time
from dataclasses import dataclass, field

import numba
import numpy as np

import onnumba.ops  # noqa: F401  (fills the registry)
from onnumba import memory, progress
from onnumba.errors import InputError, ModelWarning, OnnumbaError, UnsupportedFeatureError, shape_str
from onnumba.feeds import FeedChecker
from onnumba.graph import ValueInfo, build_graph, check_model, dtype_to_type_name, load_model
from onnumba.ops._numba import BlasPinned
from onnumba.options import (MEMORY_LIMIT_KEY, TRAINING_MODE_KEY, ExecutionMode, GraphOptimizationLevel,
                             RunOptions, SessionOptions)
from onnumba.planner import execute, make_plan, value_inputs
from onnumba.profiling import Profiler, summary
from onnumba.providers import resolve_providers
from onnumba.registry import PlanContext, TensorInfo

#: most elements a fed input may have when plans are specialised on its value
_MAX_VALUE_INPUT = 4096

__all__ = [
    "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel", "ExecutionMode", "NodeArg",
    "ModelMetadata", "PlanStep", "TRAINING_MODE_KEY", "MEMORY_LIMIT_KEY",
]


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


def _thread_target(threads) -> int | None:
    """The Numba thread count a session's runs use (None: leave the caller's)."""
    threads = int(threads or 0)
    return min(threads, numba.config.NUMBA_NUM_THREADS) if threads > 0 else None


def _bind_thread_calls() -> tuple:
    global _THREAD_CALLS
    _THREAD_CALLS = _numba_thread_calls()
    return _THREAD_CALLS


def _numba_thread_calls():
    """(get, set) for the calling thread's Numba thread count. numba.get/set_num_threads take two locks and
    validate on every call (several microseconds); once the pool is launched, Numba's own ctypes entry points do
    the same work directly. Counts passed to ``set`` come from :func:`_thread_target` (1..NUMBA_NUM_THREADS)."""
    numba.get_num_threads()  # launches the pool, which binds the entry points below
    try:
        from numba.np.ufunc import parallel  # noqa: PLC0415

        get, set_ = parallel._get_num_threads, parallel._set_num_threads
        if callable(get) and callable(set_) and get() == numba.get_num_threads():
            return get, set_
    except (ImportError, AttributeError):
        pass
    return numba.get_num_threads, numba.set_num_threads


_THREAD_CALLS: tuple | None = None  # (get, set), bound at the first run that sets a thread count
_NO_CONTEXT = contextlib.nullcontext()


class _Listening:
    """Context manager: ``fn`` receives compile events (``onnumba.progress.add_listener``) inside the block."""

    def __init__(self, fn):
        self.fn = fn
        self.remove = None

    def __enter__(self):
        self.remove = progress.add_listener(self.fn)
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


class InferenceSession:
    """Load an ONNX model and run it, with onnxruntime's API.

    Args:
        path_or_bytes: a path to an ``.onnx`` file, the file's bytes, or an ``onnx.ModelProto``.
        sess_options: :class:`SessionOptions` (threads, graph optimization level, profiling, memory limit,
            optimised-model path, compile progress callback).
        providers: onnxruntime's provider list (names or ``(name, options)`` tuples). onnumba has the
            ``CPUExecutionProvider`` only; any other is skipped with onnxruntime's warning, falling back to it.
        provider_options: one options dict per provider (accepted; the CPU provider has no options).

    Not supported: ``run_with_ort_values``, ``io_binding`` / ``run_with_iobinding`` (OrtValue and device
    buffers; onnumba's inputs and outputs are numpy arrays) raise :class:`onnumba.errors.UnsupportedFeatureError`
    (an ``errors.NotImplemented``).
    """

    def __init__(self, path_or_bytes, sess_options: SessionOptions | None = None, providers=None,
                 provider_options=None, **kwargs):
        self._options = sess_options or SessionOptions()
        self._providers, self._provider_options = resolve_providers(providers, provider_options)
        progress.ensure_installed()  # kernel compiles are logged to the ``onnumba.compile`` logger
        self._profiler = (Profiler(self._options.profile_file_prefix or "onnumba_profile_")
                          if self._options.enable_profiling else None)
        self._memory_limit = memory.limit_from_options(self._options)
        self._written_optimized = False
        with self._compile_listener():
            t0 = time.perf_counter()
            proto = load_model(path_or_bytes, check=False)
            self._profile_event("model_loading_uri" if isinstance(path_or_bytes, (str, os.PathLike))
                                else "model_loading_array", t0)
            t0 = time.perf_counter()
            self._model = proto
            graph = build_graph(proto)  # structural errors (cycles, unsupported ops) get onnumba's own messages
            check_model(proto, graph)  # node-level problems refuse; model-level ones that leave it clear warn
            self._optimize = bool(self._options.graph_optimization_level)
            self._graph = graph
            self._inputs = {vi.name: vi for vi in graph.inputs}
            self._outputs = [vi.name for vi in graph.outputs]
            self._plans: dict = {}
            # small fed inputs whose values shape the plan (e.g. a Reshape's shape given as a graph input)
            self._value_inputs = value_inputs(graph)
            self._lock = threading.Lock()
            self._feed_checker = FeedChecker(self._inputs, graph.overridable, self._memory_limit)
            # plans by (wanted, training, (name, dtype, shape) per feed in the caller's order): the run's lookup
            # without sorting or TensorInfo; a miss falls back to _plan_for, the canonical cache
            self._fast_plans: dict = {}
            self._threads = _thread_target(self._options.intra_op_num_threads)
            self._last_plan = None  # the plan of the latest run (or the one made at load): what get_plan() shows
            # a model whose inputs are all fully static is planned now, so its errors show at load
            if all(vi.shape is not None and all(isinstance(d, int) for d in vi.shape) for vi in graph.inputs):
                infos = {vi.name: TensorInfo(vi.dtype, vi.shape) for vi in graph.inputs}
                if not self._value_inputs:
                    self._plan_for(infos, frozenset(), None, None)
            self._profile_event("session_initialization", t0)

    def _compile_listener(self):
        """While loading or running: send kernel compile events to ``SessionOptions.compile_progress``."""
        fn = getattr(self._options, "compile_progress", None)
        return _Listening(fn) if fn is not None else contextlib.nullcontext()

    def _profile_event(self, name: str, t0: float) -> None:
        if self._profiler is not None and self._profiler.active:
            self._profiler.session_event(name, t0, time.perf_counter() - t0)

    def get_inputs(self) -> list:
        """The model's inputs as :class:`NodeArg` (name, shape with symbolic dims as strings, type)."""
        return [_node_arg(vi) for vi in self._graph.inputs]

    def get_outputs(self) -> list:
        """The model's outputs as :class:`NodeArg`."""
        return [_node_arg(vi) for vi in self._graph.outputs]

    def get_overridable_initializers(self) -> list:
        """Initializers that are also graph inputs (IR >= 4), which a feed may override."""
        return [_node_arg(vi) for vi in self._graph.overridable.values()]

    def get_modelmeta(self) -> ModelMetadata:
        """The model's metadata (producer, graph name, version, custom properties)."""
        m = self._model
        return ModelMetadata(
            producer_name=m.producer_name, graph_name=m.graph.name, domain=m.domain,
            description=m.doc_string, graph_description=m.graph.doc_string, version=int(m.model_version),
            custom_metadata_map={p.key: p.value for p in m.metadata_props})

    def get_providers(self) -> list:
        """The providers the session runs on: ``['CPUExecutionProvider']``."""
        return list(self._providers)

    def get_provider_options(self) -> dict:
        """Provider name -> its options (``{'CPUExecutionProvider': {}}``)."""
        return {k: dict(v) for k, v in self._provider_options.items()}

    def set_providers(self, providers=None, provider_options=None) -> None:
        """Choose providers again (onnxruntime re-creates its session); the CPU provider is the only one, so this
        only validates the list and warns about unavailable providers as the constructor does."""
        self._providers, self._provider_options = resolve_providers(providers, provider_options)

    def enable_fallback(self) -> None:
        """Accepted for onnxruntime compatibility: there is no other provider to fall back from."""

    def disable_fallback(self) -> None:
        """Accepted for onnxruntime compatibility: there is no other provider to fall back from."""

    def get_profiling_start_time_ns(self) -> int:
        """When profiling started, in nanoseconds since the epoch (0 when profiling is off)."""
        return 0 if self._profiler is None else self._profiler.start_ns

    def get_session_options(self) -> SessionOptions:
        """The :class:`SessionOptions` the session was made with."""
        return self._options

    def end_profiling(self) -> str:
        """Stop profiling and write what was recorded (``enable_profiling``) as onnxruntime's JSON trace.

        Like onnxruntime, returns the file's path (``<profile_file_prefix>_<date>_<time>_<ms>.json``), or ``""``
        when profiling is off or already ended. The format is described in :mod:`onnumba.profiling`.
        """
        if self._profiler is None or not self._profiler.active:
            return ""
        return self._profiler.end()

    def profile_summary(self, skip_runs: int = 0) -> dict:
        """op_type -> {"calls", "total_ms"} over the runs recorded so far, slowest first.

        Args:
            skip_runs: leave out the first runs (e.g. 1: the first run, which compiles or loads kernels).
        """
        if self._profiler is None:
            return {}
        records, runs = [], 0
        for r in self._profiler.records:  # each run's node records come before its "model_run" event
            if r[0] == "session":
                runs += r[1] == "model_run"
            elif runs >= skip_runs:
                records.append(r)
        return summary(records)

    def run_with_ort_values(self, *args, **kwargs):
        """Not supported: onnumba runs on numpy arrays; use :meth:`run`."""
        raise UnsupportedFeatureError("run_with_ort_values is not supported: onnumba has no OrtValue; pass numpy "
                                      "arrays to run(output_names, {name: array})")

    def io_binding(self, *args, **kwargs):
        """Not supported: onnumba has no device buffers to bind; use :meth:`run`."""
        raise UnsupportedFeatureError("io_binding is not supported: onnumba runs on the CPU on numpy arrays, so there "
                                      "is nothing to bind; pass arrays to run(output_names, {name: array})")

    def run_with_iobinding(self, *args, **kwargs):
        """Not supported (see :meth:`io_binding`)."""
        raise UnsupportedFeatureError("run_with_iobinding is not supported (no IOBinding); use run()")

    def _check_feeds(self, input_feed) -> dict:
        return self._feed_checker(input_feed)

    def _plan_for(self, infos: dict, overrides: frozenset, training: bool | None, wanted, values: dict | None = None):
        vkey = tuple(sorted((n, a.dtype.str, a.shape, a.tobytes()) for n, a in (values or {}).items()))
        key = (tuple(sorted((n, i.dtype.str, i.shape) for n, i in infos.items())), overrides, training, wanted, vkey)
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    ctx = PlanContext(training=training is True, inference=training is False,
                                      memory_limit=self._memory_limit)
                    plan = make_plan(self._graph, infos, overrides, ctx, wanted, optimize=self._optimize,
                                     fed_values=values, memory_limit=self._memory_limit)
                    if not self._plans:
                        _warn_declared_mismatch(self._model.graph, plan.infos)
                        self._write_optimized(plan)
                    if len(self._plans) > 64:  # bounded cache of shape signatures
                        self._plans.pop(next(iter(self._plans)))
                    self._plans[key] = plan
        self._last_plan = plan
        return plan

    def _write_optimized(self, plan) -> None:
        """``SessionOptions.optimized_model_filepath``: write the first plan made as an ONNX model."""
        path = getattr(self._options, "optimized_model_filepath", "")
        if path and not self._written_optimized:
            from onnumba.export import write_plan  # noqa: PLC0415

            write_plan(plan, self._graph, os.fspath(path))
            self._written_optimized = True

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
        """Compute ``output_names`` from ``input_feed`` (name -> numpy array); returns a list of numpy arrays.

        ``output_names`` None or empty: every output, in the model's order (as onnxruntime). Options:
        :class:`RunOptions` (training mode). Errors: :class:`onnumba.InputError` for unknown names, wrong
        shapes or types; :class:`onnumba.errors.MemoryLimitError` when the plan for these shapes would exceed
        the session's memory limit (refused before allocating).
        """
        if not output_names:
            wanted = None
            names = self._outputs
        else:
            names = list(output_names)
            for n in names:
                if n not in self._outputs:
                    raise InputError(f"unknown output name {n!r}; the model's outputs are {self._outputs}")
            wanted = tuple(names)
        prof = self._profiler
        t_run = time.perf_counter() if prof is not None else 0.0
        feeds = self._check_feeds(input_feed)
        training = _training_flag(run_options)
        plan = None
        # a plan specialised on a fed input's value is looked up by that value (_plan_for); when no such input is
        # fed (e.g. an overridable training_mode left at its initializer), names, dtypes and shapes decide
        fast = self._value_inputs.isdisjoint(feeds)
        if fast:
            fast_key = (wanted, training, tuple([(n, a.dtype, a.shape) for n, a in feeds.items()]))
            plan = self._fast_plans.get(fast_key)
            if plan is not None:
                self._last_plan = plan
        listener = getattr(self._options, "compile_progress", None)
        with _Listening(listener) if listener is not None else _NO_CONTEXT:
            if plan is None:
                plan = self._plan_feeds(feeds, training, wanted)
                if fast:
                    if len(self._fast_plans) > 64:
                        self._fast_plans.clear()
                    self._fast_plans[fast_key] = plan
            records = prof.records if prof is not None and prof.active else None
            with BlasPinned():
                want = self._threads
                if want is not None:
                    get, set_ = _THREAD_CALLS or _bind_thread_calls()
                    prev = get()
                if want is not None and want != prev:
                    set_(want)
                    try:
                        outs = execute(plan, feeds, records)
                    finally:
                        set_(prev)
                else:
                    outs = execute(plan, feeds, records)
        if prof is not None:
            self._profile_event("model_run", t_run)
        return [o if type(o) is np.ndarray else np.asarray(o) for o in outs]

    def _plan_feeds(self, feeds: dict, training: bool | None, wanted):
        """The plan for these checked feeds (made or found in the canonical cache)."""
        infos = {n: TensorInfo(a.dtype, a.shape) for n, a in feeds.items()}
        overrides = frozenset(n for n in feeds if n in self._graph.overridable)
        values = {}
        for n in self._value_inputs & feeds.keys():
            a = feeds[n]
            if a.size > _MAX_VALUE_INPUT or a.dtype == object:
                raise InputError(f"input {n!r} sets shapes or indices when the plan is made, so onnumba keys its "
                                 f"plans on its value; it has {a.size} elements, more than {_MAX_VALUE_INPUT}")
            values[n] = np.array(a, copy=True)
        return self._plan_for(infos, overrides, training, wanted, values)
