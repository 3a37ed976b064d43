"""Slice (opset 1 attributes; opset 10+ inputs known at plan time), computed as a numpy view.

A strided slice needs no kernel: the output is a view of the input (numpy's basic indexing), which is the
fastest possible "copy" (PERFORMANCE.md: 0.22x onnxruntime). Every start / end is clamped per the spec at
plan time, so ``run`` only applies a tuple of python ``slice`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.ops._common import INDEX, check_dtype, check_size, const_ints, require_input
from onnumba.registry import Op, TensorInfo, register

INT64_MAX = 2 ** 63 - 1
INT64_MIN = -(2 ** 63)


@dataclass(frozen=True)
class SliceAttrs:
    """Opset-1 attributes (None for opset 10+, where they are inputs), then the bound per-axis slices."""

    starts: tuple | None = None
    ends: tuple | None = None
    axes: tuple | None = None
    #: filled by ``bind``: one python slice per input axis, and the output shape
    slices: tuple | None = None
    out_shape: tuple | None = None


def clamp_slice(dim: int, start: int, end: int, step: int) -> tuple:
    """The spec's clamping for one axis; returns ``(start, end, length)`` with ``end == -1`` meaning "before 0".

    start/end: negative values count from the end (+dim); then start is clamped to [0, dim] for a positive
    step and [0, dim-1] for a negative one; end to [0, dim] and [-1, dim-1] respectively.
    """
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
        length = max(0, -(-(end - start) // step))
    else:
        start = min(max(start, 0), dim - 1)
        end = min(max(end, -1), dim - 1)
        length = max(0, -(-(start - end) // -step))
    return start, end, length


def slice_plan(node, shape: tuple, starts, ends, axes, steps, *, inputs=(None, None, None, None),
               attrs=("starts", "ends", "axes", None)) -> tuple:
    """Validate starts/ends/axes/steps against ``shape``; return (tuple of slices, output shape).

    ``inputs`` / ``attrs`` name where each of starts, ends, axes, steps came from, for error messages.
    """
    rank = len(shape)

    def where(k):
        return dict(input=inputs[k]) if inputs[k] is not None else dict(attribute=attrs[k])

    if len(ends) != len(starts):
        raise node.error(f"starts has {len(starts)} values but ends has {len(ends)}; they must have the same "
                         f"length", **where(1))
    if axes is None:
        if len(starts) > rank:
            raise node.error(f"{len(starts)} starts given for an input of rank {rank}", **where(0))
        axes = tuple(range(len(starts)))
    elif len(axes) != len(starts):
        raise node.error(f"axes has {len(axes)} values but starts has {len(starts)}; they must have the same "
                         f"length", **where(2))
    if steps is None:
        steps = (1,) * len(starts)
    elif len(steps) != len(starts):
        raise node.error(f"steps has {len(steps)} values but starts has {len(starts)}; they must have the same "
                         f"length", **where(3))
    slices = [slice(None)] * rank
    out = list(shape)
    seen = set()
    for k, (a, s, e, st) in enumerate(zip(axes, starts, ends, steps)):
        if not -rank <= a < rank:
            raise node.error(f"axis {a} is out of range for an input of rank {rank} (expected {-rank} <= axis < "
                             f"{rank})", **where(2))
        a = a + rank if a < 0 else a
        if a in seen:
            raise node.error(f"axis {a} appears more than once in axes {list(axes)}", **where(2))
        seen.add(a)
        if st == 0:
            raise node.error(f"steps must not be 0, got {list(steps)}", **where(3))
        dim = shape[a]
        s, e, n = clamp_slice(dim, s, e, st)
        out[a] = n
        if n == 0:
            slices[a] = slice(0, 0, 1)
        else:
            # end -1 after clamping means "stop before index 0": numpy spells that None
            slices[a] = slice(s, e if e >= 0 else None, st)
    return tuple(slices), tuple(out)


@register("Slice", versions=(1, 10, 11, 13), plan_constant_inputs=(1, 2, 3, 4))
class Slice(Op):
    """numpy-style slicing: ``output = data[starts:ends:steps]`` along ``axes``.

    Opset 1 reads starts/ends/axes from attributes (steps are 1); opset 10+ reads them from inputs 1-4,
    which must be known at plan time. Negative starts/ends count from the end; INT64_MIN / INT64_MAX work as
    "from the very start/end". Duplicate axes and zero steps are refused. The output is a view of the input.
    """

    @classmethod
    def parse_attrs(cls, node) -> SliceAttrs:
        if node.version >= 10:
            for name in ("starts", "ends", "axes"):
                if name in node.attrs:
                    raise node.error(f"Slice-{node.version} takes {name} as an input, not an attribute",
                                     attribute=name)
            return SliceAttrs()
        starts = node.attr("starts", None, "ints")
        ends = node.attr("ends", None, "ints")
        if starts is None or ends is None:
            raise node.error("Slice-1 requires the starts and ends attributes",
                             attribute="starts" if starts is None else "ends")
        axes = node.attr("axes", None, "ints")
        return SliceAttrs(tuple(starts), tuple(ends), None if axes is None else tuple(axes))

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx) -> SliceAttrs:
        x = require_input(node, inputs, 0, "data")
        if node.version < 10:
            slices, out = slice_plan(node, x.shape, attrs.starts, attrs.ends, attrs.axes, None)
        else:
            vals = []
            for i, what in ((1, "starts"), (2, "ends"), (3, "axes"), (4, "steps")):
                if node.has_input(i):
                    check_dtype(node, inputs[i], i, INDEX, what)
                    if inputs[i].rank != 1:
                        raise node.error(f"{what} must be a 1-d tensor, got shape {list(inputs[i].shape)}",
                                         input=i)
                elif i <= 2:
                    raise node.error(f"required input {what} is missing", input=i)
                vals.append(const_ints(node, consts, i, what))
            slices, out = slice_plan(node, x.shape, *vals, inputs=(1, 2, 3, 4))
        check_size(node, out)
        return SliceAttrs(attrs.starts, attrs.ends, attrs.axes, slices, out)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        return [TensorInfo(inputs[0].dtype, attrs.out_shape)]

    @classmethod
    def run(cls, node, attrs, arrays):
        return [np.asarray(arrays[0])[attrs.slices]]
