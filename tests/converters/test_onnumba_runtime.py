"""Every model the builder emits, run by onnumba's own runtime and compared with onnxruntime.

A model whose ops the runtime does not support yet is skipped with the op named in the reason.
"""

import numpy as np
import pytest

from onnumba.converters import Input, Model, layers
from tests.converters._util import export, load_build_script, rand, run_ort

onnumba = pytest.importorskip("onnumba", reason="the onnumba runtime package is not importable")
if not hasattr(onnumba, "InferenceSession"):
    pytest.skip("onnumba.InferenceSession is not available yet", allow_module_level=True)


def _small_models():
    cases = {}
    for name in ("vgg", "separable"):
        cases[name] = lambda name=name: (load_build_script(name).build(seed=0), (2, 32, 32, 3))
    cases["unet16"] = lambda: (load_build_script("unet").build(seed=0, input_shape=(16, 16, 1)),
                               (1, 16, 16, 1))

    def mixed():
        inp = Input((6, 6, 2))
        x = layers.ZeroPadding2D(1)(inp)
        x = layers.Conv2DTranspose(3, 1, strides=2, padding="same")(x)  # kernel < stride
        x = layers.DepthwiseConv2D(3, depth_multiplier=2, activation="gelu")(x)
        x = layers.AveragePooling2D(3, strides=2, padding="same")(x)
        x = layers.Cropping2D(((1, 0), (0, 1)))(x)
        x = layers.UpSampling2D(2)(x)
        x = layers.BatchNormalization()(x)
        x = layers.LeakyReLU()(x)
        y = layers.GlobalMaxPooling2D()(x)
        return Model(inp, layers.Dense(4, activation="softmax")(y)), (2, 6, 6, 2)

    cases["mixed"] = mixed
    return cases


CASES = _small_models()


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnumba_matches_onnxruntime(name):
    model, shape = CASES[name]()
    proto = export(model)
    x = rand(*shape)
    feeds = {proto.graph.input[0].name: x}
    expected = run_ort(proto, feeds)
    try:
        sess = onnumba.InferenceSession(proto.SerializeToString())
    except onnumba.UnsupportedOpError as exc:
        pytest.skip(f"onnumba runtime does not support an op of this model yet: {exc}")
    got = sess.run(None, feeds)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # the same file in training mode: Dropout is random, so only shapes and finiteness
    if any(n.op_type == "Dropout" for n in proto.graph.node):
        out = sess.run(None, dict(feeds, training_mode=np.array(True)))
        assert out[0].shape == expected[0].shape and np.isfinite(out[0]).all()
