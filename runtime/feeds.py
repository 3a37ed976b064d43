"""Checking a run's feeds against the model's inputs, with everything the check needs derived once at load.

Every feed is validated before anything runs: its name, element type, rank and static dims; a feed the kernels
cannot take as it is (read-only, unaligned, a stride-0 broadcast view, strings for an object input) is copied,
after the memory guard has accepted the copy's size.
"""

from __future__ import annotations

import numpy as np

from onnumba import memory
from onnumba.errors import InputError, InputTypeError, shape_str
from onnumba.graph import dtype_to_type_name


def _dtype_ok(arr: np.ndarray, want: np.dtype) -> bool:
    if want == object:
        return arr.dtype == object or arr.dtype.kind in "US"
    return arr.dtype == want


def _spec(vi) -> tuple:
    """(vi, dtype, rank or None, ((axis, dim), ...) for its static dims)."""
    if vi.shape is None:
        return vi, vi.dtype, None, ()
    return vi, vi.dtype, len(vi.shape), tuple((k, d) for k, d in enumerate(vi.shape) if isinstance(d, int))


class FeedChecker:
    """``checker(input_feed) -> {name: array}``: the validated (and where needed copied) feeds.

    Args:
        inputs: name -> ValueInfo of the graph's real inputs (each must be fed).
        overridable: name -> ValueInfo of the initializers a feed may override.
        memory_limit: bytes a feed copy may take (None: no limit).
    """

    def __init__(self, inputs: dict, overridable: dict, memory_limit: int | None):
        self._specs = {name: _spec(vi) for name, vi in list(overridable.items()) + list(inputs.items())}
        self._names = list(inputs)
        self._required = frozenset(inputs)
        self._memory_limit = memory_limit

    def __call__(self, input_feed) -> dict:
        if not isinstance(input_feed, dict):
            raise InputError(f"input_feed must be a dict of input name -> numpy array, got "
                             f"{type(input_feed).__name__}")
        feeds = {}
        specs = self._specs
        for name, value in input_feed.items():
            spec = specs.get(name)
            if spec is None:
                raise InputError(f"unknown input {name!r}; the model's inputs are {self._names}")
            vi, want, rank, static = spec
            arr = value if isinstance(value, np.ndarray) else np.asarray(value)
            if arr.dtype != want and not _dtype_ok(arr, want):
                raise InputTypeError(f"input {name!r}: expected element type {vi.type_name}, got "
                                     f"{dtype_to_type_name(arr.dtype) if arr.dtype.kind not in 'US' else 'string'}"
                                     f" (numpy {arr.dtype}); convert it with .astype(np.{want.name})")
            if rank is not None:
                shape = arr.shape
                if len(shape) != rank:
                    raise InputError(f"input {name!r}: expected rank {rank} with shape "
                                     f"{shape_str(vi.shape)}, got rank {arr.ndim} with shape {shape_str(shape)}")
                for axis, d in static:
                    if shape[axis] != d:
                        raise InputError(f"input {name!r}: dimension {axis} must be {d} (expected shape "
                                         f"{shape_str(vi.shape)}), got shape {shape_str(shape)}")
            if want == object and arr.dtype != object:
                memory.check_feed_copy(name, arr, self._memory_limit)
                arr = arr.astype(object)
            else:
                flags = arr.flags
                if not (flags.writeable and flags.aligned):
                    # e.g. np.frombuffer data or a stride-0 broadcast view: kernels are compiled for writeable,
                    # aligned arrays only; the copy's size is checked first (a broadcast view may be tiny in memory)
                    memory.check_feed_copy(name, arr, self._memory_limit)
                    arr = np.array(arr, copy=True)
            feeds[name] = arr
        if not self._required <= feeds.keys():
            missing = [n for n in self._names if n not in feeds]
            raise InputError(f"missing input(s) {missing}; the model's inputs are {self._names}")
        return feeds
