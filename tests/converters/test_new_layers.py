"""Layers added for Keras users (normalizations, noise, Embedding, Rescaling, RepeatVector,
UpSampling3D): weights and parameter counts as Keras 3 has them, shape errors, and the training
export. Their numerics are checked against real Keras in test_real_keras.py."""

import numpy as np
import onnxruntime as ort
import pytest

from onnumba.converters import Input, Model, layers
from tests.converters._util import export, op_types, rand, run_model, run_ort, single_layer


@pytest.mark.parametrize("layer,shape,weights", [
    # (Keras 3.15 counts: model.count_params() of the same layer)
    (layers.LayerNormalization(), (3, 4), [(4,), (4,)]),
    (layers.LayerNormalization(axis=[1, 2], scale=False), (3, 4), [(3, 4)]),
    (layers.LayerNormalization(rms_scaling=True), (3, 4), [(4,)]),
    (layers.GroupNormalization(groups=2), (3, 4), [(4,), (4,)]),
    (layers.Embedding(7, 3), (5,), [(7, 3)]),
    (layers.UnitNormalization(), (3,), []),
    (layers.SpatialDropout1D(0.5), (3, 2), []),
    (layers.SimpleRNN(4), (5, 3), [(3, 4), (4, 4), (4,)]),
    (layers.GRU(4), (5, 3), [(3, 12), (4, 12), (2, 12)]),
    (layers.GRU(4, reset_after=False), (5, 3), [(3, 12), (4, 12), (12,)]),
    (layers.LSTM(4), (5, 3), [(3, 16), (4, 16), (16,)]),
    (layers.Bidirectional(layers.LSTM(2)), (5, 3), [(3, 8), (2, 8), (8,)] * 2),
    (layers.TimeDistributed(layers.Dense(2)), (4, 3), [(3, 2), (2,)]),
    (layers.Normalization(), (4, 3), [(3,), (3,), ()]),
])
def test_weights_in_keras_order(layer, shape, weights):
    single_layer(layer, shape)
    assert [w.shape for w in layer.weights] == weights
    assert layer.count_params() == sum(int(np.prod(w)) for w in weights)
    if weights and getattr(layer, "scale", False):
        assert layer.weights[0].name.endswith("gamma")  # gamma first, as Keras builds them


@pytest.mark.parametrize("layer,shape,match", [
    (layers.GroupNormalization(groups=3), (4,), r"4 channels, which must be a known multiple "
                                                r"of groups=3"),
    (layers.LayerNormalization(axis=0), (4,), r"axis=0 must name non-batch axes"),
    (layers.RepeatVector(2), (3, 4), r"expected a rank-2 input"),
    (layers.SpatialDropout2D(0.1), (3, 4), r"expected a rank-4 input"),
])
def test_shape_errors(layer, shape, match):
    with pytest.raises(ValueError, match=match):
        single_layer(layer, shape)


def test_integer_inputs_only_feed_embedding():
    x = Input((3,), dtype="int32")
    with pytest.raises(TypeError, match=r"Dense .* on a int32 tensor; only Embedding takes"):
        layers.Dense(2)(x)
    model = Model(x, layers.Embedding(4, 2)(x))
    table = model.get_weights()[0]
    idx = np.array([[0, 3, 1]], np.int32)
    np.testing.assert_array_equal(run_model(model, idx)[0], table[idx])


def test_layer_normalization_without_the_onnx_op_below_opset_17():
    layer = layers.LayerNormalization(epsilon=1e-3)
    model = single_layer(layer, (3, 4))
    layer.set_weights([rand(4, seed=1), rand(4, seed=2)])
    x = rand(2, 3, 4, seed=3)
    gamma, beta = layer.get_weights()
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    expected = (x - mean) / np.sqrt(var + 1e-3) * gamma + beta
    for opset in (13, 17, 18):
        (y,) = run_model(model, x, opset=opset)
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    assert "LayerNormalization" not in op_types(export(model, opset=13))


def test_noise_layers_in_training_mode():
    inp = Input((6, 6, 4))
    y = layers.SpatialDropout2D(0.5, seed=3)(inp)
    model = Model(inp, layers.GaussianNoise(1.0, seed=1)(y))
    x = np.ones((2, 6, 6, 4), np.float32)
    (infer,) = run_model(model, x)
    np.testing.assert_array_equal(infer, x)  # identity at inference
    proto = export(model, training=True)
    assert "RandomNormalLike" in op_types(proto)
    spatial_model = export(Model(inp, y))
    # onnxruntime's graph optimizer folds a Dropout of a ConstantOfShape as if training_mode were
    # false (the unoptimized graph and onnumba drop channels): run it unoptimized
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    session = ort.InferenceSession(spatial_model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    (spatial,) = session.run(None, {spatial_model.graph.input[0].name: x,
                                    "training_mode": np.array(True)})
    # whole channels are dropped or scaled by 1 / (1 - rate)
    per_channel = spatial.reshape(2, 36, 4)
    assert np.all(per_channel == per_channel[:, :1, :])
    assert set(np.unique(per_channel)) <= {0.0, 2.0}


def test_lstm_unit_forget_bias_and_state_outputs():
    layer = layers.LSTM(2, return_state=True)
    x = Input((4, 3))
    out, h, c = layer(x)
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0, 1, 1, 0, 0, 0, 0])
    assert out.shape == h.shape == c.shape == (None, 2)
    got = run_model(Model(x, [out, h, c]), rand(2, 4, 3))
    np.testing.assert_array_equal(got[0], got[1])  # the last output is the hidden state


@pytest.mark.parametrize("kw,match", [
    (dict(stateful=True), r"stateful=True is invalid; stateful RNNs are not exported"),
    (dict(activation="gelu"), r"activation='gelu' is invalid; ONNX recurrent ops take"),
])
def test_recurrent_refusals(kw, match):
    with pytest.raises(ValueError, match=match):
        layers.GRU(2, **kw)


def test_center_crop_refuses_a_small_input():
    with pytest.raises(ValueError, match=r"axis 1 has size 2, smaller than the crop 3"):
        single_layer(layers.CenterCrop(3, 3), (2, 4, 1))


def _attention_model():
    q, v, k = Input((4, 6)), Input((5, 6)), Input((5, 2))
    mha = layers.MultiHeadAttention(num_heads=2, key_dim=3, value_dim=4, output_shape=5)
    return Model([q, v, k], [mha(q, v, k), layers.Attention(use_scale=True)([q, v])]), mha


def test_multi_head_attention_weights_and_numpy_reference():
    model, mha = _attention_model()
    assert [w.shape for w in mha.weights] == [(6, 2, 3), (2, 3), (2, 2, 3), (2, 3), (6, 2, 4),
                                              (2, 4), (2, 4, 5), (5,)]
    assert mha.count_params() == 36 + 6 + 12 + 6 + 48 + 8 + 40 + 5
    mha.set_weights([rand(*w.shape, seed=i) for i, w in enumerate(mha.weights)])
    xq, xv, xk = rand(2, 4, 6, seed=7), rand(2, 5, 6, seed=8), rand(2, 5, 2, seed=9)
    wq, bq, wk, bk, wv, bv, wo, bo = mha.get_weights()
    q = np.einsum("btd,dhk->bhtk", xq, wq) + bq[None, :, None]
    k = np.einsum("bsd,dhk->bhsk", xk, wk) + bk[None, :, None]
    v = np.einsum("bsd,dhk->bhsk", xv, wv) + bv[None, :, None]
    s = np.einsum("bhtk,bhsk->bhts", q / np.sqrt(3.0), k)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    expected = np.einsum("bhts,bhsk,hko->bto", p, v, wo) + bo
    np.testing.assert_allclose(run_model(model, xq, xv, xk)[0], expected, rtol=1e-4, atol=1e-5)


def test_attention_layers_round_trip_through_json():
    from onnumba.converters import model_from_json
    model, _ = _attention_model()
    clone = model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    xs = [rand(2, 4, 6, seed=1), rand(2, 5, 6, seed=2), rand(2, 5, 2, seed=3)]
    for a, b in zip(run_model(model, *xs), run_model(clone, *xs)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kw,match", [
    (dict(use_gate=True), r"use_gate=True is invalid; gated attention is not exported"),
    (dict(attention_axes=(1, 2)), r"attention_axes=\(1, 2\) is invalid"),
    (dict(sliding_window=4), r"sliding_window=4 is invalid"),
])
def test_multi_head_attention_refusals(kw, match):
    with pytest.raises(ValueError, match=match):
        layers.MultiHeadAttention(num_heads=2, key_dim=2, **kw)


def test_config_call_arguments_that_change_the_computation_are_refused():
    from onnumba.converters import ConfigError, model_from_config
    model, _ = _attention_model()
    config = model.get_config()
    entry = next(e for e in config["layers"] if e["class_name"] == "MultiHeadAttention")
    entry["inbound_nodes"][0]["kwargs"] = {"use_causal_mask": True, "attention_mask": None}
    with pytest.raises(ConfigError, match=r"layer 'multi_head_attention.*': call argument "
                                          r"use_causal_mask=True is not supported"):
        model_from_config(config)


def test_alpha_dropout_refuses_a_training_export():
    model = single_layer(layers.AlphaDropout(0.2), (4,))
    with pytest.raises(ValueError, match=r"AlphaDropout is exported for inference only"):
        model.to_onnx(training=True)


def test_dot_config_round_trip_and_errors():
    a, b = Input((4, 3)), Input((5, 3))
    layer = layers.Dot(axes=(2, 2), normalize=True)
    assert layer([a, b]).shape == (None, 4, 5)
    clone = layers.Dot.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    with pytest.raises(ValueError, match=r"the dot axes have sizes 4 and 5"):
        layers.Dot(axes=1)([a, b])
    with pytest.raises(ValueError, match=r"axes='last' is invalid"):
        layers.Dot(axes="last")
