"""The ``onnumba`` command: inspect and run ONNX models, list supported ops, print the conformance table.

    onnumba info MODEL
    onnumba run MODEL [--input NAME=FILE.npy ...] [--random] [--output out.npz]
    onnumba ops
    onnumba conformance [--op OP ...]

User errors exit with status 2 and one clear line, no traceback.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys

import numpy as np

from onnumba.errors import InputError, OnnumbaError, shape_str


def _load_proto(path: str):
    from onnumba.graph import load_model

    return load_model(path, check=False)


def cmd_info(args) -> int:
    from onnumba.graph import ValueInfo
    from onnumba.registry import DEFAULT_DOMAINS, resolve

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
    n_params = sum(int(np.prod(t.dims)) for t in g.initializer)
    print(f"initializers: {len(g.initializer)} ({n_params:,} values)")
    hist = collections.Counter((n.domain if n.domain not in DEFAULT_DOMAINS else "", n.op_type) for n in g.node)
    print(f"nodes: {len(g.node)}")
    unsupported = []
    for (domain, op), count in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0][1])):
        try:
            resolve(domain, op, opsets.get(domain, 0))
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
    return 0


def _random_feed(vi, rng, batch: int):
    shape = [batch if not isinstance(d, int) else d for d in (vi.shape or [])]
    dt = np.dtype(vi.dtype)
    if dt.kind == "f":
        return rng.standard_normal(shape).astype(dt)
    if dt.kind in "iu":
        return rng.integers(0, 10, size=shape).astype(dt)
    if dt.kind == "b":
        return rng.integers(0, 2, size=shape).astype(bool)
    raise InputError(f"input {vi.name!r}: cannot make random data of type {vi.type_name}")


def cmd_run(args) -> int:
    import time

    import onnumba

    opts = onnumba.SessionOptions()
    if args.threads:
        opts.intra_op_num_threads = args.threads
    opts.enable_profiling = bool(args.profile)
    t0 = time.perf_counter()
    sess = onnumba.InferenceSession(args.model, opts)
    t_load = time.perf_counter() - t0
    feeds = {}
    for item in args.input or []:
        if "=" not in item:
            raise InputError(f"--input expects NAME=FILE.npy, got {item!r}")
        name, path = item.split("=", 1)
        try:
            feeds[name] = np.load(path)
        except Exception as e:
            raise InputError(f"--input {name}: cannot read {path!r} as a .npy file ({e})") from None
    rng = np.random.default_rng(args.seed)
    for vi in sess._graph.inputs:
        if vi.name not in feeds:
            if not args.random:
                raise InputError(f"no data for input {vi.name!r}; pass --input {vi.name}=FILE.npy or --random")
            feeds[vi.name] = _random_feed(vi, rng, args.batch)
    t0 = time.perf_counter()
    outs = sess.run(None, feeds)
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
    if args.profile:
        total = sum(v["total_ms"] for v in sess.profile_summary().values()) or 1.0
        print(f"profile over {1 + len(times)} runs (op type, calls, total ms, share):")
        for op, v in list(sess.profile_summary().items())[: args.profile]:
            print(f"  {op:24s} {v['calls']:6d} {v['total_ms']:10.2f} {100 * v['total_ms'] / total:5.1f}%")
    if args.output:
        np.savez(args.output, **{vi.name: o for vi, o in zip(sess.get_outputs(), outs)})
        print(f"wrote {args.output}")
    return 0


def cmd_ops(args) -> int:
    import onnumba

    rows = onnumba.supported_ops()
    print(f"{'op':<24} {'domain':<10} versions")
    for r in rows:
        print(f"{r['op_type']:<24} {r['domain']:<10} {', '.join(map(str, r['versions']))}")
    print(f"{len(rows)} ops")
    return 0


def cmd_conformance(args) -> int:
    from onnumba.conformance import conformance_table, format_table

    rows = conformance_table(ops=args.op, with_ort=not args.no_ort)
    print(format_table(rows))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="onnumba", description="ONNX inference with Numba kernels")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("info", help="inputs, outputs, opsets, op histogram and unsupported ops of a model")
    s.add_argument("model")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("run", help="run a model and summarise its outputs")
    s.add_argument("model")
    s.add_argument("--input", action="append", metavar="NAME=FILE.npy", help="feed an input from a .npy file")
    s.add_argument("--random", action="store_true", help="feed random data to inputs not given with --input")
    s.add_argument("--batch", type=int, default=1, help="size for symbolic dims with --random (default 1)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--repeat", type=int, default=0, help="time this many extra runs")
    s.add_argument("--threads", type=int, default=0, help="intra-op threads (default: all)")
    s.add_argument("--output", help="write the outputs to this .npz file")
    s.add_argument("--profile", type=int, nargs="?", const=15, default=0, metavar="N",
                   help="print the N op types that took longest (default 15)")
    s.set_defaults(func=cmd_run)
    s = sub.add_parser("ops", help="the supported-ops table")
    s.set_defaults(func=cmd_ops)
    s = sub.add_parser("conformance", help="run onnx's node test cases and onnxruntime cross-checks per op")
    s.add_argument("--op", action="append", help="limit to these ops")
    s.add_argument("--no-ort", action="store_true", help="skip the onnxruntime cross-check column")
    s.set_defaults(func=cmd_conformance)
    try:
        from onnumba.converters.cli import add_subcommands
    except ImportError:
        pass
    else:
        add_subcommands(sub)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (OnnumbaError, ValueError, TypeError, OSError) as e:
        msg = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(f"onnumba {args.cmd}: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
