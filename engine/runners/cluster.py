"""Spreading slow work over cores or machines with Dask, with the serial numbers exactly.

Where each cost evaluation is slow (a user's black-box code) or there are many
independent checks (an epsilon sweep, a bug-by-seed matrix), the work is split into
tasks on a `dask.distributed` cluster. Each task computes exactly what the serial code
computes for its part, so results are equal bit for bit.

Dask clients unpickle what a scheduler sends back, so connecting to a scheduler means
trusting it with the server: which scheduler the app uses is server configuration only
(`GRADSCOPE_DASK_SCHEDULER`), never anything a visitor types.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import ctypes
import logging
import os
import queue
import re
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.gradcheck.sweep import combine_sweeps, default_eps_grid, epsilon_sweep
from engine.runners.sandbox import code_execution_enabled

SCHEDULER_VARIABLE = "GRADSCOPE_DASK_SCHEDULER"
LOCAL_SCHEDULER = "local"  # the setting's value for "a local cluster run by this server"
CONNECT_SECONDS = 5.0  # a scheduler that has not answered by then is not coming
LOCAL_START_SECONDS = 90.0  # a cold start of two spawned workers on a busy 2-core machine
SWEEP_SECONDS = 600.0  # with every worker gone, tasks would wait for new ones forever
ROOT = Path(__file__).resolve().parents[2]
LOCAL_ADDRESS = re.compile(r"tcp://127\.0\.0\.1:\d{1,5}")
PR_SET_PDEATHSIG = 1
logger = logging.getLogger(__name__)


class DaskUnavailable(RuntimeError):
    """Dask could not be reached or started: shown as a message, never a traceback.

    The text names no address (visitors read it; the scheduler's address is the
    operator's); the server log has the details.
    """


def configured_scheduler() -> str | None:
    """The Dask scheduler set up by the operator: "local", an address, or None (Dask off).

    Off with user code off: a shared server's operator who switched user code off
    expects no code path that runs work outside the check process, Dask's included.
    """
    value = os.environ.get(SCHEDULER_VARIABLE, "").strip()
    if not value or not code_execution_enabled():
        return None
    return LOCAL_SCHEDULER if value.lower() == LOCAL_SCHEDULER else value


@contextlib.contextmanager
def dask_client(
    address: str | None = None,
    processes: bool = True,
    workers: int | None = None,
    timeout: float = CONNECT_SECONDS,
):
    """A client to the cluster at `address`, to this server's local cluster ("local"), or
    to a new in-process-owned local cluster (None; closed afterwards).

    "local" starts (once per process) a cluster in a child process of its own, because
    workers spawned from inside Streamlit re-import the page script as `__main__`.
    None suits short-lived programs (the CLI, tests): `processes=False` keeps the
    workers in this process. Raises DaskUnavailable when nothing usable answers.
    """
    from distributed import Client, LocalCluster

    if address == LOCAL_SCHEDULER:
        address = LOCAL_CLUSTER.address(workers)
    if address:
        client = _connect(address, timeout)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=processes,
        host="127.0.0.1" if processes else None,  # in-process workers talk "inproc"
        dashboard_address="127.0.0.1:0",  # None would still serve HTTP, on 8787 if free
    )
    with cluster, Client(cluster) as client:
        yield client


def _connect(address: str, timeout: float):
    """A Client, or DaskUnavailable within about `timeout` seconds.

    `Client(address, timeout=...)` bounds the TCP connect but not the handshake read that
    follows, so a port that accepts and never answers would hang the page for good: a
    bounded handshake of our own comes first.
    """
    from distributed import Client

    try:
        if not address.startswith("inproc://"):
            asyncio.run(_handshake(address, timeout))
        return Client(address, timeout=timeout, set_as_default=False)
    except (asyncio.TimeoutError, TimeoutError) as error:
        logger.warning("Dask scheduler %s did not answer: %r", address, error)
        reason = "it accepted the connection but did not answer"
    except OSError as error:
        logger.warning("Dask scheduler %s unreachable: %r", address, error)
        reason = "nothing answered"
    except (ValueError, TypeError) as error:
        logger.warning("Dask scheduler address %r unusable: %r", address, error)
        raise DaskUnavailable(
            "The configured Dask scheduler's address is not a usable Dask address."
        ) from None
    raise DaskUnavailable(
        f"Could not connect to the Dask scheduler within {timeout:g} s: {reason}."
    )


async def _handshake(address: str, timeout: float) -> None:
    from distributed.comm import connect
    from distributed.security import Security

    args = Security().get_connection_args("client")  # TLS from Dask's config, if any
    # `connect` retries a refused port until its own timeout (an OSError); the second
    # after it bounds the handshake read, which `connect` leaves unbounded
    comm = await asyncio.wait_for(connect(address, timeout=timeout, **args), timeout + 1)
    await comm.close()


class LocalClusterProcess:
    """This server's local Dask cluster, in a child process started on first use.

    Workers spawned from inside Streamlit re-import the page script as `__main__`
    (every worker re-ran app.py, about 800 warning lines); in a child of its own their
    `__main__` is this module, which does nothing on import. One per server process, so
    sessions share it. It ends with the server: at exit (atexit), and when the server
    dies without exiting (a parent-death signal, and end of file on the child's stdin).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._address: str | None = None

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def address(self, workers: int | None = None) -> str:
        """The scheduler's address on 127.0.0.1, starting the cluster if none is running."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._address = self._start(workers or os.cpu_count() or 1)
            return self._address

    def stop(self) -> None:
        with self._lock:
            process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()  # the child closes its workers, then exits
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def _start(self, workers: int) -> str:
        command = [sys.executable, "-m", "engine.runners.cluster", "--workers", str(workers)]
        command += ["--parent", str(os.getpid())]
        env = dict(os.environ)
        env.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")  # no INFO lines in the app's log
        started: queue.Queue = queue.Queue(maxsize=1)

        def keep() -> None:
            # The parent-death signal fires when the thread that started the child ends,
            # not the process: Streamlit's script threads end after every run, so the
            # child is started from this thread, which lives as long as the child.
            try:
                process = subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    start_new_session=True,  # a terminal's Ctrl-C goes to the server only
                )
            except OSError as error:
                started.put(error)
                return
            started.put(process)
            process.wait()

        threading.Thread(target=keep, name="gradscope-local-dask", daemon=True).start()
        process = started.get(timeout=60)
        if isinstance(process, OSError):
            logger.warning("could not start the local Dask cluster: %r", process)
            raise DaskUnavailable("Could not start the local Dask cluster.")
        self._process = process
        line = _read_line(process.stdout, LOCAL_START_SECONDS)
        process.stdout.close()
        if not LOCAL_ADDRESS.fullmatch(line):
            self._process = None
            process.kill()
            logger.warning("local Dask cluster did not start; it printed %r", line[:200])
            raise DaskUnavailable(
                f"The local Dask cluster did not start within {LOCAL_START_SECONDS:g} s."
            )
        return line


LOCAL_CLUSTER = LocalClusterProcess()
atexit.register(LOCAL_CLUSTER.stop)


def _read_line(stream, seconds: float) -> str:
    """The first line a child prints, waiting at most `seconds` (it may never print)."""
    deadline, data = time.monotonic() + seconds, b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while b"\n" not in data and len(data) < 1024:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                break
            chunk = os.read(stream.fileno(), 1024)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n")[0].decode(errors="replace").strip()


def serve_local_cluster(argv=None) -> int:
    """The local cluster's child process: start it, print its address, wait for the end.

    It ends on SIGTERM (the server's atexit, or the parent-death signal) or when its
    stdin reaches end of file (the server is gone, however it died).
    """
    parser = argparse.ArgumentParser(prog="python -m engine.runners.cluster", description=__doc__)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--parent", type=int, default=None, help="the server's process id")
    args = parser.parse_args(argv)
    stopping = []

    def stop(*_) -> None:
        stopping.append(True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    _end_with_parent(args.parent)
    address_out = os.dup(1)
    os.dup2(2, 1)  # the workers inherit stdout: a pipe nobody reads would fill and block them

    from distributed import LocalCluster

    with LocalCluster(
        n_workers=max(1, args.workers),
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",  # None would still serve HTTP, on 8787 if free
    ) as cluster:
        os.write(address_out, f"{cluster.scheduler_address}\n".encode())
        os.close(address_out)
        threading.Thread(target=_stop_at_end_of_stdin, daemon=True).start()
        while not stopping:
            signal.pause()
    return 0


def _end_with_parent(parent: int | None) -> None:
    with contextlib.suppress(OSError, AttributeError):  # Linux only
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if parent is not None and os.getppid() != parent:  # it died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def _stop_at_end_of_stdin() -> None:
    with contextlib.suppress(OSError):
        while os.read(0, 1024):  # the server never writes: this returns b"" when it is gone
            pass
    os.kill(os.getpid(), signal.SIGTERM)


@dataclass(frozen=True, eq=False)
class SweepStep:
    """One eps of a sweep run on Dask: its rows, or why it is missing."""

    eps: float
    rows: pd.DataFrame | None
    error: str | None = None


class SweepIncomplete(RuntimeError):
    """Some eps steps could not be computed; the finished ones travel with the error."""

    def __init__(self, done: pd.DataFrame | None, missing: dict[float, str]):
        self.done, self.missing = done, missing
        steps = ", ".join(f"{eps:.0e} ({why})" for eps, why in missing.items())
        super().__init__(f"{len(missing)} eps step(s) missing: {steps}")


def epsilon_sweep_steps(
    problem,
    client,
    bugs=(),
    eps_grid=None,
    timeout: float = SWEEP_SECONDS,
    step: Callable = epsilon_sweep,
) -> Iterator[SweepStep]:
    """One Dask task per eps, each step handed over as soon as it ends, failed or not.

    A lost worker or a failing task costs only its own steps: the caller keeps (and can
    cache) every finished one. With no worker left, tasks would wait forever: after
    `timeout` seconds the unfinished steps are reported missing. `step` is what each
    task runs (tests put a failing one there).
    """
    from distributed import as_completed

    grid = default_eps_grid() if eps_grid is None else np.asarray(eps_grid, float)
    if grid.size == 0:
        return
    try:
        problem_remote = client.scatter(problem, broadcast=True, hash=False)
    except (TimeoutError, OSError, ValueError) as error:
        logger.warning("could not send the problem to Dask workers: %r", error)
        raise DaskUnavailable("The Dask cluster has no worker to run the sweep.") from None
    pending = {
        client.submit(step, problem_remote, tuple(bugs), [float(eps)], pure=False): float(eps)
        for eps in grid
    }
    deadline = time.monotonic() + timeout
    try:
        for future in as_completed(list(pending), loop=client.loop, timeout=timeout):
            eps = pending.pop(future)
            rows, error = _step_outcome(future, max(1.0, deadline - time.monotonic()))
            yield SweepStep(eps, rows, error)
    except TimeoutError:
        for eps in sorted(pending.values(), reverse=True):
            yield SweepStep(eps, None, f"not finished within {timeout:g} s")
    finally:  # also when the caller stops early (a Streamlit rerun): free the workers
        if pending and client.status == "running":
            client.cancel(list(pending))


def _step_outcome(future, seconds: float) -> tuple[pd.DataFrame | None, str | None]:
    from concurrent.futures import CancelledError

    from distributed.scheduler import KilledWorker

    try:
        return future.result(timeout=seconds), None
    except KilledWorker:
        return None, "its worker was lost while running it"
    except CancelledError:
        return None, "it was cancelled (its worker or its input was lost)"
    except TimeoutError:
        return None, "its result could not be fetched in time"
    except Exception as error:  # noqa: BLE001 - any task failure becomes a missing step
        return None, f"{type(error).__name__}: {str(error)[:200]}"


def parallel_epsilon_sweep(
    problem,
    client,
    bugs=(),
    eps_grid=None,
    timeout: float = SWEEP_SECONDS,
    step: Callable = epsilon_sweep,
) -> pd.DataFrame:
    """`epsilon_sweep`, one task per eps (each task runs every curve for its eps).

    Raises SweepIncomplete, holding the finished steps, when some could not be computed.
    """
    grid = default_eps_grid() if eps_grid is None else np.asarray(eps_grid, float)
    rows, missing = {}, {}
    for outcome in epsilon_sweep_steps(problem, client, bugs, grid, timeout, step):
        if outcome.rows is not None:
            rows[outcome.eps] = outcome.rows
        else:
            missing[outcome.eps] = outcome.error
    done = combine_sweeps([rows[float(e)] for e in grid if float(e) in rows]) if rows else None
    if missing:
        raise SweepIncomplete(done, dict(sorted(missing.items(), reverse=True)))
    return done


if __name__ == "__main__":
    sys.exit(serve_local_cluster())
