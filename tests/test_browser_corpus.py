"""The corpus in a real browser: one bug of each convention pasted into the Your code
page ("Your model as it is"), its expressions typed, the check run in the sandbox, and
the heatmaps drawn by Chromium naming exactly the manifest's diverging arrays.

AppTest runs every variant of the corpus through the page (tests/test_app_corpus.py);
this runs one per convention where only a browser shows it: the code typed into the
text area, the fields committed, the Plotly heatmaps drawn with the user's names.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

from tests.browser_helpers import OUTPUT, open_app, settle, streamlit_server
from tests.corpus.manifest import program, variant_source

pytestmark = pytest.mark.browser

# (program, bug, mode): one bug per convention, single-file programs
PICKS = [
    ("ex4_nncost_fortran.py", "reg-bias-column", "loss"),
    ("so_cost_gradient.py", "grad-missing-reg", "loss"),
    ("mlp_regression_f.py", "mse-missing-factor-2", "loss"),
    ("cs231n_two_layer_net.py", "db2-not-averaged", "loss"),
    ("cs231n_svm.py", "reg-grad-includes-bias-row", "loss"),
    ("nielsen_network.py", "nabla-w-transposed", "loss"),
    ("getset_params_net.py", "delta3-sign", "loss"),
    ("layers_batchnorm.py", "dbeta-averaged", "layer"),
    ("torch_autograd_function.py", "grad-bias-averaged", "layer"),
    ("jax_custom_vjp.py", "dW-transposed", "layer"),
    ("dlai_planar_net.py", "dW2-missing-1/m", "loss"),
    ("layer_objects_mlp.py", "decay-on-bias", "loss"),
]
LIBRARIES = {"torch-autograd": "torch", "jax-custom-vjp": "jax"}
TITLE = re.compile(r"^(.*) \(([^)]*)\): (\d+) of (\d+) entries diverge")


@pytest.fixture(scope="module")
def server():
    """`streamlit run app.py` on a free loopback port; stopped by its PID afterwards."""
    with streamlit_server(OUTPUT / "streamlit-corpus.log") as (url, _):
        yield url


def _type(page, name: str, text: str) -> None:
    box = page.get_by_role("textbox", name=name)
    box.fill(text)
    box.press("Enter")
    settle(page)


def _choose(page, option: str) -> None:
    """The "Check" radio's option (its label; the page's intro says the same words)."""
    radio = page.locator("[data-testid='stRadio']", has_text=option)
    radio.get_by_text(option, exact=True).click()
    settle(page)


def _diverging(page) -> set[str]:
    found = set()
    for title in page.locator(".js-plotly-plot .gtitle").all_text_contents():
        match = TITLE.match(title)
        if match and int(match.group(3)) > 0:
            found.add(match.group(1))
    return found


@pytest.mark.parametrize("file, bug, mode", PICKS, ids=[f"{f[:-3]}-{b}" for f, b, _ in PICKS])
def test_a_bug_of_each_convention_is_drawn_with_the_users_diverging_arrays(
    server, browser, file, bug, mode
):
    prog = program(file)
    library = LIBRARIES.get(prog.convention)
    if library and importlib.util.find_spec(library) is None:
        pytest.skip(f"{library} is not installed")
    page = open_app(browser, server, "Your_code")
    page.get_by_text("Your model as it is", exact=False).first.click()
    settle(page)
    code = page.get_by_role("textbox", name="Your code (one file, run as model.py)")
    code.fill(variant_source(prog, bug))
    code.press("Control+Enter")
    settle(page)
    if mode == "layer":
        _choose(page, "a layer's forward call")
        _type(page, "Forward call", prog.forward_call)
        _type(page, "Backward (optional)", "")
    else:
        _choose(page, "a loss and its params")
        _type(page, "Loss expression", prog.loss)
        _type(page, "Params expression", prog.params)
        _type(page, "Grads expression (optional)", prog.grads or "")
    page.get_by_role("button", name="Run the check").click()
    page.get_by_text("FAIL").first.wait_for(timeout=90_000)
    page.locator(".js-plotly-plot .gtitle").first.wait_for(timeout=30_000)
    assert _diverging(page) == set(prog.bug(bug).diverges)
    if file == "ex4_nncost_fortran.py":
        page.screenshot(path=str(OUTPUT / "your-code-corpus-ex4.png"), full_page=True)
