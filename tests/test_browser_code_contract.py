"""The Your code page's "your model as it is" mode in a real browser (headless Debian
Chromium driven by Playwright): an example runs in the sandbox and its heatmaps carry
the user's array names, in the loss mode and in the layer mode (a forward call alone).
Screenshots in test-output/browser/."""

import pytest

from tests.browser_helpers import OUTPUT, open_app, settle, streamlit_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server():
    """`streamlit run app.py` on a free loopback port; stopped by its PID afterwards."""
    with streamlit_server(OUTPUT / "streamlit-code-contract.log") as (url, _):
        yield url


def test_an_example_runs_in_the_contract_mode_with_heatmaps_named_by_the_user(server, browser):
    page = open_app(browser, server, "Your_code")
    page.get_by_text("Your model as it is", exact=False).first.click()
    settle(page)
    page.locator("[data-testid='stSelectbox']", has_text="Start from an example").click()
    page.get_by_role(
        "option", name="Nielsen-style network (lists, backprop call), with a bug"
    ).click()
    settle(page)
    params = page.get_by_role("textbox", name="Params expression")
    assert params.input_value() == "(net.biases, net.weights)"
    page.get_by_role("button", name="Run the check").click()
    page.get_by_text("FAIL").first.wait_for(timeout=60_000)
    title = page.locator(".js-plotly-plot .gtitle", has_text="weights[0] (4x4)")
    title.first.wait_for(timeout=30_000)
    assert "12 of 16 entries diverge" in title.first.text_content()
    assert page.locator(".js-plotly-plot").count() == 5  # four arrays and the scatter
    page.get_by_text("biases[0] 4x1").first.wait_for(timeout=10_000)
    page.screenshot(path=str(OUTPUT / "your-code-contract.png"), full_page=True)


def test_a_layer_checked_from_its_forward_call_shows_the_diverging_input_by_its_name(
    server, browser
):
    page = open_app(browser, server, "Your_code")
    page.get_by_text("Your model as it is", exact=False).first.click()
    settle(page)
    page.locator("[data-testid='stSelectbox']", has_text="Start from an example").click()
    page.get_by_role(
        "option", name="CS231n-style affine-ReLU layer, checked from its forward call, with a bug"
    ).click()
    settle(page)
    forward = page.get_by_role("textbox", name="Forward call")
    assert forward.input_value() == "affine_relu_forward(x, w, b)"
    assert page.get_by_role("textbox", name="Loss expression").count() == 0
    page.get_by_text(
        "layer: affine_relu_forward(x, w, b), backward affine_relu_backward (found by name)",
        exact=False,
    ).first.wait_for(timeout=10_000)
    page.get_by_role("button", name="Run the check").click()
    page.get_by_text("FAIL").first.wait_for(timeout=60_000)
    title = page.locator(".js-plotly-plot .gtitle", has_text="w (6x5)")
    title.first.wait_for(timeout=30_000)
    assert "24 of 30 entries diverge" in title.first.text_content()
    assert page.locator(".js-plotly-plot").count() == 4  # x, w, b and the scatter
    page.get_by_text("inputs x (4, 3, 2), w 6x5, b (5,)").first.wait_for(timeout=10_000)
    page.screenshot(path=str(OUTPUT / "your-code-layer.png"), full_page=True)
    heatmap = page.locator(".js-plotly-plot").filter(has_text="w (6x5)").first
    heatmap.scroll_into_view_if_needed()
    heatmap.screenshot(path=str(OUTPUT / "your-code-layer-heatmap.png"))
