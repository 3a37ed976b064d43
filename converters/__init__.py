"""Keras-style model builder that emits ONNX (``onnumba.converters``).

Emits ONNX only; never imports the onnumba runtime. ``from onnumba.converters import layers,
Input, Model, Sequential``.
"""

import importlib

# Names load on first use (PEP 562), so `onnumba convert --help` and `import onnumba.converters`
# cost no onnx import until a layer or model is touched.
_SUBMODULES = ("activations", "initializers", "layers", "regularizers")
_NAMES = {
    "GraphBuilder": "builder", "set_random_seed": "initializers", "Input": "layers",
    "Model": "models", "Sequential": "models", "load_keras": "saving",
    "model_from_config": "saving", "model_from_json": "saving",
    **dict.fromkeys(("ConfigError", "ConverterError", "ExportError", "IncompatibleShapeError",
                     "LayerArgumentError", "LayerTypeError"), "errors"),
}


def __getattr__(name):
    if name in _NAMES:
        value = getattr(importlib.import_module(f"onnumba.converters.{_NAMES[name]}"), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f"onnumba.converters.{name}")
    raise AttributeError(f"module 'onnumba.converters' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_NAMES) | set(_SUBMODULES))


__all__ = ["layers", "activations", "initializers", "regularizers", "Input", "Model",
           "Sequential", "GraphBuilder", "model_from_config", "model_from_json", "load_keras",
           "set_random_seed", "ConverterError", "LayerArgumentError", "LayerTypeError",
           "IncompatibleShapeError", "ExportError", "ConfigError"]
