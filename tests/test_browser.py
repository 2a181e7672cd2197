"""The app in a real browser: headless Debian Chromium driven by Playwright.

Only what a browser shows is tested here (charts drawn, page switches through links,
separate users); everything else is in test_app.py. Screenshots go to test-output/.
"""

from urllib.parse import urlparse

import pytest

from engine.scenario.settings import Scenario
from tests.browser_helpers import OUTPUT, open_app, settle, streamlit_server, wait_idle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    """`streamlit run app.py` on a free loopback port; stopped by its PID afterwards."""
    with streamlit_server(OUTPUT / "streamlit.log") as (url, _):
        yield url


def sidebar(page):
    return page.locator("[data-testid='stSidebar']")


def toggle(page, title):
    sidebar(page).get_by_text(title, exact=True).click()
    settle(page)


def checked(page, title) -> bool:
    """Whether the sidebar toggle with this label is on."""
    box = sidebar(page).locator("[data-testid='stCheckbox']", has_text=title)
    return box.locator("input").is_checked()


def status_text(page) -> str:
    badge = page.get_by_text("the gradients", exact=False).first
    badge.wait_for(timeout=30_000)
    return badge.inner_text()


def test_toggling_a_bug_changes_status_and_charts(server, browser):
    page = open_app(browser, server, "Gradient_check")
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert "PASS" in status_text(page)
    page.screenshot(path=str(OUTPUT / "check-correct.png"))
    toggle(page, "Sigmoid with the sign of z flipped")
    page.get_by_text("FAIL").first.wait_for(timeout=30_000)
    page.get_by_text("18 / 18").first.wait_for(timeout=30_000)
    # the diverging cells are drawn: red x markers in the heatmaps, a red trace in the scatter
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 3
    red_trace = page.locator(".js-plotly-plot .legendtext", has_text="diverges (18)")
    red_trace.wait_for(timeout=30_000)
    assert red_trace.count() == 1
    page.screenshot(path=str(OUTPUT / "check-sign-flip.png"))


def test_switching_pages_keeps_the_settings(server, browser):
    page = open_app(browser, server)
    toggle(page, "Bias column regularised in the gradient")
    page.get_by_text("FAIL").first.wait_for(timeout=30_000)
    for name, path in [
        ("Bug lab", "Bug_lab"),
        ("Epsilon", "Epsilon"),
        ("Gradient check", "Gradient_check"),
        ("Overview", ""),
    ]:
        sidebar(page).get_by_role("link", name=name).click()
        page.wait_for_url(lambda url, path=path: urlparse(url).path == f"/{path}", timeout=30_000)
        wait_idle(page)
        assert checked(page, "Bias column regularised in the gradient"), f"lost on {name}"
    page.screenshot(path=str(OUTPUT / "overview-after-switches.png"))


def test_two_users_toggling_different_bugs_each_see_their_own(server, browser):
    first = open_app(browser, server, "Gradient_check")
    second = open_app(browser, server, "Gradient_check")
    toggle(first, "Sigmoid with the sign of z flipped")
    toggle(second, "Numerical loop starts at index 1")
    first.get_by_text("18 / 18").first.wait_for(timeout=30_000)
    second.get_by_text("1 / 20").first.wait_for(timeout=30_000)
    # make the first user's page run again after the second user's change
    first.get_by_text("Only diverging rows").click()
    wait_idle(first)
    first.get_by_text("18 / 18").first.wait_for(timeout=30_000)
    assert checked(first, "Sigmoid with the sign of z flipped")
    assert not checked(first, "Numerical loop starts at index 1")
    assert checked(second, "Numerical loop starts at index 1")
    assert not checked(second, "Sigmoid with the sign of z flipped")
    first.screenshot(path=str(OUTPUT / "user-1.png"))
    second.screenshot(path=str(OUTPUT / "user-2.png"))


def test_long_training_shows_progress_and_can_be_stopped(server, browser):
    page = open_app(browser, server, "Training")
    iterations = page.get_by_label("Iterations (maxiter)")
    iterations.fill("500")
    iterations.press("Enter")
    settle(page)
    page.get_by_role("button", name="Train").click()
    page.get_by_text("iteration", exact=False).first.wait_for(timeout=30_000)
    page.screenshot(path=str(OUTPUT / "training-progress.png"))
    page.get_by_role("button", name="Stop").click()
    page.get_by_text("Training was stopped").wait_for(timeout=30_000)
    wait_idle(page)
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 1
    page.screenshot(path=str(OUTPUT / "training-stopped.png"))


def relative_difference_metric(page) -> str:
    metric = page.locator("[data-testid='stMetric']", has_text="Relative difference").first
    metric.wait_for(timeout=30_000)
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def test_a_copied_link_reproduces_the_view_in_a_fresh_browser(server, browser):
    page = open_app(browser, server)
    toggle(page, "Cost penalty lambda/m instead of lambda/(2m)")
    sizes = sidebar(page).get_by_role("textbox", name="Layer sizes")
    sizes.fill("4-7-3")
    sizes.press("Enter")
    settle(page)
    page.wait_for_url("**sizes=4-7-3**", timeout=30_000)
    expected = Scenario.create(layer_sizes=(4, 7, 3), bugs=["cost-reg-factor"]).run()
    shown = f"{expected.relative_difference:.3g}"
    page.get_by_text(shown, exact=True).first.wait_for(timeout=30_000)
    assert relative_difference_metric(page) == shown
    link = page.url
    fresh = open_app(browser, server, link.split("/", 3)[3])  # a new context: no shared state
    assert relative_difference_metric(fresh) == shown
    assert checked(fresh, "Cost penalty lambda/m instead of lambda/(2m)")
    fresh.screenshot(path=str(OUTPUT / "shared-link.png"))


def test_the_downloaded_report_draws_its_figures_offline(server, browser, tmp_path):
    page = open_app(browser, server)
    toggle(page, "Sigmoid with the sign of z flipped")
    with page.expect_download(timeout=60_000) as download:
        sidebar(page).get_by_role("button", name="Report (HTML, works offline)").click()
    target = OUTPUT / download.value.suggested_filename
    download.value.save_as(target)
    assert target.name.startswith("gradscope-3-5-3-m5-seed0-sigmoid-sign-flip")
    offline = browser.new_context(offline=True, viewport={"width": 1300, "height": 2400})
    report = offline.new_page()
    report.goto(target.as_uri())
    report.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
    assert report.locator(".js-plotly-plot").count() == 3
    report.screenshot(path=str(OUTPUT / "report-offline.png"))
    offline.close()


def test_an_uploaded_export_restores_the_same_view(server, browser):
    page = open_app(browser, server)
    toggle(page, "Gradient unrolled column-major (Octave's (:))")
    expected = Scenario(bugs=("column-major-unroll",)).run()
    shown = f"{expected.relative_difference:.3g}"
    page.get_by_text(shown, exact=True).first.wait_for(timeout=30_000)
    with page.expect_download(timeout=60_000) as download:
        sidebar(page).get_by_role("button", name="JSON", exact=True).click()
    exported = OUTPUT / download.value.suggested_filename
    download.value.save_as(exported)
    fresh = open_app(browser, server)
    assert not checked(fresh, "Gradient unrolled column-major (Octave's (:))")
    fresh.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(exported))
    fresh.get_by_text("the same as in the file").wait_for(timeout=30_000)
    assert relative_difference_metric(fresh) == shown
    assert checked(fresh, "Gradient unrolled column-major (Octave's (:))")
    fresh.screenshot(path=str(OUTPUT / "restored-from-json.png"))


def test_pasted_code_is_checked_and_its_heatmaps_drawn(server, browser):
    from engine.bugs.examples import EXAMPLES

    page = open_app(browser, server, "Your_code")
    editor = page.get_by_role("textbox", name="Your code")
    editor.fill(EXAMPLES["bias-regularised"].source)
    editor.press("Control+Enter")
    settle(page)
    page.get_by_role("button", name="Run the check").click()
    page.get_by_text("FAIL").first.wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").nth(2).wait_for(timeout=30_000)
    assert page.locator(".js-plotly-plot").count() == 3
    assert page.get_by_text("bias-regularized").count() >= 1
    page.screenshot(path=str(OUTPUT / "your-code.png"))
