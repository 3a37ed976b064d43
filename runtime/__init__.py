"""onnumba: an ONNX inference runtime and Keras-style model builder with Numba-parallel kernels.

    import onnumba
    sess = onnumba.InferenceSession("model.onnx")
    outputs = sess.run(None, {"input": x})
"""

from onnumba.errors import InputError, InputTypeError, ModelError, OnnumbaError, UnsupportedOpError
from onnumba.registry import supported_ops
from onnumba.session import (GraphOptimizationLevel, InferenceSession, ModelMetadata, NodeArg, RunOptions,
                             SessionOptions, TRAINING_MODE_KEY)

__version__ = "0.1.0"

__all__ = [
    "InferenceSession", "SessionOptions", "RunOptions", "GraphOptimizationLevel", "NodeArg", "ModelMetadata",
    "supported_ops", "OnnumbaError", "ModelError", "UnsupportedOpError", "InputError", "InputTypeError",
    "TRAINING_MODE_KEY", "__version__",
]
