"""Build a small separable-conv network with onnumba.converters; writes
models/separable_small.onnx.

SeparableConv2D / BatchNormalization / MaxPooling2D / DepthwiseConv2D / GlobalAveragePooling2D /
Dense softmax on a 32x32x3 input. Seeded weights.

Usage: python models/build_separable.py [-o models/separable_small.onnx] [--seed 0]
"""

import os
import sys

from onnumba.converters import Input, Model, layers, set_random_seed

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # models/ is not a package; tests load these scripts by file path
    sys.path.insert(0, HERE)
import _common  # noqa: E402


def build(seed=0, num_classes=10):
    """The network as a functional Model with seeded weights."""
    set_random_seed(seed)
    inputs = Input((32, 32, 3))
    x = layers.SeparableConv2D(16, 3, padding="same", activation="relu")(inputs)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.SeparableConv2D(32, 3, padding="same", depth_multiplier=2,
                               activation="relu")(x)
    x = layers.DepthwiseConv2D(3, strides=2, padding="same", activation="relu6")(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(num_classes, activation="softmax")(x)
    model = Model(inputs, outputs, name="separable_small")
    return _common.seed_batchnorm_statistics(model, seed)


def main(argv=None):
    _common.main(build, __doc__.splitlines()[0], os.path.join(HERE, "separable_small.onnx"), argv)


if __name__ == "__main__":
    main()
