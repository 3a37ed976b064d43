"""Build a small separable-conv network with onnumba.converters; writes
models/separable_small.onnx.

SeparableConv2D / BatchNormalization / MaxPooling2D / DepthwiseConv2D / GlobalAveragePooling2D /
Dense softmax on a 32x32x3 input. Seeded weights.

Usage: python models/build_separable.py [-o models/separable_small.onnx] [--seed 0]
"""

import argparse
import os

import numpy as np

from onnumba.converters import Input, Model, layers, set_random_seed

HERE = os.path.dirname(os.path.abspath(__file__))


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
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               rng.normal(0, 0.5, n), rng.uniform(0.5, 2.0, n)])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=os.path.join(HERE, "separable_small.onnx"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = build(args.seed)
    model.to_onnx(args.output)
    print(f"wrote {args.output}: {model.count_params():,} parameters")


if __name__ == "__main__":
    main()
