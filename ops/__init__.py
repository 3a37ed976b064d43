"""Operator implementations, one module per op family.

Each family module registers its ops with ``@register`` when it is imported (explicit registration, never a
namespace scan). Importing this package loads only the plan rewrites (``fusion``: they are not looked up by op
type); a family is imported the first time the registry is asked for one of its ops (:func:`load_family`, called
by ``onnumba.registry.resolve``), so a session imports, and loads or compiles, only the kernels of the families
its model uses. :func:`load_all` imports every family (``supported_ops()``, ``onnumba ops``, the conformance
table). ``tests/runtime/test_op_families.py`` checks that ``FAMILIES`` names exactly what each module registers;
an op missing from it still resolves (the registry then imports every family), only more slowly.

A new family module: add a line to ``FAMILIES`` with the op types its ``@register`` decorators declare.
"""

from __future__ import annotations

import importlib

#: family module (under ``onnumba.ops``) -> the op types of the default (ai.onnx) domain it registers
FAMILIES: dict[str, tuple[str, ...]] = {
    "activation": ("Celu", "Clip", "Elu", "Gelu", "HardSigmoid", "HardSwish", "LeakyRelu", "Mish", "PRelu", "Relu",
                   "Selu", "Sigmoid", "Softplus", "Softsign", "Swish", "Tanh", "ThresholdedRelu"),
    "conv": ("Conv",),
    "conv_transpose": ("ConvTranspose",),
    "dropout": ("Dropout",),
    "einsum": ("Einsum",),
    "elementwise": ("Abs", "Add", "Ceil", "Div", "Erf", "Exp", "Floor", "Log", "Max", "Mean", "Min", "Mul", "Neg",
                    "Pow", "Reciprocal", "Sign", "Sqrt", "Sub", "Sum"),
    "gemm": ("Gemm", "MatMul"),
    "generator": ("Constant", "ConstantOfShape", "Range"),
    "indexing": ("Compress", "Gather", "NonZero", "OneHot", "Split", "Tile", "Trilu"),
    "layer_normalization": ("GroupNormalization", "InstanceNormalization", "LayerNormalization", "LpNormalization",
                            "MeanVarianceNormalization"),
    "logical": ("And", "BitShift", "Equal", "Greater", "GreaterOrEqual", "IsInf", "IsNaN", "Less", "LessOrEqual",
                "Not", "Or", "Where", "Xor"),
    "math_unary": ("Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Cos", "Cosh", "Hardmax", "Mod", "Round",
                   "Shrink", "Sin", "Sinh", "Tan"),
    "normalization": ("BatchNormalization", "LRN"),
    "pad": ("Pad",),
    "pool": ("AveragePool", "GlobalAveragePool", "GlobalMaxPool", "MaxPool"),
    "quantization": ("DequantizeLinear", "DynamicQuantizeLinear", "QuantizeLinear"),
    "quantized_linear": ("ConvInteger", "MatMulInteger", "QLinearConv", "QLinearMatMul"),
    "recurrent": ("GRU", "LSTM", "RNN"),
    "reduction": ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
                  "ReduceProd", "ReduceSum", "ReduceSumSquare"),
    "reduction_index": ("ArgMax", "ArgMin", "CumSum", "TopK"),
    "resize": ("Resize", "Upsample"),
    "scatter": ("GatherElements", "GatherND", "Scatter", "ScatterElements", "ScatterND"),
    "shape": ("Cast", "Concat", "Expand", "Flatten", "Identity", "Reshape", "Shape", "Size", "Squeeze", "Transpose",
              "Unsqueeze"),
    "slice": ("Slice",),
    "softmax": ("LogSoftmax", "Softmax"),
    "space_depth": ("DepthToSpace", "SpaceToDepth"),
}

#: modules imported with this package: the plan rewrites (``onnumba.optimizer.register_rewrite``)
REWRITES = ("fusion",)

_FAMILY_OF = {op: module for module, ops in FAMILIES.items() for op in ops}


def family_of(domain: str, op_type: str) -> str | None:
    """The family module (a key of ``FAMILIES``) that registers ``op_type`` of ``domain``, or None."""
    return _FAMILY_OF.get(op_type) if domain in ("", "ai.onnx") else None


def load_family(domain: str, op_type: str) -> bool:
    """Import the family module that registers ``op_type``; False when ``FAMILIES`` names none."""
    module = family_of(domain, op_type)
    if module is None:
        return False
    importlib.import_module(f"{__name__}.{module}")
    return True


def load_all() -> None:
    """Import every family module, filling the registry with every op."""
    for module in FAMILIES:
        importlib.import_module(f"{__name__}.{module}")


def __getattr__(name: str):
    # ``onnumba.ops.conv`` as an attribute (e.g. after a bare ``import onnumba.ops``) imports the family
    if name in FAMILIES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


from onnumba.ops import fusion  # noqa: E402, F401  (registers the plan rewrites)
