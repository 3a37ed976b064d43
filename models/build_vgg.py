"""Build a small VGG-style classifier with onnumba.converters; writes models/vgg_small.onnx.

Conv-ReLU-MaxPool-Dropout blocks, Flatten, Dense-BatchNormalization-Dropout, Dense softmax, on a
32x32x3 input. Seeded weights and non-trivial BatchNormalization statistics.

Usage: python models/build_vgg.py [-o models/vgg_small.onnx] [--seed 0]
"""

import os
import sys

from onnumba.converters import Sequential, layers, set_random_seed

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # models/ is not a package; tests load these scripts by file path
    sys.path.insert(0, HERE)
import _common  # noqa: E402


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
    return _common.seed_batchnorm_statistics(model, seed)


def main(argv=None):
    _common.main(build, __doc__.splitlines()[0], os.path.join(HERE, "vgg_small.onnx"), argv)


if __name__ == "__main__":
    main()
