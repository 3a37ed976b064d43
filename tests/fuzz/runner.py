"""Fuzz runner: runs a range of generated cases in worker subprocesses, so a crash (a segfault, an abort) or a
hang is caught and attributed to its case, then the worker restarts after it.

    python -m tests.fuzz.runner --seed 0 --cases 5000 [--jobs 2] [--timeout 60]

Prints the counts per outcome and every failure; exits 1 when there is any failure.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAILURES = ("raw", "mismatch", "crash", "hang")


def _run_range(seed: int, start: int, stop: int, timeout: float, results: dict) -> None:
    """Run cases [start, stop) in as many worker processes as crashes and hangs require."""
    while start < stop:
        proc = subprocess.Popen([sys.executable, "-m", "tests.fuzz.worker", str(seed), str(start), str(stop)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        current, last_line = None, [time.monotonic()]
        timer_hit = threading.Event()

        def watchdog():
            while proc.poll() is None:
                if time.monotonic() - last_line[0] > timeout:
                    timer_hit.set()
                    proc.kill()
                    return
                time.sleep(0.5)

        threading.Thread(target=watchdog, daemon=True).start()
        for line in proc.stdout:
            last_line[0] = time.monotonic()
            rec = json.loads(line)
            if rec.get("started"):
                current = rec
            else:
                results[rec["index"]] = rec
                current = None
        proc.wait()
        if current is not None:  # the worker died or hung inside this case
            outcome = "hang" if timer_hit.is_set() else "crash"
            results[current["index"]] = {"id": current["id"], "index": current["index"], "outcome": outcome,
                                         "error": f"worker exit code {proc.returncode}"}
        done = [i for i in results if start <= i < stop]
        nxt = max(done) + 1 if done else start
        if nxt == start and current is None:  # died before its first case: a harness bug, not a finding
            raise RuntimeError(f"fuzz worker for cases {start}..{stop} exited with {proc.returncode} "
                               f"before running a case")
        start = nxt


def run(seed: int, cases: int, jobs: int = 2, timeout: float = 60.0, start: int = 0) -> dict:
    """Run cases ``start .. start+cases-1`` of ``seed``; returns index -> result record."""
    results: dict = {}
    bounds = [start + cases * j // jobs for j in range(jobs + 1)]
    threads = [threading.Thread(target=_run_range, args=(seed, bounds[j], bounds[j + 1], timeout, results))
               for j in range(jobs) if bounds[j] < bounds[j + 1]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summary(results: dict) -> tuple:
    """(counts per outcome, list of failure records, count of refusals where onnxruntime accepted)."""
    counts = collections.Counter(r["outcome"] for r in results.values())
    failures = [r for _, r in sorted(results.items()) if r["outcome"] in FAILURES]
    refused_ort_ok = sum(1 for r in results.values() if r["outcome"] == "refused" and r.get("ort") == "ok")
    return counts, failures, refused_ort_ok


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds without progress that count as a hang")
    args = ap.parse_args()
    t0 = time.perf_counter()
    results = run(args.seed, args.cases, args.jobs, args.timeout, args.start)
    counts, failures, refused_ort_ok = summary(results)
    print(f"{len(results)} cases in {time.perf_counter() - t0:.0f} s: " +
          ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print(f"refused by onnumba but run by onnxruntime: {refused_ort_ok}")
    for r in failures:
        print(f"FAIL {r['outcome']:8s} {r['id']}: {r.get('error') or r.get('note', '')}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
