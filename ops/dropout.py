"""Dropout in inference (identity, all-true mask) and training form (random mask, scale 1 / (1 - ratio)).

Training form is chosen by, in order: the run option ``RunOptions(training_mode=True / False)``
(``ctx.training`` / ``ctx.inference``, every Dropout of the model), the ``training_mode`` input (opset 12+,
a constant or a value fed at run time), or ``is_test=0`` (opsets 1 and 6, per their spec; without the
attribute a warning at load names the node and these switches). With a ``seed`` attribute the mask is
``numpy.random.RandomState(seed).uniform(0, 1, shape) >= ratio``, drawn afresh on each call, so it equals
onnx's reference and test data; without one each run draws a new mask. Never folded at plan time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from onnumba.errors import InputError, ModelWarning
from onnumba.ops._common import FLOATS, check_dtype, require_input
from onnumba.registry import Op, TensorInfo, register

#: the generator of unseeded Dropouts (a fresh mask per run)
_RNG = np.random.default_rng()


@dataclass(frozen=True)
class DropoutAttrs:
    ratio: float | None  # attribute (< 12) or constant input (12+); None: read the input at run time
    seed: int | None
    training: bool | None  # None: read the training_mode input at run time
    mask_bool: bool  # opset 10+: bool mask; earlier: mask of the input's type


def _check_ratio(node, r: float, *, input: int | None = None, attribute: str | None = None) -> float:
    """The ratio input (opset 12+) is "in [0, 1)" per the spec; the ratio attribute (before 12) has no stated
    range and only matters in training (scale 1 / (1 - ratio)), so ``bind`` checks it only then: 1.0 runs as
    inference, as onnxruntime accepts it."""
    if not 0.0 <= r < 1.0:
        raise node.error(f"the dropout ratio must be in [0, 1), got {r}", input=input, attribute=attribute)
    return float(r)


def _scalar(node, info: TensorInfo | None, i: int, allowed, what: str) -> None:
    if info is None:
        return
    check_dtype(node, info, i, allowed, what)
    if info.size != 1 or info.rank > 1:
        raise node.error(f"{what} must be a scalar, got shape {info.shape}", input=i)


@register("Dropout", versions=(1, 6, 7, 10, 12, 13, 22), foldable=False)
class Dropout(Op):
    """Dropout. Inference: ``output = data`` and an all-true mask. Training: ``output = data * mask / (1 - ratio)``
    with ``mask = uniform(0, 1) >= ratio``; a ratio of 0 is the identity."""

    @classmethod
    def parse_attrs(cls, node):
        v = node.version
        seed = node.attr("seed", None, "int") if v >= 12 else None
        if seed is not None:
            seed &= 0xFFFFFFFF  # RandomState takes 32-bit seeds; a negative or wider seed keeps its low bits
        training: bool | None = False
        ratio = None
        if v < 12:
            ratio = float(node.attr("ratio", 0.5, "float"))
        if v < 7:
            is_test = node.attr("is_test", 0, "int")
            if is_test not in (0, 1):
                raise node.error(f"expected 0 or 1, got {is_test}", attribute="is_test")
            training = not is_test
            if "is_test" not in node.attrs:
                # the spec's default is_test=0 trains (onnxruntime runs it as inference): follow the spec, say so
                warnings.warn(f"{node.desc}: a Dropout before opset 7 without 'is_test' trains (random output), "
                              f"as its spec says; set is_test=1 on the node, or run with "
                              f"RunOptions(training_mode=False) (run-config entry onnumba.training_mode=0), "
                              f"to run it as inference", ModelWarning, stacklevel=4)
        return DropoutAttrs(ratio, seed, training, v >= 10)

    @classmethod
    def bind(cls, node, attrs, inputs, consts, ctx):
        if getattr(ctx, "inference", False):  # RunOptions(training_mode=False) overrides the model
            return replace(attrs, training=False, ratio=0.5 if attrs.ratio is None else attrs.ratio)
        if node.version < 12:
            training = attrs.training or bool(ctx.training)
            if training:
                _check_ratio(node, attrs.ratio, attribute="ratio")
            return replace(attrs, training=training)
        ratio = 0.5
        if node.has_input(1):
            c = consts[1]
            ratio = None if c is None else _check_ratio(node, float(np.asarray(c).reshape(-1)[0]), input=1)
        training: bool | None = False
        if ctx.training:
            training = True
        elif node.has_input(2):
            c = consts[2]
            training = None if c is None else bool(np.asarray(c).reshape(-1)[0])
        return replace(attrs, ratio=ratio, training=training)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "data")
        check_dtype(node, x, 0, FLOATS)
        if node.version >= 12:
            _scalar(node, inputs[1] if len(inputs) > 1 else None, 1, FLOATS, "ratio")
            _scalar(node, inputs[2] if len(inputs) > 2 else None, 2, (np.dtype(bool),), "training_mode")
        outs = [TensorInfo(x.dtype, x.shape)]
        if len(node.outputs) > 1 and node.outputs[1]:
            outs.append(TensorInfo(bool if attrs.mask_bool else x.dtype, x.shape))
        return outs

    @classmethod
    def run(cls, node, attrs, arrays):
        x = arrays[0]
        training = attrs.training
        if training is None:
            training = bool(np.asarray(arrays[2]).reshape(-1)[0])
        want_mask = len(node.outputs) > 1 and node.outputs[1] != ""
        mask_dtype = np.dtype(bool) if attrs.mask_bool else x.dtype
        ratio = attrs.ratio
        if ratio is None:
            ratio = float(np.asarray(arrays[1]).reshape(-1)[0])
            if not 0.0 <= ratio < 1.0:
                raise InputError(f"{node.where(input=1)}: the dropout ratio must be in [0, 1), got {ratio}")
        if not training or ratio == 0.0:
            outs = [x]
            if want_mask:
                outs.append(np.ones(x.shape, mask_dtype))
            return outs
        if attrs.seed is not None:
            u = np.random.RandomState(attrs.seed).uniform(0, 1, x.shape)
        else:
            u = _RNG.random(x.shape)
        mask = np.asarray(u >= ratio)
        y = np.asarray((x * mask) * x.dtype.type(1.0 / (1.0 - ratio)))
        outs = [y.astype(x.dtype, copy=False)]
        if want_mask:
            outs.append(mask.astype(mask_dtype, copy=False))
        return outs
