"""DepthToSpace and SpaceToDepth: a reshape, a transpose and one contiguous copy in numpy (pure data
movement, memory-bound; no kernel would be faster)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from onnumba.errors import shape_str
from onnumba.ops._common import check_dtype, require_input
from onnumba.ops.indexing import MOVABLE
from onnumba.registry import Op, TensorInfo, register


# ============================================================================= DepthToSpace, SpaceToDepth

@dataclass(frozen=True)
class BlockAttrs:
    blocksize: int
    crd: bool  # mode CRD (column-row-depth) instead of DCR (depth-column-row)


def _block_attrs(node, mode_from: int) -> BlockAttrs:
    if "blocksize" not in node.attrs:
        raise node.error("the 'blocksize' attribute is required", attribute="blocksize")
    bs = node.attr("blocksize", kind="int")
    if bs < 1:
        raise node.error(f"must be >= 1, got {bs}", attribute="blocksize")
    if node.version < mode_from and "mode" in node.attrs:
        raise node.error(f"the 'mode' attribute exists from opset {mode_from}; this node is version "
                         f"{node.version}", attribute="mode")
    mode = node.attr("mode", "DCR", kind="str")
    if mode not in ("DCR", "CRD"):
        raise node.error(f"must be 'DCR' or 'CRD', got {mode!r}", attribute="mode")
    return BlockAttrs(bs, mode == "CRD")


class _BlockRearrange(Op):
    """DepthToSpace and SpaceToDepth: one attribute parse and one input check; each op gives its output shape
    (refusing sizes its blocks do not divide) and its transpose."""

    mode_from = 11  # the opset from which the op has the 'mode' attribute

    @classmethod
    def parse_attrs(cls, node):
        return _block_attrs(node, cls.mode_from)

    @classmethod
    def infer(cls, node, attrs, inputs, consts):
        x = require_input(node, inputs, 0, "input")
        check_dtype(node, x, 0, MOVABLE)
        if x.rank != 4:
            raise node.error(f"expected a 4-d (N, C, H, W) input, got shape {shape_str(x.shape)}", input=0)
        return [TensorInfo(x.dtype, cls._out_shape(node, x.shape, attrs.blocksize))]


@register("DepthToSpace", versions=(1, 11, 13, 28))
class DepthToSpace(_BlockRearrange):
    """(N, C, H, W) -> (N, C/b², H·b, W·b): channel blocks become b x b spatial blocks (mode DCR or CRD)."""

    @classmethod
    def _out_shape(cls, node, shape, b):
        n, c, h, w = shape
        if c % (b * b):
            raise node.error(f"channels {c} of the input {shape_str(shape)} are not divisible by blocksize² = "
                             f"{b * b}", input=0)
        return n, c // (b * b), h * b, w * b

    @classmethod
    def run(cls, node, attrs, arrays):
        x, b = arrays[0], attrs.blocksize
        n, c, h, w = x.shape
        if attrs.crd:
            t = x.reshape(n, c // (b * b), b, b, h, w).transpose(0, 1, 4, 2, 5, 3)
        else:
            t = x.reshape(n, b, b, c // (b * b), h, w).transpose(0, 3, 4, 1, 5, 2)
        return [np.ascontiguousarray(t).reshape(n, c // (b * b), h * b, w * b)]


@register("SpaceToDepth", versions=(1, 13, 28))
class SpaceToDepth(_BlockRearrange):
    """(N, C, H, W) -> (N, C·b², H/b, W/b): b x b spatial blocks become channels (mode DCR, or CRD from 28)."""

    mode_from = 28

    @classmethod
    def _out_shape(cls, node, shape, b):
        n, c, h, w = shape
        if h % b or w % b:
            raise node.error(f"height and width of the input {shape_str(shape)} must be divisible by blocksize "
                             f"{b}", input=0)
        return n, c * b * b, h // b, w // b

    @classmethod
    def run(cls, node, attrs, arrays):
        x, b = arrays[0], attrs.blocksize
        n, c, h, w = x.shape
        t = x.reshape(n, c, h // b, b, w // b, b)
        t = t.transpose(0, 1, 3, 5, 2, 4) if attrs.crd else t.transpose(0, 3, 5, 1, 2, 4)
        return [np.ascontiguousarray(t).reshape(n, c * b * b, h // b, w // b)]
