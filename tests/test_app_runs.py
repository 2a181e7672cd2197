"""Saved runs in the app, through AppTest: save, link, history, compare, delete.

Every test has its own SQLite file (GRADSCOPE_RUNS_URL, which wins over any secrets
file), so no test touches a real runs database.
"""

import re
from dataclasses import replace

import pytest
from streamlit.testing.v1 import AppTest

from engine.runs.store import RunStore
from engine.runs.team import new_team_key, team_tag
from engine.scenario.settings import Scenario
from tests.app_helpers import ROOT, open_page, plotly_figures, start_app, texts
from ui import cache
from ui import runs as runs_ui

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
FOUNDING_BUG = "sigmoid-sign-flip"  # the founding question: 3-5-3, m = 5, lambda = 1


@pytest.fixture
def runs_url(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", url)
    return url


def save_check(at: AppTest, title: str, bug: str | None = None) -> tuple[AppTest, str]:
    """Save the Gradient check page's run (with `bug` on, or every bug off); its id."""
    for toggle in at.sidebar.toggle:
        if toggle.key and toggle.key.startswith("bug-"):
            toggle.set_value(toggle.key == f"bug-{bug}")
    at = open_page(at.run(), "check")
    at.text_input(key="save-check-title").input(title)
    at = next(b for b in at.button if b.key == "save-check-save").click().run()
    assert not at.exception, at.exception
    return at, link_id(at)


def link_id(at: AppTest) -> str:
    links = [c.value for c in at.code if "?run=" in c.value]
    assert links, texts(at)
    return re.search(r"\?run=([\w-]+)", links[-1]).group(1)


def open_runs_page(at: AppTest) -> AppTest:
    return at.switch_page("pages/6_Runs.py").run()


def open_link(**params) -> AppTest:
    """A new session opened with this address on the Runs page (the run's whole view;
    tests/test_app_linked_run.py opens links on the other pages)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/6_Runs.py")
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def test_the_database_location_is_shown_without_creating_the_database(runs_url, tmp_path):
    at = start_app()
    assert str(tmp_path / "runs.sqlite") in [c.value for c in at.sidebar.code]
    assert not (tmp_path / "runs.sqlite").exists()


def test_saving_from_the_gradient_check_page_stores_the_run_and_shows_its_link(runs_url):
    at, run_id = save_check(start_app(), "sigmoid bug, before the fix", FOUNDING_BUG)
    assert "Saved." in texts(at)
    run = RunStore(runs_url).get(run_id)
    assert run.title == "sigmoid bug, before the fix"
    assert run.kind == "scenario" and run.verdict == "fail"
    assert run.settings == Scenario(bugs=(FOUNDING_BUG,)).to_dict()
    assert run.diverging_arrays == ("Theta2",)


def test_the_link_goes_when_the_check_shown_changes(runs_url):
    at, _ = save_check(start_app(), "before", FOUNDING_BUG)
    at = at.sidebar.toggle(key=f"bug-{FOUNDING_BUG}").set_value(False).run()
    assert not [c for c in at.code if "?run=" in c.value]


def test_opening_a_run_link_shows_its_title_and_findings_without_running_a_check(
    runs_url, monkeypatch
):
    _, run_id = save_check(start_app(), "the founding question", FOUNDING_BUG)

    def no_check(self):
        raise AssertionError("a saved run must be shown without running a check")

    monkeypatch.setattr(Scenario, "run", no_check)
    cache.store().clear()
    at = open_link(run=run_id)
    assert not at.exception, at.exception
    assert [h.value for h in at.header] == ["the founding question"]
    said = texts(at)
    assert "FAIL" in said and f"`{FOUNDING_BUG}`" in said
    assert "Sign error in the output layer" in said
    assert dict(at.query_params) == {"run": run_id}
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert titles[0].startswith("Theta1") and titles[1].startswith("Theta2")
    assert "18 of 18 entries diverge" in titles[1]
    assert len(titles) == 3  # two heatmaps and the scatter


def test_a_run_link_on_any_page_shows_the_run(runs_url):
    _, run_id = save_check(start_app(), "from the check page", FOUNDING_BUG)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/1_Gradient_check.py")  # the session opens on that page
    at.query_params["run"] = run_id
    at.run()
    assert not at.exception
    assert any("**Saved run:** from the check page" in m.value for m in at.markdown)


@pytest.mark.parametrize("run_id", ["AAAAAAAAAAAAAAAAAAAAAA", "not a run!", "x" * 5000])
def test_an_unknown_or_malformed_id_gets_a_clear_message(runs_url, run_id):
    at = open_link(run=run_id)
    assert not at.exception
    assert "There is no saved run with this id" in at.warning[0].value


def test_the_founding_bug_and_its_fix_compared_say_which_entries_stopped_diverging(runs_url):
    at, buggy = save_check(start_app(), "buggy", FOUNDING_BUG)
    at, fixed = save_check(at, "fixed")
    at = open_runs_page(at)
    table = at.dataframe[0].value
    assert list(table["title"]) == ["fixed", "buggy"]
    assert list(table["verdict"]) == ["PASS", "FAIL"]
    at.selectbox(key="runs-before").select(buggy)
    at = at.selectbox(key="runs-after").select(fixed).run()
    assert not at.exception
    said = texts(at)
    assert "18 entries stopped diverging, 0 started" in said
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Entries that stopped diverging"] == "18"
    assert metrics["Entries that started diverging"] == "0"
    arrays = at.dataframe[1].value.set_index("array")
    assert arrays.loc["Theta2", "diverging before"] == 18
    assert arrays.loc["Theta2", "diverging after"] == 0
    change = [
        f for f in plotly_figures(at) if "relative error change" in f["layout"]["title"]["text"]
    ]
    assert len(change) == 2


def test_the_history_filters_by_verdict_and_title(runs_url):
    at, _ = save_check(start_app(), "buggy", FOUNDING_BUG)
    at, _ = save_check(at, "fixed")
    at = open_runs_page(at)
    at = at.selectbox(key="runs-verdict").select("fail").run()
    assert list(at.dataframe[0].value["title"]) == ["buggy"]
    at = at.selectbox(key="runs-verdict").set_value(None).run()
    at = at.text_input(key="runs-title").input("FIX").run()
    assert list(at.dataframe[0].value["title"]) == ["fixed"]


def test_deleting_a_run_needs_a_confirmation_and_its_link_then_shows_nothing(runs_url):
    at, run_id = save_check(start_app(), "to delete", FOUNDING_BUG)
    at = open_runs_page(at)
    at = at.selectbox(key="runs-delete-choice").select(run_id).run()
    assert next(b for b in at.button if b.key == "runs-delete").disabled
    at = at.checkbox(key="runs-delete-sure").check().run()
    at = next(b for b in at.button if b.key == "runs-delete").click().run()
    assert not at.exception
    assert RunStore(runs_url).get(run_id) is None
    assert "No saved runs match" in texts(at)
    assert "There is no saved run" in open_link(run=run_id).warning[0].value


def test_two_code_runs_compared_show_the_diff_of_their_code(runs_url):
    at = open_page(start_app(), "code")
    ids = []
    for example in ("seed-question", "seed-answer"):
        at = at.selectbox(key="code-example").select(example).run()
        at = next(b for b in at.button if b.label == "Run the check").click().run()
        at.text_input(key="save-code-title").input(example)
        at = next(b for b in at.button if b.key == "save-code-save").click().run()
        assert not at.exception
        ids.append(link_id(at))
    stored = RunStore(runs_url).get(ids[0])
    assert stored.kind == "code" and "np.exp(z)" in stored.code
    at = open_runs_page(at)
    at.selectbox(key="runs-before").select(ids[0])
    at = at.selectbox(key="runs-after").select(ids[1]).run()
    diff = next(c for c in at.code if c.language == "diff").value
    assert diff.startswith("--- before (seed-question)")
    assert "\n-" in diff and "\n+" in diff


def test_a_database_that_cannot_be_opened_is_an_error_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", "sqlite:////proc/no-such-dir/runs.sqlite")
    at = open_page(start_app(), "check")
    at = next(b for b in at.button if b.key == "save-check-save").click().run()
    assert not at.exception
    assert "The run was not saved." in at.error[0].value


@pytest.mark.parametrize(
    "setting", ["GRADSCOPE_RUN_LIMIT_MB", "GRADSCOPE_RUNS_QUOTA_MB"], ids=["run", "database"]
)
def test_a_run_over_a_size_limit_is_refused_with_the_limit_named(runs_url, monkeypatch, setting):
    monkeypatch.setenv(setting, "0.0001")
    at = open_page(start_app(), "check")
    at = next(b for b in at.button if b.key == "save-check-save").click().run()
    assert not at.exception
    assert setting in at.error[0].value
    assert "Nothing was saved" in at.error[0].value


def test_a_model_checked_as_it_is_saves_with_the_users_array_names(runs_url):
    at = open_page(start_app(), "code")
    at = at.radio(key="code-mode").set_value("contract").run()
    at = at.selectbox(key="contract-example").select("nielsen-network").run()
    at = next(b for b in at.button if b.label == "Run the check").click().run()
    at.text_input(key="save-contract-title").input("nielsen, as it is")
    at = next(b for b in at.button if b.key == "save-contract-save").click().run()
    assert not at.exception
    run_id = link_id(at)
    opened = open_link(run=run_id)
    assert [h.value for h in opened.header] == ["nielsen, as it is"]
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(opened)]
    assert any(t.startswith("weights[0] (4x4): 12 of 16 entries diverge") for t in titles)
    assert any(c.language == "python" for c in opened.code)  # the main file, shown


def test_a_team_database_is_set_in_the_secrets_under_connections_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("GRADSCOPE_RUNS_URL", raising=False)
    team = tmp_path / "team.sqlite"
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["connections"] = {"runs": {"url": f"sqlite:///{team}"}}
    at = open_page(at.run(), "check")
    assert str(team) in [c.value for c in at.sidebar.code]
    at = next(b for b in at.button if b.key == "save-check-save").click().run()
    assert not at.exception
    assert RunStore(f"sqlite:///{team}").get(link_id(at)) is not None


def new_session_on_runs_page(**params) -> AppTest:
    """Another visitor: a new session that opens on the Runs page."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/6_Runs.py")
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def enter_team_key(at: AppTest, key: str) -> AppTest:
    return at.text_input(key="runs-team-typed").input(key).run()


def history_titles(at: AppTest) -> list[str]:
    tables = [d.value for d in at.dataframe if "title" in getattr(d.value, "columns", [])]
    return list(tables[0]["title"]) if tables else []


def test_another_visitors_run_is_not_listed_but_opens_by_its_link(runs_url):
    _, run_id = save_check(start_app(), "someone else's code", FOUNDING_BUG)
    stranger = new_session_on_runs_page()
    assert not stranger.exception
    assert history_titles(stranger) == []
    assert "No saved runs match" in texts(stranger)
    opened = new_session_on_runs_page(run=run_id)
    assert [h.value for h in opened.header][0] == "someone else's code"
    assert history_titles(opened) == ["someone else's code"]
    assert list(opened.dataframe[0].value["whose"]) == ["opened here"]
    assert not [s for s in opened.selectbox if s.key == "runs-delete-choice"]  # not theirs


def test_runs_filed_under_a_team_key_are_listed_to_whoever_enters_it(runs_url):
    key = new_team_key()
    at = enter_team_key(open_runs_page(start_app()), key)
    assert at.session_state[runs_ui.TEAM_KEY] == key
    at, _ = save_check(at, "filed for the team", FOUNDING_BUG)
    teammate = enter_team_key(new_session_on_runs_page(), key)
    assert history_titles(teammate) == ["filed for the team"]
    assert list(teammate.dataframe[0].value["whose"]) == ["team"]
    assert history_titles(enter_team_key(new_session_on_runs_page(), new_team_key())) == []


def test_a_guessable_team_key_is_refused_and_nothing_is_listed(runs_url):
    at = enter_team_key(new_session_on_runs_page(), "ourteam")
    assert not at.exception
    assert "could be guessed" in at.warning[0].value
    assert runs_ui.TEAM_KEY not in at.session_state


def test_a_new_team_key_is_made_on_request_and_can_be_forgotten(runs_url):
    at = new_session_on_runs_page()
    at = next(b for b in at.button if b.key == "runs-team-new").click().run()
    key = at.session_state[runs_ui.TEAM_KEY]
    assert team_tag(key) and key in [c.value for c in at.code]
    at = next(b for b in at.button if b.key == "runs-team-forget").click().run()
    assert runs_ui.TEAM_KEY not in at.session_state


def test_an_uploaded_folder_is_saved_with_every_file_and_compared_file_by_file(runs_url):
    from engine.runs.compare import code_diff
    from tests.test_app_code import contract_page, run_contract, upload_files, zip_of

    model = (
        "import numpy as np\nfrom helpers import half_square\n\n"
        "w = np.arange(1.0, 4.0)\n\n\ndef loss():\n    return half_square(w), w.copy()\n"
    )
    helper = "import numpy as np\n\n\ndef half_square(v):\n    return 0.5 * float(np.sum(v**2))\n"
    archive = zip_of({"proj/model.py": model, "proj/helpers.py": helper})
    at = upload_files(contract_page(), ("proj.zip", archive, "application/zip"))
    at.text_input(key="contract-loss").input("loss()")
    at.text_input(key="contract-params").input("w").run()
    at = run_contract(at)
    at.text_input(key="save-contract-title").input("with its helper")
    at = next(b for b in at.button if b.key == "save-contract-save").click().run()
    assert not at.exception, at.exception
    run = RunStore(runs_url).get(link_id(at))
    assert run.code == model and run.settings["main"] == "proj/model.py"
    assert run.other_files == {"proj/helpers.py": helper}
    edited = replace(run, other_files={"proj/helpers.py": helper.replace("0.5", "1.0")})
    assert "+    return 1.0 * float(np.sum(v**2))" in code_diff(run, edited)
