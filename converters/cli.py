"""``onnumba convert`` and ``onnumba summary``: subcommands the runtime CLI adds to its parser.

``add_subcommands(subparsers)`` registers them; ``cmd_convert(args)`` / ``cmd_summary(args)``
return an exit code and print one clear line on a user error. Nothing here imports the runtime:
an ``.onnx`` summary is read from the ModelProto itself.
"""

import argparse
import collections
import os
import sys

from onnumba.converters.errors import ConverterError, LayerTypeError

_KERAS_SUFFIXES = (".keras", ".json")


def add_subcommands(subparsers):
    """Add ``convert`` and ``summary`` to an argparse subparsers object."""
    s = subparsers.add_parser("convert", help="convert a Keras 3 .keras file (or model JSON) to "
                                              "ONNX, without TensorFlow",
                              epilog="examples:\n  onnumba convert model.keras -o model.onnx\n"
                                     "  onnumba convert model.json -o model.onnx --opset 13",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="MODEL.keras (config + weights) or MODEL.json (config only)")
    s.add_argument("-o", "--output", required=True, help="OUT.onnx")
    s.add_argument("--opset", type=int, default=None, help="ONNX opset, 13..21 (default 17)")
    s.add_argument("--training", action="store_true",
                   help="export BatchNormalization in training mode and Dropout's "
                        "training_mode default as true")
    s.add_argument("--fold-batch-norm", action="store_true",
                   help="fold BatchNormalization into the Conv before it")
    s.set_defaults(func=cmd_convert)
    s = subparsers.add_parser("summary", help="layer table of a .keras file, or inputs / outputs "
                                              "/ op histogram / parameters of an .onnx file",
                              epilog="examples:\n  onnumba summary model.keras\n  onnumba summary model.onnx",
                              formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("model", help="MODEL.keras, MODEL.json or MODEL.onnx")
    s.set_defaults(func=cmd_summary)


def _fail(command, exc):
    msg = "; ".join(line.strip() for line in str(exc).splitlines() if line.strip()).replace(":; ", ": ")
    print(f"onnumba {command}: error: {msg}", file=sys.stderr)
    return 2


def _load_keras_model(path):
    from onnumba.converters.saving import load_keras, model_from_json
    if not os.path.exists(path):
        raise ConverterError(f"{path}: no such file")
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as f:
            return model_from_json(f.read())
    return load_keras(path)


def cmd_convert(args):
    """Convert a .keras / .json model to ONNX; returns the exit code."""
    try:
        if not args.model.endswith(_KERAS_SUFFIXES):
            raise ConverterError(f"{args.model}: expected a .keras archive or a .json model "
                                 f"config")
        model = _load_keras_model(args.model)
        model.to_onnx(args.output, opset=args.opset, training=args.training,
                      fold_batch_norm=args.fold_batch_norm)
    except (ConverterError, LayerTypeError, OSError) as exc:  # anything else is a bug: exit 1
        return _fail("convert", exc)
    note = " (config only: weights are freshly initialized)" if args.model.endswith(".json") \
        else ""
    print(f"wrote {args.output}: model {model.name!r}, {model.count_params():,} parameters"
          f"{note}")
    return 0


def _dims(value_info):
    import onnx  # lazily: `onnumba --help` needs no onnx

    t = value_info.type.tensor_type
    dims = [d.dim_param or (d.dim_value if d.HasField("dim_value") else "?")
            for d in t.shape.dim]
    return onnx.TensorProto.DataType.Name(t.elem_type).lower(), dims


def onnx_param_count(proto):
    """Elements of the float initializers that are weights: rank >= 1, not an overridable graph
    input, not only Resize scales / Clip bounds / Dropout ratios (small constants)."""
    import numpy as np
    import onnx

    graph = proto.graph
    floats = (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
              onnx.TensorProto.BFLOAT16)
    constant_slots = {"Resize": {1, 2}, "Clip": {1, 2}, "Dropout": {1}, "Pad": {2}}
    weight_uses = set()
    for node in graph.node:
        for i, name in enumerate(node.input):
            if i not in constant_slots.get(node.op_type, ()):
                weight_uses.add(name)
    graph_inputs = {vi.name for vi in graph.input}
    return sum(int(np.prod(i.dims, dtype=np.int64)) for i in graph.initializer
               if i.data_type in floats and len(i.dims) >= 1 and i.name not in graph_inputs
               and i.name in weight_uses)


def onnx_summary_lines(proto):
    """Inputs, outputs, opsets, op histogram and parameter count of a ModelProto."""
    import onnx

    graph = proto.graph
    inits = {i.name: i for i in graph.initializer}
    lines = [f'ONNX model "{graph.name}" (IR {proto.ir_version}, opsets '
             + ", ".join(f"{o.domain or 'ai.onnx'}:{o.version}" for o in proto.opset_import)
             + ")"]
    lines.append("Inputs:")
    for vi in graph.input:
        dtype, dims = _dims(vi)
        default = " (has a default)" if vi.name in inits else ""
        lines.append(f"  {vi.name}: {dtype} {dims}{default}")
    lines.append("Outputs:")
    for vi in graph.output:
        dtype, dims = _dims(vi)
        lines.append(f"  {vi.name}: {dtype} {dims}")
    lines.append("Ops:")
    histogram = collections.Counter(n.op_type for n in graph.node)
    for op, count in sorted(histogram.items(), key=lambda kv: (-kv[1], kv[0])):
        lines.append(f"  {op:<24}{count}")
    lines.append(f"Nodes: {len(graph.node)}; parameters: {onnx_param_count(proto):,}")
    return lines


def cmd_summary(args):
    """Print a model summary; returns the exit code."""
    import onnx

    try:
        if args.model.endswith(".onnx"):
            if not os.path.exists(args.model):
                raise ConverterError(f"{args.model}: no such file")
            try:
                proto = onnx.load(args.model)
            except Exception as exc:  # onnx raises DecodeError and friends
                raise ConverterError(f"{args.model}: not a readable ONNX file ({exc})") from None
            for line in onnx_summary_lines(proto):
                print(line)
            return 0
        if not args.model.endswith(_KERAS_SUFFIXES):
            raise ConverterError(f"{args.model}: expected .keras, .json or .onnx")
        _load_keras_model(args.model).summary()
    except (ConverterError, LayerTypeError, OSError) as exc:  # anything else is a bug: exit 1
        return _fail("summary", exc)
    return 0
