"""Dask: the serial numbers exactly, schedulers only from server configuration, clear
errors, finished steps kept when workers are lost, a local cluster that stays harmless."""

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster, get_task_stream

import engine
from engine.diagnosis.seed_matrix import bug_seed_matrix
from engine.gradcheck.distributed import parallel_loop_gradient
from engine.gradcheck.sweep import default_eps_grid, epsilon_sweep
from engine.runners.cluster import (
    SCHEDULER_VARIABLE,
    DaskUnavailable,
    LocalClusterProcess,
    SweepIncomplete,
    configured_scheduler,
    dask_client,
    epsilon_sweep_steps,
    parallel_epsilon_sweep,
)
from engine.runners.sandbox import ENABLE_VARIABLE
from engine.scenario.settings import Scenario
from tests.app_helpers import open_page, plotly_figures, start_app, texts, trace_values
from tests.seed_code import make_seed_functions
from ui import cache

ROOT = Path(__file__).resolve().parents[1]
GRID = [1e-2, 1e-4, 1e-6]
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def client():
    with dask_client(processes=False, workers=2) as c:
        yield c


@pytest.fixture(scope="module")
def tcp_cluster():
    """An in-process cluster reachable like a real one: over TCP on 127.0.0.1."""
    with LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    ) as cluster:
        yield cluster


@pytest.fixture
def silent_port():
    """A 127.0.0.1 port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted = []

    def accept():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()
    for connection in accepted:
        connection.close()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def failing_at(bad_eps):
    """A sweep step that raises for one eps (a closure, so Dask ships it by value)."""

    def step(problem, bugs, grid):
        if grid[0] == bad_eps:
            raise ValueError(f"no luck at {bad_eps:g}")
        return epsilon_sweep(problem, bugs, grid)

    return step


def killing_its_worker_at(bad_eps):
    """A sweep step whose worker process dies mid-task at one eps."""

    def step(problem, bugs, grid):
        if grid[0] == bad_eps:
            os._exit(1)
        return epsilon_sweep(problem, bugs, grid)

    return step


# --- the same numbers -------------------------------------------------------------------


def test_black_box_numerical_gradient_equals_the_serial_loop(client, seed_problem):
    compute_cost, _ = make_seed_functions(buggy_sigmoid=True)
    p = seed_problem
    args = (p.X, p.y, 3, 5, 3, p.lamb)

    def J(t):
        return compute_cost(t, *args)

    serial = engine.loop_gradient(J, p.theta)
    np.testing.assert_array_equal(parallel_loop_gradient(J, p.theta, client, chunks=5), serial)


def test_checker_settings_travel_to_the_workers(client, seed_problem):
    impl = engine.implementation_with(["forward-difference", "numgrad-skips-first"])

    def J(t):
        return engine.cost(t, seed_problem, impl)

    serial = engine.loop_gradient(J, seed_problem.theta, 1e-4, impl.stencil, 1)
    parallel = parallel_loop_gradient(J, seed_problem.theta, client, 1e-4, impl.stencil, 1)
    np.testing.assert_array_equal(parallel, serial)


def test_progress_reaches_the_total(client, seed_problem):
    seen = []
    parallel_loop_gradient(
        lambda t: engine.cost(t, seed_problem),
        seed_problem.theta,
        client,
        progress=lambda d, n: seen.append((d, n)),
    )
    assert seen[-1] == (38, 38)


def test_epsilon_sweep_equals_the_serial_sweep(client, seed_problem):
    serial = epsilon_sweep(seed_problem, ["sigmoid-sign-flip"], GRID)
    parallel = parallel_epsilon_sweep(seed_problem, client, ["sigmoid-sign-flip"], GRID)
    pd.testing.assert_frame_equal(parallel, serial)


def test_bug_by_seed_matrix_equals_the_serial_one_and_names_every_bug(client):
    serial = bug_seed_matrix(range(3))
    parallel = bug_seed_matrix(range(3), client=client)
    pd.testing.assert_frame_equal(parallel, serial)
    assert serial["named_first"].all()


# --- schedulers come from the server's configuration only --------------------------------


def test_dask_is_off_when_no_scheduler_is_configured(monkeypatch):
    monkeypatch.delenv(SCHEDULER_VARIABLE, raising=False)
    assert configured_scheduler() is None


def test_dask_is_off_when_user_code_is_off_even_with_a_scheduler_configured(monkeypatch):
    monkeypatch.setenv(SCHEDULER_VARIABLE, "local")
    monkeypatch.setenv(ENABLE_VARIABLE, "off")
    assert configured_scheduler() is None


@pytest.mark.parametrize(
    "setting, scheduler",
    [("local", "local"), (" LOCAL ", "local"), ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786")],
)
def test_the_configured_scheduler_is_local_or_the_operators_address(
    monkeypatch, setting, scheduler
):
    monkeypatch.setenv(SCHEDULER_VARIABLE, setting)
    monkeypatch.setenv(ENABLE_VARIABLE, "on")
    assert configured_scheduler() == scheduler


# --- connecting fails with a message, in seconds ------------------------------------------


def test_a_port_that_accepts_but_never_answers_is_a_clear_error(silent_port):
    with pytest.raises(DaskUnavailable, match="accepted the connection but did not answer"):
        with dask_client(f"tcp://127.0.0.1:{silent_port}", timeout=1):
            pass


def test_a_port_where_nothing_listens_is_a_clear_error():
    with pytest.raises(DaskUnavailable, match="nothing answered"):
        with dask_client(f"tcp://127.0.0.1:{closed_port()}", timeout=1):
            pass


@pytest.mark.parametrize("address", ["scheduler-without-port", "http://127.0.0.1:8786"])
def test_an_address_that_is_not_a_dask_address_is_a_clear_error(address):
    with pytest.raises(DaskUnavailable, match="not a usable Dask address"):
        with dask_client(address, timeout=1):
            pass


def test_connection_errors_do_not_show_the_schedulers_address(silent_port):
    with pytest.raises(DaskUnavailable) as error:
        with dask_client(f"tcp://127.0.0.1:{silent_port}", timeout=1):
            pass
    assert str(silent_port) not in str(error.value)


# --- lost steps cost only themselves ------------------------------------------------------


def test_a_failing_step_is_reported_and_every_other_step_is_handed_over(client, seed_problem):
    steps = list(epsilon_sweep_steps(seed_problem, client, (), GRID, step=failing_at(1e-4)))
    finished = {s.eps for s in steps if s.rows is not None}
    failed = {s.eps: s.error for s in steps if s.rows is None}
    assert finished == {1e-2, 1e-6}
    assert list(failed) == [1e-4] and "no luck" in failed[1e-4]


def test_an_incomplete_sweep_raises_with_its_finished_steps_in_serial_order(client, seed_problem):
    with pytest.raises(SweepIncomplete) as error:
        parallel_epsilon_sweep(seed_problem, client, (), GRID, step=failing_at(1e-4))
    assert list(error.value.missing) == [1e-4]
    pd.testing.assert_frame_equal(error.value.done, epsilon_sweep(seed_problem, (), [1e-2, 1e-6]))


def test_a_worker_killed_mid_sweep_loses_no_finished_step(monkeypatch, seed_problem):
    monkeypatch.setenv("DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES", "0")
    cluster = LocalClusterProcess()
    try:
        with dask_client(cluster.address(workers=2)) as c:
            steps = list(
                epsilon_sweep_steps(
                    seed_problem, c, (), GRID, timeout=120, step=killing_its_worker_at(1e-4)
                )
            )
    finally:
        cluster.stop()
    kept = {s.eps: s.rows for s in steps if s.rows is not None}
    lost = {s.eps: s.error for s in steps if s.rows is None}
    assert list(lost) == [1e-4] and "worker was lost" in lost[1e-4]
    for eps, rows in kept.items():
        pd.testing.assert_frame_equal(rows, epsilon_sweep(seed_problem, (), [eps]))


# --- the local cluster: a child of its own ------------------------------------------------


def run_parent(tmp_path, body: str, timeout=120) -> subprocess.Popen:
    """A Python program whose __main__ prints a line at import, like Streamlit's page."""
    script = tmp_path / "parent.py"
    script.write_text("print('MAIN RAN', flush=True)\n" + textwrap.dedent(body))
    return subprocess.Popen(
        [sys.executable, str(script)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def test_local_cluster_workers_do_not_run_the_callers_main_module(tmp_path):
    parent = run_parent(
        tmp_path,
        """
        from engine.runners.cluster import dask_client
        from engine.network.model import make_problem
        from engine.runners.cluster import parallel_epsilon_sweep
        with dask_client("local") as client:
            parallel_epsilon_sweep(make_problem((3, 5, 3), 5, 0, 1.0), client, (), [1e-4])
        print("DONE", flush=True)
        """,
    )
    output, _ = parent.communicate(timeout=120)
    assert "DONE" in output
    assert output.count("MAIN RAN") == 1


def wait_for_exit(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or " Z" in _state(pid):
            return True
        time.sleep(0.2)
    return False


def _state(pid: int) -> str:
    try:
        return " " + Path(f"/proc/{pid}/stat").read_text().split(") ")[1][:1]
    except OSError:
        return " Z"


def test_the_local_cluster_ends_when_its_server_is_killed(tmp_path):
    parent = run_parent(
        tmp_path,
        """
        import time
        from engine.runners.cluster import LOCAL_CLUSTER
        LOCAL_CLUSTER.address()
        print("CLUSTER", LOCAL_CLUSTER.pid, flush=True)
        time.sleep(120)
        """,
    )
    cluster_pid = None
    for line in parent.stdout:  # bounded: the parent ends within 120 s
        if line.startswith("CLUSTER"):
            cluster_pid = int(line.split()[1])
            break
    workers = subprocess.run(
        ["pgrep", "-P", str(cluster_pid)], capture_output=True, text=True
    ).stdout.split()
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=10)
    assert wait_for_exit(cluster_pid, 30)
    assert all(wait_for_exit(int(pid), 30) for pid in workers)


def test_the_local_cluster_ends_when_stopped():
    cluster = LocalClusterProcess()
    cluster.address(workers=1)
    pid = cluster.pid
    cluster.stop()
    assert wait_for_exit(pid, 30)


# --- the app: a choice, never an address --------------------------------------------------


@pytest.fixture
def fresh_cache():
    cache.store().clear()
    yield
    cache.store().clear()


def epsilon_page(monkeypatch, scheduler: str | None, bugs=("sigmoid-sign-flip",)):
    if scheduler is None:
        monkeypatch.delenv(SCHEDULER_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(SCHEDULER_VARIABLE, scheduler)
    monkeypatch.setenv(ENABLE_VARIABLE, "on")
    at = start_app()
    for bug in bugs:
        at.sidebar.toggle(key=f"bug-{bug}").set_value(True).run()
    return open_page(at, "epsilon")


def test_without_a_configured_scheduler_the_page_offers_no_dask_choice(monkeypatch):
    at = epsilon_page(monkeypatch, None)
    assert not [r for r in at.radio if r.key == "eps-dask"]
    assert "Dask is not set up on this server" in texts(at)


@pytest.mark.parametrize("page", ["epsilon", "code"])
def test_no_page_has_a_field_for_a_scheduler_address(monkeypatch, page):
    monkeypatch.setenv(SCHEDULER_VARIABLE, "local")
    at = open_page(start_app(), page)
    assert not [t for t in at.text_input if "dask" in (t.key or "").lower()]
    assert not [t for t in at.text_input if "address" in t.label.lower()]


def test_with_a_configured_scheduler_the_sweep_runs_there_with_the_same_curves(
    monkeypatch, tcp_cluster, fresh_cache
):
    at = epsilon_page(monkeypatch, tcp_cluster.scheduler_address)
    serial = plotly_figures(at)[0]["data"]
    cache.store().clear()
    with dask_client(tcp_cluster.scheduler_address) as observer, get_task_stream(observer) as ts:
        at.radio(key="eps-dask").set_value("cluster").run()
    assert not at.exception
    assert len(ts.data) == len(default_eps_grid())
    spread = plotly_figures(at)[0]["data"]
    assert [t.get("y") for t in spread] == [t.get("y") for t in serial]


def test_an_unreachable_scheduler_is_a_message_and_the_finished_steps_are_drawn(
    monkeypatch, fresh_cache
):
    at = epsilon_page(monkeypatch, f"tcp://127.0.0.1:{closed_port()}")  # serial: every step
    key = cache.scenario_key(Scenario(bugs=("sigmoid-sign-flip",)))
    for eps in (1e-3, 1e-7):
        cache.store().discard(("sweep", key, eps))
    at.radio(key="eps-dask").set_value("cluster").run()
    assert not at.exception
    assert "Could not connect to the Dask scheduler" in texts(at)
    assert "1e-03, 1e-07" in texts(at)
    assert len(trace_values(plotly_figures(at)[0]["data"][0], "x")) == len(default_eps_grid()) - 2


def test_a_rerun_computes_only_the_missing_steps(monkeypatch, tcp_cluster, fresh_cache):
    at = epsilon_page(monkeypatch, tcp_cluster.scheduler_address)
    key = cache.scenario_key(Scenario(bugs=("sigmoid-sign-flip",)))
    for eps in (1e-3, 1e-7):
        cache.store().discard(("sweep", key, eps))
    monkeypatch.setenv(SCHEDULER_VARIABLE, f"tcp://127.0.0.1:{closed_port()}")
    at.radio(key="eps-dask").set_value("cluster").run()
    monkeypatch.setenv(SCHEDULER_VARIABLE, tcp_cluster.scheduler_address)
    with dask_client(tcp_cluster.scheduler_address) as observer, get_task_stream(observer) as ts:
        at.button(key="eps-retry").click().run()
    assert not at.exception
    assert len(ts.data) == 2
    assert "missing" not in texts(at)


def test_after_an_incomplete_sweep_reruns_wait_for_the_button_to_try_again(
    monkeypatch, fresh_cache
):
    at = epsilon_page(monkeypatch, f"tcp://127.0.0.1:{closed_port()}")
    key = cache.scenario_key(Scenario(bugs=("sigmoid-sign-flip",)))
    cache.store().discard(("sweep", key, 1e-3))
    at.radio(key="eps-dask").set_value("cluster").run()
    at.run()
    assert "Could not connect" not in texts(at)
    assert "Press the button below to compute them" in texts(at)
    assert at.button(key="eps-retry")
