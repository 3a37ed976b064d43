"""Session and run options with onnxruntime's names (``SessionOptions``, ``RunOptions``, ``ExecutionMode``,
``GraphOptimizationLevel``). Pure Python: importing it loads neither numba nor onnx."""

from __future__ import annotations

import enum

from onnumba.errors import SessionConfigError

#: run-config key that switches every Dropout (and training-capable op) of the model into training mode
TRAINING_MODE_KEY = "onnumba.training_mode"

#: session-config key: the most bytes one plan may allocate (its peak of live buffers, any one op's outputs and
#: declared temporaries, any feed copy); ``"0"`` turns the guard off. Default: see ``onnumba.memory``.
MEMORY_LIMIT_KEY = "onnumba.memory_limit_bytes"


class GraphOptimizationLevel(enum.IntEnum):
    """Mirror of ``onnxruntime.GraphOptimizationLevel`` (the values are the same ints)."""

    ORT_DISABLE_ALL = 0
    ORT_ENABLE_BASIC = 1
    ORT_ENABLE_EXTENDED = 2
    ORT_ENABLE_ALL = 99

    __str__ = enum.Enum.__str__  # 'GraphOptimizationLevel.ORT_ENABLE_ALL', as onnxruntime prints it


class ExecutionMode(enum.IntEnum):
    """Mirror of ``onnxruntime.ExecutionMode``.

    onnumba runs a plan's steps one after another in both modes: its parallelism is inside each op (Numba
    threads, ``intra_op_num_threads``), so ``ORT_PARALLEL`` is accepted and runs sequentially.
    """

    ORT_SEQUENTIAL = 0
    ORT_PARALLEL = 1

    __str__ = enum.Enum.__str__


def _check_config(key: str, value: str) -> None:
    if key == MEMORY_LIMIT_KEY:
        try:
            ok = int(value) >= 0
        except ValueError:
            ok = False
        if not ok:
            raise SessionConfigError(f"session config {key!r} must be a whole number of bytes >= 0 (0: no limit), "
                                     f"got {value!r}")


class SessionOptions:
    """The part of ``onnxruntime.SessionOptions`` that onnumba honours.

    Attributes:
        intra_op_num_threads: Numba threads used by this session's runs (0: Numba's default).
        inter_op_num_threads: accepted; steps run one after another (see ``execution_mode``).
        graph_optimization_level: :class:`GraphOptimizationLevel`; 0 disables graph rewrites (fusions, folding
            of BatchNormalization into Conv); anything else enables them.
        execution_mode: :class:`ExecutionMode`; both modes run the plan's steps sequentially.
        optimized_model_filepath: when set, the session writes its optimised plan there as an ONNX model (when
            the first plan is made: at load for a model whose inputs are all static, else at the first run, for
            that run's input shapes).
        enable_profiling: record each node's run time; ``session.end_profiling()`` writes them as onnxruntime's
            JSON trace (chrome://tracing, Perfetto) to ``<profile_file_prefix>_<date>_<time>_<ms>.json``.
        profile_file_prefix: path prefix of the profile file.
        log_severity_level: accepted for compatibility.
        compile_progress: optional callable receiving an ``onnumba.progress.CompileEvent`` at the start and end of
            each kernel compile while this session loads or runs (compiles are also logged to the
            ``onnumba.compile`` logger either way).

    Session config entries (``add_session_config_entry``): any key is stored, as in onnxruntime; onnumba reads
    ``onnumba.memory_limit_bytes`` (see ``onnumba.memory``).
    """

    def __init__(self):
        self.intra_op_num_threads = 0
        self.inter_op_num_threads = 0
        self.graph_optimization_level = GraphOptimizationLevel.ORT_ENABLE_ALL
        self.execution_mode = ExecutionMode.ORT_SEQUENTIAL
        self.optimized_model_filepath = ""
        self.log_severity_level = 2
        self.log_verbosity_level = 0
        self.enable_profiling = False
        self.profile_file_prefix = "onnumba_profile_"
        self.compile_progress = None
        self._config: dict = {}

    def add_session_config_entry(self, key: str, value: str) -> None:
        """Set a session config entry (strings, as in onnxruntime); onnumba's own keys are checked here."""
        key, value = str(key), str(value)
        _check_config(key, value)
        self._config[key] = value

    def get_session_config_entry(self, key: str) -> str:
        """The value set for ``key``; an unset key raises (a RuntimeError, as onnxruntime's does)."""
        if key not in self._config:
            raise SessionConfigError(f"SessionOptions does not have configuration with key: {key}")
        return self._config[key]


class RunOptions:
    """The part of ``onnxruntime.RunOptions`` that onnumba honours.

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
        if key not in self._entries:
            raise SessionConfigError(f"RunOptions does not have configuration with key: {key}")
        return self._entries[key]
