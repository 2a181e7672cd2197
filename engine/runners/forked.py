"""The exact check's loop over entries, spread over forked copies of the child.

After the user's module has run, its whole state (arrays, data, model objects, open
helper modules) lives in the sandboxed child. `os.fork` gives each worker an identical
copy, which moves its own share of the entries in place, reads the loss, and sends the
values back on a pipe; nothing has to be pickled or re-run, and the user's code needs
no change. The workers are the child's own processes, inside the same sandbox and
limits (processes and memory of the whole run, CPU seconds per process, the wall
clock).

Serial instead where forking cannot pay or is unsafe: a loop shorter than MIN_SECONDS,
one core, or a library whose thread pools do not survive a fork (FORK_UNSAFE: JAX,
TensorFlow, PyTorch) already imported by the user's code. While the workers run, each
process (this one included) keeps NumPy's BLAS to its share of the cores
(threadpoolctl, where installed), so a vectorised loss does not run cores x workers
threads. What a worker prints is not kept (only the child's own output is).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import struct
import sys
from collections.abc import Callable

import numpy as np

FORK_UNSAFE = ("jax", "jaxlib", "tensorflow", "torch")
MAX_WORKERS = 4
MIN_SECONDS = 0.5  # a loop shorter than this is not worth a fork
_LENGTH = struct.Struct("<Q")


class WorkerFailure(Exception):
    """An exception raised in a worker, carried back: its type's name, its text, the
    user's line where it happened and its notes (the entry being moved)."""

    def __init__(self, type_name: str, text: str, line: int | None, notes: list[str]):
        super().__init__(text)
        self.type_name = type_name
        self.line = line
        self.__notes__ = list(notes)


def worker_count(entries: int, seconds_per_entry: float) -> int:
    """How many processes share the loop: 1 (serial) unless it is long enough, there
    are cores for it, and no fork-unsafe library is loaded."""
    if any(name in sys.modules for name in FORK_UNSAFE):
        return 1
    cores = _cores()
    if entries * seconds_per_entry < MIN_SECONDS:
        return 1
    return max(1, min(MAX_WORKERS, cores, entries // 2))


def forked_map(
    compute: Callable[[np.ndarray, Callable | None], np.ndarray],
    indices: np.ndarray,
    workers: int,
    progress: Callable[[int, int], None] | None,
    locate: Callable[[BaseException], int | None],
) -> np.ndarray:
    """`compute(chunk, progress)` over `indices` cut into `workers` chunks, the first
    in this process (reporting progress, scaled to the whole), the others in forked
    workers; the results stacked in the indices' order. A worker's exception is raised
    here as WorkerFailure (or ContractError-like, by its type's name) after every worker
    has been reaped."""
    chunks = np.array_split(np.asarray(indices), workers)
    total = len(indices)

    def scaled(done: int, _count: int) -> None:
        if progress is not None:
            progress(min(total - 1, done * workers), total)

    with _blas_share(workers):
        children = [_start(compute, chunk, locate) for chunk in chunks[1:]]
        try:
            first = compute(chunks[0], scaled)
        except BaseException:  # this share failed or was refused: the others are moot
            for pid, _ in children:
                _kill(pid)
            raise
        finally:
            results = [_collect(pid, fd) for pid, fd in children]
    for result in results:
        if isinstance(result, WorkerFailure):
            raise result
    if progress is not None:
        progress(total, total)
    return np.concatenate([first, *results]) if results else first


def _blas_share(workers: int):
    """BLAS threads limited to this process's share of the cores (forked workers inherit
    the limit), or nothing where threadpoolctl is not installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=max(1, _cores() // workers), user_api="blas")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _start(compute, chunk: np.ndarray, locate) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker: compute, send, and leave without running any cleanup
        os.close(read_end)
        status = 0
        try:
            try:
                payload = ("ok", compute(chunk, None))
            except BaseException as error:  # noqa: BLE001 - carried back to the parent
                notes = [str(n) for n in getattr(error, "__notes__", [])]
                payload = ("error", type(error).__name__, str(error)[:4000], locate(error), notes)
            data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(_LENGTH.pack(len(data)) + data)
        except BaseException:  # noqa: BLE001 - nothing may escape a forked worker
            status = 1
        finally:
            os._exit(status)
    os.close(write_end)
    return pid, read_end


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _collect(pid: int, fd: int):
    """The worker's array, or a WorkerFailure; the worker is always reaped."""
    try:
        with os.fdopen(fd, "rb") as pipe:
            header = pipe.read(_LENGTH.size)
            data = pipe.read(_LENGTH.unpack(header)[0]) if len(header) == _LENGTH.size else b""
    finally:
        _, status = os.waitpid(pid, 0)
    if not data:
        return WorkerFailure(
            "WorkerDied",
            f"a worker process ended without its results (wait status {status})",
            None,
            [],
        )
    payload = pickle.loads(data)  # noqa: S301 - our own worker, forked from this process
    if payload[0] == "ok":
        return payload[1]
    _, type_name, text, line, notes = payload
    return WorkerFailure(type_name, text, line, notes)
