"""Operator implementations, one module per op family. Importing this package fills the registry.

Each module is imported by name (explicit registration, never a namespace scan).
"""

from onnumba.ops import (  # noqa: F401
    activation,
    conv,
    conv_transpose,
    dropout,
    einsum, indexing, scatter, space_depth,  # issue 9: indexing / shape-manipulation family
    elementwise,
    fusion,
    generator,
    gemm,
    logical,
    layer_normalization,
    math_unary,
    normalization,
    pad,
    pool,
    recurrent,
    reduction,
    reduction_index,
    quantization,
    quantized_linear,
    resize,
    shape,
    slice,
    softmax,
)
