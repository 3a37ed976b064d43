"""Keras-style model builder that emits ONNX (``onnumba.converters``).

Emits ONNX only; never imports the onnumba runtime. ``from onnumba.converters import layers,
Input, Model, Sequential``.
"""

from onnumba.converters import activations, initializers, layers, regularizers
from onnumba.converters.builder import GraphBuilder
from onnumba.converters.errors import (ConfigError, ConverterError, ExportError,
                                       IncompatibleShapeError, LayerArgumentError,
                                       LayerTypeError)
from onnumba.converters.initializers import set_random_seed
from onnumba.converters.layers import Input
from onnumba.converters.models import Model, Sequential
from onnumba.converters.saving import load_keras, model_from_config, model_from_json

__all__ = ["layers", "activations", "initializers", "regularizers", "Input", "Model",
           "Sequential", "GraphBuilder", "model_from_config", "model_from_json", "load_keras",
           "set_random_seed", "ConverterError", "LayerArgumentError", "LayerTypeError",
           "IncompatibleShapeError", "ExportError", "ConfigError"]
