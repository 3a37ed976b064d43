"""Table tests of ops/_geometry.py: window output sizes, SAME pads (conv and pool), explicit pads, ConvTranspose
geometry, the kernels' geometry array."""

from __future__ import annotations

import numpy as np
import pytest

from onnumba.ops._geometry import G_DD, G_DW, G_ID, G_IW, G_KD, G_KW, G_OD, G_OW, G_PW, G_SD, G_SIZE, G_SW, \
    GeometryError, Padding, check_pads, check_window, conv_transpose_geometry, resolve_padding, same_padding, \
    same_pool_padding, window_array, window_output_sizes

# in, kernel, strides, dilations, pads (begins, ends), ceil_mode, expected out
WINDOW = [
    ((5,), (3,), (1,), (1,), ((0,), (0,)), False, (3,)),
    ((5,), (3,), (1,), (1,), ((1,), (1,)), False, (5,)),
    ((7, 8), (3, 3), (2, 2), (1, 1), ((1, 1), (1, 1)), False, (4, 4)),
    ((7, 8), (3, 2), (2, 3), (2, 1), ((0, 1), (2, 0)), False, (3, 3)),
    ((10,), (3,), (1,), (4,), ((0,), (0,)), False, (2,)),          # dilated extent 9
    ((5,), (5,), (1,), (1,), ((0,), (0,)), False, (1,)),           # window == input
    ((1,), (3,), (1,), (1,), ((1,), (1,)), False, (1,)),           # window only fits with pads
    ((6,), (2,), (2,), (1,), ((0,), (0,)), True, (3,)),
    ((5,), (2,), (2,), (1,), ((0,), (0,)), True, (3,)),            # ceil adds a partial window
    ((5,), (2,), (2,), (1,), ((0,), (1,)), True, (3,)),            # last window would start in end pad: dropped
    ((4, 5, 6), (1, 2, 3), (1, 1, 2), (1, 1, 1), ((0, 0, 1), (0, 0, 1)), False, (4, 4, 3)),
]


@pytest.mark.parametrize("i,k,s,d,p,ceil,out", WINDOW)
def test_window_output_sizes(i, k, s, d, p, ceil, out):
    assert window_output_sizes(i, k, s, d, Padding(*p), ceil_mode=ceil) == out


def test_window_larger_than_padded_input():
    with pytest.raises(GeometryError, match=r"extent 5\) is larger than the padded input along spatial axis 1") as e:
        window_output_sizes((5, 2), (1, 3), (1, 1), (1, 2), Padding((0, 0), (0, 1)))
    assert e.value.attribute == "kernel_shape"


# in, kernel, strides, dilations, upper, expected (begins, ends)
SAME = [
    ((5,), (3,), (1,), (1,), True, ((1,), (1,))),
    ((6,), (4,), (1,), (1,), True, ((1,), (2,))),      # odd unit at the end for SAME_UPPER
    ((6,), (4,), (1,), (1,), False, ((2,), (1,))),     # ... at the start for SAME_LOWER
    ((7,), (3,), (2,), (1,), True, ((1,), (1,))),
    ((8,), (3,), (2,), (1,), True, ((0,), (1,))),
    ((8,), (3,), (3,), (1,), False, ((1,), (0,))),
    ((9,), (3,), (1,), (2,), True, ((2,), (2,))),      # dilated kernel extent 5
    ((8,), (2,), (1,), (3,), True, ((1,), (2,))),      # extent 4
    ((4,), (1,), (4,), (1,), True, ((0,), (0,))),      # no padding needed
    ((5, 6), (3, 4), (2, 1), (1, 2), False, ((1, 3), (1, 3))),
]


@pytest.mark.parametrize("i,k,s,d,upper,pads", SAME)
def test_same_padding(i, k, s, d, upper, pads):
    p = same_padding(i, k, s, d, upper)
    assert (p.begins, p.ends) == pads
    # SAME keeps out = ceil(in / stride)
    out = window_output_sizes(i, k, s, d, p)
    assert out == tuple(-(-a // b) for a, b in zip(i, s))


@pytest.mark.parametrize("auto_pad,pads,want", [
    ("NOTSET", None, ((0, 0), (0, 0))),
    ("NOTSET", [1, 2, 3, 4], ((1, 2), (3, 4))),
    ("VALID", [0, 0, 0, 0], ((0, 0), (0, 0))),  # all-zero pads beside auto_pad change nothing: accepted
    ("SAME_UPPER", None, ((1, 0), (1, 1))),
    ("SAME_LOWER", None, ((1, 1), (1, 0))),
])
def test_resolve_padding(auto_pad, pads, want):
    p = resolve_padding(auto_pad, pads, (5, 6), (3, 2), (1, 1), (1, 1))
    assert (p.begins, p.ends) == want
    assert p.onnx_pads == want[0] + want[1]


@pytest.mark.parametrize("auto_pad", ["VALID", "SAME_UPPER", "SAME_LOWER"])
def test_pads_with_auto_pad_are_refused(auto_pad):
    """The spec: pads "cannot be used simultaneously with auto_pad" (Conv, ConvTranspose and the pools)."""
    with pytest.raises(GeometryError, match=r"pads \[1, 2, 3, 4\] cannot be used together with auto_pad"):
        resolve_padding(auto_pad, [1, 2, 3, 4], (5, 6), (3, 2), (1, 1), (1, 1))


@pytest.mark.parametrize("pads,n,match", [
    ([1, 1, 1], 2, r"expected 4 values"),
    ([1, -1], 1, r"pads must be in \[0, "),
    ([2 ** 40, 0], 1, r"pads must be in \[0, 2147483647\]"),
])
def test_check_pads_errors(pads, n, match):
    with pytest.raises(GeometryError, match=match) as e:
        check_pads(pads, n)
    assert e.value.attribute == "pads"


def test_check_pads_negative_allowed():
    assert check_pads([-1, 2], 1, allow_negative=True) == Padding((-1,), (2,))


@pytest.mark.parametrize("k,s,d,attr", [((0, 3), (1, 1), (1, 1), "kernel_shape"), ((3, 3), (1, 0), (1, 1), "strides"),
                                        ((3, 3), (1, 1), (1, 2 ** 40), "dilations"),
                                        ((3,), (1, 1), (1, 1), "kernel_shape")])
def test_check_window_errors(k, s, d, attr):
    with pytest.raises(GeometryError) as e:
        check_window(k, s, d, 2)
    assert e.value.attribute == attr


def test_auto_pad_unknown():
    with pytest.raises(GeometryError, match="expected one of NOTSET") as e:
        resolve_padding("SAME", None, (5,), (3,), (1,), (1,))
    assert e.value.attribute == "auto_pad"


# in, kernel, strides, dilations, kwargs, expected (out, begins, ends)
TRANSPOSE = [
    ((3,), (3,), (1,), (1,), {}, ((5,), (0,), (0,))),
    ((3,), (3,), (2,), (1,), {"pads": [1, 1]}, ((5,), (1,), (1,))),
    ((3,), (3,), (2,), (1,), {"output_padding": [1]}, ((8,), (0,), (0,))),
    ((3,), (3,), (2,), (1,), {"auto_pad": "SAME_UPPER"}, ((6,), (0,), (1,))),
    ((3,), (3,), (2,), (1,), {"auto_pad": "SAME_LOWER"}, ((6,), (1,), (0,))),
    # larger than full: negative total -3, total/2 is floor (onnx's reference): the odd unit at the end
    ((3,), (3,), (2,), (1,), {"output_shape": [10]}, ((10,), (-1,), (-2,))),
    ((3,), (3,), (2,), (1,), {"output_shape": [10], "auto_pad": "SAME_UPPER"}, ((10,), (-2,), (-1,))),
    ((3,), (1,), (2,), (1,), {"auto_pad": "SAME_LOWER"}, ((6,), (0,), (-1,))),    # total -1
    ((3,), (1,), (2,), (1,), {"auto_pad": "SAME_UPPER"}, ((6,), (-1,), (0,))),
    ((3, 3), (3, 3), (3, 2), (1, 1), {"output_shape": [10, 8]}, ((10, 8), (0, 0), (-1, -1))),
]


@pytest.mark.parametrize("i,k,s,d,kw,want", TRANSPOSE)
def test_conv_transpose_geometry(i, k, s, d, kw, want):
    out, p = conv_transpose_geometry(i, k, s, d, **kw)
    assert (out, p.begins, p.ends) == want


def test_conv_transpose_errors():
    with pytest.raises(GeometryError) as e:
        conv_transpose_geometry((3,), (3,), (2,), (1,), output_padding=[2])
    assert e.value.attribute == "output_padding"
    with pytest.raises(GeometryError) as e:
        conv_transpose_geometry((1,), (1,), (1,), (1,), pads=[1, 1])
    assert e.value.attribute == "pads"


# in, kernel, strides, dilations, upper, expected (begins, ends): not clamped at 0, total/2 toward zero
SAME_POOL = [
    ((5,), (3,), (2,), (1,), True, ((1,), (1,))),
    ((4,), (4,), (1,), (1,), True, ((1,), (2,))),                 # odd total: the extra unit at the end
    ((4,), (4,), (1,), (1,), False, ((2,), (1,))),                # ... at the start
    ((5,), (2,), (1,), (2,), True, ((1,), (1,))),                 # dilated extent 3
    ((6,), (1,), (2,), (1,), True, ((0,), (-1,))),                # kernel smaller than stride: negative total
    ((7,), (1,), (4,), (1,), True, ((-1,), (-1,))),
    ((7,), (1,), (4,), (1,), False, ((0,), (-2,))),
    ((5, 6), (3, 1), (2, 2), (1, 1), True, ((1, 0), (1, -1))),
]


@pytest.mark.parametrize("i,k,s,d,upper,want", SAME_POOL)
def test_same_pool_padding(i, k, s, d, upper, want):
    p = same_pool_padding(i, k, s, d, upper)
    assert (p.begins, p.ends) == want


@pytest.mark.parametrize("i,k,s,d,upper", [(5, 3, 2, 1, True), (4, 4, 1, 1, False), (9, 3, 3, 2, True)])
def test_same_pool_padding_equals_conv_same_padding_when_total_is_not_negative(i, k, s, d, upper):
    assert same_pool_padding((i,), (k,), (s,), (d,), upper) == same_padding((i,), (k,), (s,), (d,), upper)


# kernel, strides, dilations, begin pads, out, in -> the G_* layout, leading unit axes for lower ranks
WINDOW_ARRAYS = [
    (((3, 3), (1, 2), (1, 1), (1, 0), (5, 4), (5, 8)), [1, 3, 3, 1, 1, 2, 1, 1, 1, 0, 1, 0, 1, 5, 4, 1, 5, 8]),
    (((2,), (3,), (4,), (5,), (6,), (7,)), [1, 1, 2, 1, 1, 3, 1, 1, 4, 0, 0, 5, 1, 1, 6, 1, 1, 7]),
    (((1, 2, 3), (4, 5, 6), (7, 8, 9), (1, 2, 3), (4, 5, 6), (7, 8, 9)),
     [1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
]


@pytest.mark.parametrize("args,want", WINDOW_ARRAYS)
def test_window_array(args, want):
    g = window_array(*args)
    assert g.dtype == np.int64 and g.tolist() == want and len(want) == G_SIZE
    assert (g[G_KW], g[G_SW], g[G_DW], g[G_PW], g[G_OW], g[G_IW]) == tuple(v[-1] for v in args)
    assert (g[G_KD], g[G_SD], g[G_DD], g[G_OD], g[G_ID]) == ((1,) * 5 if len(args[0]) < 3 else (1, 4, 7, 4, 7))
