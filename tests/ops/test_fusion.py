"""Plan rewrites (ops/fusion.py): the same results with graph optimizations on and off, and the rewrites
actually happen (fewer plan steps) only where they are valid."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import onnumba

F = TensorProto.FLOAT
RNG = np.random.default_rng(0)


def _init(name, shape, lo=None, hi=None):
    a = RNG.uniform(lo, hi, shape) if lo is not None else RNG.standard_normal(shape)
    return numpy_helper.from_array(a.astype(np.float32), name)


def _model(nodes, inits, out="y", extra_outputs=(), opset=17, inputs=None):
    inputs = inputs or [helper.make_tensor_value_info("x", F, [2, 3, 8, 8])]
    outs = [helper.make_empty_tensor_value_info(o) for o in (out, *extra_outputs)]
    g = helper.make_graph(nodes, "g", inputs, outs, inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    inferred = onnx.shape_inference.infer_shapes(m)
    del m.graph.output[:]
    m.graph.output.extend(inferred.graph.output)
    return m


def _sessions(m):
    off = onnumba.SessionOptions()
    off.graph_optimization_level = onnumba.GraphOptimizationLevel.ORT_DISABLE_ALL
    return onnumba.InferenceSession(m), onnumba.InferenceSession(m, off)


def _steps(sess):
    return [st.op_type for st in sess.get_plan()]


def _conv_bn(act_nodes, bias=True):
    inits = [_init("w", (4, 3, 3, 3)), _init("s", (4,), 0.5, 1.5), _init("b", (4,)), _init("m", (4,)),
             _init("v", (4,), 0.5, 1.5)]
    conv_in = ["x", "w"]
    if bias:
        inits.append(_init("cb", (4,)))
        conv_in.append("cb")
    nodes = [helper.make_node("Conv", conv_in, ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], epsilon=1e-3)]
    return nodes + act_nodes, inits


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("act,expected", [
    ([helper.make_node("Relu", ["n"], ["y"])], ["Conv"]),
    ([helper.make_node("LeakyRelu", ["n"], ["y"], alpha=0.2)], ["Conv"]),
    ([helper.make_node("Clip", ["n", "lo", "hi"], ["y"])], ["Conv"]),
    ([helper.make_node("Sigmoid", ["n"], ["y"])], ["Conv", "Sigmoid"]),
])
def test_conv_bn_activation_fold_matches_unoptimised(act, expected, bias):
    nodes, inits = _conv_bn(act, bias)
    inits += [numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
              numpy_helper.from_array(np.array(0.7, np.float32), "hi")]
    m = _model(nodes, inits)
    on, off = _sessions(m)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    a, b = on.run(None, {"x": x})[0], off.run(None, {"x": x})[0]
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert _steps(on) == expected
    assert len(_steps(off)) == len(nodes)


def test_bn_not_folded_when_conv_output_is_also_read_elsewhere():
    nodes, inits = _conv_bn([helper.make_node("Relu", ["n"], ["y"])])
    m = _model(nodes, inits, extra_outputs=("c",))
    on, off = _sessions(m)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    for a, b in zip(on.run(None, {"x": x}), off.run(None, {"x": x})):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # the BatchNormalization cannot go into the Conv, so it becomes a per-channel affine step with the Relu
    assert _steps(on) == ["Conv", "ChannelAffine"]


def test_clip_with_fed_bounds_is_not_fused():
    nodes, inits = _conv_bn([helper.make_node("Clip", ["n", "lo", ""], ["y"])])
    m = _model(nodes, inits, inputs=[helper.make_tensor_value_info("x", F, [2, 3, 8, 8]),
                                     helper.make_tensor_value_info("lo", F, [])])
    on, off = _sessions(m)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    lo = np.array(0.1, np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x, "lo": lo})[0], off.run(None, {"x": x, "lo": lo})[0],
                               rtol=1e-5, atol=1e-5)
    assert _steps(on)[-1] == "Clip"


def test_inference_dropout_removed_but_trains_with_run_option():
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Dropout", ["r", "ratio"], ["d"]),
             helper.make_node("Neg", ["d"], ["y"])]
    m = _model(nodes, [numpy_helper.from_array(np.array(0.5, np.float32), "ratio")])
    on, off = _sessions(m)
    x = np.abs(RNG.standard_normal((2, 3, 8, 8))).astype(np.float32) + 0.1
    np.testing.assert_array_equal(on.run(None, {"x": x})[0], -x)
    assert _steps(on) == ["Relu", "Neg"]
    y = on.run(None, {"x": x}, onnumba.RunOptions(training_mode=True))[0]
    kept = y != 0
    assert 0 < kept.mean() < 1  # some dropped, some kept
    np.testing.assert_allclose(y[kept], -2 * x[kept], rtol=1e-6)  # kept values scaled by 1 / (1 - 0.5)


def test_dropout_kept_when_its_mask_is_read():
    nodes = [helper.make_node("Dropout", ["x"], ["y", "mask"])]
    m = _model(nodes, [], extra_outputs=("mask",))
    on, _ = _sessions(m)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    y, mask = on.run(None, {"x": x})
    assert mask.all() and mask.dtype == np.bool_
    np.testing.assert_array_equal(y, x)
    assert _steps(on) == ["Dropout"]


def _scale_chain(first, c=4):
    """first -> Mul(per-channel) -> Add(per-channel) -> Sub(scalar) -> Relu, DenseNet-style."""
    inits = [_init("mul_c", (c, 1, 1), 0.5, 1.5), _init("add_c", (1, c, 1, 1)),
             numpy_helper.from_array(np.array(0.25, np.float32), "sub_s")]
    nodes = [helper.make_node("Mul", [first, "mul_c"], ["m1"]), helper.make_node("Add", ["add_c", "m1"], ["a1"]),
             helper.make_node("Sub", ["a1", "sub_s"], ["s1"]), helper.make_node("Relu", ["s1"], ["y"])]
    return nodes, inits


@pytest.mark.parametrize("c,expected", [(4, ["Conv"]), (32, ["Conv"])])  # 32: Winograd path, weights re-packed
def test_conv_bn_mul_add_sub_relu_fold_into_conv(c, expected):
    inits = [_init("w", (c, 3, 3, 3)) if c == 4 else _init("w", (c, c, 3, 3)), _init("s", (c,), 0.5, 1.5),
             _init("b", (c,)), _init("m", (c,)), _init("v", (c,), 0.5, 1.5)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"])]
    chain, chain_inits = _scale_chain("n", c)
    cin = 3 if c == 4 else c
    m = _model(nodes + chain, inits + chain_inits, inputs=[helper.make_tensor_value_info("x", F, [2, cin, 8, 8])])
    on, off = _sessions(m)
    x = RNG.standard_normal((2, cin, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x})[0], off.run(None, {"x": x})[0], rtol=1e-4, atol=1e-4)
    assert _steps(on) == expected


def test_standalone_bn_scale_chain_becomes_one_affine_step():
    inits = [_init("s", (3,), 0.5, 1.5), _init("b", (3,)), _init("m", (3,)), _init("v", (3,), 0.5, 1.5)]
    nodes = [helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2]),
             helper.make_node("BatchNormalization", ["p", "s", "b", "m", "v"], ["n"])]
    chain, chain_inits = _scale_chain("n", 3)
    m = _model(nodes + chain, inits + chain_inits)
    on, off = _sessions(m)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x})[0], off.run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    assert _steps(on) == ["MaxPool", "ChannelAffine"]


@pytest.mark.parametrize("operand_shape", [(1, 1, 8), (2, 3, 1, 1), (3, 8, 8)])
def test_non_per_channel_operands_are_not_folded(operand_shape):
    """Operands that vary along W, the batch or the plane stay as their own step."""
    inits = [_init("w", (3, 3, 3, 3)), _init("k", operand_shape)]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Mul", ["c", "k"], ["y"])]
    m = _model(nodes, inits)
    on, off = _sessions(m)
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x})[0], off.run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    assert _steps(on) == ["Conv", "Mul"]


def test_const_minus_data_is_not_folded():
    inits = [_init("w", (3, 3, 3, 3)), _init("k", (3, 1, 1))]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Sub", ["k", "c"], ["y"])]
    on, off = _sessions(_model(nodes, inits))
    x = RNG.standard_normal((2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x})[0], off.run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    assert _steps(on) == ["Conv", "Sub"]


@pytest.mark.parametrize("producer", ["Gemm", "MatMul"])
@pytest.mark.parametrize("act", ["Relu", "LeakyRelu", "Clip"])
def test_activation_fuses_into_gemm_and_matmul(producer, act):
    inits = [_init("w", (5, 4))]
    if act == "Clip":
        inits += [numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
                  numpy_helper.from_array(np.array(0.7, np.float32), "hi")]
    act_node = (helper.make_node("Clip", ["g", "lo", "hi"], ["y"]) if act == "Clip" else
                helper.make_node(act, ["g"], ["y"], **({"alpha": -0.3} if act == "LeakyRelu" else {})))
    nodes = [helper.make_node(producer, ["x", "w"], ["g"]), act_node]
    m = _model(nodes, inits, inputs=[helper.make_tensor_value_info("x", F, [3, 5])])
    on, off = _sessions(m)
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    x[0, 0] = np.nan
    a, b = on.run(None, {"x": x})[0], off.run(None, {"x": x})[0]
    np.testing.assert_array_equal(a, b)  # the same product and the same activation: bitwise, NaN included
    assert _steps(on) == [producer]


@pytest.mark.parametrize("producer,trans_b,beta,expected", [
    ("Gemm", 0, 1.0, ["Gemm"]),  # BN folded into B and C, Relu into the epilogue
    ("Gemm", 1, 1.0, ["Gemm"]),
    ("Gemm", 0, 0.5, ["Gemm", "ChannelAffine"]),  # a new C would be scaled by beta: not folded
    ("MatMul", 0, 1.0, ["MatMul", "ChannelAffine"]),  # no bias input to fold a shift into
])
def test_gemm_bn_relu_fold(producer, trans_b, beta, expected):
    inits = [_init("w", (4, 5) if trans_b else (5, 4)), _init("s", (4,), 0.5, 1.5), _init("b", (4,)),
             _init("m", (4,)), _init("v", (4,), 0.5, 1.5)]
    attrs = {"transB": trans_b, "beta": beta} if producer == "Gemm" else {}
    nodes = [helper.make_node(producer, ["x", "w"], ["g"], **attrs),
             helper.make_node("BatchNormalization", ["g", "s", "b", "m", "v"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    m = _model(nodes, inits, inputs=[helper.make_tensor_value_info("x", F, [3, 5])])
    on, off = _sessions(m)
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x})[0], off.run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    assert _steps(on) == expected


@pytest.mark.parametrize("c_shape,folded", [((4,), True), ((1, 4), True), ((3, 1), False), ((3, 4), False)])
def test_gemm_per_column_mul_folds_only_with_per_column_c(c_shape, folded):
    inits = [_init("w", (5, 4)), _init("c", c_shape), _init("k", (4,), 0.5, 1.5)]
    nodes = [helper.make_node("Gemm", ["x", "w", "c"], ["g"]), helper.make_node("Mul", ["g", "k"], ["y"])]
    m = _model(nodes, inits, inputs=[helper.make_tensor_value_info("x", F, [3, 5])])
    on, off = _sessions(m)
    x = RNG.standard_normal((3, 5)).astype(np.float32)
    np.testing.assert_allclose(on.run(None, {"x": x})[0], off.run(None, {"x": x})[0], rtol=1e-5, atol=1e-5)
    assert _steps(on) == (["Gemm"] if folded else ["Gemm", "Mul"])


def test_rewrites_run_in_declared_order():
    from onnumba import optimizer
    from onnumba.ops import fusion

    names = [fn.__name__ for _, _, fn in optimizer._REWRITES if fn.__module__ == fusion.__name__]
    assert names == ["drop_inference_dropout", "fold_batchnorm_into_weights", "batchnorm_to_channel_affine",
                     "fold_per_channel_arithmetic", "fuse_activation"]


def test_register_rewrite_orders_by_number_not_import_order():
    from onnumba import optimizer

    saved = list(optimizer._REWRITES)
    try:
        calls = []
        optimizer.register_rewrite(order=999)(lambda state: calls.append("late"))
        optimizer.register_rewrite(order=-1)(lambda state: calls.append("early"))
        for order, _, fn in optimizer._REWRITES:
            if order in (-1, 999):
                fn(None)
        assert calls == ["early", "late"]
    finally:
        optimizer._REWRITES[:] = saved
