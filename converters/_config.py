"""Read a Keras config dict into constructor arguments: the one place that decides which keys a
config may carry.

Keras releases keep adding keys to what ``get_config`` writes (Keras 3.15: initializers'
``input_axes`` / ``output_axes``, ``dtype`` as a DTypePolicy dict, ``quantization_config``,
``lora_rank`` / ``lora_alpha``, ``synchronized``, ``build_config`` ...). Every ``from_config`` of the
builder (layers, initializers, regularizers) goes through ``constructor_kwargs``, which sorts each key:

* an argument of the class's constructor: passed on;
* a key listed in ``_RULES``: dropped when its value leaves the inference computation unchanged
  (a default, or something that only acts while training in Keras: constraints, ``synchronized``),
  a ``ConfigError`` naming owner, key and value when it would change the computation;
* any other key: dropped with a one-line ``warnings.warn`` (a newer Keras may write it).
"""

import inspect
import warnings

from onnumba.converters.errors import ConfigError


def _float32_policy(value):
    if value is None or value == "float32":
        return True
    if isinstance(value, dict):
        inner = value.get("config") if "config" in value else value
        return isinstance(inner, dict) and inner.get("name") == "float32"
    return False


def _falsy(value):
    return value is None or value is False or value == 0 or value == {} or value == []


def _any(value):
    return True


#: key -> (predicate: True when the value is harmless and can be dropped, what would be needed).
#: A key here that is also a constructor argument is still checked, then passed on when harmless
#: only if the constructor names it (dtype is normalised to None).
_RULES = {
    # serialization envelope and build information
    "module": (_any, ""), "registered_name": (_any, ""), "build_config": (_any, ""),
    "compile_config": (_any, ""), "shared_object_id": (_any, ""),
    "batch_input_shape": (_any, ""),
    # the variable / compute dtype: only float32 is exported
    "dtype": (_float32_policy, "a float32 dtype policy"),
    "autocast": (_any, ""),
    # quantization and LoRA change the kernel that is applied
    "quantization_config": (_falsy, "quantization_config=None (quantized layers are not exported)"),
    "lora_rank": (_falsy, "lora_rank=None (LoRA is not exported)"),
    "lora_alpha": (_any, ""),
    # training-only behaviour: constraints are applied by the optimizer, synchronized is the
    # cross-replica batch statistic, renorm's clipping only applies with renorm=True
    "kernel_constraint": (_any, ""), "bias_constraint": (_any, ""),
    "depthwise_constraint": (_any, ""), "pointwise_constraint": (_any, ""),
    "alpha_constraint": (_any, ""), "beta_constraint": (_any, ""), "gamma_constraint": (_any, ""),
    "embeddings_constraint": (_any, ""),
    "synchronized": (_any, ""),
    "renorm": (_falsy, "renorm=False (batch renormalization is not exported)"),
    "renorm_clipping": (_any, ""), "renorm_momentum": (_any, ""),
    # input kinds that have no ONNX float32 dense equivalent
    "sparse": (_falsy, "sparse=False"), "ragged": (_falsy, "ragged=False"),
    "optional": (_falsy, "optional=False"),
    # initializers (Keras 3.15): the axes that define the fans, and the seed, only shape the
    # random draw of initial values, which never equal Keras's own draw anyway
    "input_axes": (_any, ""), "output_axes": (_any, ""), "seed": (_any, ""),
}


def _constructor_params(cls):
    """Names the constructor of ``cls`` accepts, following ``**kwargs`` up the MRO."""
    names = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params
                     if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self")
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


def constructor_kwargs(cls, config, owner):
    """The constructor arguments of ``cls`` found in the Keras ``config`` (see module doc).

    Args:
        cls: the class whose ``from_config`` is reading ``config``.
        config: the ``config`` dict Keras wrote (not modified).
        owner: who owns the config, for messages (``"layer 'conv' (Conv2D)"``).

    Raises:
        ConfigError: a key holds a value that changes the computation and is not exported.
    """
    if not isinstance(config, dict):
        raise ConfigError(f"{owner}: config must be a dict, got {config!r}")
    params = _constructor_params(cls)
    kwargs = {}
    for key, value in config.items():
        rule = _RULES.get(key)
        if rule is not None:
            harmless, needed = rule
            if key == "dtype" and value in getattr(cls, "DTYPES", ()):
                harmless = _any  # an integer Input
            if not harmless(value):
                raise ConfigError(f"{owner}: config key {key}={value!r} is not supported; "
                                  f"expected {needed}")
            if key in params:
                kwargs[key] = None if key == "dtype" and value not in getattr(cls, "DTYPES", ()) \
                    else value
            continue
        if key in params:
            kwargs[key] = value
        else:
            warnings.warn(f"{owner}: ignoring config key {key}={value!r}, unknown to "
                          f"onnumba.converters", stacklevel=3)
    return kwargs
