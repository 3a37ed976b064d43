"""Pooling, global pooling, ZeroPadding, Cropping and UpSampling vs the numpy Keras reference."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from onnumba.converters import layers
from tests.converters._util import export, op_types, rand, run_model, single_layer
from tests.reference import keras_ref as ref

TOL = dict(rtol=1e-5, atol=1e-5)

POOL_CASES = [
    (layers.MaxPooling1D, (7, 3), dict(pool_size=2)),
    (layers.MaxPooling1D, (7, 3), dict(pool_size=3, strides=2, padding="same")),
    (layers.AveragePooling1D, (8, 2), dict(pool_size=3, strides=2, padding="same")),
    (layers.MaxPooling2D, (5, 6, 2), dict()),
    (layers.MaxPooling2D, (5, 7, 2), dict(pool_size=(3, 2), strides=(2, 3), padding="same")),
    (layers.AveragePooling2D, (5, 5, 2), dict(pool_size=2, padding="same")),
    (layers.AveragePooling2D, (6, 5, 2), dict(pool_size=(3, 3), strides=1, padding="same")),
    (layers.AveragePooling2D, (6, 6, 1), dict(pool_size=3, strides=2)),
    (layers.MaxPooling3D, (4, 5, 4, 2), dict(pool_size=2, padding="same")),
    (layers.AveragePooling3D, (4, 4, 5, 2), dict(pool_size=(2, 1, 3), strides=1,
                                                 padding="same")),
]


@pytest.mark.parametrize("cls,shape,kw", POOL_CASES,
                         ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_pooling_vs_reference(cls, shape, kw, data_format):
    layer = cls(data_format=data_format, **kw)
    in_shape = shape if data_format == "channels_last" else (shape[-1],) + shape[:-1]
    model = single_layer(layer, in_shape)
    x = rand(2, *in_shape)
    (y,) = run_model(model, x)
    x_last = x if data_format == "channels_last" else ref.to_channels_last(x)
    mode = "max" if layer.pool_mode == "max" else "average"
    expected = ref.pool(x_last, layer.pool_size, layer.strides, layer.padding, mode)
    if data_format == "channels_first":
        expected = ref.to_channels_first(expected)
    assert y.shape == (2,) + model.outputs[0].shape[1:]
    np.testing.assert_allclose(y, expected, **TOL)


@pytest.mark.parametrize("cls,shape", [
    (layers.GlobalAveragePooling1D, (5, 3)), (layers.GlobalMaxPooling1D, (5, 3)),
    (layers.GlobalAveragePooling2D, (4, 5, 3)), (layers.GlobalMaxPooling2D, (4, 5, 3)),
    (layers.GlobalAveragePooling3D, (3, 4, 2, 3)), (layers.GlobalMaxPooling3D, (3, 4, 2, 3)),
], ids=lambda v: getattr(v, "__name__", str(v)))
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling(cls, shape, keepdims):
    layer = cls(keepdims=keepdims)
    model = single_layer(layer, shape)
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    expected = ref.global_pool(x, layer.pool_mode, keepdims)
    assert model.outputs[0].shape == (None,) + expected.shape[1:]
    np.testing.assert_allclose(y, expected, **TOL)


def test_global_pooling_channels_first():
    model = single_layer(layers.GlobalAveragePooling2D(data_format="channels_first",
                                                       keepdims=True), (3, 4, 5))
    x = rand(2, 3, 4, 5)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, x.mean(axis=(2, 3), keepdims=True), **TOL)
    assert op_types(export(model)).count("Transpose") == 0


@pytest.mark.parametrize("cls,shape,arg,pairs", [
    (layers.ZeroPadding1D, (4, 2), 2, [(2, 2)]),
    (layers.ZeroPadding1D, (4, 2), (1, 3), [(1, 3)]),
    (layers.ZeroPadding2D, (3, 4, 2), (1, 2), [(1, 1), (2, 2)]),
    (layers.ZeroPadding2D, (3, 4, 2), ((0, 1), (2, 3)), [(0, 1), (2, 3)]),
    (layers.ZeroPadding3D, (2, 3, 2, 1), 1, [(1, 1)] * 3),
])
@pytest.mark.parametrize("stored_nchw", [False, True])
def test_zero_padding(cls, shape, arg, pairs, stored_nchw):
    from onnumba.converters import Input, Model
    inp = Input(shape)
    conv = (layers.Conv1D, layers.Conv2D, layers.Conv3D)[len(shape) - 2](shape[-1], 1)
    h = conv(inp) if stored_nchw else inp
    model = Model(inp, cls(arg)(h))
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    xh = ref.conv(x, *conv.get_weights()) if stored_nchw else x
    np.testing.assert_allclose(y, ref.zero_pad(xh, pairs), **TOL)


@pytest.mark.parametrize("cls,shape,arg,pairs", [
    (layers.Cropping1D, (6, 2), (1, 2), [(1, 2)]),
    (layers.Cropping2D, (5, 6, 2), ((1, 0), (2, 1)), [(1, 0), (2, 1)]),
    (layers.Cropping2D, (5, 6, 2), 1, [(1, 1), (1, 1)]),
    (layers.Cropping3D, (4, 4, 5, 1), ((1, 1), (0, 2), (1, 0)), [(1, 1), (0, 2), (1, 0)]),
])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_cropping(cls, shape, arg, pairs, data_format):
    in_shape = shape if data_format == "channels_last" else (shape[-1],) + shape[:-1]
    model = single_layer(cls(arg, data_format=data_format), in_shape)
    x = rand(2, *in_shape)
    (y,) = run_model(model, x)
    x_last = x if data_format == "channels_last" else ref.to_channels_last(x)
    expected = ref.crop(x_last, pairs)
    if data_format == "channels_first":
        expected = ref.to_channels_first(expected)
    np.testing.assert_allclose(y, expected, **TOL)


@pytest.mark.parametrize("layer,shape,size,interp", [
    (lambda: layers.UpSampling1D(3), (4, 2), (3,), "nearest"),
    (lambda: layers.UpSampling2D((2, 3)), (3, 2, 2), (2, 3), "nearest"),
    (lambda: layers.UpSampling2D(2, interpolation="bilinear"), (3, 4, 2), (2, 2), "bilinear"),
])
def test_upsampling(layer, shape, size, interp):
    model = single_layer(layer(), shape)
    x = rand(2, *shape)
    (y,) = run_model(model, x)
    fn = ref.upsample_nearest if interp == "nearest" else ref.upsample_bilinear
    np.testing.assert_allclose(y, fn(x, size), **TOL)


@given(n=st.integers(1, 9), k=st.integers(1, 4), s=st.integers(1, 4),
       padding=st.sampled_from(["valid", "same"]), mode=st.sampled_from(["max", "average"]))
def test_pooling_geometry_property(n, k, s, padding, mode):
    if padding == "valid" and k > n:
        return
    cls = layers.MaxPooling1D if mode == "max" else layers.AveragePooling1D
    layer = cls(k, strides=s, padding=padding)
    model = single_layer(layer, (n, 2))
    x = rand(1, n, 2)
    (y,) = run_model(model, x)
    np.testing.assert_allclose(y, ref.pool(x, (k,), (s,), padding, mode), **TOL)
