"""Build the U-Net of issue 5 with onnumba.converters and write models/unet.onnx.

96x96x1 input; two 3x3 'same' relu Conv2D per block with Dropout between; MaxPooling2D 2x2;
filters 32, 64, 128, 256, 512 down then 256, 128, 64, 32 up, each up step
concatenate([Conv2DTranspose(f, 2, strides=2, padding="same")(x), skip], axis=3); final
Conv2D(1, 1, activation="sigmoid"). Keras counts 7,759,521 parameters. Seeded weights.

Usage: python models/build_unet.py [-o models/unet.onnx] [--seed 0]
"""

import os
import sys

from onnumba.converters import Input, Model, layers, set_random_seed

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:  # models/ is not a package; tests load these scripts by file path
    sys.path.insert(0, HERE)
import _common  # noqa: E402


def conv_block(x, filters, dropout):
    x = layers.Conv2D(filters, 3, padding="same", activation="relu",
                      kernel_initializer="he_normal")(x)
    x = layers.Dropout(dropout)(x)
    return layers.Conv2D(filters, 3, padding="same", activation="relu",
                         kernel_initializer="he_normal")(x)


def build(seed=0, input_shape=(96, 96, 1)):
    """The U-Net as a functional Model with seeded weights."""
    set_random_seed(seed)
    inputs = Input(input_shape)
    x, skips = inputs, []
    for filters, dropout in zip((32, 64, 128, 256), (0.1, 0.1, 0.2, 0.2)):
        x = conv_block(x, filters, dropout)
        skips.append(x)
        x = layers.MaxPooling2D((2, 2))(x)
    x = conv_block(x, 512, 0.3)
    for filters, skip, dropout in zip((256, 128, 64, 32), reversed(skips), (0.2, 0.2, 0.1, 0.1)):
        up = layers.Conv2DTranspose(filters, 2, strides=2, padding="same")(x)
        x = layers.concatenate([up, skip], axis=3)
        x = conv_block(x, filters, dropout)
    outputs = layers.Conv2D(1, 1, activation="sigmoid")(x)
    return Model(inputs, outputs, name="unet")


def main(argv=None):
    _common.main(build, __doc__.splitlines()[0], os.path.join(HERE, "unet.onnx"), argv)


if __name__ == "__main__":
    main()
