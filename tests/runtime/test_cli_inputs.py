"""`onnumba run` inputs (.npy by name, .npz archives), unknown input names in every mode, help text with examples,
and `onnumba conformance --op` validation."""

from __future__ import annotations

import os

import numpy as np
import pytest

from onnumba.cli import build_parser, main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models", "tiny_cnn.onnx")


@pytest.fixture
def x():
    return np.random.default_rng(0).random((2, 3, 32, 32), dtype=np.float32)


def test_npz_input_feeds_by_name(tmp_path, x, capsys):
    np.savez(tmp_path / "feeds.npz", x=x)
    assert main(["run", TINY, "--input", str(tmp_path / "feeds.npz"), "--output", str(tmp_path / "a.npz")]) == 0
    np.save(tmp_path / "x.npy", x)
    assert main(["run", TINY, "--input", f"x={tmp_path / 'x.npy'}", "--output", str(tmp_path / "b.npz")]) == 0
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert a["probs"].shape == (2, 10)
        np.testing.assert_array_equal(a["probs"], b["probs"])
    # NAME=FILE.npz picks that name, or the only array of a one-array archive
    np.savez(tmp_path / "other.npz", whatever=x)
    assert main(["run", TINY, "--input", f"x={tmp_path / 'other.npz'}"]) == 0


@pytest.mark.parametrize("extra", [[], ["--random"]])
def test_unknown_input_name_is_reported_in_every_mode(tmp_path, x, capsys, extra):
    np.save(tmp_path / "y.npy", x)
    assert main(["run", TINY, "--input", f"y={tmp_path / 'y.npy'}"] + extra) == 2
    err = capsys.readouterr().err
    assert "unknown input name(s) 'y'; the model's inputs are 'x'" in err
    assert "Traceback" not in err


def test_bad_input_arguments(tmp_path, x, capsys):
    np.save(tmp_path / "x.npy", x)
    assert main(["run", TINY, "--input", str(tmp_path / "x.npy")]) == 2
    assert "expects NAME=FILE.npy or FILE.npz" in capsys.readouterr().err
    np.savez(tmp_path / "two.npz", a=x, b=x)
    assert main(["run", TINY, "--input", f"x={tmp_path / 'two.npz'}"]) == 2
    assert "none named 'x'" in capsys.readouterr().err
    assert main(["conformance", "--op", "NoSuchOp"]) == 2
    assert "not a supported op: NoSuchOp" in capsys.readouterr().err


def test_every_command_and_argument_has_help_and_an_example():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    for name, p in sub.choices.items():
        assert p.epilog and "example" in p.epilog, f"`onnumba {name} --help` shows no example"
        for a in p._actions:
            if a.dest != "help":
                assert a.help, f"`onnumba {name}`: argument {a.dest!r} has no help text"


def test_profile_excludes_the_compile_run_and_draws_a_chart(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "prof.png"
    assert main(["run", TINY, "--random", "--repeat", "3", "--profile", "4", "--profile-chart", str(png)]) == 0
    out = capsys.readouterr().out
    assert "profile over 3 runs" in out and "Conv" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_profile_summary_skip_runs():
    import onnumba

    so = onnumba.SessionOptions()
    so.enable_profiling = True
    sess = onnumba.InferenceSession(TINY, so)
    x = np.zeros((1, 3, 32, 32), np.float32)
    for _ in range(3):
        sess.run(None, {"x": x})
    assert sess.profile_summary()["Conv"]["calls"] == 6
    assert sess.profile_summary(skip_runs=1)["Conv"]["calls"] == 4
    assert sess.profile_summary(skip_runs=3) == {}
