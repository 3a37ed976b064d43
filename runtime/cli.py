"""The ``onnumba`` command: inspect and run ONNX models, list supported ops, print the conformance table.

    onnumba info MODEL [--plan [--batch N]]
    onnumba run MODEL [--input NAME=FILE.npy ...] [--random] [--output out.npz]
    onnumba ops
    onnumba conformance [--op OP ...]
    onnumba --version                      (also: python -m onnumba ...)

Each command imports only what it needs: ``--help``, ``--version``, ``ops``, ``info`` (without ``--plan``)
and the converter commands never import numba or the operators. Bad input (an :class:`OnnumbaError`, a
converter error, an unreadable file) exits with status 2 and one line; anything else is an onnumba bug and
exits with status 1 and one line saying where to report it (``ONNUMBA_TRACEBACK=1`` shows the traceback).
"""

from __future__ import annotations

import argparse
import os
import sys

from onnumba.errors import InputError, OnnumbaError, shape_str

#: where an internal error asks to be reported
ISSUES_HINT = "this is a bug in onnumba: please report it with the command and the model (ONNUMBA_TRACEBACK=1 " \
              "shows the traceback)"


def _load_proto(path: str):
    from onnumba.graph import load_model

    return load_model(path, check=False)


def cmd_info(args) -> int:
    import collections  # noqa: PLC0415

    from onnumba.graph import ValueInfo  # noqa: PLC0415  (onnx and numpy; no operators)
    from onnumba.optable import check_supported  # noqa: PLC0415
    from onnumba.registry import DEFAULT_DOMAINS  # noqa: PLC0415

    proto = _load_proto(args.model)
    g = proto.graph
    inits = {t.name for t in g.initializer}
    print(f"model: {args.model}")
    print(f"ir_version: {proto.ir_version}  producer: {proto.producer_name or '-'} {proto.producer_version}")
    opsets = {("" if o.domain in DEFAULT_DOMAINS else o.domain): o.version for o in proto.opset_import}
    print("opsets: " + ", ".join(f"{d or 'ai.onnx'}={v}" for d, v in sorted(opsets.items())))
    print("inputs:")
    for vi in g.input:
        if vi.name in inits:
            continue
        v = ValueInfo.from_proto(vi)
        print(f"  {v.name}: {v.type_name} {shape_str(v.shape) if v.shape is not None else '(unknown rank)'}")
    print("outputs:")
    for vi in g.output:
        v = ValueInfo.from_proto(vi)
        print(f"  {v.name}: {v.type_name} {shape_str(v.shape) if v.shape is not None else '(unknown rank)'}")
    n_params = 0
    for t in g.initializer:
        n = 1
        for d in t.dims:
            n *= int(d)
        n_params += n
    print(f"initializers: {len(g.initializer)} ({n_params:,} values)")
    hist = collections.Counter((n.domain if n.domain not in DEFAULT_DOMAINS else "", n.op_type) for n in g.node)
    print(f"nodes: {len(g.node)}")
    unsupported = []
    for (domain, op), count in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0][1])):
        try:
            check_supported(domain, op, opsets.get(domain, 0))
            mark = ""
        except OnnumbaError as e:
            mark = "  UNSUPPORTED"
            unsupported.append(f"{op}: {e}")
        print(f"  {count:5d}  {(domain + '::' if domain else '') + op}{mark}")
    if unsupported:
        print("unsupported ops:")
        for u in unsupported:
            print(f"  {u}")
    else:
        print("all ops supported")
    if args.plan:
        _print_plan(args)
    return 0


def _print_plan(args) -> None:
    """The optimised plan for the declared input shapes (symbolic dims set to ``--batch``)."""
    import onnumba  # noqa: PLC0415

    sess = onnumba.InferenceSession(args.model)
    shapes = {}
    for vi in sess.get_inputs():
        if vi.shape is None:
            raise InputError(f"input {vi.name!r} has no declared rank, so no plan can be made without data; "
                             f"use `onnumba run` instead")
        shapes[vi.name] = tuple(d if isinstance(d, int) and d >= 0 else args.batch for d in vi.shape)
    steps = sess.get_plan(shapes)
    print(f"plan for inputs {', '.join(f'{n} {shape_str(s)}' for n, s in shapes.items())}: {len(steps)} steps")
    width = max([len(st.name) for st in steps] + [4])
    for k, st in enumerate(steps):
        line = f"  {k:4d}  {st.name:<{width}}  {st.op_type:<20}"
        extras = []
        if st.fused:
            extras.append("fused " + ", ".join(f"{op} {nm!r}" for nm, op in st.fused))
        if st.epilogue:
            extras.append(f"epilogue {st.epilogue}")
        if st.algorithm:
            extras.append(f"algorithm {st.algorithm}")
        shapes_out = ", ".join(shape_str(s) for s in st.output_shapes if s is not None)
        print(line + f" -> {shapes_out}" + (f"  [{'; '.join(extras)}]" if extras else ""))


def _random_feed(vi, rng, batch: int):
    import numpy as np  # noqa: PLC0415

    shape = [batch if not isinstance(d, int) else d for d in (vi.shape or [])]
    dt = np.dtype(vi.dtype)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    if dt.kind in "iu":
        return rng.integers(0, 10, size=shape).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    raise InputError(f"input {vi.name!r}: cannot make random data of type {vi.type_name}")


def _read_inputs(items) -> dict:
    """``--input`` values: ``NAME=FILE.npy`` (one input), or ``FILE.npz`` / ``NAME=FILE.npz`` (every array of the
    archive by its name, or the one array of a one-array archive for NAME)."""
    import numpy as np  # noqa: PLC0415

    feeds = {}
    for item in items:
        name, path = item.split("=", 1) if "=" in item else (None, item)
        if name is None and not path.endswith(".npz"):
            raise InputError(f"--input expects NAME=FILE.npy or FILE.npz, got {item!r}")
        try:
            data = np.load(path, allow_pickle=False)
        except Exception as e:  # noqa: BLE001  (any unreadable file is the user's to fix)
            raise InputError(f"--input {item}: cannot read {path!r} as a .npy or .npz file ({e})") from None
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                arrays = {k: data[k] for k in data.files}
            if name is None:
                feeds.update(arrays)
            elif name in arrays:
                feeds[name] = arrays[name]
            elif len(arrays) == 1:
                feeds[name] = next(iter(arrays.values()))
            else:
                raise InputError(f"--input {item}: {path!r} holds {sorted(arrays)}, none named {name!r}")
        else:
            if name is None:
                raise InputError(f"--input {item}: a .npy file needs a name: NAME={path}")
            feeds[name] = data
    return feeds


def _profile_chart(prof: dict, runs: int, path: str, title: str) -> None:
    """A horizontal bar chart of milliseconds per run by op type (needs matplotlib)."""
    try:
        import matplotlib  # noqa: PLC0415

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        raise InputError("--profile-chart needs matplotlib: pip install matplotlib") from None
    items = list(prof.items())[:20][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.35 * len(items) + 1.2))
    ax.barh([op for op, _ in items], [v["total_ms"] / runs for _, v in items], color="#4472c4")
    ax.set_xlabel("ms per run")
    ax.set_title(f"{title}: time by op type ({runs} run{'s' if runs > 1 else ''}, compile excluded)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cmd_run(args) -> int:
    import time  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415

    import onnumba  # noqa: PLC0415

    if args.batch < 0:
        raise InputError(f"--batch must be >= 0, got {args.batch}")

    opts = onnumba.SessionOptions()
    if args.threads:
        opts.intra_op_num_threads = args.threads
    opts.enable_profiling = bool(args.profile or args.profile_chart)
    from onnumba.progress import stderr_reporter  # noqa: PLC0415

    reporter = stderr_reporter()  # a first run compiles kernels: say so, never wait silently
    reporter.__enter__()
    t0 = time.perf_counter()
    sess = onnumba.InferenceSession(args.model, opts)
    t_load = time.perf_counter() - t0
    feeds = _read_inputs(args.input or [])
    declared = [vi.name for vi in sess.get_inputs()]
    unknown = sorted(set(feeds) - set(declared))
    if unknown:
        raise InputError(f"--input: unknown input name(s) {', '.join(map(repr, unknown))}; the model's inputs "
                         f"are {', '.join(map(repr, declared))}")
    rng = np.random.default_rng(args.seed)
    for vi in sess._graph.inputs:
        if vi.name not in feeds:
            if not args.random:
                raise InputError(f"no data for input {vi.name!r}; pass --input {vi.name}=FILE.npy or --random")
            feeds[vi.name] = _random_feed(vi, rng, args.batch)
    t0 = time.perf_counter()
    try:
        outs = sess.run(None, feeds)
    finally:
        reporter.__exit__(None, None, None)
    t_first = time.perf_counter() - t0
    times = []
    for _ in range(max(args.repeat, 0)):
        t0 = time.perf_counter()
        sess.run(None, feeds)
        times.append(time.perf_counter() - t0)
    for vi, out in zip(sess.get_outputs(), outs):
        line = f"{vi.name}: {out.dtype} {shape_str(out.shape)}"
        if out.size and out.dtype.kind in "fiub":
            o = out.astype(np.float64)
            line += f"  min {o.min():.6g}  max {o.max():.6g}  mean {o.mean():.6g}"
            if out.ndim == 2 and out.shape[0] <= 8:
                line += f"  argmax {np.argmax(out, axis=1).tolist()}"
        print(line)
    msg = f"load {t_load * 1e3:.1f} ms, first run {t_first * 1e3:.1f} ms (includes compiling or loading kernels)"
    if times:
        msg += f", median of {len(times)} runs {np.median(times) * 1e3:.2f} ms"
    print(msg)
    if args.profile or args.profile_chart:
        # the first run compiles or loads kernels: profile the timed runs only, when there are any
        prof = sess.profile_summary(skip_runs=1 if times else 0)
        total = sum(v["total_ms"] for v in prof.values()) or 1.0
        runs = len(times) or 1
        print(f"profile over {runs} run{'s' if runs > 1 else ''}"
              f"{'' if times else ' (the first, which includes compiling: add --repeat N)'} "
              f"(op type, calls, ms per run, share):")
        for op, v in list(prof.items())[: args.profile or 15]:
            print(f"  {op:24s} {v['calls']:6d} {v['total_ms'] / runs:10.3f} {100 * v['total_ms'] / total:5.1f}%")
        if args.profile_chart:
            _profile_chart(prof, runs, args.profile_chart, os.path.basename(args.model))
            print(f"wrote {args.profile_chart}")
    if args.output:
        np.savez(args.output, **{vi.name: o for vi, o in zip(sess.get_outputs(), outs)})
        print(f"wrote {args.output}")
    return 0


def cmd_ops(args) -> int:
    from onnumba.optable import supported_ops_table  # noqa: PLC0415  (cached: no numba once warm)

    rows = supported_ops_table()
    print(f"{'op':<24} {'domain':<10} versions")
    for r in rows:
        print(f"{r['op_type']:<24} {r['domain']:<10} {', '.join(map(str, r['versions']))}")
    print(f"{len(rows)} ops")
    return 0


def cmd_conformance(args) -> int:
    from onnumba.conformance import conformance_table, format_table

    tty = sys.stderr.isatty()

    def progress(op, k, n):  # one line per op on a terminal, redrawn; nothing when piped
        if tty:
            sys.stderr.write(f"\r\033[Kchecking {op} ({k + 1} of {n} ops)")
            sys.stderr.flush()

    unknown = sorted(set(args.op or ()) - {r["op_type"] for r in __import__("onnumba").supported_ops()})
    if unknown:
        raise InputError(f"--op: not a supported op: {', '.join(unknown)} (see `onnumba ops`)")
    rows = conformance_table(ops=args.op, with_ort=not args.no_ort, progress=progress)
    if tty:
        sys.stderr.write("\r\033[K")
    print(format_table(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    from onnumba import __version__  # noqa: PLC0415

    p = argparse.ArgumentParser(
        prog="onnumba", description="ONNX inference with Numba kernels, and a Keras-style ONNX builder.",
        epilog="examples:\n  onnumba run models/tiny_cnn.onnx --random --repeat 10\n  onnumba info model.onnx --plan\n"
               "  onnumba batch model.onnx --input x=rows.npy --output scores.npz\n"
               "run `onnumba COMMAND --help` for a command's arguments and examples",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"onnumba {__version__}")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("info", help="inputs, outputs, opsets, op histogram and unsupported ops of a model",
                       description="Describe a model without running it; --plan also shows the optimised plan.",
                       epilog="examples:\n  onnumba info model.onnx\n  onnumba info model.onnx --plan --batch 8",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="the .onnx file")
    s.add_argument("--plan", action="store_true",
                   help="also build a session and print its optimised plan (fused steps, epilogues, algorithms)")
    s.add_argument("--batch", type=int, default=1, help="size for symbolic dims with --plan (default 1)")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("run", help="run a model and summarise its outputs",
                       description="Run a model once (plus --repeat timed runs) and print each output's type, "
                                   "shape and summary; the first run's time includes compiling or loading kernels.",
                       epilog="examples:\n  onnumba run models/tiny_cnn.onnx --random --repeat 10\n"
                              "  onnumba run model.onnx --input x=image.npy --output out.npz\n"
                              "  onnumba run model.onnx --input feeds.npz --profile",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="the .onnx file")
    s.add_argument("--input", action="append", metavar="NAME=FILE.npy|FILE.npz",
                   help="feed input NAME from a .npy file, or every input named in an .npz archive; repeatable")
    s.add_argument("--random", action="store_true", help="feed random data to inputs not given with --input")
    s.add_argument("--batch", type=int, default=1, help="size for symbolic dims with --random (default 1)")
    s.add_argument("--seed", type=int, default=0, help="seed of the --random data (default 0)")
    s.add_argument("--repeat", type=int, default=0, help="time this many extra runs")
    s.add_argument("--threads", type=int, default=0, help="intra-op threads (default: all)")
    s.add_argument("--output", help="write the outputs to this .npz file")
    s.add_argument("--profile", type=int, nargs="?", const=15, default=0, metavar="N",
                   help="print the N op types that took longest over the --repeat runs (default 15)")
    s.add_argument("--profile-chart", metavar="FILE.png",
                   help="also draw the per-op-type profile as a bar chart (needs matplotlib)")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("ops", help="the supported-ops table",
                       description="Every supported operator with its domain and the onnx versions implemented.",
                       epilog="example:\n  onnumba ops | grep Conv", formatter_class=argparse.RawDescriptionHelpFormatter)
    s.set_defaults(func=cmd_ops)
    s = sub.add_parser("conformance", help="run onnx's node test cases and onnxruntime cross-checks per op",
                       description="Run onnx's official single-op node test cases through onnumba (and onnxruntime) "
                                   "and print the per-op table (CONFORMANCE.md is this output).",
                       epilog="examples:\n  onnumba conformance > CONFORMANCE.md\n  onnumba conformance --op Conv --op Relu",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--op", action="append", metavar="OP", help="limit to this op; repeatable")
    s.add_argument("--no-ort", action="store_true", help="skip the onnxruntime cross-check column")
    s.set_defaults(func=cmd_conformance)
    from onnumba import cli_batch  # noqa: PLC0415  (its parser only; the batch code loads when it runs)

    cli_batch.add_parser(sub)
    cli_batch.add_warmup_parser(sub)
    try:
        from onnumba.converters.cli import add_subcommands
    except ImportError:
        pass
    else:
        add_subcommands(sub)
    return p


def one_line(exc: BaseException) -> str:
    """An error message on one line: its lines joined with '; ', or with a space after a line ending in ':'."""
    out = ""
    for line in (ln.strip() for ln in str(exc).splitlines()):
        if line:
            out += ("" if not out else " " if out.endswith(":") else "; ") + line
    return out or type(exc).__name__


def _is_user_error(exc: BaseException) -> bool:
    """OnnumbaError, converter errors (their own family, not importable here without loading the builder) and
    OS errors (a missing or unreadable file) are the user's to fix; anything else is an onnumba bug."""
    if isinstance(exc, (OnnumbaError, OSError)):
        return True
    return any(c.__module__ == "onnumba.converters.errors" for c in type(exc).__mro__)


def main(argv=None) -> int:
    """Run the ``onnumba`` command ``argv`` and return its exit status.

    Called without ``argv`` (the command line: the ``onnumba`` script, ``python -m onnumba``) it ends the process
    itself when the command is done, without the interpreter's finalization (:func:`_exit_now`).
    """
    code = _run_command(argv)
    if argv is None:
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Flush the standard streams, run the ``atexit`` handlers and end the process with ``code``, skipping the
    interpreter's finalization: tearing down Numba's, LLVM's and the kernels' objects after a session takes
    ~0.3 s, a third of a warm ``onnumba run`` of a small model. Nothing onnumba writes waits for finalization.
    Left to the normal exit while another Python thread or a child process is still running."""
    import atexit  # noqa: PLC0415
    import threading  # noqa: PLC0415

    if threading.active_count() > 1:
        return
    mp = sys.modules.get("multiprocessing")
    if mp is not None and mp.active_children():
        return
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001  (a closed pipe: nothing left to say)
            pass
    os._exit(code)


def _run_command(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # noqa: BLE001  (the one place that turns every failure into one line)
        if os.environ.get("ONNUMBA_TRACEBACK", "") not in ("", "0"):
            raise
        if _is_user_error(e):
            print(f"onnumba {args.cmd}: error: {one_line(e)}", file=sys.stderr)
            return 2
        print(f"onnumba {args.cmd}: internal error: {type(e).__name__}: {one_line(e)}; {ISSUES_HINT}",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
