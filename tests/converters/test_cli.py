"""converters/cli.py: `convert` and `summary` subcommands (called directly and through argparse)."""

import argparse
import os

import numpy as np
import onnx
import pytest

from onnumba.converters import cli
from tests.converters._util import run_ort
from tests.reference import keras_ref as ref

pytest.importorskip("h5py", reason="h5py (extra 'keras') is needed to read .keras files")

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
MODELS = os.path.join(os.path.dirname(__file__), "..", "..", "models")


def _parse(argv):
    parser = argparse.ArgumentParser(prog="onnumba")
    cli.add_subcommands(parser.add_subparsers(dest="cmd", required=True))
    return parser.parse_args(argv)


def test_convert_keras_archive(tmp_path, capsys):
    out = tmp_path / "f.onnx"
    args = _parse(["convert", os.path.join(FIXTURES, "functional_small.keras"), "-o", str(out),
                   "--opset", "18"])
    assert args.func(args) == 0
    assert "wrote" in capsys.readouterr().out
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version == 18
    from onnumba.converters import load_keras
    model = load_keras(os.path.join(FIXTURES, "functional_small.keras"))
    x = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    (y,) = run_ort(proto, {"image": x})
    np.testing.assert_allclose(y, ref.model_forward(model, x)[0], rtol=1e-4, atol=1e-5)


def test_convert_user_errors_print_one_line(tmp_path, capsys):
    args = _parse(["convert", str(tmp_path / "missing.keras"), "-o", str(tmp_path / "o.onnx")])
    assert cli.cmd_convert(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "onnumba convert: error:" in err and "no such file" in err
    args = _parse(["convert", os.path.join(MODELS, "vgg_small.onnx"), "-o", "x.onnx"])
    assert cli.cmd_convert(args) == 2
    assert "expected a .keras archive" in capsys.readouterr().err
    args = _parse(["convert", os.path.join(FIXTURES, "functional_small.keras"), "-o",
                   str(tmp_path / "o.onnx"), "--opset", "9"])
    assert cli.cmd_convert(args) == 2
    assert "opset must be an int in 13..21, got 9" in capsys.readouterr().err


def test_summary_keras(capsys):
    args = _parse(["summary", os.path.join(FIXTURES, "sequential_small.keras")])
    assert cli.cmd_summary(args) == 0
    out = capsys.readouterr().out
    assert 'Model: "small_sequential"' in out and "Total params: 47" in out


def test_summary_onnx_from_proto(capsys):
    args = _parse(["summary", os.path.join(MODELS, "vgg_small.onnx")])
    assert cli.cmd_summary(args) == 0
    out = capsys.readouterr().out
    assert "input_layer: float ['batch', 32, 32, 3]" in out
    assert "training_mode: bool [] (has a default)" in out
    assert "Conv                    4" in out
    assert "parameters: 362,410" in out


def test_summary_bad_file(tmp_path, capsys):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage")
    assert cli.cmd_summary(_parse(["summary", str(bad)])) == 2
    assert "not a readable ONNX file" in capsys.readouterr().err


def test_onnumba_command_line_has_convert_and_summary(tmp_path, capsys):
    runtime_cli = pytest.importorskip("onnumba.cli", reason="the runtime CLI is not importable")
    out = tmp_path / "s.onnx"
    assert runtime_cli.main(["convert", os.path.join(FIXTURES, "sequential_small.keras"),
                             "-o", str(out)]) == 0
    assert runtime_cli.main(["summary", str(out)]) == 0
    assert "parameters: 47" in capsys.readouterr().out
