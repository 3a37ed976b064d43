"""Batch scoring (onnumba.batch): local, local worker processes, and a real 2-worker dask LocalCluster, every
output row compared with a plain InferenceSession.run over the same chunks."""

from __future__ import annotations

import os
import signal
import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnumba
from onnumba.batch import score, score_to_file
from onnumba.errors import InputError

ROWS = 10_000
FEATURES = 16


def _mlp() -> bytes:
    """x (N, 16) -> Gemm -> Relu -> Gemm -> Softmax (N, 4); Gemm keeps every row's arithmetic independent."""
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((FEATURES, 32)).astype(np.float32)
    w2 = rng.standard_normal((32, 4)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("MatMul", ["r", "w2"], ["z"]), helper.make_node("Softmax", ["z"], ["y"], axis=1)]
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", FEATURES])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4]),
                           helper.make_tensor_value_info("r", TensorProto.FLOAT, ["N", 32])],
                          [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    return m.SerializeToString()


MODEL = _mlp()


@pytest.fixture(scope="module")
def rows() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((ROWS, FEATURES)).astype(np.float32)


def _loop(x: np.ndarray, batch_size: int) -> list:
    sess = onnumba.InferenceSession(MODEL)
    parts = [sess.run(None, {"x": x[lo:lo + batch_size]}) for lo in range(0, len(x), batch_size)]
    return [np.concatenate([p[k] for p in parts]) for k in range(2)]


def test_local_matches_run_loop(rows):
    out = score(MODEL, {"x": rows}, batch_size=500)
    ref = _loop(rows, 500)
    assert list(out) == ["y", "r"]
    np.testing.assert_array_equal(out["y"], ref[0])
    np.testing.assert_array_equal(out["r"], ref[1])


def test_npy_file_and_folder_sources(tmp_path, rows):
    np.save(tmp_path / "x.npy", rows[:300])
    folder = tmp_path / "rows"
    folder.mkdir()
    for i in range(37):
        np.save(folder / f"r{i:04d}.npy", rows[i])
    out_file = tmp_path / "out.npz"
    names = score_to_file(MODEL, {"x": str(tmp_path / "x.npy")}, str(out_file), batch_size=64)
    assert names == ["y", "r"]
    with np.load(out_file) as z:
        np.testing.assert_array_equal(z["y"], _loop(rows[:300], 64)[0])
    out = score(MODEL, {"x": str(folder)}, batch_size=10)
    np.testing.assert_array_equal(out["y"], _loop(rows[:37], 10)[0])
    assert not [p for p in os.listdir(tmp_path) if "part" in p], "temporary files left behind"


def test_bad_row_names_its_index(tmp_path, rows):
    folder = tmp_path / "rows"
    folder.mkdir()
    for i in range(5):
        np.save(folder / f"r{i}.npy", rows[i] if i != 3 else rows[i, :8])
    with pytest.raises(InputError, match=r"input 'x', row 3 \(r3.npy\): shape \(8,\)"):
        score(MODEL, {"x": str(folder)}, batch_size=2)
    with pytest.raises(InputError, match=r"input 'x', row 0: element type float64, expected float32"):
        score(MODEL, {"x": rows.astype(np.float64)})
    with pytest.raises(InputError, match=r"unknown input name\(s\) 'nope'"):
        score(MODEL, {"x": rows, "nope": rows})
    with pytest.raises(InputError, match="row shape"):
        score(MODEL, {"x": rows[:, :3]})


def test_zero_rows():
    out = score(MODEL, {"x": np.empty((0, FEATURES), np.float32)})
    assert out["y"].shape == (0, 4) and out["r"].shape == (0, 32)


def test_local_worker_processes(rows):
    x = rows[:2000]
    out = score(MODEL, {"x": x}, batch_size=250, workers=2)
    np.testing.assert_array_equal(out["y"], _loop(x, 250)[0])


@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as c, distributed.Client(c) as client:
        yield c, client


def test_dask_cluster_matches_run_loop(cluster, rows):
    c, client = cluster
    out = score(MODEL, {"x": rows}, batch_size=1000, scheduler=client)
    np.testing.assert_array_equal(out["y"], _loop(rows, 1000)[0])
    out = score(MODEL, {"x": rows[:3000]}, batch_size=1000, scheduler=c.scheduler_address)
    np.testing.assert_array_equal(out["r"], _loop(rows[:3000], 1000)[1])


def test_dask_worker_killed_mid_run(cluster, rows):
    """A worker dies after the first chunks: its chunks are recomputed, the output is complete and ordered."""
    c, client = cluster
    killed = threading.Event()
    victim = sorted(client.run(os.getpid).values())[0]

    def on_progress(done, total):
        if not killed.is_set() and done >= 2 * 500:
            os.kill(victim, signal.SIGKILL)  # the nanny starts a new worker; its chunks must be recomputed
            killed.set()

    out = score(MODEL, {"x": rows}, batch_size=500, scheduler=client, progress=on_progress)
    assert killed.is_set()
    assert victim not in client.run(os.getpid).values()
    np.testing.assert_array_equal(out["y"], _loop(rows, 500)[0])
    client.wait_for_workers(2, timeout=60)


def test_dask_arrays_in_dask_arrays_out(cluster, rows):
    da = pytest.importorskip("dask.array")
    c, client = cluster
    x = da.from_array(rows[:4000], chunks=(1000, FEATURES))
    out = score(MODEL, {"x": x})
    assert type(out["y"]).__module__.startswith("dask.array")
    assert out["y"].shape == (4000, 4) and out["y"].chunks[0] == (1000,) * 4
    np.testing.assert_array_equal(out["y"].compute(), _loop(rows[:4000], 1000)[0])


def _cli(argv) -> int:
    from onnumba.cli import main

    return main(argv)


def test_cli_batch_local_and_cluster(tmp_path, rows, cluster, capsys):
    """The issue's acceptance check: `onnumba batch` on a 10,000-row .npy equals a session.run loop, locally and
    on the LocalCluster."""
    c, client = cluster
    model = tmp_path / "mlp.onnx"
    model.write_bytes(MODEL)
    np.save(tmp_path / "x.npy", rows)
    ref = _loop(rows, 1000)
    for extra in ([], ["--workers", "2"], ["--scheduler", c.scheduler_address]):
        out = tmp_path / "out.npz"
        assert _cli(["batch", str(model), "--input", f"x={tmp_path / 'x.npy'}", "--output", str(out),
                     "--batch-size", "1000"] + extra) == 0
        with np.load(out) as z:
            assert sorted(z.files) == ["r", "y"]
            np.testing.assert_array_equal(z["y"], ref[0])
            np.testing.assert_array_equal(z["r"], ref[1])
        out.unlink()
    err = capsys.readouterr().err
    assert "scored 10000 rows" in err


def test_cli_batch_errors(tmp_path, rows, capsys):
    model = tmp_path / "mlp.onnx"
    model.write_bytes(MODEL)
    np.save(tmp_path / "x.npy", rows[:10])
    assert _cli(["batch", str(model), "--input", f"nope={tmp_path / 'x.npy'}", "--output",
                 str(tmp_path / "o.npz")]) == 2
    assert "unknown input name(s) 'nope'" in capsys.readouterr().err
    assert _cli(["batch", str(model), "--input", f"x={tmp_path / 'missing.npy'}", "--output",
                 str(tmp_path / "o.npz")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert not (tmp_path / "o.npz").exists()
