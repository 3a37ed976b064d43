"""Keras 3 interchange without Keras: configs, JSON and ``.keras`` archives.

Formats (Keras 3 ``serialization_lib`` / ``saving_lib``, read from Keras's source and docs):

* a serialized object is ``{"module", "class_name", "config", "registered_name"}``
  (+ ``build_config``); Functional's config holds ``layers`` (each with ``name`` and
  ``inbound_nodes``), ``input_layers`` and ``output_layers``;
* an inbound node is ``{"args": [...], "kwargs": {...}}`` whose tensors are
  ``{"class_name": "__keras_tensor__", "config": {"shape", "dtype", "keras_history":
  [layer_name, node_index, tensor_index]}}`` (Keras 2's ``[[name, node, tensor, kwargs]]`` is read
  too);
* a ``.keras`` file is a zip with ``config.json``, ``metadata.json`` and ``model.weights.h5``,
  where the weights of a model's layers are ``layers/<snake_case(class)>[_<n>]/vars/<i>``,
  numbered per class in ``model.layers`` order (Keras never uses the layer names there); a
  nested model's under ``layers/functional/layers/...``, an RNN's under ``<layer>/cell/vars``
  (each layer says where through ``Layer.h5_var_groups``).

h5py is imported lazily (optional extra ``onnumba[keras]``).
"""

import io
import json
import os
import zipfile

from onnumba.converters.errors import ConfigError, ConverterError
from onnumba.converters.layers import LAYER_CLASSES, InputLayer
from onnumba.converters.layers.base import to_snake_case
from onnumba.converters.models import Model, Sequential

# ---------------------------------------------------------------------------------------------
# writing


def serialize_layer(layer):
    """Keras 3 serialized layer (without graph information); a nested model as Keras writes it."""
    model = layer if isinstance(layer, Model) else getattr(layer, "model", None)
    if model is not None:
        return serialize_model(model)
    return {"module": "keras.layers", "class_name": type(layer).__name__,
            "config": layer.get_config(), "registered_name": None}


def _model_nodes(model, layer):
    return [n for n in model._nodes if n.layer is layer]


def _history(model, tensor):
    producer = tensor.node.layer
    return [producer.name, _model_nodes(model, producer).index(tensor.node), tensor.index]


def _tensor_ref(model, tensor):
    return {"class_name": "__keras_tensor__",
            "config": {"shape": list(tensor.shape), "dtype": tensor.dtype,
                       "keras_history": _history(model, tensor)}}


def functional_config(model):
    """Keras 3 ``Functional.get_config()``."""
    model._ensure_graph()
    layer_configs = []
    for layer in model._layers:
        entry = serialize_layer(layer)
        entry["name"] = layer.name
        nodes = _model_nodes(model, layer)
        if not isinstance(layer, InputLayer):
            shapes = [list(t.shape) for t in nodes[0].inputs]
            if getattr(layer, "call_positional", False):  # Keras: build(query_shape, ...)
                names = ("query_shape", "value_shape", "key_shape")
                entry["build_config"] = {"shapes_dict": dict(zip(names, shapes))}
            else:
                entry["build_config"] = {"input_shape": shapes if nodes[0].input_is_list
                                         else shapes[0]}
        inbound = []
        for node in nodes:
            if isinstance(layer, InputLayer):
                continue
            refs = [_tensor_ref(model, t) for t in node.inputs]
            as_list = node.input_is_list and not getattr(layer, "call_positional", False)
            inbound.append({"args": [refs] if as_list else refs, "kwargs": {}})
        entry["inbound_nodes"] = inbound
        layer_configs.append(entry)

    def ends(tensors, as_list):
        # a real Keras 3 to_json() writes a model built on one tensor as a flat
        # [layer, node, tensor] and a list of tensors as a list of those
        refs = [_history(model, t) for t in tensors]
        return refs if as_list else refs[0]

    return {"name": model.name, "trainable": model.trainable, "layers": layer_configs,
            "input_layers": ends(model.inputs, model._inputs_are_list),
            "output_layers": ends(model.outputs, model._outputs_are_list)}


def sequential_config(model):
    """Keras 3 ``Sequential.get_config()`` (the InputLayer first)."""
    model._ensure_graph()
    layers = [serialize_layer(model.input_layer)]
    for layer in model._stack:
        entry = serialize_layer(layer)
        node = _model_nodes(model, layer)[0]
        entry["build_config"] = {"input_shape": list(node.inputs[0].shape)}
        layers.append(entry)
    return {"name": model.name, "trainable": model.trainable,
            "dtype": {"module": "keras", "class_name": "DTypePolicy",
                      "config": {"name": "float32"}, "registered_name": None},
            "layers": layers, "build_input_shape": list(model.input_layer.batch_shape)}


def serialize_model(model):
    """What Keras 3 writes to ``config.json`` / ``to_json()`` for the model."""
    if isinstance(model, Sequential):
        return {"module": "keras", "class_name": "Sequential", "config": model.get_config(),
                "registered_name": None,
                "build_config": {"input_shape": list(model.input_layer.batch_shape)}}
    return {"module": "keras.src.models.functional", "class_name": "Functional",
            "config": model.get_config(), "registered_name": "Functional",
            "build_config": {"input_shape": None}}


def save_keras(model, path):
    """Write ``model`` as a Keras 3 ``.keras`` archive (config.json, metadata.json,
    model.weights.h5 in Keras's layout). Needs h5py."""
    h5py = _h5py()
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        write_weights_h5(f, model)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.6.0",
                                                "producer": "onnumba.converters"}))
        z.writestr("config.json", json.dumps(serialize_model(model)))
        z.writestr("model.weights.h5", buffer.getvalue())


# ---------------------------------------------------------------------------------------------
# reading


def _layer_from_config(entry):
    class_name = entry.get("class_name")
    if class_name in ("Functional", "Sequential", "Model"):
        return model_from_config(entry)._as_layer()  # a model used as a layer
    cls = LAYER_CLASSES.get(class_name)
    if cls is None:
        raise ConfigError(f"layer {entry.get('name') or (entry.get('config') or {}).get('name')!r}"
                          f": class {class_name!r} is not supported; supported: "
                          f"{sorted(LAYER_CLASSES)}")
    config = dict(entry.get("config") or {})
    try:
        return cls.from_config(config)
    except ConverterError as exc:
        raise ConfigError(f"layer {config.get('name')!r} ({class_name}): {exc}") from exc
    except TypeError as exc:
        raise ConfigError(f"layer {config.get('name')!r} ({class_name}): {exc}") from exc


def _refs_of(args):
    """Flatten an inbound node into (history list, is_list)."""
    if isinstance(args, dict) and "args" in args:  # Keras 3
        positional = args["args"] or [[]]
        if len(positional) > 1:  # layer(query, value[, key]): MultiHeadAttention
            return [_history_of(t) for t in positional], True
        first = positional[0]
        if isinstance(first, dict):
            return [_history_of(first)], False
        return [_history_of(t) for t in first], True
    # Keras 2: [[name, node, tensor, kwargs], ...]
    refs = [list(t[:3]) for t in args]
    return refs, len(refs) > 1


def _check_call_kwargs(name, node):
    """Call arguments that change the computation (masks, use_causal_mask...) are not read."""
    kwargs = node.get("kwargs") if isinstance(node, dict) else None
    for key, value in (kwargs or {}).items():
        if value is not None and value is not False and key != "training":
            raise ConfigError(f"layer {name!r}: call argument {key}={value!r} is not supported "
                              f"(only the default, None / False)")


def _history_of(ref):
    if isinstance(ref, dict) and ref.get("class_name") == "__keras_tensor__":
        return list(ref["config"]["keras_history"])
    if isinstance(ref, (list, tuple)):
        return list(ref[:3])
    raise ConfigError(f"unreadable tensor reference {ref!r} in inbound_nodes")


def _functional_from_config(config):
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise ConfigError("Functional config has no 'layers' list")
    created = {}   # layer name -> layer
    outputs = {}   # (layer name, node index) -> list of output tensors
    pending = []
    for entry in entries:
        layer = _layer_from_config(entry)
        name = entry.get("name") or layer.name
        created[name] = layer
        if isinstance(layer, InputLayer):
            outputs[(name, 0)] = [layer.output]
        else:
            pending.extend((name, i, node) for i, node in enumerate(entry.get("inbound_nodes")
                                                                    or []))
    while pending:
        progress, rest = False, []
        for name, index, node in pending:
            _check_call_kwargs(name, node)
            refs, is_list = _refs_of(node)
            if all((r[0], r[1]) in outputs for r in refs):
                tensors = [outputs[(r[0], r[1])][r[2]] for r in refs]
                out = created[name](tensors if is_list else tensors[0])
                outputs[(name, index)] = out if isinstance(out, list) else [out]
                progress = True
            else:
                rest.append((name, index, node))
        if not progress:
            missing = sorted({r[0] for _, _, node in rest for r in _refs_of(node)[0]
                              if r[0] not in created})
            raise ConfigError(f"Functional config is disconnected or cyclic; unresolved layers "
                              f"{sorted({n for n, _, _ in rest})}, unknown inputs {missing}")
        pending = rest

    def ends(spec):
        if spec and isinstance(spec[0], str):
            return outputs[(spec[0], spec[1])][spec[2]]
        tensors = [outputs[(s[0], s[1])][s[2]] for s in spec]
        return tensors[0] if len(tensors) == 1 else tensors

    try:
        inputs = ends(config["input_layers"])
        outs = ends(config["output_layers"])
    except KeyError as exc:
        raise ConfigError(f"Functional config refers to a missing layer output {exc}") from None
    return Model(inputs, outs, name=config.get("name"), trainable=config.get("trainable", True))


def _sequential_from_config(config):
    entries = config.get("layers")
    if not isinstance(entries, list):
        raise ConfigError("Sequential config has no 'layers' list")
    model = Sequential(name=config.get("name"))
    for i, entry in enumerate(entries):
        cfg = entry.get("config") or {}
        if i == 0 and entry.get("class_name") != "InputLayer" and "batch_input_shape" in cfg:
            model.add(InputLayer(batch_shape=cfg["batch_input_shape"]))  # Keras 2 style
        model.add(_layer_from_config(entry))
    if model.input_layer is None and config.get("build_input_shape"):
        model.build(config["build_input_shape"])
    return model


def model_from_config(config):
    """Model from what Keras 3 ``model.get_config()`` (or the serialized model) holds.

    Accepts ``{"class_name": "Functional" | "Sequential" | "Model", "config": {...}}`` or the inner
    config itself (a Functional one has ``input_layers``).
    """
    if not isinstance(config, dict):
        raise ConfigError(f"a model config must be a dict, got {type(config).__name__}")
    if "class_name" in config and "config" in config:
        class_name, inner = config["class_name"], config["config"]
        if class_name == "Sequential":
            return _sequential_from_config(inner)
        if class_name in ("Functional", "Model"):
            return _functional_from_config(inner)
        raise ConfigError(f"model class {class_name!r} is not supported (Functional, Sequential)")
    if "input_layers" in config:
        return _functional_from_config(config)
    if "layers" in config:
        return _sequential_from_config(config)
    raise ConfigError("not a Keras model config: no 'class_name' / 'layers'")


def model_from_json(json_string):
    """Model from Keras 3 ``model.to_json()`` output."""
    try:
        config = json.loads(json_string)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid model JSON: {exc}") from None
    return model_from_config(config)


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ConfigError("reading .keras weights needs h5py: pip install 'onnumba[keras]'") \
            from None
    return h5py


def _keras_class_name(layer):
    if isinstance(layer, Sequential):
        return "Sequential"
    if isinstance(layer, Model):
        return "Functional"
    return type(layer).__name__


def _weight_paths(model):
    """(h5 group name, layer) in Keras's layout: snake_case(class) numbered per class."""
    used = {}
    paths = []
    for layer in model.layers:
        name = to_snake_case(_keras_class_name(layer))
        if name in used:
            used[name] += 1
            name = f"{name}_{used[name]}"
        else:
            used[name] = 0
        paths.append((name, layer))
    return paths


def load_keras(path):
    """Read a Keras 3 ``.keras`` archive into a Model with its weights."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{path}: not a .keras archive ({exc})") from None
    with archive:
        names = set(archive.namelist())
        if "config.json" not in names:
            raise ConfigError(f"{path}: no config.json inside (is it a Keras 3 .keras file?)")
        model = model_from_json(archive.read("config.json").decode("utf-8"))
        if "model.weights.h5" not in names:
            raise ConfigError(f"{path}: no model.weights.h5 inside")
        weights = archive.read("model.weights.h5")
    h5py = _h5py()
    with h5py.File(io.BytesIO(weights), "r") as f:
        read_weights_h5(f, model, path)
    return model


def _write_layer_weights(group, model):
    for name, layer in _weight_paths(model):
        layer_group = group.create_group(name)
        if isinstance(layer, Model):
            _write_layer_weights(layer_group.create_group("layers"), layer)
            layer_group.create_group("vars")
            continue
        for sub, variables in layer.h5_var_groups():
            vars_group = layer_group.require_group(sub)
            for i, var in enumerate(variables):
                vars_group.create_dataset(str(i), data=var.value)


def write_weights_h5(f, model):
    """Write ``model``'s weights into the open h5py File ``f`` in Keras 3's layout."""
    _write_layer_weights(f.create_group("layers"), model)
    f.create_group("vars")


def _read_layer_weights(group, model, where, source):
    for name, layer in _weight_paths(model):
        if not layer.weights:
            continue
        if isinstance(layer, Model):
            if name not in group or "layers" not in group[name]:
                raise ConfigError(f"{source}: no weights for model {layer.name!r} at "
                                  f"{where}/{name}/layers")
            _read_layer_weights(group[name]["layers"], layer, f"{where}/{name}/layers", source)
            continue
        values = []
        for sub, _ in layer.h5_var_groups():
            if name not in group or sub not in group[name]:
                raise ConfigError(f"{source}: no weights for layer {layer.name!r} at "
                                  f"{where}/{name}/{sub}")
            stored = group[name][sub]
            values.extend(stored[str(i)][()] for i in range(len(stored)))
        try:
            layer.set_weights(values)
        except ConverterError as exc:
            subs = ", ".join(f"{where}/{name}/{sub}" for sub, _ in layer.h5_var_groups())
            raise ConfigError(f"{source}: {subs}: {exc}") from None


def read_weights_h5(f, model, source):
    """Set ``model``'s weights from the open h5py File ``f`` (Keras 3 layout)."""
    if "layers" not in f:
        raise ConfigError(f"{source}: the weights file has no 'layers' group")
    _read_layer_weights(f["layers"], model, "layers", source)


def save_weights(model, path, overwrite=True):
    """Keras 3 ``model.save_weights(path)``: ``path`` must end in ``.weights.h5``."""
    path = str(path)
    if not path.endswith(".weights.h5"):
        raise ConfigError(f"save_weights: the file name must end in '.weights.h5', got {path!r}")
    if not overwrite and os.path.exists(path):
        raise ConfigError(f"save_weights: {path} exists and overwrite=False")
    model._ensure_graph()
    with _h5py().File(path, "w") as f:
        write_weights_h5(f, model)


def load_weights(model, path):
    """Keras 3 ``model.load_weights(path)`` from a ``.weights.h5`` or a ``.keras`` file."""
    path = str(path)
    model._ensure_graph()
    h5py = _h5py()
    if path.endswith(".keras"):
        try:
            with zipfile.ZipFile(path) as archive:
                data = archive.read("model.weights.h5")
        except (OSError, KeyError, zipfile.BadZipFile) as exc:
            raise ConfigError(f"{path}: no model.weights.h5 to read ({exc})") from None
        with h5py.File(io.BytesIO(data), "r") as f:
            read_weights_h5(f, model, path)
        return
    if not path.endswith(".weights.h5"):
        raise ConfigError(f"load_weights: expected a '.weights.h5' or '.keras' file, got {path!r}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read as HDF5 ({exc})") from None
    with f:
        read_weights_h5(f, model, path)
