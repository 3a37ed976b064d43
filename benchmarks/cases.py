"""One table of benchmark cases, shared with the tests so every benchmark measures a checked computation.

Models: the nine model-zoo architectures that ship inside the onnx wheel (onnx/backend/test/data/light, opset 9,
IR 3). Their weights are ConstantOfShape fills; :func:`random_weight_model` swaps every fill for seeded random
initializers so the numbers exercise real arithmetic.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import numpy_helper

ZOO = {
    # name: (file stem, rtol used by onnx's own backend runner for the stored output)
    "bvlc_alexnet": ("light_bvlc_alexnet", 1e-3),
    "densenet121": ("light_densenet121", 2e-3),
    "inception_v1": ("light_inception_v1", 1e-3),
    "inception_v2": ("light_inception_v2", 1e-3),
    "resnet50": ("light_resnet50", 1e-3),
    "shufflenet": ("light_shufflenet", 1e-3),
    "squeezenet": ("light_squeezenet", 1e-3),
    "vgg19": ("light_vgg19", 1e-3),
    "zfnet512": ("light_zfnet512", 1e-3),
}


def zoo_dir() -> str:
    return os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def zoo_model(name: str) -> onnx.ModelProto:
    return onnx.load(os.path.join(zoo_dir(), ZOO[name][0] + ".onnx"))


def zoo_expected(name: str) -> np.ndarray:
    t = onnx.TensorProto()
    with open(os.path.join(zoo_dir(), ZOO[name][0] + "_output_0.pb"), "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def real_inputs(model: onnx.ModelProto) -> list:
    inits = {t.name for t in model.graph.initializer}
    return [vi for vi in model.graph.input if vi.name not in inits]


def runner_feeds(model: onnx.ModelProto) -> dict:
    """What onnx's backend runner feeds these models: arange(n) / n in each input's shape."""
    feeds = {}
    for vi in real_inputs(model):
        shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim)
        n = int(np.prod(shape))
        feeds[vi.name] = (np.arange(n).reshape(shape) / n).astype(np.float32)
    return feeds


def random_feeds(model: onnx.ModelProto, batch: int = 1, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in real_inputs(model):
        dims = [d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim]
        if dims:
            dims[0] = batch
        feeds[vi.name] = rng.standard_normal(dims).astype(np.float32)
    return feeds


def random_weight_model(name: str, seed: int = 0, batch: int | None = None,
                        expose_logits: bool = False) -> onnx.ModelProto:
    """The zoo model with every ConstantOfShape weight fill replaced by a seeded random initializer.

    Values are scaled by role so activations stay in range through deep nets: conv / gemm weights He-normal,
    BatchNormalization scale and variance in [0.5, 1.5], multiplicative 'scale' layers likewise, biases and
    means N(0, 0.1). ``expose_logits`` adds the final Softmax's input as a second output (softmax saturates on
    deep random nets, the logits keep the comparison sensitive). ``batch`` rewrites the batch dim of the real inputs (and of a Reshape to (1, -1)).
    """
    m = zoo_model(name)
    rng = np.random.default_rng(seed)
    g = m.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consumers = {}
    for n in g.node:
        for k, i in enumerate(n.input):
            consumers.setdefault(i, []).append((n, k))
    keep, fills = [], []  # fills: (name, shape, role) drawn after the graph is rewritten
    for n in g.node:
        if n.op_type == "ConstantOfShape" and n.input and n.input[0] in inits:
            shape = tuple(int(v) for v in inits[n.input[0]])
            uses = consumers.get(n.output[0], [])
            role = None
            for c, k in uses:
                if c.op_type in ("Conv", "Gemm") and k == 1:
                    role = ("w", c)
                elif c.op_type == "BatchNormalization" and k in (1, 4):
                    role = ("pos", c)
                elif c.op_type in ("Mul", "Unsqueeze") and role is None:
                    # densenet / inception_v2 "scale" layers: Unsqueeze -> Mul
                    role = ("pos", c) if any(cc.op_type == "Mul" for cc, _ in consumers.get(c.output[0], []))\
                        or c.op_type == "Mul" else None
            fills.append((n.output[0], shape, role))
        else:
            keep.append(n)
    del g.node[:]
    g.node.extend(keep)
    used = {i for n in keep for i in n.input}
    real = {vi.name for vi in real_inputs(m)}
    old = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    kept_inputs = [vi for vi in g.input if vi.name in real]
    # IR 3: every initializer is also listed as a graph input
    kept_inputs += [onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)) for t in old]
    kept_inputs += [onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, list(shape))
                    for name, shape, _ in fills]
    del g.input[:]
    g.input.extend(kept_inputs)
    g.initializer.extend(old)  # small (shapes, fills' shapes): inference reads Reshape targets from them
    if expose_logits:
        soft = [n for n in g.node if n.op_type == "Softmax"]
        if soft:
            # inferred while the graph holds no weights yet (the inputs above carry their shapes): inferring
            # on vgg19 with its weights copies 0.5 GB several times
            name = soft[-1].input[0]
            inferred = onnx.shape_inference.infer_shapes(m)
            vi = next((v for v in inferred.graph.value_info if v.name == name), None)
            g.output.append(vi if vi is not None else
                            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, [None, None]))
    for name, shape, role in fills:
        if role and role[0] == "w":
            c = role[1]
            trans_b = any(a.name == "transB" and a.i for a in c.attribute)
            if c.op_type == "Gemm":
                fan_in = shape[1] if trans_b else shape[0]
            else:
                fan_in = int(np.prod(shape[1:]))
            # float32 draws scaled in place: a float64 draw of vgg19's FC weights alone is 0.8 GB
            val = rng.standard_normal(shape, dtype=np.float32)
            val *= np.float32(np.sqrt(2.0 / max(fan_in, 1)))
        elif role and role[0] == "pos":
            val = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            val = rng.standard_normal(shape, dtype=np.float32)
            val *= np.float32(0.1)
        g.initializer.add().CopyFrom(numpy_helper.from_array(val, name))
        del val
    if batch is not None:
        for vi in g.input:
            if vi.name in real:
                vi.type.tensor_type.shape.dim[0].dim_value = batch
        for vi in g.output:
            vi.type.tensor_type.shape.dim[0].dim_value = batch
    return m
