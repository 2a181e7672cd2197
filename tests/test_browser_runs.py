"""A saved run's link in a real browser: saved by one user, opened by another.

The server gets its own SQLite file (GRADSCOPE_RUNS_URL), so no real database is touched.
"""

import os
from urllib.parse import parse_qs, urlparse

import pytest

from cli.saving import run_link
from engine.diagnosis.diagnose import diagnose
from engine.runs.record import run_from_check
from engine.runs.store import RunStore
from engine.scenario.settings import Scenario
from tests.browser_helpers import OUTPUT, open_app, settle, streamlit_server, wait_idle

pytestmark = pytest.mark.browser
TITLE = "sigmoid sign flip, seen in the browser"


@pytest.fixture(scope="module")
def database_url(tmp_path_factory):
    return f"sqlite:///{tmp_path_factory.mktemp('runs') / 'runs.sqlite'}"


@pytest.fixture(scope="module")
def server(database_url):
    env = {**os.environ, "GRADSCOPE_RUNS_URL": database_url}
    with streamlit_server(OUTPUT / "streamlit-runs.log", env) as (url, _):
        yield url


def save_this_run(page, title: str) -> None:
    """Type a title into the save panel and press Save this run, as a user does."""
    page.get_by_label("Title").fill(title)
    page.get_by_label("Title").press("Enter")
    settle(page)
    page.get_by_role("button", name="Save this run").click()
    page.get_by_text("Saved.").wait_for(timeout=30_000)


def test_a_run_saved_in_one_browser_opens_the_same_in_another(server, browser):
    first = open_app(browser, server, "Gradient_check?bugs=sigmoid-sign-flip")
    first.get_by_text("FAIL").first.wait_for(timeout=30_000)
    save_this_run(first, TITLE)
    link = first.locator("[data-testid='stCode']", has_text="?run=").first.inner_text().strip()
    assert urlparse(link).netloc == urlparse(server).netloc, link
    run_id = parse_qs(urlparse(link).query)["run"][0]
    first.screenshot(path=str(OUTPUT / "runs-saved.png"))

    second = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
    second.goto(link)
    wait_idle(second)
    second.locator(".st-key-linked-run-banner").get_by_text(TITLE).wait_for(timeout=30_000)
    second.get_by_text("Sign error in the output layer").first.wait_for(timeout=30_000)
    second.get_by_text("FAIL").first.wait_for(timeout=30_000)
    plots = second.locator(".js-plotly-plot")
    plots.nth(2).wait_for(timeout=30_000)
    assert plots.count() == 3  # both heatmaps and the scatter, drawn from the stored arrays
    theta2 = second.locator(".js-plotly-plot .gtitle", has_text="18 of 18 entries diverge")
    theta2.first.wait_for(timeout=30_000)
    assert second.locator(".js-plotly-plot .heatmaplayer image").count() > 0
    assert urlparse(second.url).path == "/Gradient_check"  # the page the link was made on
    assert parse_qs(urlparse(second.url).query) == {"run": [run_id]}
    second.screenshot(path=str(OUTPUT / "runs-opened.png"))


def choose(page, label: str, option: str):
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


def test_the_history_compares_the_buggy_and_the_fixed_run_with_drawn_heatmaps(server, browser):
    # One session throughout (a history lists the runs its session saved): the fix is the
    # sidebar's toggle, the Runs page the sidebar's link.
    page = open_app(browser, server, "Gradient_check?bugs=sigmoid-sign-flip")
    for title in ("before the fix", "after the fix"):
        if title == "after the fix":
            page.get_by_test_id("stSidebar").get_by_text("Sigmoid with the sign of z").click()
            settle(page)
            page.get_by_text("PASS").first.wait_for(timeout=30_000)
        save_this_run(page, title)
    page.get_by_test_id("stSidebar").get_by_role("link", name="Runs").click()
    page.get_by_text("History").first.wait_for(timeout=30_000)
    wait_idle(page)
    choose(page, "Before", "before the fix")
    choose(page, "After", "after the fix")
    page.get_by_text("18 entries stopped diverging").wait_for(timeout=30_000)
    change = page.locator(".js-plotly-plot .gtitle", has_text="relative error change")
    change.nth(1).wait_for(timeout=30_000)
    assert change.count() == 2
    page.screenshot(path=str(OUTPUT / "runs-compared.png"), full_page=True)


def run_query(page) -> dict:
    return parse_qs(urlparse(page.url).query)


def test_a_run_link_shows_the_run_on_every_page_it_moves_to(server, database_url, browser):
    scenario = Scenario(bugs=("sigmoid-sign-flip",))
    result = scenario.run()
    title = "the founding question, linked to a page"
    run = run_from_check(
        result, diagnose(result), title=title, kind="scenario", settings=scenario.to_dict()
    )
    run_id = RunStore(database_url).save(run)
    page = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
    page.goto(f"{server}/Gradient_check?run={run_id}")
    wait_idle(page)
    banner = page.locator(".st-key-linked-run-banner")
    banner.get_by_text(title).wait_for(timeout=30_000)
    banner.get_by_text("nothing was re-run").wait_for(timeout=30_000)
    theta2 = f"{result.matrices[1].relative_difference:.3g}"  # the stored run's number
    page.get_by_test_id("stMetricValue").get_by_text(theta2, exact=True).wait_for()
    plots = page.locator(".js-plotly-plot")
    plots.nth(2).wait_for(timeout=30_000)
    assert plots.count() == 3  # both heatmaps and the scatter, from the stored arrays
    assert page.locator(".js-plotly-plot .heatmaplayer image").count() > 0
    assert run_query(page) == {"run": [run_id]}
    page.screenshot(path=str(OUTPUT / "run-every-page-check.png"))

    sidebar = page.get_by_test_id("stSidebar")
    sidebar.get_by_role("link", name="Bug lab").click()
    page.get_by_text("the run's own scenario").wait_for(timeout=30_000)
    wait_idle(page)
    assert urlparse(page.url).path == "/Bug_lab"
    assert run_query(page) == {"run": [run_id]}
    page.screenshot(path=str(OUTPUT / "run-every-page-bug-lab.png"))

    sidebar.get_by_role("link", name="Overview").click()
    page.get_by_text("Status of the saved run").wait_for(timeout=30_000)
    wait_idle(page)
    assert run_query(page) == {"run": [run_id]}
    overall = f"{result.relative_difference:.3g}"
    page.get_by_test_id("stMetricValue").get_by_text(overall, exact=True).wait_for()
    page.screenshot(path=str(OUTPUT / "run-every-page-overview.png"))

    page.get_by_role("button", name="Leave the saved run").click()
    page.get_by_text("Status of the current scenario").wait_for(timeout=30_000)
    wait_idle(page)
    assert "run" not in run_query(page)

    cli_link = run_link(run_id, f"{server}/")  # what `--save` prints
    page.goto(cli_link)
    wait_idle(page)
    page.get_by_role("heading", name=title).wait_for(timeout=30_000)
    assert urlparse(page.url).path == "/Runs" and run_query(page) == {"run": [run_id]}
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=30_000)
    page.screenshot(path=str(OUTPUT / "run-cli-link.png"))
