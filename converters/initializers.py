"""Weight initializers with Keras 3 names, defaults and formulas; seedable.

A seeded initializer returns the same values on every call (as Keras 3 does); an unseeded one
draws from the module generator, which ``set_random_seed`` resets. Values are float32 numpy
arrays of the requested shape.
"""

import math

import numpy as np

from onnumba.converters._config import constructor_kwargs
from onnumba.converters._lookup import resolve
from onnumba.converters.errors import LayerArgumentError

_GLOBAL = {"rng": np.random.default_rng()}


def set_random_seed(seed):
    """Seed the generator used by initializers created without a seed."""
    _GLOBAL["rng"] = np.random.default_rng(seed)


class Initializer:
    """Base class: ``init(shape, dtype="float32") -> np.ndarray``."""

    def __init__(self, seed=None):
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise LayerArgumentError(f"seed must be an int or None, got {seed!r}")
        self.seed = seed

    def _rng(self):
        return np.random.default_rng(self.seed) if self.seed is not None else _GLOBAL["rng"]

    def __call__(self, shape, dtype="float32"):
        return np.asarray(self.sample(tuple(int(s) for s in shape)), dtype=dtype)

    def sample(self, shape):
        raise NotImplementedError

    def get_config(self):
        return {"seed": self.seed} if hasattr(self, "seed") else {}

    @classmethod
    def from_config(cls, config):
        return cls(**constructor_kwargs(cls, config, cls.__name__))


class Zeros(Initializer):
    """All zeros."""

    def __init__(self):
        pass

    def sample(self, shape):
        return np.zeros(shape)

    def get_config(self):
        return {}


class Ones(Zeros):
    """All ones."""

    def sample(self, shape):
        return np.ones(shape)


class Constant(Initializer):
    """Every value equal to ``value`` (Keras default 0.0)."""

    def __init__(self, value=0.0):
        self.value = float(value)

    def sample(self, shape):
        return np.full(shape, self.value)

    def get_config(self):
        return {"value": self.value}


class RandomNormal(Initializer):
    """Normal(mean, stddev); Keras defaults mean=0.0, stddev=0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return self._rng().normal(self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class RandomUniform(Initializer):
    """Uniform(minval, maxval); Keras defaults -0.05, 0.05."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval, self.maxval = float(minval), float(maxval)

    def sample(self, shape):
        return self._rng().uniform(self.minval, self.maxval, shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


def _truncated_normal(rng, mean, stddev, shape):
    # Keras (like tf.random.truncated_normal) redraws values more than 2 stddev from the mean
    out = rng.normal(0.0, 1.0, shape)
    bad = np.abs(out) > 2.0
    while bad.any():
        out[bad] = rng.normal(0.0, 1.0, int(bad.sum()))
        bad = np.abs(out) > 2.0
    return mean + stddev * out


class TruncatedNormal(Initializer):
    """Normal(mean, stddev) with values beyond 2 stddev redrawn; Keras defaults 0.0, 0.05."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean, self.stddev = float(mean), float(stddev)

    def sample(self, shape):
        return _truncated_normal(self._rng(), self.mean, self.stddev, shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


def compute_fans(shape):
    """Keras's (fan_in, fan_out): conv kernels (k..., in, out) multiply by the receptive field."""
    shape = tuple(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


class VarianceScaling(Initializer):
    """Keras VarianceScaling(scale=1.0, mode="fan_in", distribution="truncated_normal")."""

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform", "normal")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        super().__init__(seed)
        if scale <= 0:
            raise LayerArgumentError(f"scale must be positive, got scale={scale!r}")
        if mode not in self._MODES:
            raise LayerArgumentError(f"mode must be one of {self._MODES}, got mode={mode!r}")
        if distribution not in self._DISTRIBUTIONS:
            raise LayerArgumentError(f"distribution must be one of {self._DISTRIBUTIONS}, "
                                     f"got distribution={distribution!r}")
        self.scale, self.mode, self.distribution = float(scale), mode, distribution

    def sample(self, shape):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = self._rng()
        if self.distribution == "truncated_normal":
            # 0.879... = stddev of a unit normal truncated at 2 sigma
            return _truncated_normal(rng, 0.0, math.sqrt(scale) / 0.87962566103423978, shape)
        if self.distribution in ("untruncated_normal", "normal"):
            return rng.normal(0.0, math.sqrt(scale), shape)
        limit = math.sqrt(3.0 * scale)
        return rng.uniform(-limit, limit, shape)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


def _variance_scaling_preset(name, scale, mode, distribution, doc):
    def __init__(self, seed=None):
        VarianceScaling.__init__(self, scale, mode, distribution, seed)

    def get_config(self):
        return {"seed": self.seed}

    return type(name, (VarianceScaling,), {"__init__": __init__, "get_config": get_config,
                                           "__doc__": doc})


GlorotUniform = _variance_scaling_preset("GlorotUniform", 1.0, "fan_avg", "uniform",
                                         "U(-l, l), l = sqrt(6 / (fan_in + fan_out)).")
GlorotNormal = _variance_scaling_preset("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                                        "Truncated normal, stddev sqrt(2 / (fan_in + fan_out)).")
HeNormal = _variance_scaling_preset("HeNormal", 2.0, "fan_in", "truncated_normal",
                                    "Truncated normal, stddev sqrt(2 / fan_in).")
HeUniform = _variance_scaling_preset("HeUniform", 2.0, "fan_in", "uniform",
                                     "U(-l, l), l = sqrt(6 / fan_in).")
LecunNormal = _variance_scaling_preset("LecunNormal", 1.0, "fan_in", "truncated_normal",
                                       "Truncated normal, stddev sqrt(1 / fan_in).")
LecunUniform = _variance_scaling_preset("LecunUniform", 1.0, "fan_in", "uniform",
                                        "U(-l, l), l = sqrt(3 / fan_in).")


class Orthogonal(Initializer):
    """Orthogonal matrix (QR of a normal draw) times ``gain`` (Keras default 1.0)."""

    def __init__(self, gain=1.0, seed=None):
        super().__init__(seed)
        self.gain = float(gain)

    def sample(self, shape):
        if len(shape) < 2:
            raise LayerArgumentError(f"Orthogonal needs a shape of rank >= 2, got shape={shape}")
        rows, cols = math.prod(shape[:-1]), shape[-1]
        flat = self._rng().normal(0.0, 1.0, (max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return self.gain * q.reshape(shape)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class _Callable(Initializer):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, shape, dtype="float32"):
        out = np.asarray(self.fn(tuple(shape), dtype), dtype=dtype)
        if out.shape != tuple(shape):
            raise LayerArgumentError(f"initializer {self.fn!r} returned shape {out.shape}, "
                                     f"expected {tuple(shape)}")
        return out

    def get_config(self):
        return {}


ALL = {cls.__name__: cls for cls in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, TruncatedNormal, VarianceScaling,
    GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal, LecunUniform, Orthogonal)}
_ALIASES = {"zeros": "Zeros", "ones": "Ones", "constant": "Constant",
            "random_normal": "RandomNormal", "random_uniform": "RandomUniform",
            "normal": "RandomNormal", "uniform": "RandomUniform",
            "truncated_normal": "TruncatedNormal", "variance_scaling": "VarianceScaling",
            "glorot_uniform": "GlorotUniform", "glorot_normal": "GlorotNormal",
            "he_normal": "HeNormal", "he_uniform": "HeUniform", "lecun_normal": "LecunNormal",
            "lecun_uniform": "LecunUniform", "orthogonal": "Orthogonal"}


def get(identifier, argument="initializer"):
    """Initializer from an instance, a name, a Keras config dict or a callable (shape, dtype)."""
    return resolve(identifier, argument, Initializer, ALL, _ALIASES, _Callable,
                   "a name, an Initializer or a callable")


def serialize(init):
    """Keras 3 config dict of an initializer."""
    return {"module": "keras.initializers", "class_name": type(init).__name__,
            "config": init.get_config(), "registered_name": None}
