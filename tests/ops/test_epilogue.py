"""ops/kernels/epilogue.py: the one activation numbering and the one fused epilogue ("bias, then activation"),
and the pointwise loop computing exactly the same Relu / LeakyRelu / Clip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onnumba.ops.kernels import epilogue as E
from onnumba.ops.kernels.epilogue import CLIP, IDENTITY, LEAKY_RELU, NONE, RELU, Epilogue, activate, epilogue_row, \
    epilogue_rows
from onnumba.ops.kernels.pointwise import KIND_OF, params, run_activation

SPECIAL = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1e-40, -1e-40, -3.0, -0.5, 0.5, 3.0, 7.0], np.float32)


def _ref(v, act, a0, a1):
    """The documented semantics, written independently with numpy selects."""
    v = np.asarray(v, np.float32)
    with np.errstate(invalid="ignore"):
        return _ref_select(v, act, a0, a1)


def _ref_select(v, act, a0, a1):
    if act == RELU:
        return np.where(v < 0, np.float32(0), v)
    if act == LEAKY_RELU:
        return np.where(v < 0, v * np.float32(a0), v)
    if act == CLIP:
        v = np.where(v < np.float32(a0), np.float32(a0), v)
        return np.where(v > np.float32(a1), np.float32(a1), v)
    return v


EPILOGUES = [(NONE, 0.0, 0.0), (RELU, 0.0, 0.0), (LEAKY_RELU, 0.0, 0.0), (LEAKY_RELU, -0.5, 0.0),
             (LEAKY_RELU, 0.1, 0.0), (LEAKY_RELU, 2.0, 0.0), (CLIP, 0.0, 6.0), (CLIP, 1.0, -1.0), (CLIP, 0.5, 0.5),
             (CLIP, -math.inf, math.inf), (CLIP, math.inf, -math.inf)]


def test_one_numbering():
    kinds = [E.NONE, E.RELU, E.LEAKY_RELU, E.CLIP, E.ELU, E.SELU, E.CELU, E.SIGMOID, E.HARD_SIGMOID, E.HARD_SWISH,
             E.TANH, E.SOFTPLUS, E.SOFTSIGN, E.GELU, E.GELU_TANH, E.MISH, E.THRESHOLDED_RELU, E.SWISH, E.EXP, E.ERF]
    assert kinds == list(range(20))
    assert (RELU, LEAKY_RELU, CLIP) == (1, 2, 3)
    assert {KIND_OF[k] for k in ("Relu", "LeakyRelu", "Clip")} == {RELU, LEAKY_RELU, CLIP}
    assert E.FUSABLE_OPS == {"Relu": RELU, "LeakyRelu": LEAKY_RELU, "Clip": CLIP, "HardSigmoid": E.HARD_SIGMOID,
                             "HardSwish": E.HARD_SWISH}


@pytest.mark.parametrize("op,args,want", [
    ("Relu", (), Epilogue(RELU)),
    ("LeakyRelu", (0.2,), Epilogue(LEAKY_RELU, 0.2)),
    ("Clip", (0.0, 6.0), Epilogue(CLIP, 0.0, 6.0)),
])
def test_epilogue_of(op, args, want):
    ep = Epilogue.of(op, *args)
    assert ep == want and not ep.is_identity and ep.name == op
    assert IDENTITY.is_identity and IDENTITY.describe() == "none"


def test_epilogue_describe_and_args():
    assert Epilogue.of("Clip", 0, 6).describe() == "Clip(0, 6)"
    assert Epilogue.of("LeakyRelu", 0.5).describe() == "LeakyRelu(alpha=0.5)"
    act, a0, a1 = Epilogue.of("Clip", 0.1, 6).args(np.float32)
    assert act == CLIP and type(a0) is np.float32 and type(a1) is np.float32 and a0 == np.float32(0.1)


@pytest.mark.parametrize("kind", [E.SIGMOID, E.ERF, 99, -1])
def test_epilogue_refuses_kinds_it_cannot_fuse(kind):
    with pytest.raises(ValueError, match="cannot be fused"):
        Epilogue(kind)


@pytest.mark.parametrize("act,a0,a1", EPILOGUES)
def test_activate_semantics(act, a0, a1):
    want = _ref(SPECIAL, act, a0, a1)
    got = np.array([activate(v, act, np.float32(a0), np.float32(a1)) for v in SPECIAL], np.float32)
    np.testing.assert_array_equal(got.view(np.uint32)[~np.isnan(want)], want.view(np.uint32)[~np.isnan(want)])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))


def test_named_semantics():
    f = np.float32
    assert math.isnan(activate(f(np.nan), RELU, f(0), f(0)))  # Relu keeps NaN (max(v, 0) would not)
    assert math.copysign(1, activate(f(-0.0), RELU, f(0), f(0))) == -1  # and -0.0
    assert activate(f(5), CLIP, f(1), f(-1)) == -1 and activate(f(-5), CLIP, f(1), f(-1)) == -1  # lo > hi: hi
    assert math.isnan(activate(f(np.nan), CLIP, f(0), f(6)))


@pytest.mark.parametrize("act,a0,a1", EPILOGUES)
@pytest.mark.parametrize("has_bias", [False, True])
def test_epilogue_rows_and_row(act, a0, a1, has_bias):
    y = np.tile(SPECIAL, (3, 1))
    bias = np.array([0.5, -0.0, np.nan], np.float32)
    want = _ref(y + bias[:, None] if has_bias else y, act, a0, a1)
    got = y.copy()
    epilogue_rows(got, bias, has_bias, act, np.float32(a0), np.float32(a1))
    np.testing.assert_array_equal(got, want)
    row = y[0].copy()
    epilogue_row(row, bias[0], has_bias, act, np.float32(a0), np.float32(a1))
    np.testing.assert_array_equal(row, want[0])


@pytest.mark.parametrize("act,a0,a1", [e for e in EPILOGUES if e[0] != NONE])
def test_pointwise_loop_is_the_epilogue(act, a0, a1):
    """The standalone activation ops and a fused epilogue are one definition: bitwise equal, NaN included."""
    x = np.tile(SPECIAL, 5)
    out = np.empty_like(x)
    run_activation(x, out, act, params(np.float32, a0, a1))
    want = x.copy()
    epilogue_row(want, np.float32(0), False, act, np.float32(a0), np.float32(a1))
    np.testing.assert_array_equal(out.view(np.uint32), want.view(np.uint32))


def test_no_second_activation_numbering_under_ops():
    """Only kernels/epilogue.py gives activation kinds numbers; everything else imports its constants."""
    import pathlib
    import re

    root = pathlib.Path(E.__file__).resolve().parents[1]
    kinds = r"(NONE|RELU|LEAKY_RELU|CLIP|ELU|SELU|CELU|SIGMOID|TANH|GELU|EXP|ERF)"
    patterns = [re.compile(rf"^\s*{kinds}\s*(,[^=\n]*)?=\s*(\d|range\()", re.M),
                re.compile(r"[\"'](relu|leakyrelu)[\"']\s*:\s*\d")]
    offenders = [f"{p.relative_to(root)}: {m.group(0).strip()}" for p in root.rglob("*.py")
                 if p.name != "epilogue.py" for pat in patterns for m in pat.finditer(p.read_text())]
    assert not offenders, offenders
