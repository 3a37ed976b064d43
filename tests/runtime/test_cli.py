"""The onnumba command: info, run, ops; user errors exit 2 with one line and no traceback."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from onnumba.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models", "tiny_cnn.onnx")


def test_info_lists_io_opset_and_histogram(capsys):
    assert main(["info", TINY]) == 0
    out = capsys.readouterr().out
    assert "x: tensor(float) ('N', 3, 32, 32)" in out
    assert "ai.onnx=17" in out
    assert "      2  Conv" in out
    assert "all ops supported" in out


def test_run_random_and_output_file(tmp_path, capsys):
    out_path = tmp_path / "o.npz"
    assert main(["run", TINY, "--random", "--batch", "2", "--output", str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "probs: float32 (2, 10)" in out
    probs = np.load(out_path)["probs"]
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_run_with_input_file_matches_session(tmp_path, capsys):
    import onnumba

    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    assert main(["run", TINY, "--input", f"x={tmp_path / 'x.npy'}", "--output", str(tmp_path / "o.npz")]) == 0
    expected = onnumba.InferenceSession(TINY).run(None, {"x": x})[0]
    np.testing.assert_array_equal(np.load(tmp_path / "o.npz")["probs"], expected)


@pytest.mark.parametrize("argv,match", [
    (["run", "missing.onnx", "--random"], "not found"),
    (["run", TINY], "no data for input 'x'"),
    (["run", TINY, "--input", "x=nope.npy"], "cannot read"),
])
def test_user_errors_exit_2_with_one_line(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_console_script_ops_table():
    out = subprocess.run([sys.executable, "-m", "onnumba.cli", "ops"], capture_output=True, text=True, check=True)
    assert "Conv" in out.stdout and "ops" in out.stdout.splitlines()[-1]


def test_empty_batch_prints_an_empty_result(capsys):
    assert main(["run", TINY, "--random", "--batch", "0"]) == 0
    out = capsys.readouterr().out
    assert "probs: float32 (0, 10)" in out and "Traceback" not in out


def test_info_plan_shows_fused_steps(capsys):
    assert main(["info", TINY, "--plan", "--batch", "2"]) == 0
    out = capsys.readouterr().out
    assert "plan for inputs x (2, 3, 32, 32): 7 steps" in out
    assert re.search(r"conv1 +Conv +-> \(2, 16, 32, 32\) +\[fused BatchNormalization 'bn1', Relu 'relu1'; "
                     r"epilogue (?i:relu)", out), out


def test_version(capsys):
    import onnumba

    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"onnumba {onnumba.__version__}"


def test_multi_line_user_error_is_one_line_without_colon_semicolon(tmp_path, capsys):
    from onnx import TensorProto, helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    g = helper.make_graph([helper.make_node("NoSuchOp", ["x"], ["y"]), helper.make_node("NoSuchOp2", ["x"], ["z"])],
                          "g", [x], [y])
    path = tmp_path / "m.onnx"
    path.write_bytes(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
    assert main(["run", str(path), "--random"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and ":;" not in err
    assert "2 node(s) use operators onnumba does not support: Node 'NoSuchOp_0' (NoSuchOp)" in err


def test_negative_batch_is_a_user_error(capsys):
    assert main(["run", TINY, "--random", "--batch", "-1"]) == 2
    assert "--batch must be >= 0, got -1" in capsys.readouterr().err


@pytest.mark.parametrize("exc", [ValueError("boom"), TypeError("bad"), ZeroDivisionError("integer division")])
def test_internal_errors_exit_1_with_a_pointer_to_report(exc, monkeypatch, capsys):
    import onnumba.cli as cli

    def broken(args):
        raise exc

    monkeypatch.setattr(cli, "cmd_info", broken)
    monkeypatch.delenv("ONNUMBA_TRACEBACK", raising=False)
    assert main(["info", TINY]) == 1
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"onnumba info: internal error: {type(exc).__name__}: {exc}" in err and "please report it" in err
