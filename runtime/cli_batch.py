"""``onnumba batch`` (score every row of the inputs into an ``.npz`` file) and ``onnumba warmup`` (compile kernels
ahead of time).

Kept apart from cli.py so the other commands never import the batch machinery.
"""

from __future__ import annotations

import argparse

from onnumba.errors import InputError

EXAMPLES = """examples:
  onnumba batch model.onnx --input x=rows.npy --output scores.npz
  onnumba batch model.onnx --input x=rows/ --output scores.npz --batch-size 64 --workers 2
  onnumba batch model.onnx --input x=rows.npy --output scores.npz --scheduler tcp://10.0.0.5:8786
"""


def add_parser(sub) -> None:
    s = sub.add_parser(
        "batch", help="score every row of the inputs (locally or on a Dask cluster) into an .npz file",
        description="Run MODEL over every row (axis 0) of the inputs in chunks and write one array per model "
                    "output, rows in input order, to OUT.npz. The file appears only when complete.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="the .onnx model")
    s.add_argument("--input", action="append", required=True, metavar="NAME=PATH",
                   help="rows of input NAME: a .npy file (rows along axis 0) or a folder of one-row .npy files "
                        "(sorted by name); repeat for each input")
    s.add_argument("--output", required=True, metavar="OUT.npz", help="where to write the outputs")
    s.add_argument("--batch-size", type=int, default=256, metavar="N", help="rows per run (default 256)")
    s.add_argument("--workers", type=int, default=1, metavar="N",
                   help="local worker processes, each with a single-threaded session (default 1: this process)")
    s.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this dask.distributed cluster, e.g. tcp://host:8786 (needs onnumba[dask])")
    s.set_defaults(func=cmd_batch)


def cmd_batch(args) -> int:
    from onnumba.batch import score_to_file  # noqa: PLC0415

    inputs = {}
    for item in args.input:
        if "=" not in item:
            raise InputError(f"--input expects NAME=PATH, got {item!r}")
        name, path = item.split("=", 1)
        if name in inputs:
            raise InputError(f"--input {name} given twice")
        inputs[name] = path
    if not args.output.endswith(".npz"):
        raise InputError(f"--output must name an .npz file, got {args.output!r}")
    names = score_to_file(args.model, inputs, args.output, batch_size=args.batch_size, workers=args.workers,
                          scheduler=args.scheduler, progress=True)
    print(f"wrote {args.output} ({', '.join(names)})")
    return 0


def add_warmup_parser(sub) -> None:
    s = sub.add_parser(
        "warmup", help="compile kernels ahead of time into the cache (all cores), so first runs start fast",
        description="Compile the kernels MODEL(s) need (each planned and run once on random data, several at a "
                    "time in worker processes), or without MODEL a built-in set covering the common ops. Later "
                    "processes load the compiled kernels from the cache instead of compiling them.",
        epilog="examples:\n  onnumba warmup models/tiny_cnn.onnx\n  onnumba warmup            (the built-in set)\n",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", nargs="*", help=".onnx models to warm up (default: the built-in set)")
    s.add_argument("--jobs", type=int, default=0, metavar="N", help="worker processes (default: one per core)")
    s.add_argument("--batch", type=int, default=1, help="size for symbolic dims (default 1)")
    s.set_defaults(func=cmd_warmup)


def cmd_warmup(args) -> int:
    import sys  # noqa: PLC0415
    import time  # noqa: PLC0415

    from onnumba.ops._numba import cache_dir  # noqa: PLC0415
    from onnumba.warmup import warmup  # noqa: PLC0415

    for m in args.model:
        if not __import__("os").path.exists(m):
            raise InputError(f"no such model file {m!r}")
    t0 = time.perf_counter()
    n = len(args.model) or None

    def report(r):
        state = f"error: {r.error}" if r.error else f"{r.compiled} kernels compiled" if r.compiled else "cached"
        print(f"  {r.name}: {r.seconds:.1f} s, {state}", file=sys.stderr, flush=True)

    print(f"onnumba warmup: compiling into {cache_dir()} ...", file=sys.stderr, flush=True)
    results = warmup(args.model or None, jobs=args.jobs or None, batch=args.batch, on_result=report)
    failed = [r for r in results if r.error]
    print(f"warmed {len(results) - len(failed)} of {len(results)} {'models' if n else 'built-in models'} in "
          f"{time.perf_counter() - t0:.1f} s")
    return 2 if failed and n else 0
