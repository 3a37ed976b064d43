"""Table tests of ops/_geometry.py: window output sizes, SAME pads, explicit pads, ConvTranspose geometry."""

from __future__ import annotations

import pytest

from onnumba.ops._geometry import GeometryError, Padding, check_pads, check_window, conv_transpose_geometry, \
    resolve_padding, same_padding, window_output_sizes

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
    ("VALID", [1, 2, 3, 4], ((0, 0), (0, 0))),
    ("SAME_UPPER", None, ((1, 0), (1, 1))),
    ("SAME_LOWER", None, ((1, 1), (1, 0))),
])
def test_resolve_padding(auto_pad, pads, want):
    p = resolve_padding(auto_pad, pads, (5, 6), (3, 2), (1, 1), (1, 1))
    assert (p.begins, p.ends) == want
    assert p.onnx_pads == want[0] + want[1]


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
    ((3,), (3,), (2,), (1,), {"output_shape": [10]}, ((10,), (-2,), (-1,))),   # larger than full: negative, odd unit at the start
    ((3,), (3,), (2,), (1,), {"output_shape": [10], "auto_pad": "SAME_UPPER"}, ((10,), (-1,), (-2,))),
    ((3,), (1,), (2,), (1,), {"auto_pad": "SAME_LOWER"}, ((6,), (-1,), (0,))),    # total -1
    ((3, 3), (3, 3), (3, 2), (1, 1), {"output_shape": [10, 8]}, ((10, 8), (-1, -1), (0, 0))),
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
