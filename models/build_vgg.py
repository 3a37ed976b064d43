"""Build a small VGG-style classifier with onnumba.converters; writes models/vgg_small.onnx.

Conv-ReLU-MaxPool-Dropout blocks, Flatten, Dense-BatchNormalization-Dropout, Dense softmax, on a
32x32x3 input. Seeded weights and non-trivial BatchNormalization statistics.

Usage: python models/build_vgg.py [-o models/vgg_small.onnx] [--seed 0]
"""

import argparse
import os

import numpy as np

from onnumba.converters import Sequential, layers, set_random_seed

HERE = os.path.dirname(os.path.abspath(__file__))


def build(seed=0, num_classes=10):
    """The classifier as a Sequential model with seeded weights."""
    set_random_seed(seed)
    model = Sequential([
        layers.Input((32, 32, 3)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Dropout(0.25),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ], name="vgg_small")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               rng.normal(0, 0.5, n), rng.uniform(0.5, 2.0, n)])
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default=os.path.join(HERE, "vgg_small.onnx"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = build(args.seed)
    model.to_onnx(args.output)
    print(f"wrote {args.output}: {model.count_params():,} parameters")


if __name__ == "__main__":
    main()
