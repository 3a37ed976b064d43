"""``Model.predict`` / ``Model(x)``: run the exported graph on the onnumba runtime.

The runtime (and with it numba) is imported only when a model is first run, so importing
``onnumba.converters`` stays light. One session per (model graph, weights, training flag) is kept on
the model; ``Layer.set_weights`` bumps a version number that invalidates it.
"""

import numpy as np

from onnumba.converters.errors import ConverterError
from onnumba.converters.layers import base as _base


def _session(model, training):
    model._ensure_graph()
    key = (bool(training), _base.weights_version(), tuple(id(n) for n in model._nodes))
    cache = model.__dict__.setdefault("_sessions", {})
    if key not in cache:
        from onnumba import InferenceSession  # lazy: loads numba
        cache.clear()
        # BatchNormalization in training mode needs the training export; Dropout reads the
        # training_mode input of either export
        proto = model.to_onnx(training=bool(training))
        session = InferenceSession(proto.SerializeToString())
        names = [i.name for i in proto.graph.input if i.name != "training_mode"]
        has_flag = any(i.name == "training_mode" for i in proto.graph.input)
        cache[key] = (session, names, has_flag)
    return cache[key]


def _feeds(model, x, names):
    if isinstance(x, dict):
        missing = [n for n in names if n not in x]
        if missing:
            raise ConverterError(f"Model {model.name!r}: inputs {missing} are missing; "
                                 f"expected {names}")
        arrays = [x[n] for n in names]
    elif isinstance(x, (list, tuple)):
        arrays = list(x)
    else:
        arrays = [x]
    if len(arrays) != len(names):
        raise ConverterError(f"Model {model.name!r} takes {len(names)} inputs {names}, "
                             f"got {len(arrays)}")
    arrays = [np.ascontiguousarray(a, dtype=t.dtype) for a, t in zip(arrays, model.inputs)]
    for a, t, n in zip(arrays, model.inputs, names):
        ok = a.ndim == len(t.shape) and all(k is None or k == d
                                            for d, k in zip(a.shape[1:], t.shape[1:]))
        if not ok:
            raise ConverterError(f"Model {model.name!r}: input {n!r} expects shape "
                                 f"{t.shape}, got an array of shape {a.shape}")
    if len({a.shape[0] for a in arrays}) > 1:
        raise ConverterError(f"Model {model.name!r}: inputs have different batch sizes "
                             f"{[a.shape[0] for a in arrays]}")
    return arrays


def run(model, x, batch_size=None, training=False):
    """Outputs of ``model`` on ``x`` (an array, a list of arrays or a dict by input name)."""
    session, names, has_flag = _session(model, training)
    arrays = _feeds(model, x, names)
    n = arrays[0].shape[0]
    step = n if not batch_size else int(batch_size)
    if step < 1:
        raise ConverterError(f"Model {model.name!r}: batch_size={batch_size!r} must be >= 1")
    n_out = len(model.outputs)
    chunks = []
    for start in range(0, max(n, 1), step):
        feeds = {name: a[start:start + step] for name, a in zip(names, arrays)}
        if has_flag:
            feeds["training_mode"] = np.array(bool(training))
        chunks.append(session.run(None, feeds)[:n_out])
    outs = [np.concatenate([c[i] for c in chunks], axis=0) if len(chunks) > 1 else chunks[0][i]
            for i in range(n_out)]
    return outs if model._outputs_are_list else outs[0]
