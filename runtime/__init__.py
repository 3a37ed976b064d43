"""onnumba: an ONNX inference runtime and Keras-style model builder with Numba-parallel kernels.

    import onnumba
    sess = onnumba.InferenceSession("model.onnx")
    outputs = sess.run(None, {"input": x})

Importing the package is cheap: the session, the registry and the operators (and with them onnx, numba and
the kernels) load on first use of a name that needs them (PEP 562 module ``__getattr__``), so
``import onnumba.converters`` and the ``onnumba`` command's light subcommands never load numba.
"""

from __future__ import annotations

import importlib
import importlib.util

from onnumba.errors import (InputError, InputTypeError, MemoryLimitError, ModelError, ModelWarning, OnnumbaError,
                            UnsupportedOpError)

__version__ = "0.1.0"

#: public name -> the submodule that defines it (imported on first access)
_LAZY = {
    "InferenceSession": "session", "NodeArg": "session", "ModelMetadata": "session", "PlanStep": "session",
    "SessionOptions": "options", "RunOptions": "options", "GraphOptimizationLevel": "options",
    "ExecutionMode": "options", "TRAINING_MODE_KEY": "options", "MEMORY_LIMIT_KEY": "options",
    "get_available_providers": "providers", "get_device": "providers", "supported_ops": "registry",
}

#: submodules reachable as attributes (``onnumba.registry.TensorInfo``) without an explicit import (any other
#: submodule is found too; these are the ones ``dir(onnumba)`` lists)
_SUBMODULES = frozenset({
    "attributes", "backend", "cli", "conformance", "converters", "errors", "export", "graph", "memory", "ops",
    "optimizer", "options", "planner", "profiling", "providers", "registry", "session",
})

__all__ = [
    "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel", "ExecutionMode", "NodeArg",
    "ModelMetadata", "PlanStep", "supported_ops", "get_available_providers", "get_device", "OnnumbaError",
    "ModelError", "UnsupportedOpError", "ModelWarning", "InputError", "InputTypeError", "MemoryLimitError",
    "TRAINING_MODE_KEY", "MEMORY_LIMIT_KEY", "__version__",
]


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f"onnumba.{module}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES or (not name.startswith("_") and importlib.util.find_spec(f"onnumba.{name}")):
        return importlib.import_module(f"onnumba.{name}")
    raise AttributeError(f"module 'onnumba' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
