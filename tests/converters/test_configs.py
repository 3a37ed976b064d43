"""get_config / from_config round trips for every layer class, and config-level validation."""

import pytest

from onnumba.converters import Input, layers

CASES = [
    (layers.Dense, dict(units=3, activation="gelu", use_bias=False,
                        kernel_regularizer="l2"), (4,)),
    (layers.Activation, dict(activation="hard_silu"), (4,)),
    (layers.Dropout, dict(rate=0.2, seed=5, mode="downscale_in_infer"), (4,)),
    (layers.Flatten, dict(data_format="channels_first"), (2, 3, 4)),
    (layers.Reshape, dict(target_shape=(2, -1)), (6,)),
    (layers.Permute, dict(dims=(2, 1)), (3, 4)),
    (layers.Conv1D, dict(filters=2, kernel_size=3, padding="causal", dilation_rate=2), (8, 2)),
    (layers.Conv2D, dict(filters=4, kernel_size=(3, 1), strides=2, groups=2,
                         data_format="channels_first"), (4, 6, 6)),
    (layers.Conv3D, dict(filters=2, kernel_size=2), (4, 4, 4, 1)),
    (layers.Conv1DTranspose, dict(filters=2, kernel_size=3, strides=2, output_padding=1),
     (4, 2)),
    (layers.Conv2DTranspose, dict(filters=2, kernel_size=1, strides=3, padding="same"),
     (3, 3, 2)),
    (layers.Conv3DTranspose, dict(filters=1, kernel_size=2, strides=2), (2, 2, 2, 1)),
    (layers.DepthwiseConv1D, dict(kernel_size=3, depth_multiplier=2), (6, 2)),
    (layers.DepthwiseConv2D, dict(kernel_size=3, strides=2, dilation_rate=2), (9, 9, 2)),
    (layers.SeparableConv1D, dict(filters=3, kernel_size=2), (6, 2)),
    (layers.SeparableConv2D, dict(filters=3, kernel_size=3, depth_multiplier=3,
                                  pointwise_regularizer="l1"), (6, 6, 2)),
    (layers.ZeroPadding1D, dict(padding=(1, 2)), (4, 2)),
    (layers.ZeroPadding2D, dict(padding=((1, 0), (2, 1))), (4, 4, 2)),
    (layers.ZeroPadding3D, dict(padding=1, data_format="channels_first"), (1, 2, 2, 2)),
    (layers.Cropping1D, dict(cropping=(1, 0)), (4, 2)),
    (layers.Cropping2D, dict(cropping=1), (4, 4, 2)),
    (layers.Cropping3D, dict(cropping=((0, 1), (1, 0), (0, 0))), (3, 3, 3, 1)),
    (layers.MaxPooling1D, dict(pool_size=3, strides=1, padding="same"), (5, 2)),
    (layers.MaxPooling2D, dict(pool_size=(2, 3)), (4, 6, 1)),
    (layers.MaxPooling3D, dict(), (4, 4, 4, 1)),
    (layers.AveragePooling1D, dict(), (4, 2)),
    (layers.AveragePooling2D, dict(padding="same", data_format="channels_first"), (2, 5, 5)),
    (layers.AveragePooling3D, dict(pool_size=1), (2, 2, 2, 1)),
    (layers.GlobalAveragePooling1D, dict(keepdims=True), (4, 2)),
    (layers.GlobalAveragePooling2D, dict(), (4, 4, 2)),
    (layers.GlobalAveragePooling3D, dict(), (2, 2, 2, 1)),
    (layers.GlobalMaxPooling1D, dict(), (4, 2)),
    (layers.GlobalMaxPooling2D, dict(data_format="channels_first"), (2, 4, 4)),
    (layers.GlobalMaxPooling3D, dict(keepdims=True), (2, 2, 2, 1)),
    (layers.BatchNormalization, dict(momentum=0.9, epsilon=1e-5, center=False), (4, 3)),
    (layers.UpSampling1D, dict(size=3), (4, 2)),
    (layers.UpSampling2D, dict(size=(1, 2), interpolation="bilinear"), (3, 3, 1)),
    (layers.ReLU, dict(max_value=6.0, threshold=0.1), (4,)),
    (layers.LeakyReLU, dict(negative_slope=0.1), (4,)),
    (layers.ELU, dict(alpha=0.3), (4,)),
    (layers.PReLU, dict(shared_axes=[1]), (3, 2)),
    (layers.Softmax, dict(axis=1), (3, 2)),
    (layers.LayerNormalization, dict(axis=[1, 2], epsilon=1e-5, center=False), (3, 2)),
    (layers.LayerNormalization, dict(rms_scaling=True), (3, 2)),
    (layers.GroupNormalization, dict(groups=2, axis=1), (4, 3)),
    (layers.UnitNormalization, dict(axis=[1, 2]), (3, 2)),
    (layers.Embedding, dict(input_dim=5, output_dim=2), (3,)),
    (layers.Rescaling, dict(scale=[0.5, 2.0], offset=1.0), (3, 2)),
    (layers.SpatialDropout1D, dict(rate=0.2, seed=1), (4, 2)),
    (layers.SpatialDropout2D, dict(rate=0.2, data_format="channels_first"), (2, 3, 3)),
    (layers.SpatialDropout3D, dict(rate=0.1), (2, 2, 2, 1)),
    (layers.GaussianNoise, dict(stddev=0.3), (4,)),
    (layers.GaussianDropout, dict(rate=0.3), (4,)),
    (layers.RepeatVector, dict(n=3), (4,)),
    (layers.UpSampling3D, dict(size=(1, 2, 3)), (2, 2, 2, 1)),
    (layers.Identity, dict(), (4,)),
    (layers.AlphaDropout, dict(rate=0.2), (4,)),
    (layers.ActivityRegularization, dict(l1=0.1, l2=0.2), (4,)),
    (layers.SimpleRNN, dict(units=3, return_sequences=True), (5, 2)),
    (layers.GRU, dict(units=3, reset_after=False, go_backwards=True), (5, 2)),
    (layers.LSTM, dict(units=2, unit_forget_bias=False, use_bias=False), (5, 2)),
    (layers.LSTM, dict(units=2, activation="relu", recurrent_activation="hard_sigmoid",
                       go_backwards=True, return_sequences=True), (5, 2)),
    (layers.GRU, dict(units=2, activation="softsign", recurrent_activation="sigmoid"), (5, 2)),
    (layers.SimpleRNN, dict(units=2, activation="linear", go_backwards=True), (5, 2)),
    (layers.Normalization, dict(axis=1, mean=[1.0, 2.0], variance=[1.0, 4.0]), (2, 3)),
    (layers.Normalization, dict(axis=None), (2, 3)),
    (layers.CenterCrop, dict(height=2, width=3), (4, 5, 1)),
    (layers.Resizing, dict(height=3, width=5, interpolation="nearest"), (4, 4, 2)),
    (layers.Resizing, dict(height=4, width=4, crop_to_aspect_ratio=True,
                           data_format="channels_first"), (1, 6, 9)),
    (layers.UpSampling2D, dict(size=2, interpolation="bicubic"), (3, 3, 1)),
]


@pytest.mark.parametrize("cls,kw,shape", CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_config_round_trip(cls, kw, shape):
    layer = cls(**kw)
    out = layer(Input(shape))
    cfg = layer.get_config()
    clone = cls.from_config(cfg)
    assert clone.get_config() == cfg
    assert clone(Input(shape)).shape == out.shape
    assert clone.count_params() == layer.count_params()
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]


@pytest.mark.parametrize("cls", [layers.Concatenate, layers.Add, layers.Subtract,
                                 layers.Multiply, layers.Average, layers.Maximum,
                                 layers.Minimum])
def test_merge_config_round_trip(cls):
    layer = cls()
    out = layer([Input((3, 2)), Input((3, 2))])
    clone = cls.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert clone([Input((3, 2)), Input((3, 2))]).shape == out.shape


def test_keras2_leaky_relu_alpha_and_input_layer_keys():
    assert layers.LeakyReLU.from_config({"name": "l", "alpha": 0.1}).negative_slope == 0.1
    inp = layers.InputLayer.from_config({"batch_input_shape": [None, 3], "dtype": "float32",
                                         "sparse": False, "ragged": False, "name": "x"})
    assert inp.batch_shape == (None, 3)


@pytest.mark.parametrize("cls,kw,match", [
    (layers.Conv2D, dict(filters=2, kernel_size=3, data_format="NHWC"),
     r"data_format='NHWC' is invalid; expected one of \('channels_last', 'channels_first'\)"),
    (layers.Conv2D, dict(filters=2, kernel_size=3, padding="causal"), r"padding='causal'"),
    (layers.Conv2D, dict(filters=3, kernel_size=3, groups=2), r"groups=2 is invalid"),
    (layers.MaxPooling2D, dict(pool_size=(2, 2, 2)), r"pool_size=\(2, 2, 2\) must be an int"),
    (layers.ZeroPadding2D, dict(padding=((1, 2, 3), (1, 1))), r"padding=\(\(1, 2, 3\)"),
    (layers.Cropping2D, dict(cropping=-1), r"cropping=-1 is invalid"),
    (layers.BatchNormalization, dict(epsilon=0), r"epsilon=0 is invalid"),
    (layers.ReLU, dict(max_value=-1), r"max_value=-1 is invalid"),
    (layers.Reshape, dict(target_shape=(-1, -1)), r"target_shape=\(-1, -1\) is invalid"),
    (layers.Permute, dict(dims=(1, 3)), r"dims=\(1, 3\) is invalid"),
    (layers.DepthwiseConv2D, dict(kernel_size=3, depth_multiplier=0),
     r"depth_multiplier=0 is invalid"),
    (layers.LayerNormalization, dict(axis="last"), r"axis='last' is invalid"),
    (layers.GroupNormalization, dict(groups=0), r"groups=0 is invalid"),
    (layers.Embedding, dict(input_dim=4, output_dim=2, mask_zero=True),
     r"mask_zero=True is invalid; masking is not exported"),
    (layers.SpatialDropout2D, dict(rate=1.0), r"rate=1.0 is invalid"),
    (layers.GaussianNoise, dict(stddev=-1), r"stddev=-1 is invalid"),
    (layers.RepeatVector, dict(n=0), r"n=0 is invalid"),
    (layers.Resizing, dict(height=2, width=2, interpolation="area"),
     r"interpolation='area' is invalid"),
    (layers.Resizing, dict(height=2, width=2, pad_to_aspect_ratio=True),
     r"pad_to_aspect_ratio=True is invalid"),
    (layers.UpSampling2D, dict(interpolation="lanczos3"), r"interpolation='lanczos3'"),
])
def test_argument_validation_messages(cls, kw, match):
    with pytest.raises(ValueError, match=r"\(created at .*test_configs\.py:\d+\).*" + match):
        cls(**kw)


@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Bidirectional(layers.LSTM(3, return_sequences=True), merge_mode="ave"),
     (5, 2)),
    (lambda: layers.TimeDistributed(layers.Conv2D(2, 3)), (3, 5, 5, 1)),
])
def test_wrapper_config_round_trip(make, shape):
    layer = make()
    out = layer(Input(shape))
    cfg = layer.get_config()
    clone = type(layer).from_config(cfg)
    assert clone(Input(shape)).shape == out.shape
    assert [w.shape for w in clone.weights] == [w.shape for w in layer.weights]
