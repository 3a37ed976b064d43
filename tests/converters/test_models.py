"""Models: U-Net / VGG / separable builds, parameter counts, summary, weights, errors, opsets,
initializers and regularizers."""

import numpy as np
import onnx
import pytest

from onnumba.converters import (Input, Model, Sequential, initializers, layers, load_keras,
                                regularizers, set_random_seed)
from tests.converters._util import (export, load_build_script, op_types, rand, run_model,
                                    run_ort, single_layer)
from tests.reference import keras_ref as ref

UNET_PARAMS = 7_759_521  # Keras's count for the U-Net of the issue


@pytest.fixture(scope="module")
def unet():
    return load_build_script("unet").build(seed=0)


def test_unet_param_count_is_keras(unet):
    assert unet.count_params() == UNET_PARAMS
    assert sum(w.size for w in unet.get_weights()) == UNET_PARAMS


def test_unet_summary(unet):
    lines = []
    unet.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert lines[0] == 'Model: "unet"'
    assert "Total params: 7,759,521 (29.60 MB)" in text
    assert "Trainable params: 7,759,521 (29.60 MB)" in text
    assert "Non-trainable params: 0 (0.00 B)" in text
    assert "(None, 96, 96, 1)" in text and "(None, 6, 6, 512)" in text
    assert "conv2d_transpose" in text and "Connected to" in text


def test_unet_export_layout_and_small_forward():
    build = load_build_script("unet").build
    model = build(seed=1, input_shape=(16, 16, 1))  # same topology, small input
    assert model.count_params() == UNET_PARAMS
    proto = export(model)
    ops = op_types(proto)
    assert ops.count("Transpose") == 2  # one per NHWC boundary, none inside
    assert ops.count("ConvTranspose") == 4 and ops.count("Dropout") == 9
    assert [d.dim_param or d.dim_value for d in
            proto.graph.input[0].type.tensor_type.shape.dim] == ["batch", 16, 16, 1]
    x = np.random.default_rng(0).random((2, 16, 16, 1), dtype=np.float32)
    (y,) = run_ort(proto, {proto.graph.input[0].name: x})
    (expected,) = ref.model_forward(model, x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,params", [("vgg", 362_410), ("separable", 2_149)])
def test_small_models_vs_reference(name, params):
    model = load_build_script(name).build(seed=0)
    assert model.count_params() == params
    x = rand(2, 32, 32, 3)
    (y,) = run_model(model, x)
    (expected,) = ref.model_forward(model, x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)


def test_vgg_param_count_by_hand():
    # conv 3x3: 9*in*out + out; Flatten(6*6*64) -> Dense 128; BN 4*128; Dense 10
    expected = (9 * 3 * 32 + 32) + (9 * 32 * 32 + 32) + (9 * 32 * 64 + 64) + \
        (9 * 64 * 64 + 64) + (6 * 6 * 64 * 128 + 128) + 4 * 128 + (128 * 10 + 10)
    model = load_build_script("vgg").build()
    assert model.count_params() == expected
    trainable = sum(w.value.size for w in model.weights if w.trainable)
    assert expected - trainable == 2 * 128  # moving mean / variance


@pytest.mark.parametrize("opset", [13, 14, 17, 18, 21])
def test_opsets(opset):
    model = load_build_script("separable").build()
    proto = export(model, opset=opset)
    assert proto.opset_import[0].version == opset
    x = rand(1, 32, 32, 3)
    (y,) = run_model(model, x, opset=opset)
    np.testing.assert_allclose(y, ref.model_forward(model, x)[0], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opset", [12, 22, "17"])
def test_opset_out_of_range(opset):
    model = single_layer(layers.Dense(2), (3,))
    with pytest.raises(ValueError, match=f"opset must be an int in 13..21, got {opset!r}"):
        model.to_onnx(opset=opset)


def test_to_onnx_writes_path(tmp_path):
    model = single_layer(layers.Dense(2), (3,))
    path = tmp_path / "m.onnx"
    proto = model.to_onnx(path)
    assert onnx.load(str(path)).graph.node[0].op_type == proto.graph.node[0].op_type == "Gemm"


def test_get_set_weights_keras_order_and_shapes():
    inp = Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="c")(inp)
    x = layers.Conv2DTranspose(5, 2, strides=2, name="ct")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, name="dw")(x)
    x = layers.SeparableConv2D(6, 3, depth_multiplier=3, name="sep")(x)
    x = layers.BatchNormalization(name="bn")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(2, name="d")(x)
    model = Model(inp, x)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 3, 3, 4), (4,),            # conv (k, k, in, out)
                      (2, 2, 5, 4), (5,),            # transpose (k, k, out, in)
                      (3, 3, 5, 2), (10,),           # depthwise (k, k, in, mult)
                      (3, 3, 10, 3), (1, 1, 30, 6), (6,),  # separable
                      (6,), (6,), (6,), (6,),        # gamma, beta, moving_mean, moving_var
                      (8 * 8 * 6, 2), (2,)]  # 8->6->12->10->8
    new = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    new[12] = np.abs(new[12]) + 0.5
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    x = rand(1, 8, 8, 3)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, ref.model_forward(model, x)[0], rtol=1e-3, atol=1e-4)
    with pytest.raises(ValueError, match=r"weight c/kernel has shape \(3, 3, 3, 4\), got an "
                                         r"array of shape \(3, 3, 4, 3\)"):
        model.get_layer("c").set_weights([np.zeros((3, 3, 4, 3)), np.zeros(4)])
    with pytest.raises(ValueError, match="set_weights got 2 arrays, expected 15"):
        model.set_weights(new[:2])


def test_bad_argument_points_at_user_line():
    with pytest.raises(ValueError, match=r"Conv2D '.*' \(created at .*test_models\.py:\d+\): "
                                         r"padding='full' is invalid"):
        layers.Conv2D(3, 3, padding="full")
    with pytest.raises(ValueError, match=r"kernel_size=\(3, 0\) must be positive"):
        layers.Conv2D(3, (3, 0))
    with pytest.raises(ValueError, match=r"filters=0 is invalid"):
        layers.Conv2D(0, 3)
    with pytest.raises(ValueError, match=r"unknown argument kernal_size=3"):
        layers.Conv2D(3, 3, kernal_size=3)
    with pytest.raises(ValueError, match=r"unknown activation='rellu'"):
        layers.Dense(3, activation="rellu")
    with pytest.raises(ValueError, match=r"output_padding=2 is invalid; each value must be "
                                         r"smaller than its stride"):
        layers.Conv2DTranspose(3, 3, strides=2, output_padding=2)


def test_incompatible_shapes_name_both_layers():
    inp = Input((10,), name="features")
    h = layers.Dense(4, name="hidden")(inp)
    with pytest.raises(ValueError, match=r"Conv2D 'conv_bad' \(created at .*test_models\.py:"
                                         r"\d+\) cannot take the output of Dense 'hidden' "
                                         r"\(created at .*test_models\.py:\d+\).*expected a "
                                         r"tensor of rank 4"):
        layers.Conv2D(2, 3, name="conv_bad")(h)
    img = Input((4, 4, 3))
    with pytest.raises(ValueError, match=r"too small for kernel_size=\(5, 5\)"):
        layers.Conv2D(2, 5)(img)


def test_model_errors():
    a = Input((3,))
    b = Input((3,))
    y = layers.Dense(2)(b)
    with pytest.raises(ValueError, match="disconnected"):
        Model(a, y)
    d1 = layers.Dense(2, name="same_name")
    d2 = layers.Dense(2, name="same_name")
    with pytest.raises(ValueError, match="two layers are named 'same_name'"):
        Model(a, d2(d1(a)))
    seq = Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="has no input shape"):
        seq.to_onnx()
    seq.build((None, 5))
    assert seq.count_params() == 12
    export(seq)


def test_sequential_input_shape_kwarg_add_pop():
    seq = Sequential()
    seq.add(layers.Dense(4, input_shape=(3,)))
    seq.add(layers.Dense(2))
    assert [l.name for l in seq.layers][0] == seq.layers[0].name and len(seq.layers) == 2
    seq.pop()
    assert len(seq.layers) == 1 and seq.count_params() == 16
    lines = []
    seq.summary(print_fn=lines.append)
    assert any("(None, 4)" in line for line in lines)
    assert not any("InputLayer" in line for line in lines)


def test_shared_layer_reuses_weights():
    a, b = Input((3,)), Input((3,))
    dense = layers.Dense(2)
    model = Model([a, b], layers.add([dense(a), dense(b)]))
    assert model.count_params() == 8
    proto = export(model)
    assert len([i for i in proto.graph.initializer if "kernel" in i.name]) == 1
    xa, xb = rand(2, 3), rand(2, 3, seed=1)
    (y,) = run_model(model, xa, xb)
    k, bias = dense.get_weights()
    np.testing.assert_allclose(y, xa @ k + xb @ k + 2 * bias, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# initializers and regularizers

SHAPE = (3, 3, 40, 60)  # fan_in = 360, fan_out = 540


def test_initializers_seeded_and_scaled():
    fan_in, fan_out = 9 * 40, 9 * 60
    for cls in (initializers.GlorotUniform, initializers.HeNormal, initializers.Orthogonal,
                initializers.TruncatedNormal, initializers.RandomNormal):
        a, b = cls(seed=3)(SHAPE), cls(seed=3)(SHAPE)
        np.testing.assert_array_equal(a, b)
        assert a.dtype == np.float32 and a.shape == SHAPE
        assert not np.array_equal(a, cls(seed=4)(SHAPE))
    w = initializers.GlorotUniform(seed=0)(SHAPE)
    limit = np.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.95 * limit
    w = initializers.HeUniform(seed=0)(SHAPE)
    assert np.abs(w).max() <= np.sqrt(6 / fan_in)
    w = initializers.LecunUniform(seed=0)(SHAPE)
    assert np.abs(w).max() <= np.sqrt(3 / fan_in)
    for cls, var in ((initializers.HeNormal, 2 / fan_in), (initializers.LecunNormal, 1 / fan_in),
                     (initializers.GlorotNormal, 2 / (fan_in + fan_out))):
        w = cls(seed=0)(SHAPE)
        assert w.std() == pytest.approx(np.sqrt(var), rel=0.03)  # truncation rescaled
        assert np.abs(w).max() <= 2 * np.sqrt(var) / 0.87962566103423978 + 1e-6
    w = initializers.TruncatedNormal(mean=1.0, stddev=0.5, seed=0)((2000,))
    assert np.abs(w - 1.0).max() <= 1.0  # Keras's 2-sigma cut
    w = initializers.Orthogonal(gain=2.0, seed=0)((6, 4))
    np.testing.assert_allclose(w.T @ w, 4 * np.eye(4), atol=1e-5)
    assert (initializers.Constant(0.5)((2, 2)) == 0.5).all()
    assert (initializers.Ones()((3,)) == 1).all() and (initializers.Zeros()((3,)) == 0).all()
    w = initializers.RandomUniform(-0.1, 0.2, seed=1)((1000,))
    assert w.min() >= -0.1 and w.max() <= 0.2


def test_callable_initializer_and_global_seed():
    layer = layers.Dense(3, kernel_initializer=lambda shape, dtype: np.full(shape, 0.25),
                         bias_initializer=initializers.Constant(1.0))
    single_layer(layer, (2,))
    np.testing.assert_array_equal(layer.get_weights()[0], np.full((2, 3), 0.25))
    set_random_seed(7)
    a = single_layer(layers.Dense(3), (2,)).get_weights()[0]
    set_random_seed(7)
    b = single_layer(layers.Dense(3), (2,)).get_weights()[0]
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="unknown kernel_initializer='glorot'"):
        layers.Dense(3, kernel_initializer="glorot")


def test_regularization_loss():
    inp = Input((4,))
    d1 = layers.Dense(3, kernel_regularizer=regularizers.L2(0.1),
                      bias_regularizer="l1", bias_initializer="ones")
    d2 = layers.Dense(2, kernel_regularizer=regularizers.L1L2(l1=0.01, l2=0.02))
    bn = layers.BatchNormalization(gamma_regularizer=regularizers.L1(0.5))
    model = Model(inp, bn(d2(d1(inp))))
    k1, b1 = d1.get_weights()
    k2, _ = d2.get_weights()
    expected = (0.1 * (k1 ** 2).sum() + 0.01 * np.abs(b1).sum()
                + 0.01 * np.abs(k2).sum() + 0.02 * (k2 ** 2).sum() + 0.5 * 2)
    assert model.regularization_loss() == pytest.approx(expected, rel=1e-6)
    d1.set_weights([np.zeros_like(k1), np.zeros_like(b1)])
    assert model.regularization_loss() == pytest.approx(expected - 0.1 * (k1 ** 2).sum()
                                                        - 0.01 * np.abs(b1).sum(), rel=1e-6)
    with pytest.raises(ValueError, match=r"l2 must be a float >= 0, got l2=-1"):
        regularizers.L2(-1)


def test_callable_regularizer():
    inp = Input((3, 2))
    conv = layers.Conv1D(2, 1, kernel_regularizer=lambda w: 2.0 * np.abs(w).max())
    model = Model(inp, conv(inp))
    assert model.regularization_loss() == pytest.approx(2.0 * np.abs(conv.get_weights()[0]).max())


def test_training_export_of_vgg():
    model = load_build_script("vgg").build(seed=0)
    proto = export(model, training=True)
    default = [i for i in proto.graph.initializer if i.name == "training_mode"][0]
    assert onnx.numpy_helper.to_array(default) == np.array(True)  # training file drops units
    bn = [l for l in model.layers if isinstance(l, layers.BatchNormalization)][0]
    assert [o.name for o in proto.graph.output] == [
        model.layers[-1].name, f"{bn.name}_moving_mean", f"{bn.name}_moving_variance"]
    x = rand(4, 32, 32, 3)
    probs, mean, var = run_ort(proto, {proto.graph.input[0].name: x,
                                       "training_mode": np.array(False)})
    # with dropout off, the running statistics follow from the batch feeding the BN layer
    h = x
    for layer in model.layers[:model.layers.index(bn)]:
        h = ref.layer_forward(type(layer).__name__, layer.get_config(), layer.get_weights(), [h])
    _, emean, evar = ref.batch_norm_train(h, *bn.get_weights(), epsilon=bn.epsilon,
                                          momentum=bn.momentum)
    np.testing.assert_allclose(mean, emean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(var, evar, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_nested_model_is_a_layer_sharing_its_weights(tmp_path):
    inner = single_layer(layers.Dense(2, activation="tanh"), (3,))
    a, b = Input((3,)), Input((3,))
    outer = Model([a, b], layers.Add()([inner(a), inner(b)]))
    assert outer.layers[2] is inner and outer.count_params() == inner.count_params() == 8
    xa, xb = rand(4, 3, seed=1), rand(4, 3, seed=2)
    kernel, bias = inner.get_weights()
    expected = np.tanh(xa @ kernel + bias) + np.tanh(xb @ kernel + bias)
    np.testing.assert_allclose(run_model(outer, xa, xb)[0], expected, rtol=1e-5, atol=1e-6)
    outer.save(tmp_path / "nested.keras")
    clone = load_keras(tmp_path / "nested.keras")
    assert [type(layer).__name__ for layer in clone.layers][-2:] == ["Model", "Add"]
    np.testing.assert_allclose(run_model(clone, xa, xb)[0], expected, rtol=1e-5, atol=1e-6)


def test_nested_model_refuses_a_wrong_shape():
    inner = single_layer(layers.Dense(2), (3,))
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 3\), got \(None, 4\)"):
        inner(Input((4,)))


def _every_op_model():
    inp = Input((6, 6, 2))
    x = layers.ZeroPadding2D(1)(inp)
    x = layers.Conv2DTranspose(3, 1, strides=2, padding="same")(x)
    x = layers.DepthwiseConv2D(3, depth_multiplier=2, activation="hard_silu")(x)
    x = layers.AveragePooling2D(3, strides=2, padding="same")(x)
    x = layers.Cropping2D(((1, 0), (0, 1)))(x)
    x = layers.UpSampling2D(2, interpolation="bilinear")(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU(max_value=1.0, negative_slope=0.1)(x)
    x = layers.Dropout(0.2)(x)
    x = layers.PReLU(alpha_initializer="ones")(x)
    y = layers.Flatten()(layers.MaxPooling2D()(x))
    return Model(inp, [layers.Dense(4, activation="log_softmax")(y),
                       layers.GlobalMaxPooling2D(keepdims=True)(x)])


@pytest.mark.parametrize("opset", list(range(13, 22)))
def test_every_opset_on_a_model_using_most_ops(opset):
    model = _every_op_model()
    x = rand(2, 6, 6, 2)
    ys = run_model(model, x, opset=opset)
    for y, e in zip(ys, ref.model_forward(model, x)):
        np.testing.assert_allclose(y, e, rtol=1e-4, atol=1e-5)


def test_sequential_in_sequential_round_trips_through_keras_file(tmp_path):
    inner = Sequential([Input((4,)), layers.Dense(3, activation="relu")], name="block")
    outer = Sequential([inner, layers.Dense(2)], name="outer")
    assert outer.layers[0] is inner and outer.count_params() == 23
    x = rand(3, 4)
    (expected,) = run_model(outer, x)
    outer.save(tmp_path / "o.keras")
    clone = load_keras(tmp_path / "o.keras")
    np.testing.assert_array_equal(run_model(clone, x)[0], expected)
    lines = []
    clone.summary(print_fn=lines.append)
    assert any(line.strip().startswith("block (Sequential)") for line in lines)
