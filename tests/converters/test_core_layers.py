"""Core, activation, normalization and merge layers vs the numpy Keras reference (onnxruntime)."""

import numpy as np
import pytest

from onnumba.converters import Input, Model, Sequential, activations, layers
from tests.converters._util import export, op_types, rand, run_model, run_ort, single_layer
from tests.reference import keras_ref as ref

TOL = dict(rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(activations.ACTIVATIONS))
@pytest.mark.parametrize("opset", [13, 17, 21])
def test_activation_by_name(name, opset):
    x = np.linspace(-5, 5, 24, dtype=np.float32).reshape(2, 3, 4)
    (y,) = run_model(single_layer(layers.Activation(name), (3, 4)), x, opset=opset)
    np.testing.assert_allclose(y, ref.activation(name, x), rtol=1e-5, atol=2e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax", "gelu", "hard_silu"])
def test_activation_on_nchw_stored_tensor(name):
    # after a channels_last conv the tensor is NCHW inside; softmax must still act on channels
    inp = Input((3, 4, 5))
    conv = layers.Conv2D(5, 1, activation=name)
    model = Model(inp, conv(inp))
    x = rand(2, 3, 4, 5)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, ref.activation(name, ref.conv(x, *conv.get_weights())),
                               rtol=1e-4, atol=1e-5)


def test_activation_defaults_are_keras3():
    x = np.array([[-3.0, -1.0, 0.0, 2.0, 4.0]], dtype=np.float32)
    (y,) = run_model(single_layer(layers.Activation("hard_sigmoid"), (5,)), x)
    np.testing.assert_allclose(y, [[0.0, 1 / 3, 0.5, 5 / 6, 1.0]], atol=1e-6)  # slope 1/6
    (y,) = run_model(single_layer(layers.LeakyReLU(), (5,)), x)
    np.testing.assert_allclose(y, [[-0.9, -0.3, 0.0, 2.0, 4.0]], atol=1e-6)  # layer: 0.3
    (y,) = run_model(single_layer(layers.Activation("leaky_relu"), (5,)), x)
    np.testing.assert_allclose(y, [[-0.6, -0.2, 0.0, 2.0, 4.0]], atol=1e-6)  # function: 0.2


def test_dense_and_activation_on_last_axis():
    layer = layers.Dense(3, activation="relu", bias_initializer="ones")
    model = single_layer(layer, (4,))
    k, b = layer.get_weights()
    assert k.shape == (4, 3) and b.shape == (3,)
    x = rand(5, 4)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, np.maximum(x @ k + b, 0), **TOL)


@pytest.mark.parametrize("stored_nchw", [False, True])
def test_dense_on_rank4(stored_nchw):
    x_in = Input((3, 4, 2))
    h = layers.Conv2D(2, 1)(x_in) if stored_nchw else x_in
    dense = layers.Dense(5)
    model = Model(x_in, dense(h))
    x = rand(2, 3, 4, 2)
    (y,) = run_model(model, x)
    if stored_nchw:
        conv = model.layers[1]
        x = ref.conv(x, *conv.get_weights())
    np.testing.assert_allclose(y, ref.dense(x, *dense.get_weights()), **TOL)
    assert op_types(export(model)).count("Transpose") <= 2


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_flatten_before_dense_permutes_weights_not_data(data_format):
    inp = Input((4, 5, 3))
    conv = layers.Conv2D(2, 3, padding="same")
    flat = layers.Flatten(data_format=data_format)
    dense = layers.Dense(3)
    model = Model(inp, dense(flat(conv(inp))))
    proto = export(model)
    assert op_types(proto).count("Transpose") == 1  # only the NHWC input boundary
    x = rand(2, 4, 5, 3)
    (y,) = run_model(model, x)
    h = ref.flatten(ref.conv(x, *conv.get_weights(), padding="same"), data_format)
    np.testing.assert_allclose(y, ref.dense(h, *dense.get_weights()), rtol=1e-4, atol=1e-4)


def test_flatten_as_output_keeps_keras_order():
    inp = Input((3, 4, 2))
    conv = layers.Conv2D(2, 1)
    model = Model(inp, layers.Flatten()(conv(inp)))
    x = rand(2, 3, 4, 2)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, ref.flatten(ref.conv(x, *conv.get_weights())), **TOL)


def test_reshape_and_permute():
    inp = Input((2, 3, 4))
    conv = layers.Conv2D(4, 1)
    h = conv(inp)
    r = layers.Reshape((6, -1))(h)
    p = layers.Permute((3, 1, 2))(h)
    model = Model(inp, [r, p])
    assert model.outputs[0].shape == (None, 6, 4)
    assert model.outputs[1].shape == (None, 4, 2, 3)
    x = rand(2, 2, 3, 4)
    yr, yp = run_model(model, x)
    hc = ref.conv(x, *conv.get_weights())
    np.testing.assert_allclose(yr, hc.reshape(2, 6, 4), **TOL)
    np.testing.assert_allclose(yp, hc.transpose(0, 3, 1, 2), **TOL)


@pytest.mark.parametrize("mode", ["upscale_in_train", "downscale_in_infer"])
def test_dropout_modes_one_file_both_modes(mode):
    rate = 0.25
    model = single_layer(layers.Dropout(rate, mode=mode, seed=3), (400,))
    proto = export(model)
    assert "training_mode" in [i.name for i in proto.graph.input]
    assert "training_mode" in [i.name for i in proto.graph.initializer]
    x = np.abs(rand(2, 400)) + 0.5
    (y,) = run_ort(proto, {"input_layer" if False else proto.graph.input[0].name: x})
    expected = x if mode == "upscale_in_train" else x * (1 - rate)
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    (y,) = run_ort(proto, {proto.graph.input[0].name: x, "training_mode": np.array(True)})
    kept = y != 0
    assert 0.6 < kept.mean() < 0.9
    scale = 1 / (1 - rate) if mode == "upscale_in_train" else 1.0
    np.testing.assert_allclose(y[kept], x[kept] * scale, rtol=1e-6)


def test_dropout_rejects_rate():
    with pytest.raises(ValueError, match=r"test_core_layers\.py:\d+\): rate=1\.5 is invalid"):
        layers.Dropout(1.5)


def test_batchnorm_inference_defaults_and_weights():
    bn = layers.BatchNormalization()
    assert (bn.momentum, bn.epsilon) == (0.99, 1e-3)
    inp = Input((3, 4, 2))
    conv = layers.Conv2D(2, 1)
    model = Model(inp, bn(conv(inp)))
    g, b, m, v = (rand(2, seed=i) for i in range(4))
    bn.set_weights([g, b, m, np.abs(v) + 0.5])
    assert [w.shape for w in bn.get_weights()] == [(2,)] * 4
    assert [w.trainable for w in bn.weights] == [True, True, False, False]
    proto = export(model)
    node = [n for n in proto.graph.node if n.op_type == "BatchNormalization"][0]
    attrs = {a.name: a.f for a in node.attribute}
    assert attrs["epsilon"] == pytest.approx(1e-3) and attrs["momentum"] == pytest.approx(0.99)
    x = rand(2, 3, 4, 2)
    (y,) = run_model(model, x)
    h = ref.conv(x, *conv.get_weights())
    np.testing.assert_allclose(y, ref.batch_norm(h, g, b, m, np.abs(v) + 0.5), rtol=1e-4,
                               atol=1e-4)


def test_batchnorm_training_export_outputs_running_stats():
    bn = layers.BatchNormalization(momentum=0.9)
    model = single_layer(bn, (3, 2, 4))
    bn.set_weights([rand(4, seed=1), rand(4, seed=2), rand(4, seed=3), np.full(4, 2.0)])
    proto = export(model, training=True)
    assert [o.name for o in proto.graph.output][1:] == [f"{bn.name}_moving_mean",
                                                        f"{bn.name}_moving_variance"]
    x = rand(5, 3, 2, 4)
    y, mean, var = run_ort(proto, {proto.graph.input[0].name: x})
    ey, emean, evar = ref.batch_norm_train(x, *bn.get_weights(), epsilon=1e-3, momentum=0.9)
    np.testing.assert_allclose(y, ey, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(mean, emean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(var, evar, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="opset >= 14"):
        model.to_onnx(training=True, opset=13)


def test_fold_batchnorm_into_conv():
    inp = Input((5, 5, 3))
    conv = layers.Conv2D(4, 3)
    bn = layers.BatchNormalization()
    model = Model(inp, layers.Activation("relu")(bn(conv(inp))))
    bn.set_weights([rand(4, seed=1), rand(4, seed=2), rand(4, seed=3), np.full(4, 0.7)])
    x = rand(2, 5, 5, 3)
    (plain,) = run_model(model, x)
    proto = export(model, fold_batch_norm=True)
    assert "BatchNormalization" not in op_types(proto)
    (folded,) = run_model(model, x, fold_batch_norm=True)
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kw", [dict(), dict(max_value=1.5), dict(negative_slope=0.1),
                                dict(threshold=0.5, negative_slope=0.2, max_value=2.0)])
def test_relu_layer(kw):
    x = np.linspace(-3, 3, 13, dtype=np.float32).reshape(1, 13)
    (y,) = run_model(single_layer(layers.ReLU(**kw), (13,)), x)
    np.testing.assert_allclose(y, ref.relu_layer(x, **kw), **TOL)


def test_elu_prelu_softmax():
    x = rand(2, 3, 4, 2)
    (y,) = run_model(single_layer(layers.ELU(alpha=0.5), (3, 4, 2)), x)
    np.testing.assert_allclose(y, ref.elu_layer(x, 0.5), **TOL)
    inp = Input((3, 4, 2))
    conv = layers.Conv2D(2, 1)
    prelu = layers.PReLU(alpha_initializer="random_uniform", shared_axes=[1])
    model = Model(inp, prelu(conv(inp)))
    assert prelu.get_weights()[0].shape == (1, 4, 2)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, ref.prelu(ref.conv(x, *conv.get_weights()),
                                            prelu.get_weights()[0]), **TOL)
    inp = Input((3, 4, 2))
    model = Model(inp, layers.Softmax(axis=1)(layers.Conv2D(2, 1, kernel_initializer="ones")(inp)))
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


MERGES = [
    (layers.Add, lambda a, b: a + b), (layers.Subtract, lambda a, b: a - b),
    (layers.Multiply, lambda a, b: a * b), (layers.Average, lambda a, b: (a + b) / 2),
    (layers.Maximum, np.maximum), (layers.Minimum, np.minimum),
]


@pytest.mark.parametrize("cls,fn", MERGES, ids=lambda v: getattr(v, "__name__", ""))
def test_merge_layers_mixed_layouts(cls, fn):
    a_in, b_in = Input((3, 4, 2)), Input((3, 4, 2))
    conv = layers.Conv2D(2, 1)
    model = Model([a_in, b_in], cls()([conv(a_in), b_in]))  # one NCHW-stored, one NHWC
    a, b = rand(2, 3, 4, 2, seed=1), rand(2, 3, 4, 2, seed=2)
    (y,) = run_model(model, a, b)
    np.testing.assert_allclose(y, fn(ref.conv(a, *conv.get_weights()), b), **TOL)


def test_functional_forms_and_concatenate_axes():
    a_in, b_in = Input((3, 4, 2)), Input((3, 4, 5))
    ca, cb = layers.Conv2D(2, 1), layers.Conv2D(5, 1)
    ha, hb = ca(a_in), cb(b_in)
    c_last = layers.concatenate([ha, hb])
    c_axis1 = layers.concatenate([ha, ha], axis=1)
    s = layers.add([ha, ha, ha])
    m = layers.maximum([layers.multiply([ha, ha]), layers.subtract([ha, ha]),
                        layers.average([ha, ha]), layers.minimum([ha, ha])])
    model = Model([a_in, b_in], [c_last, c_axis1, s, m])
    assert c_last.shape == (None, 3, 4, 7) and c_axis1.shape == (None, 6, 4, 2)
    a, b = rand(2, 3, 4, 2, seed=1), rand(2, 3, 4, 5, seed=2)
    y1, y2, y3, y4 = run_model(model, a, b)
    ra, rb = ref.conv(a, *ca.get_weights()), ref.conv(b, *cb.get_weights())
    np.testing.assert_allclose(y1, np.concatenate([ra, rb], -1), **TOL)
    np.testing.assert_allclose(y2, np.concatenate([ra, ra], 1), **TOL)
    np.testing.assert_allclose(y3, 3 * ra, **TOL)
    np.testing.assert_allclose(y4, np.maximum.reduce([ra * ra, 0 * ra, ra, ra]), **TOL)


def test_merge_shape_error_names_both_layers():
    a, b = Input((3,), name="left_in"), Input((4,), name="right_in")
    da, db = layers.Dense(2, name="dense_a"), layers.Dense(5, name="dense_b")
    with pytest.raises(ValueError, match=r"Add 'bad_add'.*test_core_layers\.py:\d+.*"
                                         r"'dense_a'.*'dense_b'.*do not broadcast"):
        layers.Add(name="bad_add")([da(a), db(b)])


def test_sequential_matches_functional():
    model = Sequential([layers.Input((6,)), layers.Dense(4, activation="relu"),
                        layers.Dropout(0.5), layers.Dense(2, activation="softmax")])
    x = rand(3, 6)
    (y,) = run_model(model, x)
    d1, d2 = model.layers[0], model.layers[2]
    h = np.maximum(ref.dense(x, *d1.get_weights()), 0)
    np.testing.assert_allclose(y, ref.activation("softmax", ref.dense(h, *d2.get_weights())),
                               **TOL)
