import numpy as np
from onnx import helper

from onnumba import backend


def test_backend_supports_cpu_only():
    assert backend.supports_device("CPU")
    assert not backend.supports_device("CUDA")


def test_run_node():
    node = helper.make_node("Add", ["a", "b"], ["c"])
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    (c,) = backend.run_node(node, [a, a])
    np.testing.assert_array_equal(c, 2 * a)
