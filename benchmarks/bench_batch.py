"""Batch scoring throughput: rows per second against batch size for onnumba.batch.score in this process,
with 2 local worker processes, on a 2-worker dask LocalCluster, and an onnxruntime session.run loop.

    python benchmarks/bench_batch.py [--model models/tiny_cnn.onnx] [--rows 4096] [--batch-sizes 1 16 64 256]

Each figure is the median of ``--repeats`` full passes over the rows after one warm-up pass (compile and
worker start-up excluded; start-up is reported separately). Outputs are checked against a plain
``InferenceSession.run`` loop. Writes benchmarks/results/batch.md and batch.png.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks._common import machine_line, ort_session, table_head, table_preamble, write_table  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")


def _timed(fn, repeats: int) -> float:
    fn()  # warm-up: kernels loaded, workers started
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main() -> None:
    import onnumba
    from onnumba.batch import score

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=os.path.join(os.path.dirname(HERE), "models", "tiny_cnn.onnx"))
    ap.add_argument("--rows", type=int, default=4096)
    ap.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64, 256])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-dask", action="store_true", help="skip the LocalCluster column")
    args = ap.parse_args()

    model = open(args.model, "rb").read()
    sess = onnumba.InferenceSession(model)
    inp = sess.get_inputs()[0]
    shape = [d if isinstance(d, int) and d > 0 else 1 for d in inp.shape[1:]]
    x = np.random.default_rng(0).random([args.rows] + shape, dtype=np.float32)
    ref = np.concatenate([sess.run(None, {inp.name: x[i:i + 256]})[0] for i in range(0, args.rows, 256)])
    ort = ort_session(model, 2)

    client = cluster = None
    if not args.no_dask:
        from distributed import Client, LocalCluster

        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=40)
        client = Client(cluster)
        print(f"LocalCluster start: {time.perf_counter() - t0:.1f} s")

    rows = []
    for bs in args.batch_sizes:
        runs = {
            "onnumba (this process)": lambda: score(model, {inp.name: x}, batch_size=bs),
            "onnumba, 2 worker processes": lambda: score(model, {inp.name: x}, batch_size=bs, workers=2),
        }
        if client is not None:
            runs["onnumba, 2-worker LocalCluster"] = lambda: score(model, {inp.name: x}, batch_size=bs,
                                                                   scheduler=client)
        res = {}
        for name, fn in runs.items():
            out = fn()[sess.get_outputs()[0].name]
            err = float(np.max(np.abs(out - ref)))
            if err > 1e-4:
                raise SystemExit(f"{name} at batch {bs}: max abs difference {err} from the run loop")
            res[name] = args.rows / _timed(fn, args.repeats)

        def ort_loop():
            for i in range(0, args.rows, bs):
                ort.run(None, {inp.name: x[i:i + bs]})

        res["onnxruntime run loop (2 threads)"] = args.rows / _timed(ort_loop, args.repeats)
        rows.append((bs, res))
        print(bs, {k: round(v) for k, v in res.items()})
    if client is not None:
        client.close()
        cluster.close()

    names = list(rows[0][1])
    lines = table_preamble("Batch scoring throughput (rows per second)", "bench_batch.py")
    lines += [machine_line(), "",
              f"Model {os.path.basename(args.model)}, {args.rows} rows, median of {args.repeats} passes after a "
              "warm-up pass. The in-process column uses Numba's threads (both cores); each worker process "
              "runs a single-threaded session.", ""]
    lines += table_head(["batch size"] + names, "r" * (len(names) + 1))
    for bs, res in rows:
        lines.append(f"| {bs} | " + " | ".join(f"{res[n]:,.0f}" for n in names) + " |")
    write_table(os.path.join(RESULTS, "batch.md"), lines + [""])
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 4))
        for n in names:
            ax.plot([r[0] for r in rows], [r[1][n] for r in rows], marker="o", label=n)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("batch size (rows per run call)")
        ax.set_ylabel("rows per second")
        ax.set_title(f"Batch scoring, {os.path.basename(args.model)}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(RESULTS, "batch.png"), dpi=110)
        print(f"wrote {os.path.join(RESULTS, 'batch.png')}")
    except ImportError:
        print("matplotlib not installed: no chart")


if __name__ == "__main__":
    main()
