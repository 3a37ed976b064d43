"""The onnumba command: info, run, ops; user errors exit 2 with one line and no traceback."""

import os
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
