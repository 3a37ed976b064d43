"""Conv, ConvTranspose, Depthwise and Separable layers vs the numpy Keras reference, run by
onnxruntime."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onnumba.converters import layers
from tests.converters._util import export, op_types, rand, run_model, single_layer
from tests.reference import keras_ref as ref

TOL = dict(rtol=1e-4, atol=1e-4)


def _bias(layer, seed=1):
    """Give the layer a non-zero bias so it is tested too."""
    ws = layer.get_weights()
    ws[-1] = rand(*ws[-1].shape, seed=seed)
    layer.set_weights(ws)


CONV_CASES = [
    dict(cls=layers.Conv1D, shape=(9, 3), kw=dict(filters=4, kernel_size=3)),
    dict(cls=layers.Conv1D, shape=(9, 3), kw=dict(filters=4, kernel_size=3, padding="causal",
                                                  dilation_rate=2)),
    dict(cls=layers.Conv1D, shape=(10, 4), kw=dict(filters=4, kernel_size=2, strides=3,
                                                   padding="same", groups=2)),
    dict(cls=layers.Conv2D, shape=(7, 6, 3), kw=dict(filters=5, kernel_size=3, padding="same")),
    dict(cls=layers.Conv2D, shape=(8, 7, 2), kw=dict(filters=3, kernel_size=(2, 3), strides=2,
                                                     padding="same")),
    dict(cls=layers.Conv2D, shape=(9, 9, 2), kw=dict(filters=3, kernel_size=3, strides=2,
                                                     dilation_rate=2, padding="same")),
    dict(cls=layers.Conv2D, shape=(6, 6, 2), kw=dict(filters=2, kernel_size=3, use_bias=False,
                                                     activation="tanh")),
    dict(cls=layers.Conv3D, shape=(5, 4, 6, 2), kw=dict(filters=3, kernel_size=(2, 3, 2),
                                                        strides=(1, 2, 1), padding="same")),
]


def _conv_ref(layer, x):
    ws = layer.get_weights()
    y = ref.conv(x, ws[0], ws[1] if layer.use_bias else None, layer.strides, layer.padding,
                 layer.dilation_rate, layer.groups)
    return ref.activation(layer.activation, y)


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"{c['cls'].__name__}-{c['kw']}")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_vs_reference(case, data_format):
    layer = case["cls"](data_format=data_format, **case["kw"])
    shape = case["shape"]
    if data_format == "channels_first":
        shape = (shape[-1],) + shape[:-1]
    model = single_layer(layer, shape)
    if layer.use_bias:
        _bias(layer)
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    x_last = ref.to_channels_last(x) if data_format == "channels_first" else x
    expected = _conv_ref(layer, x_last)
    if data_format == "channels_first":
        expected = ref.to_channels_first(expected)
    assert y.shape == model.outputs[0].shape[:0] + (2,) + model.outputs[0].shape[1:]
    np.testing.assert_allclose(y, expected, **TOL)


def test_conv_kernel_layout_and_one_transpose_per_boundary():
    layer = layers.Conv2D(4, (3, 2), padding="same")
    model = single_layer(layer, (5, 5, 3))
    assert [w.shape for w in layer.get_weights()] == [(3, 2, 3, 4), (4,)]
    proto = export(model)
    assert op_types(proto).count("Transpose") == 2  # NHWC in, NHWC out
    conv = [n for n in proto.graph.node if n.op_type == "Conv"][0]
    pads = [a for a in conv.attribute if a.name == "pads"][0].ints
    assert list(pads) == [1, 0, 1, 1]  # kernel 3: (1, 1); kernel 2: extra unit at the end


TRANSPOSE_CASES = [
    dict(cls=layers.Conv2DTranspose, shape=(3, 4, 2), kw=dict(filters=3, kernel_size=2,
                                                             strides=2, padding="same")),
    dict(cls=layers.Conv2DTranspose, shape=(3, 4, 2), kw=dict(filters=3, kernel_size=3,
                                                             strides=2, padding="same")),
    # kernel < stride: tf2onnx writes negative pads here; we write output_padding
    dict(cls=layers.Conv2DTranspose, shape=(3, 3, 2), kw=dict(filters=2, kernel_size=1,
                                                             strides=3, padding="valid")),
    dict(cls=layers.Conv2DTranspose, shape=(3, 3, 2), kw=dict(filters=2, kernel_size=(1, 2),
                                                             strides=(2, 3), padding="same")),
    dict(cls=layers.Conv2DTranspose, shape=(3, 3, 2), kw=dict(filters=2, kernel_size=3,
                                                             strides=2, padding="valid",
                                                             output_padding=1)),
    dict(cls=layers.Conv2DTranspose, shape=(3, 3, 2), kw=dict(filters=2, kernel_size=4,
                                                             strides=2, padding="same",
                                                             output_padding=(1, 0))),
    dict(cls=layers.Conv2DTranspose, shape=(4, 4, 2), kw=dict(filters=2, kernel_size=3,
                                                             dilation_rate=2, padding="same")),
    dict(cls=layers.Conv1DTranspose, shape=(5, 3), kw=dict(filters=2, kernel_size=3, strides=2,
                                                          activation="relu")),
    dict(cls=layers.Conv3DTranspose, shape=(2, 3, 2, 2), kw=dict(filters=2, kernel_size=2,
                                                                strides=(2, 1, 2),
                                                                padding="same")),
]


def _conv_t_ref(layer, x):
    ws = layer.get_weights()
    y = ref.conv_transpose(x, ws[0], ws[1] if layer.use_bias else None, layer.strides,
                           layer.padding, layer.output_padding, layer.dilation_rate)
    return ref.activation(layer.activation, y)


@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=lambda c: f"{c['cls'].__name__}-{c['kw']}")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_transpose_vs_reference(case, data_format):
    layer = case["cls"](data_format=data_format, **case["kw"])
    shape = case["shape"] if data_format == "channels_last" else \
        (case["shape"][-1],) + case["shape"][:-1]
    model = single_layer(layer, shape)
    _bias(layer)
    proto = export(model)
    ct = [n for n in proto.graph.node if n.op_type == "ConvTranspose"][0]
    pads = [a for a in ct.attribute if a.name == "pads"][0].ints
    assert min(pads) >= 0
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    x_last = ref.to_channels_last(x) if data_format == "channels_first" else x
    expected = _conv_t_ref(layer, x_last)
    if data_format == "channels_first":
        expected = ref.to_channels_first(expected)
    assert y.shape == (2,) + model.outputs[0].shape[1:]
    np.testing.assert_allclose(y, expected, **TOL)


@pytest.mark.parametrize("k,s,padding", [(3, 2, "same"), (4, 2, "same"), (1, 3, "same"),
                                         (2, 3, "valid"), (3, 1, "same"), (5, 2, "valid")])
def test_conv_transpose_reference_is_the_adjoint_of_conv(k, s, padding):
    # TensorFlow defines conv_transpose as the gradient of conv; the JAX-rule reference agrees
    x = rand(1, 4, 2)
    kernel = rand(k, 3, 2, seed=3)  # (k, out, in)
    y = ref.conv_transpose(x, kernel, None, s, padding)
    adj = ref.conv_adjoint(y.shape, kernel, x, s, padding)
    np.testing.assert_allclose(y, adj, rtol=1e-10, atol=1e-10)


DEPTHWISE_CASES = [
    dict(cls=layers.DepthwiseConv2D, shape=(6, 5, 3), kw=dict(kernel_size=3, padding="same",
                                                             depth_multiplier=2)),
    # strides and dilation both > 1: Keras refuses, ONNX allows
    dict(cls=layers.DepthwiseConv2D, shape=(9, 9, 2), kw=dict(kernel_size=2, strides=2,
                                                             dilation_rate=2)),
    dict(cls=layers.DepthwiseConv1D, shape=(7, 3), kw=dict(kernel_size=3, strides=2,
                                                          padding="same", activation="relu")),
]


@pytest.mark.parametrize("case", DEPTHWISE_CASES, ids=lambda c: f"{c['cls'].__name__}-{c['kw']}")
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depthwise_vs_reference(case, data_format):
    layer = case["cls"](data_format=data_format, **case["kw"])
    shape = case["shape"] if data_format == "channels_last" else \
        (case["shape"][-1],) + case["shape"][:-1]
    model = single_layer(layer, shape)
    _bias(layer)
    k, b = layer.get_weights()
    assert k.shape == layer.kernel_size + (case["shape"][-1], layer.depth_multiplier)
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    x_last = ref.to_channels_last(x) if data_format == "channels_first" else x
    expected = ref.activation(layer.activation, ref.depthwise_conv(
        x_last, k, b, layer.strides, layer.padding, layer.dilation_rate))
    if data_format == "channels_first":
        expected = ref.to_channels_first(expected)
    np.testing.assert_allclose(y, expected, **TOL)


@pytest.mark.parametrize("cls,shape,kw", [
    (layers.SeparableConv2D, (6, 6, 3), dict(filters=4, kernel_size=3, padding="same",
                                             depth_multiplier=2)),
    (layers.SeparableConv2D, (7, 7, 2), dict(filters=3, kernel_size=2, strides=2,
                                             activation="relu")),
    (layers.SeparableConv1D, (8, 3), dict(filters=2, kernel_size=3, dilation_rate=2,
                                          padding="same")),
])
def test_separable_vs_reference(cls, shape, kw):
    layer = cls(**kw)
    model = single_layer(layer, shape)
    _bias(layer)
    dk, pk, b = layer.get_weights()
    c = shape[-1]
    assert dk.shape == layer.kernel_size + (c, layer.depth_multiplier)
    assert pk.shape == (1,) * layer.rank + (c * layer.depth_multiplier, layer.filters)
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    expected = ref.activation(layer.activation, ref.separable_conv(
        x, dk, pk, b, layer.strides, layer.padding, layer.dilation_rate))
    np.testing.assert_allclose(y, expected, **TOL)
    # Keras's parameter count: depthwise + pointwise + bias
    assert layer.count_params() == dk.size + pk.size + b.size


@given(n=st.integers(2, 7), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]))
def test_conv2d_geometry_property(n, k, s, d, padding):
    if padding == "valid" and (k - 1) * d + 1 > n:
        return
    layer = layers.Conv2D(2, (k, 1), strides=(s, 1), dilation_rate=(d, 1), padding=padding)
    model = single_layer(layer, (n, 2, 1))
    x = rand(1, n, 2, 1)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, _conv_ref(layer, x), **TOL)


@given(n=st.integers(1, 5), k=st.integers(1, 4), s=st.integers(1, 3), d=st.integers(1, 2),
       padding=st.sampled_from(["valid", "same"]), op=st.one_of(st.none(), st.integers(0, 2)))
def test_conv_transpose_geometry_property(n, k, s, d, padding, op):
    if op is not None and op >= max(s, d):
        op = None
    layer = layers.Conv1DTranspose(2, k, strides=s, dilation_rate=d, padding=padding,
                                   output_padding=op)
    model = single_layer(layer, (n, 1))
    x = rand(1, n, 1)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, _conv_t_ref(layer, x), **TOL)


@pytest.mark.parametrize("k,s,d", [(3, 1, 2), (2, 2, 1), (4, 3, 1), (3, 1, 1)])
def test_dynamic_spatial_sizes(k, s, d):
    inp = layers.Input((None, 3))
    conv = layers.Conv1D(2, k, strides=s, dilation_rate=d, padding="same")
    pool = layers.AveragePooling1D(k, strides=s, padding="same")
    from onnumba.converters import Model
    model = Model(inp, [conv(inp), pool(inp)])
    assert model.outputs[0].shape == (None, None, 2)
    for n in (5, 8):
        x = rand(1, n, 3, seed=n)
        y, p = run_model(model, x)
        np.testing.assert_allclose(y, _conv_ref(conv, x), **TOL)
        np.testing.assert_allclose(p, ref.pool(x, (k,), (s,), "same", "average"), **TOL)


def test_dynamic_size_with_strides_and_dilation_is_refused_at_export():
    from onnumba.converters import Model
    inp = layers.Input((None, None, 2))
    model = Model(inp, layers.Conv2D(2, 3, strides=2, dilation_rate=2, padding="same")(inp))
    with pytest.raises(ValueError, match=r"Conv2D '.*' \(created at .*\): padding='same' with "
                                         r"strides=\(2, 2\) and dilation_rate=\(2, 2\) needs "
                                         r"known spatial sizes"):
        model.to_onnx()
