"""What the model build scripts share: seeded BatchNormalization statistics and the command line.

models/ is not a package (tests load the scripts by file path), so each script puts its own folder on
``sys.path`` and imports this module as ``_common``.
"""

import argparse

import numpy as np

from onnumba.converters import layers


def seed_batchnorm_statistics(model, seed):
    """Give every BatchNormalization layer non-trivial weights from ``np.random.default_rng(seed)``.

    In layer order, each gets gamma ~ U(0.5, 1.5), beta ~ N(0, 0.1), moving mean ~ N(0, 0.5) and moving
    variance ~ U(0.5, 2.0), so a model's fixture exercises the normalization rather than an identity.
    """
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               rng.normal(0, 0.5, n), rng.uniform(0.5, 2.0, n)])
    return model


def main(build, description, default_output, argv=None):
    """``[-o OUTPUT] [--seed N]``: build the model with ``build(seed)``, write it as ONNX, report its size."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("-o", "--output", default=default_output)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    model = build(args.seed)
    model.to_onnx(args.output)
    print(f"wrote {args.output}: {model.count_params():,} parameters")
