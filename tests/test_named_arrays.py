"""Every view on the user's own arrays, under the user's own names (issue 11).

The arrays: W1 (4x3), b1 (3,), K (2x3x2x2), s (a 0-D scalar); unless a test says
otherwise, the gradient is wrong in b1[1] and in K[1, 2, 0, 1].
"""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

import engine
from engine.diagnosis.diagnose import diagnose
from engine.network.layout import Layout
from presentation import figures
from presentation.exports import result_sections
from presentation.report import build_report
from presentation.text import check_body

ARRAYS = [("W1", (4, 3)), ("b1", (3,)), ("K", (2, 3, 2, 2)), ("s", ())]
LAYOUT = Layout.from_arrays(*zip(*ARRAYS))
FOUNDING_WORDS = ("Theta", "bias column", "output layer", "column 0", "hidden", "(bias)")


def theta():
    return np.random.default_rng(3).uniform(0.5, 1.5, LAYOUT.n_params)


def cost(t):
    return float(np.sum(0.5 * t**2 + 0.1 * t**3))


def true_gradient(t):
    return t + 0.3 * t**2


def check(broken=None, **kwargs):
    """check_functions on the named arrays; `broken(arrays)` edits the gradient's arrays."""

    def gradient(t):
        g = true_gradient(t)
        if broken is not None:
            broken(LAYOUT.split(g))
        return g

    return engine.check_functions(cost, gradient, theta(), arrays=ARRAYS, **kwargs)


def b1_and_k_wrong(arrays):
    arrays[1][1] += 0.5
    arrays[2][1, 2, 0, 1] *= 3


@pytest.fixture(scope="module")
def result():
    return check(b1_and_k_wrong)


def assert_no_founding_words(text: str):
    for word in FOUNDING_WORDS:
        assert word not in text, f"{word!r} in {text!r}"


# --- the check and the comparison ---------------------------------------------------


def test_check_functions_names_arrays_with_names_or_arrays(result):
    by_names = engine.check_functions(
        cost,
        lambda t: true_gradient(t),
        theta(),
        shapes=[s for _, s in ARRAYS],
        names=[n for n, _ in ARRAYS],
    )
    assert by_names.layout == result.layout == LAYOUT
    assert [m.name for m in result.matrices] == ["W1", "b1", "K", "s"]


def test_check_functions_refuses_arrays_together_with_shapes():
    with pytest.raises(ValueError, match="either arrays"):
        engine.check_functions(cost, true_gradient, theta(), [(5, 4)], arrays=ARRAYS)


def test_each_array_keeps_its_own_shape_of_any_ndim(result):
    assert [m.shape for m in result.matrices] == [(4, 3), (3,), (2, 3, 2, 2), ()]


def test_exactly_the_injected_entries_diverge(result):
    assert [LAYOUT.describe(int(i)) for i in np.flatnonzero(result.diverging)] == [
        "b1[1]",
        "K[1, 2, 0, 1]",
    ]


def test_table_rows_name_entries_in_the_users_index_notation(result):
    table = result.table()
    assert list(table.columns[:2]) == ["array", "entry"]
    assert table.loc[0, "entry"] == "W1[0, 0]"
    assert table.loc[13, "entry"] == "b1[1]"
    assert table.loc[LAYOUT.n_params - 1, "entry"] == "s"
    assert table[table["diverges"]]["entry"].tolist() == ["b1[1]", "K[1, 2, 0, 1]"]


def test_describe_worst_names_the_worst_entry_and_each_arrays_worst(result):
    assert result.describe_worst() == "K[1, 2, 0, 1]"
    assert [m.describe_worst() for m in result.matrices if not m.agrees] == [
        "b1[1]",
        "K[1, 2, 0, 1]",
    ]


def test_summary_lists_arrays_by_name_with_their_shapes(result):
    summary = result.summary()
    assert [(m["name"], m["shape"]) for m in summary["matrices"]] == [
        ("W1", [4, 3]),
        ("b1", [3]),
        ("K", [2, 3, 2, 2]),
        ("s", []),
    ]
    assert summary["worst"] == "K[1, 2, 0, 1]"


def test_json_export_rows_carry_the_entry_names(result):
    sections = result_sections(result, [], np.flatnonzero(result.diverging))
    json.dumps(sections)
    assert [r["entry"] for r in sections["parameters"]] == ["b1[1]", "K[1, 2, 0, 1]"]


# --- figures --------------------------------------------------------------------------


def heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap"]


def test_every_array_gets_a_heatmap_figure_titled_with_its_name(result):
    figs = [figures.matrix_heatmaps(m) for m in result.matrices]
    titles = [f.layout.title.text for f in figs]
    assert [t.split(":")[0] for t in titles] == [
        "W1 (4x3)",
        "b1 (3,)",
        "K (2, 3, 2, 2)",
        "s (scalar)",
    ]


def test_a_1d_array_is_one_row_and_a_2d_array_keeps_its_orientation(result):
    w1, b1 = (heatmaps(figures.matrix_heatmaps(m))[0] for m in result.matrices[:2])
    assert np.asarray(w1.z).shape == (4, 3)
    assert np.asarray(b1.z).shape == (1, 3)
    assert list(b1.y) == ["b1"] and list(b1.x) == ["[0]", "[1]", "[2]"]


def test_a_4d_array_is_a_grid_of_2d_slices_one_row_per_leading_index(result):
    fig = figures.matrix_heatmaps(result.matrices[2])
    panels = heatmaps(fig)
    assert len(panels) == 3 * 6  # analytic, numerical, difference for K[0, 0]..K[1, 2]
    assert all(np.asarray(p.z).shape == (2, 2) for p in panels)
    assert "K[1, 2]" in [a.text for a in fig.layout.annotations]
    marks = [t for t in fig.data if t.type == "scatter"]
    assert len(marks) == 3 and all(len(t.x) == 1 for t in marks)


def test_slices_beyond_the_cap_are_left_out_with_a_note_diverging_ones_kept():
    layout = Layout.from_arrays(["conv"], [(5, 4, 3, 3)])

    def gradient(t):
        g = t.copy()
        layout.split(g)[0][4, 3, 2, 2] += 1.0
        return g

    r = engine.check_functions(
        lambda t: float(0.5 * t @ t),
        gradient,
        np.ones(layout.n_params),
        arrays=[("conv", (5, 4, 3, 3))],
    )
    fig = figures.matrix_heatmaps(r.matrices[0], max_cells=10_000)
    assert len(heatmaps(fig)) == 3 * figures.MAX_SLICES
    assert "showing 12 of 20 slices" in fig.layout.title.text
    assert "conv[4, 3]" in [a.text for a in fig.layout.annotations]


def test_scatter_hover_and_traces_use_the_users_names(result):
    fig = figures.gradient_scatter(result)
    assert [t.name for t in fig.data][1:5] == ["W1", "b1", "K", "s"]
    red = next(t for t in fig.data if t.name.startswith("diverges"))
    assert list(red.text) == ["b1[1]", "K[1, 2, 0, 1]"]


def test_the_report_describes_the_users_arrays_and_speaks_their_names(result):
    page = build_report(None, result, diagnose(result))
    assert "W1 4x3, b1 (3,), K (2, 3, 2, 2), s ()" in page
    assert "<h2>Per array</h2>" in page and "K[1, 2, 0, 1]" in page
    words = re.sub(r"<script.*?</script>", "", page, flags=re.S)  # plotly.js says thetaunit
    assert "Theta" not in words and "bias column" not in words


# --- diagnosis --------------------------------------------------------------------------


def test_diagnosis_runs_and_never_speaks_of_theta_bias_columns_or_output_layers(result):
    findings = diagnose(result)
    assert findings and "b1 1/3, K 1/24" in findings[-1].message
    for f in findings:
        assert_no_founding_words(f.message + f.evidence)


def _messages(result) -> str:
    return " ".join(f.message + " " + f.evidence for f in diagnose(result))


def test_a_sign_flipped_array_is_named_by_the_user_name():
    def flip(arrays):
        arrays[1] *= -1

    text = _messages(check(flip))
    assert "b1 exactly sign-flipped throughout" in text
    assert_no_founding_words(text)


def test_a_constant_factor_across_arrays_is_named_with_the_arrays():
    def times_five(arrays):
        for a in arrays[:3]:
            a *= 5

    text = _messages(check(times_five))
    assert "constant 5 times the numerical one in W1, b1, K" in text
    assert_no_founding_words(text)


def test_a_penalty_only_in_the_gradient_is_a_multiple_of_the_parameters():
    t = theta()

    def penalised(arrays):
        arrays[0] += 0.01 * LAYOUT.split(t)[0]

    text = _messages(check(penalised))
    assert "W1 differs by exactly analytic - numerical = 0.01" in text
    assert_no_founding_words(text)


def test_a_transposed_square_array_is_named_as_column_major():
    layout = Layout.from_arrays(["W"], [(3, 3)])

    def gradient(t):
        return layout.split(t.copy())[0].T.ravel()

    t = np.random.default_rng(1).normal(size=9)
    r = engine.check_functions(lambda v: float(0.5 * v @ v), gradient, t, arrays=[("W", (3, 3))])
    text = _messages(r)
    assert "W holds the right values in column-major order" in text
    assert_no_founding_words(text)


def test_numerical_zeros_blame_the_loss_not_a_loop_the_user_never_wrote():
    layout = Layout.from_arrays(["W", "unused"], [(2, 2), (2,)])

    def gradient(t):
        g = t.copy()
        g[4:] = 1.0  # the loss ignores `unused`, the gradient does not
        return g

    r = engine.check_functions(
        lambda v: float(0.5 * v[:4] @ v[:4]),
        gradient,
        np.ones(6),
        arrays=list(zip(layout.names, layout.shapes)),
    )
    text = _messages(r)
    assert "unused[0]" in text and "range(1, n)" not in text
    assert_no_founding_words(text)


# --- the CLI's text ---------------------------------------------------------------------


def test_cli_body_lists_arrays_by_name_with_their_shapes(result):
    body = "\n".join(check_body(result, diagnose(result), np.flatnonzero(result.diverging)))
    assert "Per array:" in body
    for line in ("W1       4x3", "b1       (3,)", "K        (2, 3, 2, 2)", "s        ()"):
        assert line in body
    assert "b1[1]" in body and "K[1, 2, 0, 1]" in body
    assert "Theta" not in body and "weight matrix" not in body


def test_a_penalty_on_the_biases_only_in_the_gradient_is_called_so():
    t = theta()

    def penalised(arrays):
        arrays[1] += 0.01 * LAYOUT.split(t)[1]

    text = _messages(check(penalised))
    assert "b1 differs by exactly" in text and "the gradient penalises the biases" in text


def test_an_all_zero_array_at_the_check_point_is_reported_with_the_remedy():
    t = theta()
    LAYOUT.split(t)[1][:] = 0.0
    r = engine.check_functions(lambda v: float(0.5 * v @ v), lambda v: v, t, arrays=ARRAYS)
    top = diagnose(r)[0]
    assert r.agrees and top.message.startswith("b1 is all zeros at the check point")
    assert "non-zero values" in top.message


# --- the app's shared views ------------------------------------------------------------


def _components_app():
    import numpy as np

    import engine
    from engine.diagnosis.diagnose import diagnose
    from ui.components import status_card, styled_table

    arrays = [("W1", (4, 3)), ("b1", (3,)), ("K", (2, 3, 2, 2)), ("s", ())]

    def gradient(t):
        g = t.copy()
        g[13] += 1.0
        return g

    result = engine.check_functions(
        lambda t: float(0.5 * t @ t), gradient, np.linspace(0.5, 1.5, 40), arrays=arrays
    )
    status_card(result, diagnose(result))
    styled_table(result, only_diverging=True)


def test_status_card_and_table_show_the_users_arrays():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_function(_components_app, default_timeout=60).run()
    assert not at.exception
    assert [m.label for m in at.metric][2:] == [
        "W1 (4×3)",
        "b1 (3,)",
        "K (2, 3, 2, 2)",
        "s (scalar)",
    ]
    table = at.dataframe[0].value
    assert table["entry"].tolist() == ["b1[1]"]


def test_a_gradient_divided_by_a_count_the_loss_does_not_have_is_named_as_1_over_it():
    def averaged(arrays):
        arrays[1] /= 32

    text = _messages(check(averaged))
    assert "constant 0.0312 times the numerical one in b1 (1/32)" in text
    assert "a division by 32" in text


def test_an_array_whose_gradient_is_never_filled_in_is_named():
    def placeholder(arrays):
        arrays[0][:] = 0.0

    top = diagnose(check(placeholder))[0]
    assert top.message.startswith("The analytic gradient of W1 is exactly 0")


def test_an_all_zero_array_ranks_below_the_divergence_when_the_check_fails():
    t = theta()
    LAYOUT.split(t)[1][:] = 0.0

    def gradient(v):
        g = v.copy()
        g[0] += 1.0
        return g

    r = engine.check_functions(lambda v: float(0.5 * v @ v), gradient, t, arrays=ARRAYS)
    kinds = [f.kind for f in diagnose(r)]
    assert kinds.index("summary") < kinds.index("noise")


def test_a_penalty_on_some_entries_only_names_those_entries():
    t = theta()

    def bias_row_regularised(arrays):
        arrays[0][3] += 0.1 * LAYOUT.split(t)[0][3]  # W1's last row holds a folded-in bias

    text = _messages(check(bias_row_regularised))
    assert "3 entries (W1[3, 0], W1[3, 1], W1[3, 2]) differ by exactly" in text
    assert_no_founding_words(text)
