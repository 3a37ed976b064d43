"""LSTM, GRU, RNN: directions, layouts, sequence_lens, initial states, peepholes, clip, activations, optional
outputs, dtypes, pinned errors; against the naive reference and onnxruntime; hypothesis."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import onnumba
from tests.helpers import make_node_model, run_onnumba, run_ort
from tests.reference.recurrent import recurrent_ref

GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


def make_case(kind, t_n=4, b_n=3, i_n=2, hid=3, *, direction="forward", lens=None, init=False, peep=False,
              bias=True, dtype=np.float32, seed=0):
    """Random inputs in layout 0: dict input name -> array, None for an omitted optional input."""
    rng = np.random.default_rng(seed)
    d = 2 if direction == "bidirectional" else 1
    g = GATES[kind]

    def rnd(*shape):
        return (rng.standard_normal(shape) * 0.7).astype(dtype)

    ins = {"X": rnd(t_n, b_n, i_n), "W": rnd(d, g * hid, i_n), "R": rnd(d, g * hid, hid)}
    ins["B"] = rnd(d, 2 * g * hid) if bias else None
    ins["sequence_lens"] = None if lens is None else np.asarray(lens, np.int32)
    ins["initial_h"] = rnd(d, b_n, hid) if init or peep else None
    if kind == "LSTM":
        ins["initial_c"] = rnd(d, b_n, hid) if init or peep else None
        ins["P"] = rnd(d, 3 * hid) if peep else None
    return ins


def build(kind, ins, attrs=None, *, layout=0, outputs=None, opset=14):
    """One-node model; X and sequence_lens are fed, the rest are initializers. Returns (model, feeds)."""
    attrs = dict(attrs or {})
    attrs.setdefault("hidden_size", ins["R"].shape[2])
    if layout:
        attrs["layout"] = 1
    arrays = dict(ins)
    if layout:
        arrays["X"] = np.ascontiguousarray(np.swapaxes(ins["X"], 0, 1))
        for k in ("initial_h", "initial_c"):
            if arrays.get(k) is not None:
                arrays[k] = np.ascontiguousarray(np.swapaxes(ins[k], 0, 1))
    order = ["X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"]
    present = [k for k in order if arrays.get(k) is not None]
    inputs = {k: arrays[k] for k in present}
    inits = {k: arrays[k] for k in present if k not in ("X", "sequence_lens")}
    outputs = outputs or (["Y", "Y_h", "Y_c"] if kind == "LSTM" else ["Y", "Y_h"])
    m = make_node_model(kind, inputs, outputs, attrs, opset=opset, initializers=inits)
    # omitted optional inputs are '' at their positions in the node
    node = m.graph.node[0]
    positional = [k if arrays.get(k) is not None else "" for k in order[:order.index(present[-1]) + 1]]
    del node.input[:]
    node.input.extend(positional)
    feeds = {k: arrays[k] for k in ("X", "sequence_lens") if arrays.get(k) is not None}
    return m, feeds


def reference(kind, ins, attrs=None, layout=0):
    attrs = attrs or {}
    y, yh, yc = recurrent_ref(
        kind, ins["X"], ins["W"], ins["R"], ins["B"], ins["sequence_lens"], ins["initial_h"], ins.get("initial_c"),
        ins.get("P"), direction=attrs.get("direction", "forward"), activations=attrs.get("activations"),
        alphas=attrs.get("activation_alpha", ()), betas=attrs.get("activation_beta", ()), clip=attrs.get("clip"),
        input_forget=attrs.get("input_forget", 0), linear_before_reset=attrs.get("linear_before_reset", 0))
    if layout:
        y, yh = np.transpose(y, (2, 0, 1, 3)), np.swapaxes(yh, 0, 1)
        yc = None if yc is None else np.swapaxes(yc, 0, 1)
    return [a for a in (y, yh, yc) if a is not None]


def check(kind, ins, attrs=None, *, layout=0, ort=True, tol=1e-5):
    m, feeds = build(kind, ins, attrs, layout=layout)
    ours = run_onnumba(m, feeds)
    for i, (a, r) in enumerate(zip(ours, reference(kind, ins, attrs, layout))):
        assert a.shape == r.shape and a.dtype == ins["X"].dtype, f"output {i}"
        np.testing.assert_allclose(a.astype(np.float64), r, rtol=tol, atol=tol, err_msg=f"output {i}")
    if ort:
        # onnxruntime 1.32 refuses layout 1 ("Batchwise recurrent operations are not supported"): it runs the
        # layout-0 model and its outputs are transposed
        m0, feeds0 = build(kind, ins, attrs)
        theirs = run_ort(m0, feeds0)
        if layout:
            theirs = [np.transpose(theirs[0], (2, 0, 1, 3))] + [np.swapaxes(a, 0, 1) for a in theirs[1:]]
        for i, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5, err_msg=f"output {i} vs onnxruntime")
    return ours


# ------------------------------------------------------------------------------------------- tables

@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("layout", [0, 1])
@pytest.mark.parametrize("lens", [None, [4, 2, 1]])
def test_directions_layouts_lengths_vs_reference_and_ort(kind, direction, layout, lens):
    ins = make_case(kind, direction=direction, lens=lens, init=True)
    check(kind, ins, {"direction": direction}, layout=layout)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_outputs_past_a_sequence_end_are_zero(kind):
    ins = make_case(kind, t_n=5, direction="bidirectional", lens=[5, 2, 0], init=True)
    y, yh = check(kind, ins, {"direction": "bidirectional"})[:2]
    assert not y[2:, :, 1].any() and not y[:, :, 2].any()
    np.testing.assert_array_equal(yh[0, 1], y[1, 0, 1])  # forward: the last valid step
    np.testing.assert_array_equal(yh[1, 1], y[0, 1, 1])  # reverse: ends at time 0
    assert not yh[:, 2].any()  # no steps: zeros, not the initial state (onnxruntime's choice)


def test_lstm_peepholes_and_initial_states():
    check("LSTM", make_case("LSTM", peep=True, direction="bidirectional", lens=[3, 4, 1]),
          {"direction": "bidirectional"})


def test_lstm_input_forget_and_clip():
    ins = make_case("LSTM", peep=True)
    check("LSTM", ins, {"input_forget": 1, "clip": 0.4})


@pytest.mark.parametrize("lbr", [0, 1])
def test_gru_linear_before_reset(lbr):
    check("GRU", make_case("GRU", init=True, direction="bidirectional"),
          {"linear_before_reset": lbr, "direction": "bidirectional", "clip": 0.8})


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_no_bias(kind):
    check(kind, make_case(kind, bias=False))


# (name, alphas, betas): each activation as an RNN's f, once with explicit parameters, once with defaults
ACTS = [("Sigmoid", [], []), ("Tanh", [], []), ("Relu", [], []), ("HardSigmoid", [0.3], [0.4]),
        ("HardSigmoid", [], []), ("Affine", [0.5], [0.2]), ("LeakyRelu", [0.2], []), ("LeakyRelu", [], []),
        ("ThresholdedRelu", [0.1], []), ("ScaledTanh", [1.5], [0.7]), ("Elu", [0.5], []), ("Elu", [], []),
        ("Softsign", [], []), ("Softplus", [], [])]


@pytest.mark.parametrize("name,alphas,betas", ACTS)
def test_rnn_activations(name, alphas, betas):
    attrs = {"activations": [name], "activation_alpha": alphas, "activation_beta": betas}
    attrs = {k: v for k, v in attrs.items() if v}
    check("RNN", make_case("RNN", init=True), attrs)


def test_alphas_are_consumed_in_order_by_the_functions_that_take_them():
    # LeakyRelu is the second function but takes the first alpha (onnxruntime agrees)
    attrs = {"activations": ["HardSigmoid", "LeakyRelu", "Tanh"], "activation_alpha": [0.3, 0.05],
             "activation_beta": [0.45]}
    check("LSTM", make_case("LSTM"), attrs)


def test_bidirectional_with_per_direction_activations():
    attrs = {"direction": "bidirectional", "activations": ["Sigmoid", "Tanh", "Relu", "Tanh"]}
    check("GRU", make_case("GRU", direction="bidirectional", init=True), attrs)


@pytest.mark.parametrize("outputs,n", [(["", "Y_h"], 1), (["Y"], 1), (["", "", "Y_c"], 1), (["", "Y_h", "Y_c"], 2)])
def test_optional_outputs(outputs, n):
    ins = make_case("LSTM", init=True)
    m, feeds = build("LSTM", ins, outputs=outputs)
    keep = [o for o in m.graph.output if o.name]
    del m.graph.output[:]
    m.graph.output.extend(keep)
    got = run_onnumba(m, feeds)
    full = reference("LSTM", ins)
    want = [full[i] for i, o in enumerate(outputs) if o]
    assert len(got) == n
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_empty_sequence(kind):
    ins = make_case(kind, t_n=0, init=True)
    y, yh = check(kind, ins, ort=False)[:2]
    assert y.shape == (0, 1, 3, 3) and not yh.any()


@pytest.mark.parametrize("dtype,tol", [(np.float16, 2e-2), (np.float64, 1e-12)])
def test_dtypes(dtype, tol):
    ins = make_case("GRU", dtype=dtype, init=True, lens=[4, 3, 2])
    check("GRU", ins, ort=False, tol=tol)


@pytest.mark.parametrize("opset", [7, 14, 22])
def test_versions(opset):
    ins = make_case("LSTM", init=True)
    m, feeds = build("LSTM", ins, opset=opset)
    for a, b in zip(run_onnumba(m, feeds), reference("LSTM", ins)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


# ------------------------------------------------------------------------------------------- errors

def _refused(kind, ins, attrs=None, **kw):
    m, _ = build(kind, ins, attrs, **kw)
    return lambda: onnumba.InferenceSession(m.SerializeToString())


@pytest.mark.parametrize("kind,bad,match", [
    ("LSTM", {"W": (1, 8, 2)}, r"input 1 'W': W: expected shape \(num_directions, 4\*hidden_size, input_size\) "
                               r"= \(1, 12, 2\), got \(1, 8, 2\)"),
    ("GRU", {"R": (1, 9, 4)}, r"input 2 'R': R: expected shape \(num_directions, 3\*hidden_size, hidden_size\) "
                              r"= \(1, 9, 3\), got \(1, 9, 4\)"),
    ("RNN", {"B": (1, 3)}, r"input 3 'B': B: expected shape \(num_directions, 2\*hidden_size\) = \(1, 6\), "
                           r"got \(1, 3\)"),
    ("LSTM", {"P": (1, 6)}, r"input 7 'P': P: expected shape \(num_directions, 3\*hidden_size\) = \(1, 9\)"),
    ("RNN", {"initial_h": (3, 1, 3)}, r"input 5 'initial_h': initial_h: expected shape \(num_directions, "
                                      r"batch_size, hidden_size\) = \(1, 3, 3\), got \(3, 1, 3\)"),
])
def test_shape_errors_name_input_and_expected_shape(kind, bad, match):
    ins = make_case(kind, peep=kind == "LSTM", init=True)
    for k, shape in bad.items():
        ins[k] = np.zeros(shape, np.float32)
    with pytest.raises(onnumba.ModelError, match=match):
        _refused(kind, ins, {"hidden_size": 3})()


@pytest.mark.parametrize("attrs,match", [
    ({"direction": "both"}, r"attribute 'direction': expected one of forward, reverse, bidirectional, got 'both'"),
    ({"activations": ["Sigmoid", "Swish"]}, r"attribute 'activations': unknown activation function 'Swish'"),
    ({"activations": ["Sigmoid"]}, r"attribute 'activations': expected 2 names \(2 per direction, 1 direction\), "
                                   r"got 1"),
    ({"clip": -1.0}, r"attribute 'clip': expected a value > 0, got -1.0"),
    ({"linear_before_reset": 2}, r"attribute 'linear_before_reset': expected 0 or 1, got 2"),
    ({"hidden_size": 4}, r"input 1 'W': W: expected shape \(num_directions, 3\*hidden_size, input_size\) = "
                         r"\(1, 12, 2\), got \(1, 9, 2\)"),
])
def test_attribute_errors(attrs, match):
    with pytest.raises(onnumba.ModelError, match=match):
        _refused("GRU", make_case("GRU"), attrs)()


def test_layout_error():
    with pytest.raises(onnumba.ModelError, match=r"attribute 'layout': expected 0 or 1, got 2"):
        m, _ = build("RNN", make_case("RNN"), {"layout": 2})
        onnumba.InferenceSession(m.SerializeToString())


def test_sequence_lens_out_of_range_at_run_time():
    ins = make_case("RNN", lens=[4, 2, 1])
    m, feeds = build("RNN", ins)
    s = onnumba.InferenceSession(m.SerializeToString())
    with pytest.raises(onnumba.InputError, match=r"input 4 'sequence_lens': sequence lengths must be in \[0, 4\] "
                                                 r"\(the sequence length of X\), got \[5, 2, 1\]"):
        s.run(None, {"X": feeds["X"], "sequence_lens": np.array([5, 2, 1], np.int32)})


# ------------------------------------------------------------------------------------------- hypothesis

@st.composite
def recurrent_cases(draw):
    kind = draw(st.sampled_from(["LSTM", "GRU", "RNN"]))
    t_n, b_n = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    lens = draw(st.none() | st.lists(st.integers(0, t_n), min_size=b_n, max_size=b_n))
    attrs = {"direction": draw(st.sampled_from(["forward", "reverse", "bidirectional"]))}
    if draw(st.booleans()):
        attrs["clip"] = draw(st.sampled_from([0.3, 1.0]))
    if kind == "GRU":
        attrs["linear_before_reset"] = draw(st.integers(0, 1))
    if kind == "LSTM":
        attrs["input_forget"] = draw(st.integers(0, 1))
    ins = make_case(kind, t_n, b_n, draw(st.integers(1, 3)), draw(st.integers(1, 3)), direction=attrs["direction"],
                    lens=lens, init=draw(st.booleans()), peep=kind == "LSTM" and draw(st.booleans()),
                    bias=draw(st.booleans()), seed=draw(st.integers(0, 999)))
    return kind, ins, attrs, draw(st.integers(0, 1))


def _check_property(case):
    kind, ins, attrs, layout = case
    check(kind, ins, attrs, layout=layout, ort=False)


@settings(max_examples=25, deadline=None)
@given(recurrent_cases())
def test_property_vs_reference(case):
    _check_property(case)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(recurrent_cases())
def test_property_vs_reference_slow(case):
    _check_property(case)
