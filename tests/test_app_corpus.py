"""The check-any-code corpus (tests/corpus) through the Your code page, in AppTest.

Every program of `PROGRAMS`, the correct one and each of its bugs, as a visitor would
give it to the page's "Your model as it is" mode: the variant written out by
`write_variant` is pasted (one file) or uploaded with its helper modules (several .py
files), the fields are filled from the manifest, and the check runs through the page's
Run button in the sandbox. Loss mode: the loss, params and grads expressions, the
segments and their order where the manifest names them, the setter where it gives one,
and the manifest's eps in the sidebar (as the CLI test passes `--eps`). Layer mode:
`prog.forward_call` alone (the backward found by name, torch autograd, jax.vjp), for the
layer pairs and the torch and JAX programs. The arrays flagged are read from the page
itself, the titles of its heatmaps ("W1 (5x8): 3 of 40 entries diverge"), and must be
the manifest's `diverges` for a bug and none for the correct program, with the verdict
FAIL, or PASS (WARN for float32's coarse check), on the page. Nothing of the corpus is
left out: every program has a loss or a forward call the page can express (the layer
pairs are run both ways). torch and jax programs are skipped where the library is
missing. The `extras` (noise, degenerate points) are the CLI test's.
"""

import importlib.util
import re

import pytest

from engine.runners.sandbox import code_execution_enabled
from tests.app_helpers import open_page, plotly_figures, start_app, texts
from tests.corpus.manifest import PROGRAMS, segments_flags, write_variant

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.skipif(not code_execution_enabled(), reason="user code is off"),
]

LIBRARIES = {"torch-autograd": "torch", "jax-custom-vjp": "jax"}
HEATMAP_TITLE = re.compile(r"^(?P<name>.+) \([^()]*\): (?P<diverging>\d+) of \d+ entries diverge")


def _missing_library(prog) -> str | None:
    library = LIBRARIES.get(prog.convention)
    if library and importlib.util.find_spec(library) is None:
        return library
    return None


def _cases(mode: str) -> list:
    cases = []
    for prog in PROGRAMS:
        if (prog.loss if mode == "loss" else prog.forward_call) is None:
            continue
        library = _missing_library(prog)
        marks = [pytest.mark.skip(reason=f"{library} is not installed")] if library else []
        for bug in (None, *prog.bugs):
            bug_id = bug.id if bug else None
            cases.append(
                pytest.param(
                    prog, bug_id, marks=marks, id=f"{prog.file[:-3]}-{bug_id or 'correct'}"
                )
            )
    return cases


LOSS_CASES = _cases("loss")
LAYER_CASES = _cases("layer")


def _fill_sources(at, prog, bug, folder):
    """Paste a one-file program; upload a program and its helper modules as .py files."""
    path = write_variant(prog, bug, folder)
    if not prog.helpers:
        at.text_area(key="contract-source").input(path.read_text(encoding="utf-8"))
        return at
    at.radio(key="contract-kind").set_value("files").run()
    files = [(p.name, p.read_bytes(), "text/x-python") for p in sorted(folder.glob("*.py"))]
    at.file_uploader[0].set_value(files).run()
    assert not at.exception
    at.selectbox(key="contract-main").set_value(prog.file)
    return at


def _segment_fields(prog) -> dict:
    """The page's fields for the manifest's segments, order and setter (check-code's flags)."""
    flags = segments_flags(prog)
    values = dict(zip(flags[::2], flags[1::2]))
    return {
        "contract-segments": values.get("--segments", ""),
        "contract-order": values.get("--order", ""),
        "contract-set-params": values.get("--set-params", ""),
    }


def _run(at):
    assert not at.exception
    buttons = [b for b in at.button if b.label == "Run the check"]
    assert buttons, texts(at)  # the preview accepted the program
    buttons[0].click().run()
    assert not at.exception
    return at


def _flagged(at) -> dict[str, int]:
    """Each array's diverging entries, as the titles of the page's heatmaps say."""
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    found = {}
    for title in titles:
        match = HEATMAP_TITLE.match(title)
        if match:
            found[match["name"]] = int(match["diverging"])
    return found


def _assert_verdict(at, prog, bug):
    said = texts(at)
    assert "could not be checked" not in said, said
    flagged = _flagged(at)
    assert flagged, said
    expected = set(prog.bug(bug).diverges) if bug else set()
    assert {name for name, count in flagged.items() if count} == expected
    if expected:
        assert "FAIL" in said
    else:  # a correct float32 program agrees with a warning that the check is coarse
        assert "PASS" in said or "WARN: agree" in said


def _contract_page():
    at = open_page(start_app(), "code")
    at.radio(key="code-mode").set_value("contract").run()
    assert not at.exception
    return at


@pytest.mark.parametrize("prog, bug", LOSS_CASES)
def test_each_corpus_variant_through_the_page_flags_the_manifests_arrays(prog, bug, tmp_path):
    at = _contract_page()
    at.select_slider(key="w-eps").set_value(prog.eps).run()
    at = _fill_sources(at, prog, bug, tmp_path)
    at.text_input(key="contract-loss").input(prog.loss)
    at.text_input(key="contract-params").input(prog.params)
    at.text_input(key="contract-grads").input(prog.grads or "")
    fields = _segment_fields(prog)
    at.text_input(key="contract-segments").input(fields["contract-segments"])
    at.text_input(key="contract-set-params").input(fields["contract-set-params"]).run()
    if fields["contract-order"]:  # the order is offered once there are segments
        at.selectbox(key="contract-order").set_value(fields["contract-order"]).run()
        assert f"unrolled in order {fields['contract-order']}" in texts(at)
    _assert_verdict(_run(at), prog, bug)


@pytest.mark.parametrize("prog, bug", LAYER_CASES)
def test_each_corpus_layer_through_the_pages_forward_call_flags_the_manifests_arrays(
    prog, bug, tmp_path
):
    at = _contract_page()
    at.radio(key="contract-check").set_value("layer").run()
    at = _fill_sources(at, prog, bug, tmp_path)
    at.text_input(key="contract-forward").input(prog.forward_call)
    at.text_input(key="contract-backward").input("").run()
    assert f"layer: {prog.forward_call}" in texts(at)
    at = _run(at)
    _assert_verdict(at, prog, bug)
    assert list(_flagged(at)) == list(prog.names or prog.layer["inputs"])


def test_every_corpus_program_has_a_loss_or_a_forward_call_the_page_takes():
    assert all(prog.loss is not None or prog.forward_call for prog in PROGRAMS)
    assert len(LOSS_CASES) + len(LAYER_CASES) >= 4 * len(PROGRAMS)
