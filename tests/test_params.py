"""The general contract's pure logic (engine.params): params structures flattened into
named arrays, in-place perturbation, loss values, grads matched to params; and
`check_params`, the contract in this process."""

import numpy as np
import pytest

from engine.params.check import check_params
from engine.params.segments import (
    Segmentation,
    attribute_segments,
    build_params,
    check_sizes,
    detect_network_segments,
    detect_order,
    parse_segments,
    setter_for,
)
from engine.params.structure import (
    ContractError,
    expression_name,
    flatten_params,
    match_grads,
    read_loss,
    same_arrays,
    shifted_losses,
)


class Net:
    def __init__(self):
        self.sizes = [2, 3, 1]  # ints: not params
        self.labels = np.array([0, 1])  # integers: not params
        self.biases = [np.zeros((3, 1)), np.ones((1, 1))]
        self.weights = [np.ones((3, 2)), np.full((1, 3), 2.0)]
        self.name = "net"


def test_dict_params_are_named_by_their_keys_and_unrolled_row_major_in_order():
    params = {"W1": np.arange(6.0).reshape(2, 3), "b1": np.array([7.0, 8.0])}
    flat = flatten_params(params, "model.params")
    assert flat.names == ["W1", "b1"]
    assert flat.shapes == [(2, 3), (2,)]
    assert flat.vector().tolist() == [0, 1, 2, 3, 4, 5, 7, 8]


def test_an_objects_float_array_attributes_are_its_params_in_definition_order():
    flat = flatten_params(Net(), "net")
    assert flat.names == ["biases[0]", "biases[1]", "weights[0]", "weights[1]"]


def test_a_tuple_display_names_each_part_by_its_own_expression():
    net = Net()
    flat = flatten_params((net.biases, net.weights), "(net.biases, net.weights)")
    assert flat.names == ["biases[0]", "biases[1]", "weights[0]", "weights[1]"]


def test_a_single_array_or_list_is_named_by_its_expression():
    assert flatten_params(np.zeros(3), "theta").names == ["theta"]
    assert flatten_params([np.zeros(2), np.zeros(1)], "net.weights").names == [
        "weights[0]",
        "weights[1]",
    ]
    assert expression_name("NN.getParams()") == "NN.getParams()"


@pytest.mark.parametrize(
    "value, words",
    [
        ({"W": np.zeros(3, dtype=int)}, "W has dtype int64"),
        ({"W": np.zeros(3)[::1].view()}, None),  # a writable view is fine
        (np.frombuffer(b"\0" * 24), "read-only"),
        ({"lr": 0.1}, "lr is a float, not an array"),
        ("text", "p is a str, not an array"),
        (len, "did you mean to call it"),
    ],
)
def test_params_that_cannot_be_perturbed_in_place_are_refused_by_name(value, words):
    if words is None:
        flatten_params(value, "p")
        return
    with pytest.raises(ContractError, match=words):
        flatten_params(value, "p")


def test_two_params_sharing_memory_are_refused_naming_both():
    W = np.zeros((2, 3))
    with pytest.raises(ContractError, match="W and row share memory"):
        flatten_params({"W": W, "row": W[0]}, "p")


@pytest.mark.parametrize(
    "value, loss",
    [(1.5, 1.5), (np.float32(1.5), 1.5), (np.array(1.5), 1.5), (np.array([[1.5]]), 1.5)],
)
def test_a_loss_is_a_number_a_0d_or_a_one_element_array(value, loss):
    assert read_loss(value) == (loss, None)


def test_a_loss_pair_carries_the_grads():
    grads = {"W": np.ones(2)}
    assert read_loss((2.0, grads)) == (2.0, grads)


@pytest.mark.parametrize(
    "value, words",
    [
        (np.ones(3), r"array of shape \(3,\), not a single number"),
        ("x", "a str, not a single number"),
        (float("nan"), "returned nan"),
    ],
)
def test_a_loss_that_is_not_a_finite_number_is_refused_naming_the_expression(value, words):
    with pytest.raises(ContractError, match=words) as error:
        read_loss(value, "net.loss(X)")
    assert "net.loss(X)" in str(error.value)


def test_dict_grads_are_matched_by_key_whatever_their_order():
    flat = flatten_params({"W": np.zeros((2, 2)), "b": np.zeros(2)}, "p")
    grads = {"b": np.array([5.0, 6.0]), "W": np.arange(4.0).reshape(2, 2)}
    assert match_grads(grads, flat).tolist() == [0, 1, 2, 3, 5, 6]


def test_grads_may_be_one_flat_vector_in_the_params_order():
    flat = flatten_params({"W": np.zeros((2, 2)), "b": np.zeros(2)}, "p")
    assert match_grads(np.arange(6.0), flat).tolist() == [0, 1, 2, 3, 4, 5]


def test_a_grads_tuple_matches_an_objects_attributes_by_position():
    net = Net()
    grads = ([np.ones((3, 1)), np.ones((1, 1))], [np.ones((3, 2)), np.ones((1, 3))])
    assert match_grads(grads, flatten_params(net, "net")).size == 3 + 1 + 6 + 3


def test_grads_shapes_may_differ_only_by_axes_of_length_one():
    flat = flatten_params({"b": np.zeros((3, 1))}, "p")
    assert match_grads({"b": np.ones(3)}, flat).tolist() == [1, 1, 1]


@pytest.mark.parametrize(
    "grads, words",
    [
        (
            {"W": np.zeros((3, 2)), "b": np.zeros(2)},
            r"W has shape \(3, 2\), but W has shape \(2, 3\)",
        ),
        ({"W": np.zeros((2, 3))}, "no gradient for b"),
        ({"W": np.zeros((2, 3)), "b": np.array([0.0, np.nan])}, "NaN .* in b at \\(1,\\)"),
        ({"W": "x", "b": np.zeros(2)}, "gradient of W is a str"),
        (np.zeros(5), r"one array of shape \(5,\)"),
    ],
)
def test_grads_that_do_not_match_the_params_are_refused_naming_the_array(grads, words):
    flat = flatten_params({"W": np.zeros((2, 3)), "b": np.zeros(2)}, "p")
    with pytest.raises(ContractError, match=words):
        match_grads(grads, flat, "net.grads")


def test_each_entry_is_moved_in_place_and_restored_bit_for_bit():
    W = np.array([[0.1, -0.2], [0.3, 1e-300]])
    original = W.copy()
    seen = []

    def loss():
        seen.append(W.copy())
        return float(np.sum(W**2))

    flat = flatten_params({"W": W}, "p")
    shifted = shifted_losses(flat, loss, 1e-3, steps=(1.0, -1.0))
    assert shifted.shape == (4, 2)
    assert np.array_equal(W, original) and W.tobytes() == original.tobytes()
    assert seen[0][0, 0] == 0.1 + 1e-3 and seen[1][0, 0] == 0.1 - 1e-3
    assert np.allclose((shifted[:, 0] - shifted[:, 1]) / 2e-3, 2 * original.ravel())


def test_an_entry_is_restored_even_when_the_loss_raises():
    W = np.array([1.0, 2.0])

    def loss():
        if W[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        shifted_losses(flatten_params({"W": W}, "p"), loss, 1e-3)
    assert W.tolist() == [1.0, 2.0]


def test_a_loss_not_finite_at_a_shifted_point_names_the_entry():
    W = np.array([1.0, 2.0])
    flat = flatten_params({"W": W}, "p")
    with pytest.raises(ContractError, match=r"W\[1\] moved by"):
        shifted_losses(flat, lambda: np.inf if W[1] != 2.0 else 0.0, 1e-3)


def _two_layer(bug=False):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 4)), rng.normal(size=(6, 2))
    params = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=3)}
    params["W2"], params["b2"] = rng.normal(size=(3, 2)), rng.normal(size=2)

    def loss():
        h = np.tanh(X @ params["W1"] + params["b1"])
        out = h @ params["W2"] + params["b2"]
        d = (out - y) / len(X)
        dh = d @ params["W2"].T * (1 - h**2)
        grads = {"W1": X.T @ dh, "b1": dh.sum(0), "W2": h.T @ d, "b2": d.sum(0)}
        if bug:
            grads["b2"] = grads["b2"] * 2
        return 0.5 * np.sum((out - y) ** 2) / len(X), grads

    return loss, params


def test_check_params_agrees_on_a_correct_model_and_names_the_buggy_array():
    loss, params = _two_layer()
    result = check_params(loss, params)
    assert result.agrees and [m.name for m in result.matrices] == ["W1", "b1", "W2", "b2"]
    loss, params = _two_layer(bug=True)
    result = check_params(loss, params)
    assert [m.name for m in result.matrices if not m.agrees] == ["b2"]


def test_check_params_takes_float32_params_at_float32s_noise_floor():
    loss, params = _two_layer()
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    params.clear()
    params.update(params32)
    result = check_params(lambda: float(loss()[0]), params, grads=lambda: loss()[1])
    assert result.dtype == "float32" and result.agrees


def test_params_evaluated_again_must_be_the_very_same_arrays():
    params = {"W": np.zeros(2)}
    same_arrays(flatten_params(params, "p"), flatten_params(params, "p"))
    with pytest.raises(ContractError, match="gave a new array for W"):
        same_arrays(flatten_params(params, "p"), flatten_params({"W": np.zeros(2)}, "p"))


# --- segments of one flat vector, and setters -------------------------------------------


def test_segments_parse_names_and_shapes_and_refuse_what_does_not_fit():
    segments = parse_segments("Theta1:5x4, Theta2:3x6,b:7")
    assert [(s.name, s.shape) for s in segments] == [
        ("Theta1", (5, 4)),
        ("Theta2", (3, 6)),
        ("b", (7,)),
    ]
    for bad in ("Theta1", "Theta1:5x0", "T:2x2,T:1x1", ""):
        with pytest.raises(ContractError):
            parse_segments(bad)
    with pytest.raises(ContractError, match=r"20 \(Theta1\) \+ 18 \(Theta2\) = 38 entries.*has 40"):
        check_sizes(parse_segments("Theta1:5x4,Theta2:3x6"), 40, "nn_params")


def test_column_major_segments_are_views_named_in_their_shapes_and_steps_move_the_vector():
    theta1, theta2 = np.arange(6.0).reshape(2, 3), 10 + np.arange(4.0).reshape(2, 2)
    vector = np.concatenate([theta1.ravel(order="F"), theta2.ravel(order="F")])
    seg = Segmentation(parse_segments("Theta1:2x3,Theta2:2x2"), "F")
    params, behind = build_params(vector, "nn_params", seg)
    assert behind is vector and params.names == ["Theta1", "Theta2"]
    np.testing.assert_array_equal(params.arrays[0].array, theta1)
    np.testing.assert_array_equal(params.vector(), np.concatenate([theta1.ravel(), theta2.ravel()]))
    params.arrays[1].array[0, 1] += 1.0  # Theta2[0, 1] is entry 6 + 2 in column-major order
    assert vector[8] == theta2[0, 1] + 1.0


def test_check_params_with_fortran_segments_names_the_diverging_theta():
    rng = np.random.default_rng(0)
    target = rng.normal(size=(3, 2))
    vector = rng.normal(size=6 + 4)

    def cost():
        a = vector[:6].reshape(3, 2, order="F")
        b = vector[6:].reshape(2, 2, order="F")
        return 0.5 * np.sum((a - target) ** 2) + np.sum(b**3)

    def grad(bug=False):
        a = vector[:6].reshape(3, 2, order="F")
        b = vector[6:].reshape(2, 2, order="F")
        gb = 3 * b**2
        return np.concatenate([(a - target).ravel(order="F"), gb.ravel(order="C" if bug else "F")])

    good = check_params(cost, vector, grad, segments="A:3x2,B:2x2", order="F")
    assert [m.name for m in good.matrices] == ["A", "B"] and good.agrees
    bad = check_params(cost, vector, lambda: grad(True), segments="A:3x2,B:2x2", order="F")
    assert [m.name for m in bad.matrices if m.diverging.any()] == ["B"]


class GetSet:
    def __init__(self):
        self.W1 = np.array([[0.5, -1.0], [2.0, 0.25]])
        self.W2 = np.array([1.5, -0.5])

    def getParams(self):
        return np.concatenate([self.W1.ravel(), self.W2.ravel()])

    def setParams(self, v):
        self.W1, self.W2 = v[:4].reshape(2, 2).copy(), v[4:].copy()

    def cost(self):
        return float(np.sum(np.tanh(self.W1) @ self.W2) + np.sum(self.W1**2))

    def grads(self):
        t = np.tanh(self.W1)
        d1 = (1 - t**2) * self.W2[None, :] + 2 * self.W1
        return np.concatenate([d1.ravel(), t.sum(axis=0)])


def test_a_getter_copy_is_checked_through_its_setter_and_the_model_is_restored():
    net = GetSet()
    before = net.getParams()
    result = check_params(net.cost, net.getParams(), net.grads, set_params=net.setParams)
    assert result.agrees and result.relative_difference < 1e-8
    np.testing.assert_array_equal(net.getParams(), before)
    found = setter_for("net.getParams()", {"net": net})
    assert found is not None and found[1] == "net.setParams"
    seg = attribute_segments(net, net.getParams())
    assert [(s.name, s.shape) for s in seg.segments] == [("W1", (2, 2)), ("W2", (2,))]


def test_ex4_and_founding_calls_give_the_theta_shapes_and_the_source_gives_the_order():
    def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lam):
        return 0.0

    namespace = {
        "nnCostFunction": nnCostFunction,
        "nn_params": np.zeros(5 * 4 + 3 * 6),
        "a": 3,
        "b": 5,
        "c": 3,
    }
    seg = detect_network_segments(
        "nnCostFunction(nn_params, a, b, c, X, y, 1.0)", "nn_params", namespace, 38
    )
    assert [(s.name, s.shape) for s in seg.segments] == [("Theta1", (5, 4)), ("Theta2", (3, 6))]
    assert "input_layer_size=3" in seg.how and "layers 3-5-3" in seg.how
    assert detect_network_segments("f(theta, a, b, c)", "theta", {"f": len}, 38) is None
    assert (
        detect_network_segments(
            "nnCostFunction(nn_params, a, b, c, X, y, 1.0)", "nn_params", namespace, 40
        )
        is None
    )  # sizes that do not add up: no segments
    source = "def f(nn_params):\n    T = np.reshape(nn_params[:20], (5, 4), order='F')\n"
    assert detect_order(source, "nn_params")[0] == "F"
    assert "(line 2)" in detect_order(source, "nn_params")[1]
    assert detect_order(source.replace("order='F'", ""), "nn_params")[0] == "C"


def test_the_childs_options_come_from_the_request_else_from_what_the_code_shows():
    from engine.runners.usercode_child import _contract_options

    net = GetSet()
    namespace = {"net": net, "v": np.zeros(6)}
    request = {"params": "net.getParams()", "loss": "net.cost()", "source": ""}
    setter, seg, notes = _contract_options(request, namespace, net.getParams())
    assert setter == net.setParams and [s.name for s in seg.segments] == ["W1", "W2"]
    assert "cut into W1 2x2, W2 (2,)" in notes[0] and "`net.setParams(vector)`" in notes[1]
    request = {"params": "v", "loss": "f(v)", "segments": "A:2x3", "order": "F", "source": ""}
    setter, seg, notes = _contract_options(request, namespace, namespace["v"])
    assert setter is None and (seg.order, seg.segments[0].shape) == ("F", (2, 3))
    assert notes == [
        "`v` cut into A 2x3, each unrolled column-major (order='F'); shapes from "
        "--segments; order F from --order"
    ]
    with pytest.raises(ContractError, match="not callable"):
        _contract_options({**request, "set_params": "v"}, namespace, namespace["v"])
    with pytest.raises(ContractError, match="--order goes with --segments"):
        _contract_options({**request, "segments": None}, namespace, namespace["v"])
    assert _contract_options(
        {**request, "segments": None, "order": None}, namespace, namespace["v"]
    ) == (None, None, [])


def test_a_loss_whose_values_are_all_float32_numbers_is_checked_in_float32():
    from engine.params.structure import float32_valued

    rng = np.random.default_rng(1)
    A, b, theta = rng.normal(size=(30, 5)), rng.normal(size=30), rng.normal(size=5)

    def loss32():
        r = A.astype(np.float32) @ theta.astype(np.float32) - b.astype(np.float32)
        return float(0.5 * r @ r), A.T @ (A @ theta - b)

    result = check_params(loss32, theta, eps=1e-5)
    assert result.dtype == "float32" and result.agrees
    forced = check_params(loss32, theta, eps=1e-5, dtype="float64")
    assert forced.agrees and forced.noise.dominant == "measured"  # the loss's own noise
    assert not float32_valued(0.1, np.array([[0.2, 0.3]]))
    assert float32_valued(0.5, np.array([[0.25, 1.5]]))


def _float32_terms_summed_in_float64(bug_scale: float = 1.0):
    """Per-example squared errors computed in float32, summed in float64: the loss is not
    a float32 number, but its noise is float32's."""
    rng = np.random.default_rng(7)
    A, b, theta = rng.normal(size=(200, 6)), rng.normal(size=200), rng.normal(size=6)

    def loss():
        r = A.astype(np.float32) @ theta.astype(np.float32) - b.astype(np.float32)
        return float(np.sum((0.5 * r * r).astype(np.float64))), bug_scale * A.T @ (A @ theta - b)

    return loss, theta


def test_a_loss_noisier_than_its_dtype_is_checked_at_the_noise_measured_from_two_steps():
    loss, theta = _float32_terms_summed_in_float64()
    result = check_params(loss, theta, eps=1e-4)
    assert result.dtype == "float64" and result.agrees
    assert result.noise.dominant == "measured"
    assert result.noise.measured > 100 * result.noise.predicted


def test_the_measured_noise_still_catches_a_five_percent_gradient_bug():
    loss, theta = _float32_terms_summed_in_float64(bug_scale=1.05)
    assert not check_params(loss, theta, eps=1e-4).agrees


def test_a_large_third_derivative_widens_the_floor_instead_of_failing_a_zero_derivative():
    W = np.array([[0.0, 1.5], [-2.0, 0.7]])
    result = check_params(lambda: float(np.sum(W.T**3)), W, grads=lambda: 3 * W**2)
    assert result.agrees


def test_a_smooth_float64_loss_keeps_the_predicted_floor():
    rng = np.random.default_rng(2)
    A, b, theta = rng.normal(size=(30, 5)), rng.normal(size=30), rng.normal(size=5)

    def loss():
        r = A @ theta - b
        return 0.5 * r @ r, A.T @ r

    noise = check_params(loss, theta).noise
    assert noise.measured < noise.predicted and noise.dominant != "measured"
