"""Small helpers shared by the op families: dtype and rank checks, broadcasting, reading const inputs, and the
base classes of op families made of one-liners (:class:`UnaryOp` / :func:`unary_op`, :class:`ValueOp`).

Every check raises through ``node.error(...)``, so messages name the node, the op and the input.
"""

from __future__ import annotations

import numpy as np

from onnumba.errors import shape_str
from onnumba.registry import Op, TensorInfo, register

FLOATS = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))
INTS = tuple(np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
                                   np.uint64))
NUMERIC = FLOATS + INTS
INDEX = (np.dtype(np.int32), np.dtype(np.int64))

#: largest number of elements any op may allocate for one output (guards hostile shapes/pads: 2**40 ...)
MAX_ELEMENTS = 2 ** 34


def compute_dtype(dtype) -> np.dtype:
    """The type a kernel computes in for data of ``dtype``: float16 and bfloat16 in float32 (kernels are
    specialised for float32 / float64 only, and onnxruntime also widens them), every other type in itself."""
    dt = np.dtype(dtype)
    if dt == np.float16 or dt.kind == "V":  # bfloat16 (ml_dtypes) has kind 'V'
        return np.dtype(np.float32)
    return dt


def require_input(node, inputs, i: int, what: str = "") -> TensorInfo:
    """Return input ``i``'s info, raising if the node omits a required input."""
    if i >= len(inputs) or inputs[i] is None:
        raise node.error(f"required input {what or i} is missing", input=i)
    return inputs[i]


def check_dtype(node, info: TensorInfo, i: int, allowed, what: str = "") -> None:
    """Raise unless input ``i`` has one of the ``allowed`` element types (the one dtype message of ops/)."""
    if info.dtype not in allowed:
        names = ", ".join(sorted({np.dtype(d).name for d in allowed}))
        raise node.error(f"{what + ': ' if what else ''}element type {info.dtype.name} is not supported by "
                         f"{node.op_type}-{node.version}; expected one of {names}", input=i)


def check_types(node, inputs, idx, allowed) -> np.dtype:
    """Every present input of ``idx`` has one element type, from ``allowed``; returns it."""
    for i in idx:
        if i < len(inputs) and inputs[i] is not None:
            check_dtype(node, inputs[i], i, allowed)
    return check_same_dtype(node, inputs, idx)


def check_same_dtype(node, inputs, idx) -> np.dtype:
    dt = None
    for i in idx:
        if i < len(inputs) and inputs[i] is not None:
            if dt is None:
                dt = inputs[i].dtype
            elif inputs[i].dtype != dt:
                raise node.error(f"element type {inputs[i].dtype.name} differs from input {idx[0]}'s {dt.name}; "
                                 f"the op requires one type", input=i)
    return dt


def check_rank(node, info: TensorInfo, i: int, rank=None, min_rank=None, what: str = "") -> None:
    if rank is not None and info.rank != rank:
        raise node.error(f"{what + ': ' if what else ''}expected rank {rank}, got rank {info.rank} with shape "
                         f"{shape_str(info.shape)}", input=i)
    if min_rank is not None and info.rank < min_rank:
        raise node.error(f"{what + ': ' if what else ''}expected rank >= {min_rank}, got shape "
                         f"{shape_str(info.shape)}", input=i)


def check_size(node, shape, what: str = "output") -> None:
    """Refuse absurd output sizes before anything is allocated."""
    n = 1
    for d in shape:
        if d < 0:
            raise node.error(f"{what} shape {shape_str(shape)} has a negative dimension")
        n *= int(d)
    if n > MAX_ELEMENTS:
        raise node.error(f"{what} shape {shape_str(shape)} has {n} elements, more than onnumba's limit of "
                         f"{MAX_ELEMENTS}; check the model's attributes")


def broadcast_shapes(node, shapes, idx=None) -> tuple:
    """Numpy (multidirectional) broadcasting of ``shapes``, with an error naming the inputs that clash."""
    idx = list(range(len(shapes))) if idx is None else list(idx)
    rank = max((len(s) for s in shapes), default=0)
    out = [1] * rank
    for s, i in zip(shapes, idx):
        for k, d in enumerate(s):
            a = rank - len(s) + k
            if d == out[a] or d == 1:
                continue
            if out[a] == 1:
                out[a] = d
            else:
                raise node.error(f"shape {shape_str(s)} cannot be broadcast with the other inputs' shapes "
                                 f"{', '.join(shape_str(t) for t in shapes)} (axis {a}: {d} vs {out[a]})", input=i)
    return tuple(out)


def broadcast_output(node, shapes, idx=None) -> tuple:
    """The output shape of a broadcasting op (:func:`broadcast_shapes`), refused when absurdly large."""
    out = broadcast_shapes(node, shapes, idx)
    check_size(node, out)
    return out


def conv_window(node, kernel: tuple, strides, dilations, auto_pad: str, pads, in_sizes) -> tuple:
    """A convolution window's ``(strides, dilations, padding, out_sizes)``: unset strides / dilations are 1s,
    ``pads`` (NOTSET) or ``auto_pad`` resolved by ``ops/_geometry.py``, whose errors name the attribute."""
    from onnumba.ops._geometry import (  # noqa: PLC0415
        GeometryError, check_pads, check_window, resolve_padding, window_output_sizes)

    nsp = len(kernel)
    one = (1,) * nsp
    try:
        _, strides, dilations = check_window(kernel, strides or one, dilations or one, nsp)
        if auto_pad == "NOTSET" and pads is not None:
            check_pads(pads, nsp)
        padding = resolve_padding(auto_pad, pads, in_sizes, kernel, strides, dilations)
        out_sizes = window_output_sizes(in_sizes, kernel, strides, dilations, padding)
    except GeometryError as e:
        raise node.error(str(e), attribute=e.attribute) from None
    return strides, dilations, padding, out_sizes


def normalize_axis(node, axis: int, rank: int, *, attribute: str | None = None, input: int | None = None,
                   extra: int = 0) -> int:
    """Resolve a negative axis against ``rank`` (+``extra`` for ops that insert axes) or raise."""
    r = rank + extra
    if not -r <= axis < max(r, 1):
        raise node.error(f"axis {axis} is out of range for rank {r} (expected {-r} <= axis < {r})",
                         attribute=attribute, input=input)
    return axis + r if axis < 0 else axis


def const_ints(node, consts, i: int, what: str = "") -> tuple | None:
    """Read a plan-time constant integer input as a tuple of python ints (None when the input is omitted)."""
    if i >= len(consts) or not node.has_input(i):
        return None
    c = consts[i]
    if c is None:
        raise node.error(f"{what or 'this input'} must be a constant known at plan time", input=i)
    if c.dtype.kind not in "iu":
        raise node.error(f"{what or 'this input'} must be an integer tensor, got {c.dtype.name}", input=i)
    return tuple(int(v) for v in np.asarray(c).reshape(-1))


def const_shape(node, inputs, consts, i: int, what: str = "shape") -> tuple:
    """A required plan-constant 1-d integer input holding a shape (ConstantOfShape's, Expand's), every
    dimension >= 0."""
    info = require_input(node, inputs, i, what)
    if info.rank != 1:
        raise node.error(f"the shape must be a 1-d tensor, got shape {shape_str(info.shape)}", input=i)
    shape = const_ints(node, consts, i, "the shape")
    if any(d < 0 for d in shape):
        raise node.error(f"the shape {shape_str(shape)} has a negative dimension", input=i)
    return shape


_MEMO: dict = {}


def memo_by_array(arr: np.ndarray, tag: str, fn):
    """``fn(arr)``, computed once per constant array object and ``tag`` (packed / transformed weights).

    Plans for different input shapes see the same initializer objects, so they share one packed copy instead
    of each holding its own (a VGG-19 fc6 weight is 400 MB). The entry lives as long as ``arr`` does.
    """
    import weakref  # noqa: PLC0415

    key = (id(arr), tag)
    hit = _MEMO.get(key)
    if hit is not None and hit[0]() is arr:
        return hit[1]
    value = fn(arr)
    try:
        # the dict is bound now: at interpreter exit module globals are already None when the callback runs
        ref = weakref.ref(arr, lambda _, k=key, memo=_MEMO: memo.pop(k, None))
    except TypeError:  # not weak-referenceable: do not cache
        return value
    _MEMO[key] = (ref, value)
    return value


# ============================================================================== op families of one-liners

class UnaryOp(Op):
    """One input of an ``allowed`` type; the output has its type and shape, ``func(x, out=out)`` into a new array
    (floating-point warnings silenced: domain errors give NaN or inf, as in C)."""

    allowed: tuple = FLOATS
    input_name: str = ""  # the name dtype errors give the input ("" for none)
    func = None

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, cls.input_name or "X")
        check_dtype(node, x, 0, cls.allowed, cls.input_name)
        return [TensorInfo(x.dtype, x.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        out = np.empty(x.shape, dtype=x.dtype)
        with np.errstate(all="ignore"):
            cls.func(x, out=out)
        return [out]


def unary_op(module: str, name: str, versions: tuple, func, doc: str, allowed: tuple = FLOATS,
             input_name: str = "") -> type:
    """Define and register the :class:`UnaryOp` ``name`` computing ``func`` (a ufunc or ``f(x, out=)``)."""
    cls = type(name, (UnaryOp,), {"func": staticmethod(func), "allowed": allowed, "input_name": input_name,
                                  "__doc__": doc, "__module__": module})
    return register(name, versions=versions)(cls)


class ValueOp(Op):
    """An op whose output is known before it runs: ``attrs.value``, a read-only array that ``parse_attrs`` or
    ``bind`` computed (Constant, Range)."""

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(attrs.value.dtype, attrs.value.shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [attrs.value]
