"""Error classes of the builder and the helper that finds the user's line.

The builder never imports the runtime's errors: ``converters/`` must stay importable on its own.
Every class subclasses ValueError or TypeError, which is what a user would catch.
"""

import inspect
import os

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class ConverterError(ValueError):
    """Base class of every error raised by ``onnumba.converters``."""


class LayerArgumentError(ConverterError):
    """A layer was given a bad argument (message names the argument, its value and the user's line)."""


class LayerTypeError(TypeError):
    """A layer was given an argument of the wrong type."""


class IncompatibleShapeError(ConverterError):
    """A layer was called on a tensor whose shape it cannot take; names both layers."""


class ExportError(ConverterError):
    """The model cannot be written as ONNX with the requested options (opset, training...)."""


class ConfigError(ConverterError):
    """A Keras config (dict / JSON / .keras archive) cannot be read."""


def user_location():
    """Return ``"file:line"`` of the first stack frame outside ``onnumba/converters``.

    Returns:
        str: the location in user code, or ``"<unknown>"``.
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            path = os.path.abspath(frame.f_code.co_filename)
            if not path.startswith(_PACKAGE_DIR + os.sep):
                return f"{path}:{frame.f_lineno}"
            frame = frame.f_back
        return "<unknown>"
    finally:
        del frame
