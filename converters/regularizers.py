"""Weight regularizers with Keras 3 names and defaults: L1, L2, L1L2 and callables."""

import numpy as np

from onnumba.converters._config import constructor_kwargs
from onnumba.converters._lookup import resolve
from onnumba.converters.errors import LayerArgumentError


class Regularizer:
    """Base class: ``reg(weights) -> float`` penalty."""

    def __call__(self, x):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**constructor_kwargs(cls, config, cls.__name__))


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x ** 2)``; Keras 3 defaults l1=0.0, l2=0.0."""

    def __init__(self, l1=0.0, l2=0.0):
        for arg, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, (int, float)) or value < 0:
                raise LayerArgumentError(f"{arg} must be a float >= 0, got {arg}={value!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        x = np.asarray(x, dtype=np.float64)
        return float(self.l1 * np.abs(x).sum() + self.l2 * np.square(x).sum())

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}


class L1(L1L2):
    """``l1 * sum(|x|)``; Keras 3 default l1=0.01."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """``l2 * sum(x ** 2)`` (no 1/2 factor, as in Keras); Keras 3 default l2=0.01."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class _Callable(Regularizer):
    def __init__(self, fn):
        self.fn = fn

    def __call__(self, x):
        return float(self.fn(np.asarray(x)))


ALL = {"L1": L1, "L2": L2, "L1L2": L1L2}
_ALIASES = {"l1": "L1", "l2": "L2", "l1_l2": "L1L2"}


def get(identifier, argument="regularizer"):
    """Regularizer from None, an instance, a name, a Keras config dict or a callable."""
    if identifier is None:
        return None
    return resolve(identifier, argument, Regularizer, ALL, _ALIASES, _Callable,
                   "None, a name, a Regularizer or a callable")


def serialize(reg):
    """Keras 3 config dict of a regularizer (None stays None)."""
    if reg is None:
        return None
    return {"module": "keras.regularizers", "class_name": type(reg).__name__,
            "config": reg.get_config(), "registered_name": None}
