"""Empty tensors: every registered op runs a one-node model whose first input has a leading (batch-like) dimension
of 0 and returns outputs of the shape and element type onnxruntime gives (onnx.reference where onnxruntime
refuses the case). Ops where an empty batch makes no sense are in SKIP with a reason; a newly registered op
without a template fails ``test_every_op_has_a_template``.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest

import onnumba
from onnx import helper
from tests.helpers import make_node_model

F = np.float32
U8 = np.uint8
I64 = np.int64


def z(*shape, dtype=F):
    """A zero-filled array (the empty ones have no values anyway)."""
    return np.zeros(shape, dtype)


def c(values, dtype=I64):
    return np.array(values, dtype)


def T(inputs, attrs=None, opset=17, outs=1, consts=()):
    """A template: ``inputs`` name -> array in node order ('' for an omitted one), the names in ``consts`` are
    initializers."""
    return dict(inputs=inputs, attrs=attrs or {}, opset=opset, outs=outs, consts=consts)


X3 = z(0, 3, 4)          # (batch 0, channels, length)
X4 = z(0, 3, 4, 4)       # (batch 0, channels, height, width)

_UNARY = ["Abs", "Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Ceil", "Celu", "Cos", "Cosh", "Elu", "Erf", "Exp",
          "Floor", "HardSigmoid", "HardSwish", "Identity", "IsInf", "IsNaN", "LeakyRelu", "Log", "Neg",
          "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softplus", "Softsign",
          "Sqrt", "Tan", "Tanh", "ThresholdedRelu", "Softmax", "LogSoftmax", "Hardmax", "Dropout", "Shape", "Size",
          "Flatten", "LpNormalization", "Transpose", "NonZero", "Clip", "Trilu"]
_BINARY = ["Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Equal", "Greater", "GreaterOrEqual", "Less",
           "LessOrEqual", "PRelu"]
_REDUCE = ["ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
           "ReduceProd", "ReduceSumSquare"]

TEMPLATES = {op: T({"x": X3}) for op in _UNARY}
TEMPLATES.update({op: T({"x": X3, "y": np.ones((3, 4), F)}) for op in _BINARY})
TEMPLATES.update({op: T({"x": X3}, {"axes": [1]}, opset=13) for op in _REDUCE})
TEMPLATES.update({
    "Gelu": T({"x": X3}, opset=20),
    "Mish": T({"x": X3}, opset=18),
    "MeanVarianceNormalization": T({"x": X4}),
    "Swish": T({"x": X3}, opset=24),
    "Mod": T({"x": X3, "y": np.ones((3, 4), F)}, {"fmod": 1}),
    "Not": T({"x": z(0, 3, dtype=bool)}),
    "And": T({"x": z(0, 3, dtype=bool), "y": np.ones(3, bool)}),
    "Or": T({"x": z(0, 3, dtype=bool), "y": np.ones(3, bool)}),
    "Xor": T({"x": z(0, 3, dtype=bool), "y": np.ones(3, bool)}),
    "BitShift": T({"x": z(0, 3, dtype=U8), "y": np.ones(3, U8)}, {"direction": "LEFT"}),
    "Where": T({"c": z(0, 3, 4, dtype=bool), "x": X3, "y": np.ones((3, 4), F)}),
    "Cast": T({"x": X3}, {"to": 7}),
    "ReduceSum": T({"x": X3, "a": c([1])}, opset=13, consts=("a",)),
    "ArgMax": T({"x": X3}, {"axis": 1}),
    "ArgMin": T({"x": X3}, {"axis": 1}),
    "TopK": T({"x": X3, "k": c([2])}, {"axis": -1}, outs=2, consts=("k",)),
    "CumSum": T({"x": X3, "a": c(1)}, consts=("a",)),
    "AveragePool": T({"x": X4}, {"kernel_shape": [2, 2]}),
    "MaxPool": T({"x": X4}, {"kernel_shape": [2, 2]}),
    "GlobalAveragePool": T({"x": X4}),
    "GlobalMaxPool": T({"x": X4}),
    "LRN": T({"x": X4}, {"size": 3}),
    "BatchNormalization": T({"x": X4, "s": np.ones(3, F), "b": z(3), "m": z(3), "v": np.ones(3, F)}, opset=15,
                            consts=("s", "b", "m", "v")),
    "InstanceNormalization": T({"x": X4, "s": np.ones(3, F), "b": z(3)}, consts=("s", "b")),
    "GroupNormalization": T({"x": X4, "s": np.ones(3, F), "b": z(3)}, {"num_groups": 3}, opset=21,
                            consts=("s", "b")),
    "LayerNormalization": T({"x": X3, "s": np.ones(4, F)}, {"axis": -1}, consts=("s",)),
    "Conv": T({"x": X4, "w": np.ones((2, 3, 3, 3), F)}, consts=("w",)),
    "ConvTranspose": T({"x": X4, "w": np.ones((3, 2, 3, 3), F)}, consts=("w",)),
    "ConvInteger": T({"x": z(0, 3, 4, 4, dtype=U8), "w": np.ones((2, 3, 3, 3), U8)}, consts=("w",)),
    "QLinearConv": T({"x": z(0, 3, 4, 4, dtype=U8), "xs": c(0.1, F), "xz": c(0, U8), "w": np.ones((2, 3, 3, 3), U8),
                      "ws": c(0.1, F), "wz": c(0, U8), "ys": c(0.1, F), "yz": c(0, U8)},
                     consts=("xs", "xz", "w", "ws", "wz", "ys", "yz")),
    "DepthToSpace": T({"x": z(0, 4, 2, 2)}, {"blocksize": 2}),
    "SpaceToDepth": T({"x": z(0, 1, 4, 4)}, {"blocksize": 2}),
    "Resize": T({"x": X4, "r": z(0), "s": c([1, 1, 2, 2], F)}, {"mode": "linear"}, consts=("r", "s")),
    "Upsample": T({"x": X4, "s": c([1, 1, 2, 2], F)}, opset=9, consts=("s",)),
    "Pad": T({"x": X4, "p": c([0, 0, 1, 1, 0, 0, 1, 1])}, {"mode": "edge"}, opset=19, consts=("p",)),
    "Slice": T({"x": X3, "s": c([1]), "e": c([3]), "a": c([2])}, consts=("s", "e", "a")),
    "Split": T({"x": X3, "s": c([1, 2])}, {"axis": 1}, opset=13, outs=2, consts=("s",)),
    "Concat": T({"x": X3, "y": z(0, 2, 4)}, {"axis": 1}),
    "Gather": T({"x": X3, "i": c([0, 2])}, {"axis": 1}, consts=("i",)),
    "GatherElements": T({"x": X3, "i": z(0, 2, 4, dtype=I64)}, {"axis": 1}),
    "GatherND": T({"x": X3, "i": z(0, 1, dtype=I64)}),
    "ScatterElements": T({"x": z(0, 3), "i": z(0, 3, dtype=I64), "u": z(0, 3)}, {"axis": 1}),
    "Scatter": T({"x": z(0, 3), "i": z(0, 3, dtype=I64), "u": z(0, 3)}, {"axis": 1}, opset=9),
    "ScatterND": T({"x": z(0, 3), "i": z(0, 1, dtype=I64), "u": z(0, 3)}),
    "Compress": T({"x": z(0, 3), "k": c([True, False, True], bool)}, {"axis": 1}, consts=("k",)),
    "Expand": T({"x": z(0, 1, 4), "s": c([1, 3, 1])}, consts=("s",)),
    "Tile": T({"x": z(0, 3), "r": c([2, 1])}, consts=("r",)),
    "Reshape": T({"x": X3, "s": c([0, 12])}, consts=("s",)),
    "Squeeze": T({"x": z(0, 1, 4), "a": c([1])}, consts=("a",)),
    "Unsqueeze": T({"x": z(0, 3), "a": c([1])}, consts=("a",)),
    "Einsum": T({"a": z(0, 2, 3), "b": z(0, 3, 4)}, {"equation": "bij,bjk->bik"}),
    "Gemm": T({"a": z(0, 3), "b": np.ones((3, 4), F)}, consts=("b",)),
    "MatMul": T({"a": X3, "b": np.ones((4, 5), F)}, consts=("b",)),
    "MatMulInteger": T({"a": z(0, 3, dtype=U8), "b": np.ones((3, 4), U8)}, consts=("b",)),
    "QLinearMatMul": T({"a": z(0, 3, dtype=U8), "as": c(0.1, F), "az": c(0, U8), "b": np.ones((3, 4), U8),
                        "bs": c(0.1, F), "bz": c(0, U8), "ys": c(0.1, F), "yz": c(0, U8)},
                       consts=("as", "az", "b", "bs", "bz", "ys", "yz")),
    "QuantizeLinear": T({"x": X3, "s": c(0.1, F), "zp": c(0, U8)}, consts=("s", "zp")),
    "DequantizeLinear": T({"x": z(0, 3, dtype=U8), "s": c(0.1, F), "zp": c(0, U8)}, consts=("s", "zp")),
    "DynamicQuantizeLinear": T({"x": X3}, outs=3),
    "OneHot": T({"i": z(0, 3, dtype=I64), "d": c(5), "v": c([0, 1], F)}, consts=("d", "v")),
    # recurrent ops: layout=1 puts the batch first (X is (batch, seq, input))
    "RNN": T({"x": z(0, 2, 3), "w": np.ones((1, 4, 3), F), "r": np.ones((1, 4, 4), F)},
             {"hidden_size": 4, "layout": 1}, opset=14, outs=2, consts=("w", "r")),
    "GRU": T({"x": z(0, 2, 3), "w": np.ones((1, 12, 3), F), "r": np.ones((1, 12, 4), F)},
             {"hidden_size": 4, "layout": 1}, opset=14, outs=2, consts=("w", "r")),
    "LSTM": T({"x": z(0, 2, 3), "w": np.ones((1, 16, 3), F), "r": np.ones((1, 16, 4), F)},
              {"hidden_size": 4, "layout": 1}, opset=14, outs=3, consts=("w", "r")),
    # generators: the "batch" is the leading dimension of the value they make
    "ConstantOfShape": T({"s": c([0, 3])}, consts=("s",)),
    "Range": T({"a": c(0, F), "b": c(0, F), "d": c(1, F)}, consts=("a", "b", "d")),
})

#: registered ops without an empty-batch case, each with the reason
SKIP = {
    "Constant": "no input: its value is an attribute (an empty value tensor is a plain initializer)",
}

#: ops whose empty-batch case fails in another helper's files: xfail (strict) naming the owner
OWNED_ELSEWHERE: dict = {}


def _ops():
    return sorted({o["op_type"] for o in onnumba.supported_ops() if o["domain"] in ("", "ai.onnx")})


def test_every_op_has_a_template():
    missing = [op for op in _ops() if op not in TEMPLATES and op not in SKIP]
    assert not missing, f"registered ops without an empty-batch template or a SKIP reason: {missing}"


def _model(op, t):
    inits = {n: t["inputs"][n] for n in t["consts"]}
    return make_node_model(op, dict(t["inputs"]), [f"y{i}" for i in range(t["outs"])], t["attrs"], opset=t["opset"],
                           initializers=inits)


def _theirs(model, feeds):
    """onnxruntime's outputs, or onnx.reference's where onnxruntime refuses the model."""
    import onnxruntime as ort

    try:
        so = ort.SessionOptions()
        so.log_severity_level = 4
        return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)
    except Exception:  # noqa: BLE001
        from onnx.reference import ReferenceEvaluator

        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            try:
                return ReferenceEvaluator(model).run(None, feeds)
            except ValueError:  # GroupNormalization: both expand the function body's Reshape(0, C, -1) of
                pass  # an empty batch, which is ambiguous; the spec's output shape is the input's
        first = next(iter(feeds.values()))  # dims inference leaves open are the data input's (Y has X's shape)
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph.output
        return [np.empty([d.dim_value if d.HasField("dim_value") else first.shape[k]
                          for k, d in enumerate(o.type.tensor_type.shape.dim)],
                         helper.tensor_dtype_to_np_dtype(o.type.tensor_type.elem_type)) for o in inferred]


def _params():
    out = []
    for op in _ops():
        if op in SKIP:
            out.append(pytest.param(op, marks=pytest.mark.skip(reason=SKIP[op])))
        elif op in OWNED_ELSEWHERE:
            out.append(pytest.param(op, marks=pytest.mark.xfail(reason=OWNED_ELSEWHERE[op], strict=True)))
        elif op in TEMPLATES:
            out.append(op)
    return out


@pytest.mark.parametrize("op", _params())
def test_empty_batch(op):
    t = TEMPLATES[op]
    model = _model(op, t)
    feeds = {n: a for n, a in t["inputs"].items() if n and n not in t["consts"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = onnumba.InferenceSession(model.SerializeToString()).run(None, feeds)
    theirs = _theirs(model, feeds)
    assert len(ours) == len(theirs)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.shape, a.dtype) == (b.shape, b.dtype), f"output {k}"
        if a.size:  # outputs that are not empty (statistics, Shape, Size, recurrent states of batch 0 ...)
            np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5, atol=1e-6)


# zero-size channel, spatial, weight and reduced axes (not only the batch) for the families that shape them
P = c([0, 1, 0, 1])
OTHER_AXES = [
    ("ReduceSum", T({"x": z(0, 3), "a": c([0])}, {"keepdims": 1}, opset=13, consts=("a",))),  # over the empty axis
    ("ReduceMax", T({"x": z(0, 3), "a": c([0])}, {"keepdims": 0}, opset=18, consts=("a",))),
    ("ReduceProd", T({"x": z(0, 3)}, {"keepdims": 0}, opset=18)),
    ("ReduceLogSumExp", T({"x": z(3, 0), "a": c([1])}, opset=18, consts=("a",))),
    ("TopK", T({"x": z(3, 0), "k": c([0])}, {"axis": 1}, outs=2, consts=("k",))),
    ("CumSum", T({"x": z(3, 0), "a": c(1)}, consts=("a",))),
    ("ConvTranspose", T({"x": z(1, 0, 3, 3), "w": z(0, 2, 3, 3), "b": np.ones(2, F)}, consts=("w", "b"))),
    ("ConvTranspose", T({"x": z(1, 2, 3, 3), "w": z(2, 0, 3, 3)}, consts=("w",))),
    ("ConvTranspose", T({"x": z(1, 2, 0, 3), "w": np.ones((2, 2, 3, 3), F)}, consts=("w",))),
    ("LRN", T({"x": z(2, 0, 3, 3)}, {"size": 3})),
    ("BatchNormalization", T({"x": z(2, 0, 3), "s": z(0), "b": z(0), "m": z(0), "v": z(0)}, opset=15,
                             consts=("s", "b", "m", "v"))),
    ("BatchNormalization", T({"x": z(2, 3, 0), "s": np.ones(3, F), "b": z(3), "m": z(3), "v": np.ones(3, F)},
                             opset=15, consts=("s", "b", "m", "v"))),
    ("BatchNormalization", T({"x": z(0, 3, 2), "s": np.ones(3, F), "b": z(3), "m": z(3), "v": np.ones(3, F)},
                             {"training_mode": 1}, opset=15, outs=3, consts=("s", "b", "m", "v"))),
    ("Pad", T({"x": z(2, 0), "p": c([1, 0, 1, 0])}, opset=19, consts=("p",))),
    ("Pad", T({"x": z(0, 3), "p": P}, {"mode": "reflect"}, opset=19, consts=("p",))),
    ("Pad", T({"x": z(0, 3), "p": P}, {"mode": "wrap"}, opset=19, consts=("p",))),
    ("Resize", T({"x": z(1, 1, 0, 4), "r": z(0), "s": c([1, 1, 2, 2], F)}, {"mode": "cubic"}, opset=19,
                 consts=("r", "s"))),
    ("Resize", T({"x": z(1, 1, 2, 4), "r": z(0), "q": z(0), "s": c([1, 1, 0, 3])}, {"mode": "linear"}, opset=19,
                 consts=("r", "q", "s"))),
    ("Slice", T({"x": z(3, 0), "s": c([0]), "e": c([5]), "a": c([1])}, consts=("s", "e", "a"))),
    ("Slice", T({"x": z(0, 3), "s": c([-1]), "e": c([-10]), "a": c([0]), "t": c([-1])}, consts=("s", "e", "a", "t"))),
    ("Dropout", T({"x": z(0, 3), "r": c(0.5, F), "t": c(True, bool)}, {"seed": 1}, outs=2, consts=("r", "t"))),
    ("Transpose", T({"x": z(3, 0, 2)}, {"perm": [2, 0, 1]})),
    ("Reshape", T({"x": z(3, 0, 2), "s": c([0, 5, -1])}, consts=("s",))),
    ("Expand", T({"x": z(3, 1), "s": c([3, 0])}, consts=("s",))),
    ("Concat", T({"x": z(0, 3), "y": z(2, 3)}, {"axis": 0})),
    ("Sum", T({"x": z(3, 0), "y": z(1, 1), "w": z(3, 1)})),
    ("Where", T({"c": z(3, 1, dtype=bool), "x": z(1, 0), "y": z(3, 0)}, opset=16)),
    ("Shape", T({"x": z(3, 0)}, {"start": 1}, opset=15)),
]


@pytest.mark.parametrize("op,t", OTHER_AXES, ids=[f"{op}-{k}" for k, (op, _) in enumerate(OTHER_AXES)])
def test_empty_other_axes(op, t):
    model = _model(op, t)
    feeds = {n: a for n, a in t["inputs"].items() if n and n not in t["consts"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = onnumba.InferenceSession(model.SerializeToString()).run(None, feeds)
    theirs = _theirs(model, feeds)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        a, b = np.asarray(a), np.asarray(b)
        assert (a.shape, a.dtype) == (b.shape, b.dtype)
        np.testing.assert_allclose(a.astype(np.float64), b.astype(np.float64), rtol=1e-5, atol=1e-6)
