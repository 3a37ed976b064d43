"""ops/_common.py: the one compute-dtype rule and the one dtype-check message."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

import onnumba
from onnumba.graph import Node
from onnumba.ops._common import FLOATS, check_dtype, check_types, compute_dtype
from onnumba.registry import TensorInfo


@pytest.mark.parametrize("dtype,want", [
    (np.float16, np.float32),
    (ml_dtypes.bfloat16, np.float32),
    (np.float32, np.float32),
    (np.float64, np.float64),
    (np.int8, np.int8),
    (np.int32, np.int32),
    (np.int64, np.int64),
    (np.uint8, np.uint8),
    (np.uint64, np.uint64),
    (np.bool_, np.bool_),
])
def test_compute_dtype(dtype, want):
    assert compute_dtype(np.dtype(dtype)) == np.dtype(want)
    assert compute_dtype(dtype) == np.dtype(want)  # a type object works as well as a dtype


def _node(op="Relu", version=13, inputs=("x", "w")):
    return Node("n1", op, "", tuple(inputs), ("y",), {}, version, 0)


def test_check_dtype_accepts_allowed():
    check_dtype(_node(), TensorInfo(np.dtype(np.float32), (2,)), 0, FLOATS)


@pytest.mark.parametrize("what,prefix", [("", ""), ("base", "base: ")])
def test_check_dtype_message(what, prefix):
    with pytest.raises(onnumba.ModelError) as e:
        check_dtype(_node("Relu", 13), TensorInfo(np.dtype(np.int32), (2,)), 0, FLOATS, what)
    assert str(e.value) == (f"Node 'n1' (Relu), input 0 'x': {prefix}element type int32 is not supported by Relu-13; "
                            "expected one of float16, float32, float64")


def test_check_types_names_the_input_that_differs():
    infos = [TensorInfo(np.dtype(np.float32), (2, 2)), TensorInfo(np.dtype(np.float64), (2, 2))]
    with pytest.raises(onnumba.ModelError, match=r"input 1 'w': element type float64 differs from input 0's "
                                                 r"float32"):
        check_types(_node("Gemm", 13), infos, (0, 1), FLOATS)
    infos[1] = TensorInfo(np.dtype(np.int64), (2, 2))
    with pytest.raises(onnumba.ModelError, match=r"input 1 'w': element type int64 is not supported by Gemm-13"):
        check_types(_node("Gemm", 13), infos, (0, 1), FLOATS)
    assert check_types(_node("Gemm", 13), [infos[0], None], (0, 1), FLOATS) == np.float32
