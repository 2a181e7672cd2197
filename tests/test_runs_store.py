"""Saved runs: stored whole, found by id only, safe under concurrency, crashes and size."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

import engine
from engine.diagnosis.diagnose import diagnose
from engine.runs import store as store_module
from engine.runs.record import run_from_check
from engine.runs.store import NewerSchema, RunsFull, RunStore, RunTooLarge
from engine.runs.team import BadTeamKey, new_team_key, team_tag

ROOT = Path(__file__).resolve().parents[1]


def founding_run(bugs=("sigmoid-sign-flip",), title="founding question"):
    """The founding question's network (3-5-3, m = 5, lambda = 1), buggy or fixed."""
    problem = engine.make_problem((3, 5, 3), m=5, seed=0, lamb=1.0)
    result = engine.check_problem(problem, list(bugs))
    settings = {"layer_sizes": [3, 5, 3], "m": 5, "lamb": 1.0, "bugs": list(bugs)}
    return run_from_check(
        result, diagnose(result), title=title, kind="scenario", settings=settings
    ), result


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'runs.sqlite'}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_binaries() -> Path | None:
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


@pytest.fixture(scope="module")
def postgres_url():
    """A throwaway PostgreSQL server on 127.0.0.1 (Debian's postgresql), stopped by PID."""
    binaries = postgres_binaries()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian's postgresql package)")
    pytest.importorskip("psycopg")
    as_user = []
    data = Path(tempfile.mkdtemp(prefix="gradscope-pg-"))
    if os.geteuid() == 0:  # the server refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [
            *as_user,
            str(binaries / "initdb"),
            "-D",
            str(data / "db"),
            "-A",
            "trust",
            "-U",
            "gradscope",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            *as_user,
            str(binaries / "postgres"),
            "-D",
            str(data / "db"),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(data),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"postgresql+psycopg://gradscope@127.0.0.1:{port}/postgres"
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        time.sleep(0.5)
        yield url
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, sqlite_url):
    url = sqlite_url if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    opened = RunStore(url)
    if request.param == "postgresql":  # the module's server is shared: start empty
        with opened.engine.begin() as connection:
            connection.execute(text("DELETE FROM gradscope_runs"))
    yield opened
    opened.close()


def test_a_saved_run_comes_back_whole(store):
    run, result = founding_run()
    store.save(run)
    back = store.get(run.id)
    assert back.title == "founding question" and back.verdict == "fail"
    assert back.diverging_arrays == ("Theta2",)  # the founding story: Theta2 diverges
    assert back.settings == run.settings and back.findings == run.findings
    for name in ("analytic", "numerical", "theta"):
        np.testing.assert_array_equal(back.arrays[name], run.arrays[name])
    rebuilt = back.result()
    assert rebuilt.summary() == result.summary()
    assert [f.cause for f in back.finding_objects()] == [f["cause"] for f in run.findings]


def test_ids_are_unguessable_and_a_malformed_id_finds_nothing(store):
    run, _ = founding_run()
    store.save(run)
    assert len(run.id) == 22 and set(run.id) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )
    assert store.get(run.id[:-1] + ("A" if run.id[-1] != "A" else "B")) is None
    for probe in ("", "../../etc/passwd", "x' OR '1'='1", run.id + "' --", None, 42):
        assert store.get(probe) is None


def test_the_history_filters_and_never_carries_code(store):
    buggy, _ = founding_run(title="sign flip before the fix")
    fixed, _ = founding_run(bugs=(), title="after the fix")
    for run in (buggy, fixed):
        store.save(run)
    assert [r.title for r in store.list()] == ["after the fix", "sign flip before the fix"]
    assert [r.id for r in store.list(verdict="fail")] == [buggy.id]
    assert [r.id for r in store.list(title="FIX")] == [fixed.id, buggy.id]
    assert [r.id for r in store.list(title="before")] == [buggy.id]
    assert not hasattr(store.list()[0], "code")


def test_deleting_a_run_removes_it_and_nothing_else(store):
    first, _ = founding_run(title="one")
    second, _ = founding_run(title="two")
    store.save(first)
    store.save(second)
    assert store.delete(first.id) and not store.delete(first.id)
    assert store.get(first.id) is None and store.get(second.id) is not None


def test_a_run_over_the_size_limit_is_refused_and_nothing_is_stored(sqlite_url):
    small = RunStore(sqlite_url, max_run_bytes=1000)
    run, _ = founding_run()
    with pytest.raises(
        RunTooLarge, match=r"KB; a run may be at most 1000 bytes .*Nothing was saved"
    ):
        small.save(run)
    assert small.count() == 0


def test_a_run_past_the_databases_quota_is_refused_and_deleting_makes_room(sqlite_url):
    run, _ = founding_run()
    size = store_module._row(run)["size_bytes"]
    small = RunStore(sqlite_url, max_total_bytes=2 * size + size // 2)
    first, second = founding_run(title="one")[0], founding_run(title="two")[0]
    small.save(first)
    small.save(second)
    with pytest.raises(RunsFull, match=r"past its quota of .*GRADSCOPE_RUNS_QUOTA_MB.*Nothing"):
        small.save(run)
    assert small.count() == 2
    small.delete(first.id)
    assert small.save(run) == run.id


def test_ten_threads_saving_at_once_lose_nothing(store):
    runs = [founding_run(title=f"thread {i}")[0] for i in range(10)]
    errors = []

    def save(run):
        try:
            for copy in range(3):
                store.save(run if copy == 0 else _copy_with_new_id(run))
        except Exception as error:  # reported below, with the thread's run
            errors.append((run.title, error))

    threads = [threading.Thread(target=save, args=(run,)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert store.count() == 30
    assert all(store.get(run.id).title == run.title for run in runs)


def _copy_with_new_id(run):
    from dataclasses import replace

    from engine.runs.record import new_run_id

    return replace(run, id=new_run_id())


CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from sqlalchemy import event
import engine
from engine.diagnosis.diagnose import diagnose
from engine.runs.record import run_from_check
from engine.runs.store import RunStore
store = RunStore({url!r})
problem = engine.make_problem((3, 5, 3), m=5, seed=0, lamb=1.0)
result = engine.check_problem(problem, ["sigmoid-sign-flip"])
def run(title):
    return run_from_check(result, diagnose(result), title=title, kind="scenario", settings={{}})
for i in range(3):
    store.save(run(f"kept {{i}}"))
@event.listens_for(store.engine, "commit")
def stall(connection):  # the fourth save is written, not yet committed, when killed
    open({marker!r}, "w").close()
    time.sleep(60)
store.save(run("lost"))
"""


def test_a_process_killed_during_a_save_loses_nothing_saved_before(tmp_path):
    url = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    marker = tmp_path / "in-commit"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), url=url, marker=str(marker))],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, child.stderr.read().decode()
            assert time.monotonic() < deadline, "the child never reached its fourth save"
            time.sleep(0.05)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    reopened = RunStore(url)
    assert sorted(r.title for r in reopened.list()) == ["kept 0", "kept 1", "kept 2"]
    assert all(reopened.get(r.id).verdict == "fail" for r in reopened.list())
    with reopened.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"


def test_the_schema_is_versioned_migrated_and_a_newer_one_left_alone(sqlite_url, monkeypatch):
    RunStore(sqlite_url).close()
    calls = []
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 3)
    monkeypatch.setattr(store_module, "MIGRATIONS", {2: lambda connection: calls.append(2)})
    migrated = RunStore(sqlite_url)
    with migrated.engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM gradscope_schema")).scalar() == 3
    RunStore(sqlite_url).close()
    assert calls == [2]  # once, not at every opening
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 2)
    with pytest.raises(NewerSchema, match="schema 3; this GradScope knows up to 2"):
        RunStore(sqlite_url)


def schema_1_database(url: str, run) -> None:
    """A database as the first saved-runs release left it: no team column, version 1."""
    from sqlalchemy import Column, MetaData, Table, create_engine, insert

    def columns(table, leave_out=()):
        return [
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in table.columns
            if c.name not in leave_out
        ]

    old = MetaData()
    table = Table("gradscope_runs", old, *columns(store_module.runs_table, ("team", "other_files")))
    schema = Table("gradscope_schema", old, *columns(store_module.schema_table))
    engine_ = create_engine(url)
    with engine_.begin() as connection:
        old.create_all(connection)
        connection.execute(insert(schema).values(version=1))
        connection.execute(insert(table).values(**store_module._row(run)))
    engine_.dispose()


def test_a_schema_1_database_gains_teams_and_keeps_its_runs(store):
    url = store.url.render_as_string(hide_password=False)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TABLE gradscope_runs"))
        connection.execute(text("DROP TABLE gradscope_schema"))
    old_run, _ = founding_run(title="saved before teams")
    schema_1_database(url, old_run)
    migrated = RunStore(url)
    with migrated.engine.connect() as connection:
        assert connection.execute(text("SELECT version FROM gradscope_schema")).scalar() == 2
    assert migrated.get(old_run.id).title == "saved before teams"
    assert migrated.get(old_run.id).other_files == {}
    key = new_team_key()
    new_run, _ = founding_run(title="saved by a team")
    migrated.save(new_run, team=key)
    assert [r.title for r in migrated.list(team=key)] == ["saved by a team"]
    assert [r.title for r in migrated.list(ids=[old_run.id])] == ["saved before teams"]
    migrated.close()


def test_a_listing_by_team_or_ids_shows_only_those_runs(store):
    ours, theirs = new_team_key(), new_team_key()
    saved = {}
    for title, team in (("ours", ours), ("theirs", theirs), ("nobody's", None)):
        saved[title] = founding_run(title=title)[0]
        store.save(saved[title], team=team)
    assert {r.title for r in store.list()} == {"ours", "theirs", "nobody's"}  # the URL's holder
    assert [r.title for r in store.list(team=ours)] == ["ours"]
    assert [r.title for r in store.list(team=new_team_key())] == []
    assert [r.title for r in store.list(ids=[saved["nobody's"].id])] == ["nobody's"]
    assert {r.title for r in store.list(team=ours, ids=[saved["nobody's"].id])} == {
        "ours",
        "nobody's",
    }
    assert store.list(ids=[]) == [] and store.list(ids=["' OR 1=1 --"]) == []
    listed = {r.title: r.filed_under_team for r in store.list(team=ours, ids=[saved["theirs"].id])}
    assert listed == {"ours": True, "theirs": False}
    assert [r.title for r in store.list(team=theirs, verdict="fail")] == ["theirs"]


def test_a_team_key_is_stored_only_as_its_hash_and_a_guessable_one_is_refused(store):
    key = new_team_key()
    run, _ = founding_run()
    store.save(run, team=key)
    with store.engine.connect() as connection:
        stored = connection.execute(text("SELECT team FROM gradscope_runs")).scalar_one()
    assert stored == team_tag(key) and key not in stored and len(stored) == 64
    for guessable in ("team", "1234567890", "", "our team key with spaces", "x" * 65):
        with pytest.raises(BadTeamKey, match="could be guessed"):
            store.save(founding_run()[0], team=guessable)
        with pytest.raises(BadTeamKey):
            store.list(team=guessable)
    assert store.count() == 1


def test_the_location_is_the_file_or_the_url_without_its_password(tmp_path):
    path = tmp_path / "team" / "runs.sqlite"
    assert RunStore(f"sqlite:///{path}").location == str(path.resolve())
    url = store_module.make_url("postgresql+psycopg://me:secret@db.example:5432/runs")
    shown = url.render_as_string(hide_password=True)
    assert "secret" not in shown and "db.example" in shown


def test_the_default_database_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GRADSCOPE_RUNS_URL", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert store_module.default_url() == f"sqlite:///{tmp_path / 'gradscope' / 'runs.sqlite'}"
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", "sqlite:///elsewhere.sqlite")
    assert store_module.default_url() == "sqlite:///elsewhere.sqlite"
    monkeypatch.setenv("GRADSCOPE_RUN_LIMIT_MB", "2")
    assert store_module.default_limit() == 2 * 1024**2
    assert store_module.default_quota() == 4 * 1024**3
    monkeypatch.setenv("GRADSCOPE_RUNS_QUOTA_MB", "512")
    assert store_module.default_quota() == 512 * 1024**2


def test_stored_arrays_are_never_unpickled(store):
    run, _ = founding_run()
    store.save(run)
    with store.engine.connect() as connection:
        blob = connection.execute(
            text("SELECT arrays FROM gradscope_runs WHERE id = :id"), {"id": run.id}
        ).scalar()
    assert bytes(blob[:2]) == b"PK"  # an .npz, read with allow_pickle=False
    assert json.loads(json.dumps(store.get(run.id).check)) == run.check


def test_the_founding_fix_compared_stops_every_theta2_divergence():
    from engine.runs.compare import compare_runs

    buggy, buggy_result = founding_run(title="before")
    fixed, _ = founding_run(bugs=(), title="after")
    comparison = compare_runs(buggy, fixed)
    assert comparison.same_layout
    np.testing.assert_array_equal(comparison.stopped, np.flatnonzero(buggy_result.diverging))
    assert comparison.started.size == 0
    theta2 = comparison.arrays.set_index("array").loc["Theta2"]
    assert theta2["diverging before"] == 18 and theta2["diverging after"] == 0
    assert theta2["relative difference after"] < 1e-9 < theta2["relative difference before"]
    assert comparison.error_change[1].shape == (3, 6)
    assert (comparison.error_change[1] < -5).all()  # every Theta2 entry's error fell
    assert comparison.describe() == "fail -> pass. 18 entries stopped diverging, 0 started."


def test_the_code_diff_shows_the_fixed_line():
    from dataclasses import replace

    from engine.runs.compare import code_diff

    buggy, _ = founding_run(title="before")
    fixed, _ = founding_run(bugs=(), title="after")
    buggy = replace(buggy, code="def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n")
    fixed = replace(fixed, code="def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n")
    diff = code_diff(buggy, fixed)
    assert "-    return 1 / (1 + np.exp(z))" in diff and "+    return 1 / (1 + np.exp(-z))" in diff
    assert code_diff(replace(buggy, code=None), replace(fixed, code=None)) == ""


def test_the_report_and_json_of_a_code_run_carry_its_code_and_link():
    from dataclasses import replace

    from presentation.exports import run_document
    from presentation.report import build_report

    run, result = founding_run()
    run = replace(run, kind="code", code="def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n")
    link = f"http://localhost:8501/?run={run.id}"
    report = build_report(
        None, result, run.finding_objects(), source=run.code, source_name="nn.py", run_link=link
    )
    assert f"Saved run: <a href='{link}'>" in report
    assert "<h2>The code: nn.py</h2>" in report
    assert "2 |     return 1 / (1 + np.exp(z))" in report
    document = run_document(run, link)
    assert document["code"] == run.code and document["link"] == link
    assert (
        json.loads(json.dumps(document))["gradients"]["analytic"] == run.arrays["analytic"].tolist()
    )


def test_an_uploads_other_files_are_kept_and_diffed_by_path(store):
    from engine.runs.compare import code_diff

    result = founding_run()[1]
    helpers = {"nn/activations.py": "def sigmoid(z):\n    return 1 / (1 + np.exp(z))\n"}
    fixed_helpers = {"nn/activations.py": "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))\n"}
    before, after = (
        run_from_check(
            result,
            [],
            title=title,
            kind="code",
            settings={},
            code="from nn.activations import sigmoid\n",
            other_files=files,
        )
        for title, files in (("before", helpers), ("after", fixed_helpers))
    )
    store.save(before)
    assert store.get(before.id).other_files == helpers
    diff = code_diff(before, after)
    assert "--- before/nn/activations.py" in diff
    assert "-    return 1 / (1 + np.exp(z))" in diff and "+    return 1 / (1 + np.exp(-z))" in diff


def test_ids_and_team_keys_never_start_with_a_dash_a_command_line_reads_as_an_option(
    monkeypatch,
):
    from engine.runs import record

    for make in (record.new_run_id, new_team_key):
        drawn = iter(["-starts-with-a-dash-xx", "Fine_and-22-chars-long"])
        monkeypatch.setattr(record.secrets, "token_urlsafe", lambda n, drawn=drawn: next(drawn))
        assert make() == "Fine_and-22-chars-long"
