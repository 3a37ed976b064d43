"""Resolve a Keras-style identifier (instance, name, config dict or callable) against a table of classes.

Initializers and regularizers accept the same four forms; this is the one place that reads them.
"""

from onnumba.converters._config import constructor_kwargs
from onnumba.converters.errors import LayerArgumentError, LayerTypeError


def resolve(identifier, argument: str, base: type, classes: dict, aliases: dict, wrap_callable, expected: str):
    """Return an instance of one of ``classes`` (or ``base``) for ``identifier``.

    Args:
        identifier: an instance of ``base``, a Keras name ('glorot_uniform'), a class name ('GlorotUniform'), a
            Keras config dict ``{"class_name": ..., "config": {...}}`` or a callable.
        argument: the layer argument being resolved, for error messages.
        base: the base class whose instances pass through unchanged.
        classes: class name -> class; aliases: Keras snake_case name -> class name.
        wrap_callable: turns a plain callable into an instance.
        expected: what the error says the argument may be.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        cls = classes.get(aliases.get(identifier, identifier))
        if cls is None:
            raise LayerArgumentError(f"unknown {argument}={identifier!r}; known: {sorted(aliases)}")
        return cls()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = classes.get(aliases.get(name, name))
        if cls is None:
            raise LayerArgumentError(f"unknown {argument} class_name={name!r}")
        config = identifier.get("config") or {}
        return cls(**constructor_kwargs(cls, config, f"{argument} ({cls.__name__})"))
    if callable(identifier):
        return wrap_callable(identifier)
    raise LayerTypeError(f"{argument} must be {expected}, got {identifier!r}")
