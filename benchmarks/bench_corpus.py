"""The torchvision corpus sweep: every exported model in the cache folder, does onnumba load it, does it match
onnxruntime, and how fast at 1 thread (both runtimes side by side in one process, interleaved, median of a
few runs after a warm-up).

    python -m benchmarks.bench_corpus [--models resnet18_op17 ...] [--repeats 5] [--timeout 900]

Each model runs in a child process (a crash or a hang costs that row only). A model that does not load lists
the operators onnumba lacks (version in force) or the loader's error; one that does not match names the first
node whose output diverges. Export refusals come from the corpus manifest. Writes
benchmarks/results/corpus.md (generated). Regenerate the corpus with tests/corpus/make_torchvision_corpus.py.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")


def measure(path: str, repeats: int) -> dict:
    """One model, in this process: load, compare every output, time both runtimes at 1 thread."""
    import numpy as np
    import onnx

    import onnumba
    from benchmarks._common import ours_session
    from benchmarks._timing import first_call, interleaved
    from tests.corpus.corpus import feeds, first_divergence, max_rel_diff, missing_ops, ort_session, outputs_match

    model = onnx.load(path)
    row = {"model": os.path.basename(path)[:-5], "nodes": len(model.graph.node),
           "opset": next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))}
    missing = missing_ops(model)
    feed = feeds(model, seed=0)
    try:
        t0 = time.perf_counter()
        ours = ours_session(path, 1)
        ya = ours.run(None, feed)
        row["first_s"] = time.perf_counter() - t0
    except Exception as e:
        row.update(loads=False, missing=missing,
                   error=f"{type(e).__name__}: " + " | ".join(str(e).strip().splitlines()[:4])[:400])
        return row
    row["loads"] = True
    theirs = ort_session(path, 1)
    yb = theirs.run(None, feed)
    ya = [np.asarray(a) for a in ya]
    row["max_rel_diff"] = max(max_rel_diff(a, b) for a, b in zip(ya, yb))
    row["matches"] = len(ya) == len(yb) and all(outputs_match(a, b) for a, b in zip(ya, yb))
    if not row["matches"]:
        try:
            row["divergence"] = first_divergence(model, feed)
        except Exception as e:
            row["divergence"] = f"(localizing failed: {type(e).__name__}: {str(e).splitlines()[0][:200]})"
    fns = {"ours": lambda: ours.run(None, feed), "ort": lambda: theirs.run(None, feed)}
    # small models get more runs (about a second per runtime, at most 50): their medians are noisier
    one = max(first_call(f) for f in fns.values())
    med = interleaved(fns, max(repeats, min(50, int(1.0 / max(one, 1e-4)))))
    row.update(ours_ms=med["ours"] * 1e3, ort_ms=med["ort"] * 1e3, ratio=med["ours"] / med["ort"])
    return row


def run_child(path: str, repeats: int, timeout: float) -> dict:
    name = os.path.basename(path)[:-5]
    cmd = [sys.executable, "-m", "benchmarks.bench_corpus", "--child", path, "--repeats", str(repeats)]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"model": name, "loads": None, "error": f"timed out after {timeout:.0f} s"}
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])[:400]
        return {"model": name, "loads": None, "error": f"child exited {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def _fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "-"


def write_results(rows: list, refused: list, path_md: str) -> None:
    from benchmarks._common import machine_line, table_head, table_preamble, write_table
    from benchmarks._timing import geomean

    lines = table_preamble("torchvision corpus sweep", "bench_corpus.py")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines += [machine_line() + f" Load average when written: {load:.1f}.", "",
              "Models: torchvision 0.28 with random weights (`weights=None`), batch 1, the smallest input each "
              "family accepts, exported by torch.onnx's TorchScript exporter (`tests/corpus/"
              "make_torchvision_corpus.py`). Feeds: seeded standard normal. *max rel diff*: max |onnumba - "
              "onnxruntime| / max |onnxruntime| over every output; *matches*: every output within rtol 1e-3, "
              "atol 1e-4 x the output's scale. Times: 1 thread, median of interleaved runs (at least 5; about 1 s "
              "per runtime for small models) after a warm-up; ratio = onnumba / onnxruntime (lower is better). "
              "Rows marked *dynamic batch 2* were exported with a dynamic batch axis (`--dynamic-batch`) and run "
              "at batch 2; *dynamo exporter* rows come from torch's default exporter (`--dynamo`: torch.export "
              "+ onnxscript, weights in an external `.data` file); the other opset 18 rows are extra exports of "
              "the families that use ReduceMean, LayerNormalization or attention.", ""]
    lines += table_head(["model", "opset", "nodes", "loads", "matches", "max rel diff", "onnumba ms",
                         "onnxruntime ms", "ratio", "why not"], "llrllrrrrl")
    for r in rows:
        loads = {True: "yes", False: "no", None: "crash"}[r.get("loads")]
        matches = ("yes" if r.get("matches") else "**no**") if r.get("loads") else "-"
        why = ""
        if r.get("loads") is not True:
            why = ("missing " + ", ".join(r["missing"])) if r.get("missing") else r.get("error", "")
        elif not r.get("matches"):
            why = "first divergent " + r.get("divergence", "")
        family, _, tail = r["model"].rpartition("_op")
        family += " (dynamic batch 2)" if tail.endswith("_dyn") else (" (dynamo exporter)" if "_dynamo" in tail
                                                                       else "")
        lines.append(f"| {family} | {r.get('opset', tail.split('_')[0])} | "
                     f"{r.get('nodes', '-')} | {loads} | {matches} | {_fmt(r.get('max_rel_diff'), '.1e')} | "
                     f"{_fmt(r.get('ours_ms'), '.1f')} | {_fmt(r.get('ort_ms'), '.1f')} | "
                     f"{_fmt(r.get('ratio'), '.2f')} | {why.replace('|', '/')} |")
    for e in refused:
        dyn = " (dynamic batch 2)" if e.get("dynamic_batch") else ""
        lines.append(f"| {e['family']}{dyn} | {e['opset']} | - | export refused | - | - | - | - | - | "
                     f"torch.onnx: {e['error'].replace('|', '/')} |")
    n = len(rows)
    ok = [r for r in rows if r.get("loads")]
    good = [r for r in ok if r.get("matches")]
    lines += ["", f"- {n} exported models: {len(ok)} load, {len(good)} match onnxruntime; "
                  f"{len(refused)} family/opset pairs torch.onnx does not export."]
    def kind(r):
        return r["model"].rpartition("_op")[2].partition("_")[2]

    label = {"": "", "dyn": ", dynamic batch 2", "dynamo": ", dynamo exporter"}
    for op, k in sorted({(r["opset"], kind(r)) for r in good}):
        sel = [r["ratio"] for r in good if (r["opset"], kind(r)) == (op, k)]
        lines.append(f"- geometric mean ratio at 1 thread, opset {op}{label.get(k, ', ' + k)} ({len(sel)} models): "
                     f"**{geomean(sel):.2f}**")
    blockers = Counter(m.split(" (x")[0] for r in rows if not r.get("loads") for m in r.get("missing", []))
    if blockers:
        lines.append("- missing operators (models needing each): " +
                     ", ".join(f"{k} {v}" for k, v in blockers.most_common()))
    write_table(path_md, lines + [""])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="*", help="file stems (e.g. resnet18_op17); default: every model present")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per model (child process)")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--json", help="also write the raw rows here")
    p.add_argument("--table-only", action="store_true", help="rewrite corpus.md from the rows in --json")
    p.add_argument("--merge", action="store_true",
                   help="start from the rows already in --json and re-run only --models (or the failures)")
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(measure(args.child, args.repeats)))
        return
    from tests.corpus.corpus import manifest, model_files

    if args.table_only:
        with open(args.json) as fh:
            rows = json.load(fh)
        write_results(rows, [e for e in manifest() if e["status"] != "ok"], os.path.join(RESULTS, "corpus.md"))
        return

    files = model_files()
    if args.models:
        files = [f for f in files if os.path.basename(f)[:-5] in set(args.models)]
    if not files:
        sys.exit("no corpus models: run python tests/corpus/make_torchvision_corpus.py first")
    previous = {}
    if args.merge and args.json and os.path.exists(args.json):
        with open(args.json) as fh:
            previous = {r["model"]: r for r in json.load(fh)}
        if not args.models:  # re-run what did not load or match
            files = [f for f in files if not previous.get(os.path.basename(f)[:-5], {}).get("matches")]
    rows = []
    for f in files:
        r = run_child(f, args.repeats, args.timeout)
        rows.append(r)
        state = ("match" if r.get("matches") else "MISMATCH") if r.get("loads") else "NO LOAD"
        print(f"{r['model']:38s} {state:8s} err {_fmt(r.get('max_rel_diff'), '.1e'):>8s}  "
              f"ours {_fmt(r.get('ours_ms'), '.1f'):>8s} ms  ort {_fmt(r.get('ort_ms'), '.1f'):>8s} ms  "
              f"ratio {_fmt(r.get('ratio'), '.2f')}  {r.get('missing') or r.get('error') or r.get('divergence') or ''}",
              flush=True)
    if previous:
        fresh = {r["model"] for r in rows}
        rows = sorted(rows + [r for k, r in previous.items() if k not in fresh], key=lambda r: r["model"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    write_results(rows, [e for e in manifest() if e["status"] != "ok"], os.path.join(RESULTS, "corpus.md"))


if __name__ == "__main__":
    main()
