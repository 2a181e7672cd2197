import numpy as np

import engine
from engine.gradcheck.sweep import epsilon_sweep
from presentation import figures


def seed_result():
    return engine.check_problem(engine.make_problem(lamb=1.0), engine.SEED_BUGS)


def test_heatmaps_show_three_panels_labelled_by_unit_and_mark_diverging_cells():
    theta2 = seed_result().matrices[1]
    fig = figures.matrix_heatmaps(theta2)
    heatmaps = [t for t in fig.data if t.type == "heatmap"]
    markers = [t for t in fig.data if t.type == "scatter"]
    assert len(heatmaps) == 3
    assert list(heatmaps[0].y) == ["output 0", "output 1", "output 2"]
    assert list(heatmaps[0].x)[:2] == ["bias", "hidden 0"]
    assert all(len(t.x) == theta2.n_diverging for t in markers) and len(markers) == 3


def test_log_relative_error_panel_is_available():
    fig = figures.matrix_heatmaps(seed_result().matrices[0], "log_rel_error")
    assert fig.layout.annotations[2].text == "log10 relative error"


def test_scatter_puts_exactly_the_diverging_entries_in_the_red_trace():
    result = seed_result()
    fig = figures.gradient_scatter(result)
    red = next(t for t in fig.data if t.name.startswith("diverges"))
    assert red.name == "diverges (19)"
    np.testing.assert_array_equal(np.sort(red.x), np.sort(result.analytic[result.diverging]))
    assert "Theta1 row 0 (hidden 0), column 0 (bias)" in list(red.text)
    assert any(t.name == "y = x" for t in fig.data)


def test_large_scatters_switch_to_webgl():
    result = engine.check_problem(engine.make_problem((100, 60, 10), m=5))
    fig = figures.gradient_scatter(result)
    assert any(t.type == "scattergl" for t in fig.data)


def test_epsilon_figure_is_log_log_with_the_current_eps_marked():
    fig = figures.epsilon_curves(epsilon_sweep(engine.make_problem()), 1e-4)
    assert fig.layout.xaxis.type == "log" and fig.layout.yaxis.type == "log"
    assert any("current eps" in (a.text or "") for a in fig.layout.annotations)


def test_training_figure_overlays_named_runs():
    fig = figures.training_curves({"with bugs": [3, 2, 2], "fixed": [3, 1, 0.5]})
    assert [t.name for t in fig.data] == ["with bugs", "fixed"]


def test_founding_heatmap_titles_keep_rows_x_columns():
    fig = figures.matrix_heatmaps(seed_result().matrices[0])
    assert fig.layout.title.text.startswith("Theta1 (5x4): ")
