"""The ``onnumba`` command ends its process without the interpreter's finalization (``cli._exit_now``), and
loses nothing by it: buffered output, ``atexit`` handlers and the exit status all survive. Fresh interpreters."""

from __future__ import annotations

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models", "tiny_cnn.onnx")


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_command_line_exit_keeps_output_atexit_handlers_and_status():
    code = ("import atexit, sys\nfrom onnumba import cli\n"
            "atexit.register(lambda: print('atexit ran'))\n"
            "sys.stdout.write('buffered, no newline')\n"
            "sys.argv = ['onnumba', 'info', 'no_such_model.onnx']\n"
            "cli.main()\n"
            "print('not reached: main() ended the process')\n")
    r = _python(code)
    assert r.returncode == 2, r.stderr
    assert r.stdout.startswith("buffered, no newline") and "atexit ran" in r.stdout
    assert "not reached" not in r.stdout
    assert "no_such_model.onnx" in r.stderr


def test_main_with_argv_returns_instead_of_exiting():
    r = _python("from onnumba import cli\nprint('status', cli.main(['info', 'no_such_model.onnx']))")
    assert r.returncode == 0 and "status 2" in r.stdout


def test_a_running_thread_gets_the_normal_exit():
    # a non-daemon thread the command left running: the interpreter's exit waits for it, so must we
    code = ("import sys, threading, time\nfrom onnumba import cli\n"
            "t = threading.Thread(target=lambda: (time.sleep(0.5), print('thread finished')))\nt.start()\n"
            "sys.argv = ['onnumba', 'info', 'no_such_model.onnx']\ncli.main()\nprint('main returned')\n")
    r = _python(code)
    assert "main returned" in r.stdout and "thread finished" in r.stdout


def test_run_writes_its_outputs(tmp_path):
    out = tmp_path / "out.npz"
    r = subprocess.run([sys.executable, "-m", "onnumba", "run", TINY, "--random", "--output", str(out)],
                       capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "probs: float32 (1, 10)" in r.stdout and f"wrote {out}" in r.stdout

    import numpy as np

    with np.load(out) as z:
        assert np.isclose(z["probs"].sum(), 1.0, atol=1e-5)
