"""A saved run's link in a real browser: saved by one user, opened by another.

The server gets its own SQLite file (GRADSCOPE_RUNS_URL), so no real database is touched.
"""

import os
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser_helpers import OUTPUT, open_app, settle, streamlit_server, wait_idle

pytestmark = pytest.mark.browser
TITLE = "sigmoid sign flip, seen in the browser"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    database = tmp_path_factory.mktemp("runs") / "runs.sqlite"
    env = {**os.environ, "GRADSCOPE_RUNS_URL": f"sqlite:///{database}"}
    with streamlit_server(OUTPUT / "streamlit-runs.log", env) as (url, _):
        yield url


def test_a_run_saved_in_one_browser_opens_the_same_in_another(server, browser):
    first = open_app(browser, server, "Gradient_check?bugs=sigmoid-sign-flip")
    first.get_by_text("FAIL").first.wait_for(timeout=30_000)
    first.get_by_label("Title").fill(TITLE)
    first.get_by_label("Title").press("Enter")
    settle(first)
    first.get_by_role("button", name="Save this run").click()
    first.get_by_text("Saved.").wait_for(timeout=30_000)
    link = first.locator("[data-testid='stCode']", has_text="?run=").first.inner_text().strip()
    assert urlparse(link).netloc == urlparse(server).netloc, link
    run_id = parse_qs(urlparse(link).query)["run"][0]
    first.screenshot(path=str(OUTPUT / "runs-saved.png"))

    second = browser.new_context(viewport={"width": 1400, "height": 2400}).new_page()
    second.goto(link)
    wait_idle(second)
    second.get_by_role("heading", name=TITLE).wait_for(timeout=30_000)
    second.get_by_text("Sign error in the output layer").first.wait_for(timeout=30_000)
    second.get_by_text("FAIL").first.wait_for(timeout=30_000)
    plots = second.locator(".js-plotly-plot")
    plots.nth(2).wait_for(timeout=30_000)
    assert plots.count() == 3  # both heatmaps and the scatter, drawn from the stored arrays
    theta2 = second.locator(".js-plotly-plot .gtitle", has_text="18 of 18 entries diverge")
    theta2.first.wait_for(timeout=30_000)
    assert second.locator(".js-plotly-plot .heatmaplayer image").count() > 0
    assert urlparse(second.url).path == "/Runs"
    assert parse_qs(urlparse(second.url).query) == {"run": [run_id]}
    second.screenshot(path=str(OUTPUT / "runs-opened.png"))


def choose(page, label: str, option: str):
    page.get_by_label(label).click()
    page.get_by_role("option", name=option).first.click()
    settle(page)


def test_the_history_compares_the_buggy_and_the_fixed_run_with_drawn_heatmaps(server, browser):
    page = open_app(browser, server, "Gradient_check?bugs=sigmoid-sign-flip")
    for title, address in (("before the fix", "?bugs=sigmoid-sign-flip"), ("after the fix", "")):
        page.goto(f"{server}/Gradient_check{address}")
        wait_idle(page)
        page.get_by_label("Title").fill(title)
        page.get_by_label("Title").press("Enter")
        settle(page)
        page.get_by_role("button", name="Save this run").click()
        page.get_by_text("Saved.").wait_for(timeout=30_000)
    page.goto(f"{server}/Runs")
    wait_idle(page)
    choose(page, "Before", "before the fix")
    choose(page, "After", "after the fix")
    page.get_by_text("18 entries stopped diverging").wait_for(timeout=30_000)
    change = page.locator(".js-plotly-plot .gtitle", has_text="relative error change")
    change.nth(1).wait_for(timeout=30_000)
    assert change.count() == 2
    page.screenshot(path=str(OUTPUT / "runs-compared.png"), full_page=True)
