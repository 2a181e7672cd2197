"""A saved run's link (`?run=ID`) shows that run on every page, through AppTest.

Each test has its own SQLite file (GRADSCOPE_RUNS_URL). Runs are saved straight through
the engine (`run_from_check`, `RunStore`), so the pages under test only ever read them;
`Scenario.run` and the code runners are made to fail where a page must not recompute.
"""

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

from engine.bugs.examples import EXAMPLES
from engine.diagnosis.diagnose import diagnose
from engine.runners.sandbox import ENABLE_VARIABLE
from engine.runs.record import run_from_check
from engine.runs.store import RunStore
from engine.scenario.settings import Scenario
from tests.app_helpers import PAGES, ROOT, plotly_figures, texts
from ui import cache

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FOUNDING = Scenario(bugs=("sigmoid-sign-flip",))  # 3-5-3, m = 5, lambda = 1: 18 / 38 diverge
CHECK = Scenario.run  # before any test replaces it: saving runs the check once
SIGMOID_LINE = 5  # `return 1 / (1 + np.exp(z))` in the seed question's code


@pytest.fixture
def runs_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", url)
    return url


@pytest.fixture
def no_check(monkeypatch):
    """Any check of a scenario fails the test: a run is shown from what was stored."""

    def refuse(self, *args, **kwargs):
        raise AssertionError("a saved run must be shown without running a check")

    cache.store().clear()
    monkeypatch.setattr(Scenario, "run", refuse)


@pytest.fixture
def no_code_run(monkeypatch):
    """Running a visitor's code fails the test: a code run is shown without running it.

    The names are replaced where the pages look them up (the modules imported first, so
    nothing keeps the replacement once the test is over)."""
    from engine.runners import usercode
    from ui import coderun, contract_mode

    def refuse(*args, **kwargs):
        raise AssertionError("a saved run's code must not run")

    for module, name in (
        (coderun, "queued_run"),
        (contract_mode, "queued_run"),
        (contract_mode, "run_user_contract"),
        (usercode, "run_user_code"),
        (usercode, "run_user_contract"),
    ):
        monkeypatch.setattr(module, name, refuse)


def save(url: str, title: str = "the founding question", **record) -> str:
    """Store a run of the founding question's buggy check (a scenario run by default)."""
    result = CHECK(FOUNDING)
    findings = record.pop("findings", None) or diagnose(result)
    record = {"kind": "scenario", "settings": FOUNDING.to_dict(), **record}
    return RunStore(url).save(run_from_check(result, findings, title=title, **record))


def save_code_run(
    url: str, settings: dict, title: str = "my sigmoid", other_files: dict | None = None
) -> str:
    """A run of the seed question's code, its top finding pointing at its sigmoid line."""
    result = CHECK(FOUNDING)
    findings = diagnose(result)
    findings[0] = dataclasses.replace(findings[0], lines=(SIGMOID_LINE,))
    return save(
        url,
        title,
        kind="code",
        code=EXAMPLES["seed-question"].source,
        settings=settings,
        findings=findings,
        other_files=other_files,
    )


FUNCTIONS_SETTINGS = {  # as the Your code page saves a functions-mode run
    "mode": "functions",
    "cost": "computeCost",
    "gradient": "gradient",
    "convention": "seed",
    "shapes": None,
    "label_base": 0,
    "scenario": FOUNDING.to_dict(),
}


def open_run(page: str, run_id, at: AppTest | None = None) -> AppTest:
    """`page` opened with ?run=ID: in a new session, or in `at`'s."""
    at = at or AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page(PAGES[page])
    at.query_params["run"] = run_id
    return at.run()


def metrics(at: AppTest) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def banner(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "**Saved run:**" in m.value)


def leave(at: AppTest) -> AppTest:
    return next(b for b in at.button if b.key == "linked-run-leave").click().run()


def sidebar_bug_on(at: AppTest) -> bool:
    return at.sidebar.toggle(key="bug-sigmoid-sign-flip").value


def test_the_overview_shows_the_runs_status_card_not_the_sidebars_check(runs_url, no_check):
    at = open_run("overview", save(runs_url))
    assert not at.exception, at.exception
    assert "Status of the saved run" in [s.value for s in at.subheader]
    shown = metrics(at)
    assert ("Diverging entries", "18 / 38") in shown
    assert ("Relative difference", "6.63") in shown
    assert "Sign error in the output layer" in texts(at)


def test_the_gradient_check_page_draws_the_run_from_its_stored_arrays(runs_url, no_check):
    run_id = save(runs_url)
    at = open_run("check", run_id)
    assert not at.exception, at.exception
    assert ("Diverging", "18 / 18") in metrics(at) and ("Diverging", "0 / 20") in metrics(at)
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert len(titles) == 3 and "18 of 18 entries diverge" in titles[1]
    assert not [b for b in at.button if b.key == "save-check-save"]  # saved already
    assert any(f"?run={run_id}" in c.value for c in at.code)  # its link instead
    assert at.dataframe[0].value["diverges"].sum() == 18  # the side-by-side table


def test_changing_the_sidebar_in_a_run_does_not_change_what_the_page_shows(runs_url, no_check):
    at = open_run("check", save(runs_url))
    assert sidebar_bug_on(at)  # entering loaded the run's scenario into the sidebar
    at = at.sidebar.toggle(key="bug-sigmoid-sign-flip").set_value(False).run()
    assert not at.exception, at.exception
    assert not sidebar_bug_on(at)
    assert ("Diverging", "18 / 18") in metrics(at)  # still the stored run, not recomputed


def test_the_heatmaps_third_panel_mode_is_drawn_from_the_stored_run(runs_url, no_check):
    at = open_run("check", save(runs_url))
    at = at.get("button_group")[0].set_value("log relative error").run()
    assert not at.exception, at.exception
    theta2 = plotly_figures(at)[1]
    assert any("log" in str(a.get("text", "")).lower() for a in theta2["layout"]["annotations"])


def test_the_banner_names_the_run_with_its_title_escaped(runs_url):
    at = open_run("check", save(runs_url, "**bold** <b>html</b> :red[x]"))
    said = banner(at)
    assert "\\*\\*bold\\*\\* \\<b\\>html\\</b\\> \\:red\\[x\\]" in said
    assert "nothing was re-run" in texts(at) and "a check of a scenario" in texts(at)


def test_leaving_the_run_returns_to_live_checks_without_the_run_in_the_address(runs_url):
    at = open_run("check", save(runs_url))
    at = leave(at)
    assert not at.exception, at.exception
    assert "run" not in dict(at.query_params)
    assert not [m for m in at.markdown if "**Saved run:**" in m.value]
    assert [b for b in at.button if b.key == "save-check-save"]  # a live check again
    assert dict(at.query_params) == {"bugs": "sigmoid-sign-flip"}  # the scenario kept


def test_leaving_gives_back_the_sidebar_a_session_had_before_the_run(runs_url):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
    at = at.sidebar.text_input(key="w-sizes").input("4-4-2").run()
    at = open_run("check", save(runs_url), at)
    assert at.sidebar.text_input(key="w-sizes").value == "3-5-3"
    at = leave(at)
    assert at.sidebar.text_input(key="w-sizes").value == "4-4-2"


def test_every_sidebar_link_keeps_the_run_and_the_next_page_shows_it(runs_url, no_check):
    run_id = save(runs_url)
    at = open_run("overview", run_id)
    # the navigation and the Overview's page list (ui.runs' own link to the Runs page aside)
    links = [p.proto for p in at.get("page_link") if p.proto.label != "History and comparison"]
    assert len(links) == 16 and all(p.query_string == f"run={run_id}" for p in links)
    at = at.switch_page(PAGES["check"]).run()  # what a click on such a link does
    assert ("Diverging", "18 / 18") in metrics(at)
    assert dict(at.query_params) == {"run": run_id}
    at = leave(at)
    assert all(p.proto.query_string == "" for p in at.get("page_link"))


def test_the_run_is_read_from_the_database_once_per_session(runs_url, monkeypatch):
    run_id = save(runs_url)
    reads = []
    get = RunStore.get
    monkeypatch.setattr(RunStore, "get", lambda self, i: reads.append(i) or get(self, i))
    at = open_run("check", run_id)
    at = at.get("button_group")[0].set_value("log relative error").run()
    at = at.switch_page(PAGES["overview"]).run()
    assert not at.exception, at.exception
    assert reads == [run_id]


@pytest.mark.parametrize("page", ["bugs", "epsilon", "training"])
def test_the_scenario_pages_work_on_the_runs_own_scenario(runs_url, page):
    at = open_run(page, save(runs_url))
    assert not at.exception, at.exception
    assert sidebar_bug_on(at)  # the default scenario has no bug: this is the run's
    assert "the run's own scenario" in texts(at)
    assert dict(at.query_params) == {"run": at.query_params["run"]}  # not rewritten


def test_on_the_scenario_pages_a_code_run_says_where_the_run_itself_is(runs_url):
    at = open_run("bugs", save_code_run(runs_url, FUNCTIONS_SETTINGS))
    assert not at.exception, at.exception
    assert "explores GradScope's own network" in texts(at)
    assert not sidebar_bug_on(at)  # the code's problem, without the bugs switched on then
    labels = [p.proto.label for p in at.main.get("page_link")]
    assert {"Gradient check", "Your code", "Runs"} <= set(labels)


def test_your_code_shows_a_code_runs_code_and_findings_without_running_it(
    runs_url, no_check, no_code_run
):
    at = open_run("code", save_code_run(runs_url, FUNCTIONS_SETTINGS))
    assert not at.exception, at.exception
    assert at.text_area(key="code-source").value == EXAMPLES["seed-question"].source
    assert at.text_input(key="code-cost").value == "computeCost"
    assert at.radio(key="code-mode").value == "functions"
    said = texts(at)
    assert "none of its code was run" in said and "Sign error in the output layer" in said
    quoted = [c.value for c in at.code if "np.exp(z)" in c.value]
    assert quoted and "5" in quoted[0]  # the finding's line, from the stored code
    assert ("Diverging entries", "18 / 38") in metrics(at)
    assert len(plotly_figures(at)) == 3  # both heatmaps and the scatter


def test_where_no_code_may_run_a_code_run_is_still_shown_with_its_code(runs_url, monkeypatch):
    monkeypatch.setenv(ENABLE_VARIABLE, "0")
    at = open_run("code", save_code_run(runs_url, FUNCTIONS_SETTINGS))
    assert not at.exception, at.exception
    assert "switched off" in at.info[0].value
    assert any("np.exp(z)" in c.value and c.language == "python" for c in at.code)
    assert ("Diverging entries", "18 / 38") in metrics(at)


def test_moving_from_one_run_to_another_shows_the_second(runs_url, no_check):
    first, second = save(runs_url), save(runs_url, "the second run")
    at = open_run("check", first)
    at = open_run("check", second, at)
    assert not at.exception, at.exception
    assert "the second run" in banner(at)
    assert dict(at.query_params) == {"run": second}


def test_a_code_run_saved_by_the_cli_fills_what_maps_and_says_what_does_not(runs_url, no_code_run):
    settings = {
        "mode": "contract",
        "file": "net.py",
        "loss": "net.loss(X, y)",
        "params": "net.params",
        "grads": None,
        "dtype": None,
        "eps": 1e-4,
    }
    at = open_run("code", save_code_run(runs_url, settings))
    assert not at.exception, at.exception
    assert at.radio(key="code-mode").value == "contract"
    assert at.text_input(key="contract-loss").value == "net.loss(X, y)"
    assert at.text_input(key="contract-params").value == "net.params"
    assert "the files beside net.py that it may import" in texts(at)
    assert ("Diverging entries", "18 / 38") in metrics(at)


def test_an_uploaded_run_fills_the_upload_with_every_file_it_kept(runs_url, no_code_run):
    settings = {"mode": "contract", "main": "proj/model.py", "loss": "loss()", "params": "w"}
    helpers = {"proj/helpers.py": "def half_square(v):\n    return 0.5 * (v**2).sum()\n"}
    at = open_run("code", save_code_run(runs_url, settings, other_files=helpers))
    assert not at.exception, at.exception
    assert at.radio(key="contract-kind").value == "files"
    files = at.session_state["contract-files"]
    assert sorted(files) == ["proj/helpers.py", "proj/model.py"]
    assert files["proj/helpers.py"].decode() == helpers["proj/helpers.py"]
    assert at.session_state["contract-main"] == "proj/model.py"
    assert not [t for t in texts(at).splitlines() if "files beside" in t]


def test_leaving_a_code_run_gives_back_the_code_typed_before(runs_url, no_code_run):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at = at.switch_page(PAGES["code"]).run()
    at = at.text_area(key="code-source").input("def mine():\n    return 1\n").run()
    at = open_run("code", save_code_run(runs_url, FUNCTIONS_SETTINGS), at)
    assert "np.exp(z)" in at.text_area(key="code-source").value
    at = leave(at)
    assert not at.exception, at.exception
    assert at.text_area(key="code-source").value == "def mine():\n    return 1\n"


def test_code_edited_in_the_run_is_kept_when_leaving(runs_url, no_code_run):
    at = open_run("code", save_code_run(runs_url, FUNCTIONS_SETTINGS))
    edited = at.text_area(key="code-source").value.replace("np.exp(z)", "np.exp(-z)")
    at = at.text_area(key="code-source").input(edited).run()
    assert "none of its code was run" in texts(at)  # not run until the button is pressed
    at = leave(at)
    assert at.text_area(key="code-source").value == edited


@pytest.mark.parametrize(
    "run_id", ["AAAAAAAAAAAAAAAAAAAAAA", "../../x", "x" * 5000, "<b>x</b>", "a b"]
)
def test_an_unknown_or_malformed_id_is_a_message_and_the_page_goes_on_live(runs_url, run_id):
    at = open_run("check", run_id)
    assert not at.exception, at.exception
    assert "There is no saved run with this id" in at.warning[0].value
    assert [b for b in at.button if b.key == "save-check-save"]  # the live check
    assert "run" not in dict(at.query_params)


def test_an_empty_run_parameter_is_ignored(runs_url):
    at = open_run("check", "")
    assert not at.exception, at.exception
    assert not at.warning and [b for b in at.button if b.key == "save-check-save"]


def test_two_different_runs_in_one_address_are_a_message(runs_url):
    at = open_run("check", [save(runs_url), save(runs_url, "another")])
    assert not at.exception, at.exception
    assert "more than one saved run" in at.warning[0].value


def test_a_database_error_is_a_message_and_the_page_goes_on_live(monkeypatch):
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", "sqlite:////proc/no-such-dir/runs.sqlite")
    at = open_run("overview", "AAAAAAAAAAAAAAAAAAAAAA")
    assert not at.exception, at.exception
    assert "The runs database could not be read." in at.error[0].value
    assert "Status of the current scenario" in [s.value for s in at.subheader]


def test_the_runs_page_shows_the_run_once_with_the_way_out(runs_url):
    run_id = save(runs_url)
    at = open_run("overview", run_id)
    at = at.switch_page("pages/6_Runs.py").run()
    assert not at.exception, at.exception
    assert [h.value for h in at.header] == ["the founding question"]
    assert [b for b in at.button if b.key == "linked-run-leave"]
    at = leave(at)
    assert "run" not in dict(at.query_params)
