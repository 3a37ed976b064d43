"""converters/_geometry.py: Keras output sizes and ONNX pads, table tests + properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onnumba.converters import _geometry as g
from tests.reference import keras_ref

SAME_PADS = [  # (in, k, s, d) -> (begin, end): the odd unit goes at the END (Keras/TF)
    dict(n=5, k=3, s=1, d=1, pads=(1, 1)),
    dict(n=4, k=2, s=1, d=1, pads=(0, 1)),
    dict(n=5, k=3, s=2, d=1, pads=(1, 1)),
    dict(n=6, k=3, s=2, d=1, pads=(0, 1)),
    dict(n=7, k=3, s=1, d=2, pads=(2, 2)),
    dict(n=4, k=1, s=3, d=1, pads=(0, 0)),
    dict(n=8, k=4, s=2, d=1, pads=(1, 1)),
    dict(n=3, k=5, s=1, d=1, pads=(2, 2)),
]


@pytest.mark.parametrize("case", SAME_PADS)
def test_same_pads(case):
    assert g.same_pads(case["n"], case["k"], case["s"], case["d"]) == case["pads"]


CONV_OUT = [
    dict(n=10, k=3, s=1, d=1, padding="valid", out=8),
    dict(n=10, k=3, s=2, d=1, padding="valid", out=4),
    dict(n=10, k=3, s=2, d=1, padding="same", out=5),
    dict(n=11, k=3, s=2, d=1, padding="same", out=6),
    dict(n=10, k=3, s=1, d=3, padding="valid", out=4),
    dict(n=10, k=3, s=1, d=2, padding="causal", out=10),
    dict(n=None, k=3, s=1, d=1, padding="same", out=None),
]


@pytest.mark.parametrize("case", CONV_OUT)
def test_conv_output_length(case):
    assert g.conv_output_length(case["n"], case["k"], case["s"], case["d"],
                                case["padding"]) == case["out"]


CONV_T = [  # Keras deconv_output_length, and the ONNX (begin, end, output_padding)
    dict(n=4, k=2, s=2, padding="same", op=None, out=8, onnx=(0, 0, 0)),
    dict(n=4, k=3, s=2, padding="same", op=None, out=8, onnx=(0, 1, 0)),
    dict(n=4, k=4, s=2, padding="same", op=None, out=8, onnx=(1, 1, 0)),
    dict(n=4, k=1, s=2, padding="same", op=None, out=8, onnx=(0, 0, 1)),   # kernel < stride
    dict(n=4, k=1, s=3, padding="valid", op=None, out=12, onnx=(0, 0, 2)),  # kernel < stride
    dict(n=4, k=3, s=2, padding="valid", op=None, out=9, onnx=(0, 0, 0)),
    dict(n=4, k=3, s=2, padding="valid", op=1, out=10, onnx=(0, 0, 1)),
    dict(n=4, k=3, s=2, padding="same", op=1, out=8, onnx=(0, 1, 0)),
    dict(n=4, k=3, s=1, padding="same", op=None, out=4, onnx=(1, 1, 0)),
]


@pytest.mark.parametrize("case", CONV_T)
def test_conv_transpose_table(case):
    assert g.conv_transpose_output_length(case["n"], case["k"], case["s"], 1, case["padding"],
                                          case["op"]) == case["out"]
    assert g.conv_transpose_onnx_pads(case["k"], case["s"], 1, case["padding"],
                                      case["op"]) == case["onnx"]


def test_conv_transpose_keras_formula_without_output_padding():
    # Keras docs: 'valid' -> in * s + max(k - s, 0); 'same' -> in * s
    for n in range(1, 6):
        for k in range(1, 6):
            for s in range(1, 5):
                assert g.conv_transpose_output_length(n, k, s, 1, "valid") == n * s + max(k - s, 0)
                assert g.conv_transpose_output_length(n, k, s, 1, "same") == n * s


def test_bad_padding_message():
    with pytest.raises(ValueError, match="padding must be one of .*'full'"):
        g.conv_pads(3, 3, 1, 1, "full")


@given(n=st.integers(1, 12), k=st.integers(1, 6), s=st.integers(1, 4), d=st.integers(1, 3),
       padding=st.sampled_from(["valid", "same"]),
       op=st.one_of(st.none(), st.integers(0, 3)))
def test_conv_transpose_pads_never_negative(n, k, s, d, padding, op):
    if op is not None and op >= max(s, d):
        op = None
    begin, end, extra = g.conv_transpose_onnx_pads(k, s, d, padding, op)
    assert begin >= 0 and end >= 0 and extra >= 0
    assert extra < max(s, d) or extra == 0 or padding == "valid"
    keff = (k - 1) * d + 1
    onnx_len = (n - 1) * s + keff - begin - end + extra  # ONNX ConvTranspose output size
    assert onnx_len == g.conv_transpose_output_length(n, k, s, d, padding, op)
    assert keras_ref.keras_conv_transpose_padding(k, s, d, padding, op) == \
        g.conv_transpose_jax_pads(k, s, d, padding, op)


@given(n=st.integers(1, 20), k=st.integers(1, 6), s=st.integers(1, 4), d=st.integers(1, 3))
def test_same_output_is_ceil(n, k, s, d):
    b, e = g.same_pads(n, k, s, d)
    keff = (k - 1) * d + 1
    assert 0 <= e - b <= 1
    assert (n + b + e - keff) // s + 1 == -(-n // s) or (b, e) == (0, 0)
