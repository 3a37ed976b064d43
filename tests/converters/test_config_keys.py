"""Forward-compatible config reading: every key Keras 3.15 writes is accepted; a key that would
change the computation is a ConfigError naming layer, key and value; an unknown key warns."""

import warnings

import pytest

from onnumba.converters import ConfigError, initializers, layers, model_from_config
from onnumba.converters.saving import _layer_from_config

POLICY = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
          "registered_name": None}


def _init(name, **config):
    return {"module": "keras.initializers", "class_name": name, "config": config,
            "registered_name": None}


def _dense_entry(**extra):
    # what Keras 3.15.1 writes for Dense(3) (copied from a real model.to_json())
    config = {"name": "d", "trainable": True, "dtype": POLICY, "units": 3,
              "activation": "linear", "use_bias": True,
              "kernel_initializer": _init("GlorotUniform", seed=None, input_axes=None,
                                          output_axes=None),
              "bias_initializer": _init("Zeros"), "kernel_regularizer": None,
              "bias_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
              "quantization_config": None}
    config.update(extra)
    return {"module": "keras.layers", "class_name": "Dense", "config": config,
            "registered_name": None, "build_config": {"input_shape": [None, 4]}}


def test_keras_3_15_dense_config_loads_without_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        layer = _layer_from_config(_dense_entry(lora_rank=None, lora_alpha=None))
    assert isinstance(layer, layers.Dense) and layer.units == 3
    assert isinstance(layer.kernel_initializer, initializers.GlorotUniform)


def test_initializer_keys_of_keras_3_15():
    init = initializers.get(_init("VarianceScaling", scale=2.0, mode="fan_out",
                                  distribution="uniform", seed=3, input_axes=[0],
                                  output_axes=[1]))
    assert (init.scale, init.mode, init.seed) == (2.0, "fan_out", 3)
    assert isinstance(initializers.get(_init("Zeros", seed=None)), initializers.Zeros)


@pytest.mark.parametrize("key,value,match", [
    ("quantization_config", {"mode": "int8"}, r"quantization_config=\{'mode': 'int8'\}"),
    ("lora_rank", 4, r"lora_rank=4"),
    ("dtype", {"module": "keras", "class_name": "DTypePolicy",
               "config": {"name": "mixed_float16"}, "registered_name": None},
     r"dtype=.*mixed_float16"),
    ("dtype", "float16", r"dtype='float16'"),
])
def test_computation_changing_keys_are_config_errors(key, value, match):
    with pytest.raises(ConfigError, match=r"layer 'd' \(Dense\).*" + match):
        _layer_from_config(_dense_entry(**{key: value}))


def test_unknown_key_warns_once_and_loads():
    with pytest.warns(UserWarning, match=r"layer 'd' \(Dense\): ignoring config key "
                                         r"flux_capacitor=1\.21"):
        layer = _layer_from_config(_dense_entry(flux_capacitor=1.21))
    assert layer.units == 3


def test_unknown_initializer_key_warns_with_argument_name():
    with pytest.warns(UserWarning, match=r"kernel_initializer \(GlorotUniform\): ignoring "
                                         r"config key new_key=True"):
        entry = _dense_entry()
        entry["config"]["kernel_initializer"]["config"]["new_key"] = True
        _layer_from_config(entry)


def test_batch_normalization_keras_3_15_keys():
    config = {"name": "bn", "trainable": True, "dtype": POLICY, "axis": -1, "momentum": 0.99,
              "epsilon": 0.001, "center": True, "scale": True,
              "beta_initializer": _init("Zeros"), "gamma_initializer": _init("Ones"),
              "moving_mean_initializer": _init("Zeros"),
              "moving_variance_initializer": _init("Ones"), "beta_regularizer": None,
              "gamma_regularizer": None, "beta_constraint": None, "gamma_constraint": None,
              "synchronized": True, "renorm": False, "renorm_clipping": None,
              "renorm_momentum": 0.99}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bn = _layer_from_config({"class_name": "BatchNormalization", "config": config})
    assert bn.epsilon == 0.001
    with pytest.raises(ConfigError, match=r"layer 'bn' \(BatchNormalization\).*renorm=True"):
        _layer_from_config({"class_name": "BatchNormalization",
                            "config": dict(config, renorm=True)})


def test_input_layer_keys_and_refusals():
    base = {"batch_shape": [None, 4], "dtype": "float32", "sparse": False, "ragged": False,
            "name": "x", "optional": False}
    assert layers.InputLayer.from_config(base).batch_shape == (None, 4)
    for key in ("sparse", "ragged", "optional"):
        with pytest.raises(ConfigError, match=rf"layer 'x' \(InputLayer\).*{key}=True"):
            layers.InputLayer.from_config(dict(base, **{key: True}))


def test_model_envelope_keys():
    inp = {"module": "keras.layers", "class_name": "InputLayer", "registered_name": None,
           "config": {"batch_shape": [None, 4], "dtype": "float32", "sparse": False,
                      "ragged": False, "name": "x", "optional": False},
           "name": "x", "inbound_nodes": []}
    dense = dict(_dense_entry(), name="d", inbound_nodes=[{"args": [
        {"class_name": "__keras_tensor__", "config": {"shape": [None, 4], "dtype": "float32",
                                                      "keras_history": ["x", 0, 0]}}],
        "kwargs": {}}])
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "m", "trainable": True, "layers": [inp, dense],
                         "input_layers": [["x", 0, 0]], "output_layers": [["d", 0, 0]]},
              "registered_name": "Functional", "build_config": {"input_shape": None},
              "compile_config": {"optimizer": "adam", "loss": "mse"}}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = model_from_config(config)
    assert model.count_params() == 15
