"""Import cost: the package, the builder and the light CLI commands never load numba or the operators.

Each check runs in a fresh interpreter (this process has long imported everything).
"""

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = os.path.join(ROOT, "models", "tiny_cnn.onnx")
HEAVY = ("numba", "onnumba.ops", "onnumba.session", "scipy")


def _python(code: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env,
                          timeout=300)


def _loaded_after(statement: str, env=None) -> list:
    code = f"import sys\n{statement}\nprint('loaded:' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    r = _python(code, env)
    assert r.returncode == 0, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last.startswith("loaded:"), r.stdout
    return [m for m in last[len("loaded:"):].split(",") if m]


@pytest.mark.parametrize("statement", [
    "import onnumba",
    "import onnumba.converters",
    "from onnumba import OnnumbaError, ModelError, InputError, __version__",
    "import onnumba.graph, onnumba.registry",  # loading a model's proto and graph needs no kernels
])
def test_import_loads_no_numba(statement):
    assert _loaded_after(statement) == []


def test_lazy_names_resolve_on_first_use():
    r = _python("import sys, onnumba\n"
                "assert 'numba' not in sys.modules\n"
                "assert onnumba.InferenceSession.__name__ == 'InferenceSession'\n"
                "assert 'numba' in sys.modules\n"
                "assert onnumba.registry.TensorInfo and 'supported_ops' in dir(onnumba)\n"
                "assert any(r['op_type'] == 'Conv' for r in onnumba.supported_ops())\n"
                "try:\n    onnumba.no_such_name\nexcept AttributeError as e:\n    print(e)\n")
    assert r.returncode == 0, r.stderr
    assert "no attribute 'no_such_name'" in r.stdout


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["info", TINY], ["ops"],
                                  ["convert", "missing.keras", "-o", "out.onnx"]])
def test_light_cli_commands_load_no_numba(argv, tmp_path):
    env = dict(os.environ, ONNUMBA_CACHE_DIR=str(tmp_path))
    statement = f"from onnumba.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass"
    if argv[0] not in ("info", "ops"):
        assert _loaded_after(statement, env) == []
        return
    # `ops` and `info` read the op table cached by a first call (which imports the operators); the cache is
    # keyed by the source of ops/, so an edit between the two calls (a shared working tree) means try again
    fp = "from onnumba.optable import _ops_fingerprint\nprint('fp:', _ops_fingerprint())"
    for _ in range(3):
        warm = _python(f"{fp}\nfrom onnumba.optable import supported_ops_table\nsupported_ops_table()", env)
        assert warm.returncode == 0, warm.stderr
        check = _python(f"import sys\n{statement}\n{fp}\nprint('numba:', 'numba' in sys.modules)", env)
        assert check.returncode == 0, check.stderr
        lines = check.stdout.splitlines()
        if lines[-1] == "numba: False":
            return
        if lines[-2] == warm.stdout.splitlines()[0]:
            break  # same ops/ source, and numba was loaded anyway: a real failure
    pytest.fail(f"`onnumba {' '.join(argv)}` imported numba with a warm op-table cache")


def test_cached_op_table_equals_the_registry(tmp_path):
    env = dict(os.environ, ONNUMBA_CACHE_DIR=str(tmp_path))
    code = ("import json, onnumba\nfrom onnumba.optable import supported_ops_table\n"
            "print(json.dumps([dict(r, versions=list(r['versions'])) for r in supported_ops_table()]))")
    first, second = _python(code, env), _python(code, env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    assert os.listdir(tmp_path), "the op table was not cached"
    import onnumba
    from onnumba.optable import supported_ops_table

    assert supported_ops_table() == onnumba.supported_ops()


def test_python_dash_m_and_version():
    r = subprocess.run([sys.executable, "-m", "onnumba", "--version"], capture_output=True, text=True, cwd=ROOT,
                       timeout=120)
    import onnumba

    assert r.returncode == 0 and r.stdout.strip() == f"onnumba {onnumba.__version__}"


@pytest.mark.parametrize("argv", [["--help"], ["--version"]])
def test_help_and_version_import_no_onnx(argv):
    code = (f"import sys\nfrom onnumba.cli import main\ntry:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "print('onnx:', 'onnx' in sys.modules)")
    r = _python(code)
    assert r.returncode == 0 and r.stdout.strip().splitlines()[-1] == "onnx: False", r.stdout + r.stderr
