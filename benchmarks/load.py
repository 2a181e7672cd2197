"""Concurrent sessions against a real `streamlit run app.py`, over Streamlit's own websocket.

    python benchmarks/load.py                       # 1, 5, 10, 20 sessions, think 0.5-1 s
    python benchmarks/load.py --sessions 20 --think 0,0          # no think time: saturation
    python benchmarks/load.py --query 'sizes=25-25-10&m=50'      # a mid-size scenario
    python benchmarks/load.py --repo /tmp/copy --servers 2       # two servers, sticky proxy
    python benchmarks/load.py --attach 8501 --pid 1234           # a server you started

For each level the script starts a fresh server on 127.0.0.1 (a free port; `--servers K`
starts K servers and the sticky reverse proxy of `load_proxy.py` in front of them), warms
it with one session per server that visits each page, then runs N sessions at once. Each
session speaks the browser's protocol on /_stcore/stream: BackMsg `rerun_script` (page,
query string, sidebar widget states, the hashes of the big messages it already holds, as
the frontend does) and waits for the `script_finished` ForwardMsg. A session opens a page
(sessions start together unless `--ramp S` spreads them), then alternates "toggle a bug in
the sidebar" (a widget-state change, so a new scenario) and "switch to another page" among
Overview, Gradient check and Bug lab, thinking `--think LO,HI` seconds (uniform) between
reruns. Latency is send -> script_finished; "p95 st" leaves out each session's first load.

Errors: exception elements, st.error messages, compile errors, disconnects, reruns
without script_finished within `--timeout`, sessions that could not connect; the exit
status is 1 if there was any. Bounded: `--reruns` per session, `--level-cap` seconds per
level, `--time-cap` seconds in all; only 127.0.0.1 is ever contacted, and every server
is stopped by PID when its level ends (also on errors, Ctrl-C and SIGTERM). Peak RSS is
the sum of VmHWM of the server processes and their children (and the proxy); CPU is
their CPU-seconds per wall second (1.00 = one core busy). The load generator's own CPU
and every other process's ("other CPU", from /proc/stat) are shown too: they share the
machine's cores, so a busy machine inflates the latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from tornado.httpclient import HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
PAGES = ("Overview", "Gradient check", "Bug lab")
PAGE_PATHS = {"Overview": "", "Gradient check": "Gradient_check", "Bug lab": "Bug_lab"}
FINISHED_EARLY = ForwardMsg.ScriptFinishedStatus.FINISHED_EARLY_FOR_RERUN
COMPILE_ERROR = ForwardMsg.ScriptFinishedStatus.FINISHED_WITH_COMPILE_ERROR
MAX_CACHED_AGE = 2  # the frontend's message cache: runs a cached message survives unused
TOGGLE = 1  # Checkbox.StyleType.TOGGLE
SIDEBAR = 1  # delta_path[0]: 0 the main area, 1 the sidebar
ALERT_ERROR = 1  # Alert.Format.ERROR


# ---------------------------------------------------------------- server processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def proc_tree(pid: int) -> list[int]:
    """`pid` and its descendants (from /proc, no psutil needed)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, and cutime, cstime: the children it has reaped (a finished code run)
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU-seconds the cores spent busy since boot: user, nice, system, irq, softirq."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks[:7]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def hwm_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Watched:
    """A serving process (and its children): CPU seconds and peak memory, from /proc."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak = 0

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in proc_tree(self.pid))

    def sample_memory(self) -> None:
        self.peak = max(self.peak, sum(hwm_bytes(p) for p in proc_tree(self.pid)))


class Server(Watched):
    """`streamlit run app.py` from `repo`, on 127.0.0.1; the Popen PID is the server."""

    def __init__(self, repo: Path, extra: list[str], log: Path):
        self.port = free_port()
        cmd = [
            sys.executable, "-m", "streamlit", "run", "app.py",
            "--server.headless", "true",
            "--server.port", str(self.port),
            "--server.address", HOST,
            "--browser.gatherUsageStats", "false",
            *extra,
        ]  # fmt: skip
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(
            cmd, cwd=repo, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        super().__init__(self.proc.pid)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://{HOST}:{self.port}/_stcore/health"
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # no env proxy
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.proc.returncode}; see {self.log.name}"
                )
            try:
                with direct.open(url, timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server not ready after {timeout:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        """SIGTERM the server's children and the server by PID; SIGKILL after 10 s."""
        if self.proc.poll() is None:
            for pid in reversed(proc_tree(self.pid)):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                for pid in reversed(proc_tree(self.pid)):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.proc.wait(timeout=10)
        self.log.close()


class Proxy(Watched):
    """The sticky reverse proxy of load_proxy.py in its own process (PID kept, stopped by PID)."""

    def __init__(self, ports: list[int], log: Path):
        self.port = free_port()
        cmd = [sys.executable, str(Path(__file__).with_name("load_proxy.py")), str(self.port)]
        cmd += [str(p) for p in ports]
        self.log = open(log, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        super().__init__(self.proc.pid)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((HOST, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("proxy not ready")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


# ---------------------------------------------------------------- one browser session


@dataclass
class Rerun:
    kind: str
    page: str
    seconds: float
    ok: bool
    nbytes: int


@dataclass
class SessionResult:
    reruns: list[Rerun] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Session:
    """A browser tab, reduced to what the server sees of it."""

    def __init__(self, port: int, use_msg_cache: bool, query: str = ""):
        self.url = f"ws://{HOST}:{port}/_stcore/stream"
        self.first_query = query  # the link the tab was opened with (the app reads it once)
        self.ws = None
        self.pages: dict[str, str] = {}  # page name -> page_script_hash
        self.page_hash = ""
        self.query_string = ""
        self.toggles: dict[str, tuple[str, bool]] = {}  # label -> (widget id, value)
        self.use_msg_cache = use_msg_cache
        self.cache: dict[str, int] = {}  # message hash -> run index last seen
        self.runs = 0
        self.exceptions: list[str] = []
        self.finished: asyncio.Future | None = None
        self.nbytes = 0
        self.reader: asyncio.Task | None = None

    async def connect(self, timeout: float) -> None:
        request = HTTPRequest(self.url, connect_timeout=timeout, request_timeout=timeout)
        self.ws = await asyncio.wait_for(
            websocket_connect(request, subprotocols=["streamlit"], max_message_size=2**28),
            timeout,
        )
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            data = await self.ws.read_message()
            if data is None:  # closed by the server
                if self.finished and not self.finished.done():
                    self.finished.set_exception(ConnectionError("websocket closed"))
                return
            self.nbytes += len(data)
            msg = ForwardMsg()
            msg.ParseFromString(data)
            self._handle(msg)

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if msg.metadata.cacheable and msg.hash:
            self.cache[msg.hash] = self.runs
        if kind == "ref_hash":
            self.cache[msg.ref_hash] = self.runs
        elif kind == "navigation":  # the pages (v1 pages/ folder, as st.navigation)
            nav = msg.navigation
            for p in nav.app_pages:
                self.pages["Overview" if p.is_default else p.page_name] = p.page_script_hash
            self.page_hash = nav.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            if etype == "exception":
                self.exceptions.append(f"{element.exception.type}: {element.exception.message}")
            elif etype == "alert" and element.alert.format == ALERT_ERROR:  # st.error
                self.exceptions.append(f"st.error: {element.alert.body}")
            elif (
                etype == "checkbox"
                and element.checkbox.type == TOGGLE
                and msg.metadata.delta_path[:1] == [SIDEBAR]
            ):
                box = element.checkbox
                value = box.value if box.set_value else box.default
                self.toggles[box.label] = (box.id, value)
        elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
            self.exceptions.append("compile error")
        elif kind == "script_finished" and msg.script_finished != FINISHED_EARLY:
            self.runs += 1
            self.cache = {h: r for h, r in self.cache.items() if self.runs - r <= MAX_CACHED_AGE}
            if msg.script_finished == COMPILE_ERROR:
                self.exceptions.append("compile error")
            if self.finished and not self.finished.done():
                self.finished.set_result(msg.script_finished)

    async def rerun(self, timeout: float, page: str | None = None, widgets=()) -> int:
        """Send rerun_script (a page switch when `page` is given); bytes received until done."""
        back = BackMsg()
        state = back.rerun_script
        if page is not None:  # a page link: new page, the frontend drops the query string
            if page in self.pages:
                state.page_script_hash = self.pages[page]
            else:  # first load, before the navigation message named the pages: the URL
                state.page_name = PAGE_PATHS[page]
                state.query_string = self.first_query
        else:
            state.page_script_hash = self.page_hash
            state.query_string = self.query_string
        for widget_id, value in widgets:
            ws = state.widget_states.widgets.add()
            ws.id = widget_id
            ws.bool_value = value
        if self.use_msg_cache:
            state.cached_message_hashes.extend(self.cache)
        loop = asyncio.get_running_loop()
        self.finished = loop.create_future()
        before = self.nbytes
        await self.ws.write_message(back.SerializeToString(), binary=True)
        await asyncio.wait_for(asyncio.shield(self.finished), timeout)
        return self.nbytes - before

    def toggle_states(self, flip_label: str) -> list[tuple[str, bool]]:
        """Every sidebar toggle's state (as the frontend sends all), one of them flipped."""
        return [
            (wid, (not value) if label == flip_label else value)
            for label, (wid, value) in self.toggles.items()
        ]

    def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.reader is not None:
            self.reader.cancel()


async def run_session(index: int, port: int, args, deadline: float, seed: int) -> SessionResult:
    rng = random.Random(seed * 1000 + index)
    result = SessionResult()
    if args.ramp > 0:  # visitors arrive spread over the ramp, not all at once
        await asyncio.sleep(args.ramp * index / max(1, args.n_sessions))
    session = Session(port, not args.no_msg_cache, args.query)
    page = PAGES[index % len(PAGES)]
    try:
        try:
            await session.connect(args.timeout)
        except (OSError, asyncio.TimeoutError) as error:
            result.errors.append(f"connect: {error!r}")
            return result
        for step in range(args.reruns):
            if time.monotonic() >= deadline:
                break
            if step == 0:
                kind, kwargs = "open", {"page": page}
            elif step % 2 == 1 and session.toggles:
                label = rng.choice(sorted(session.toggles))
                kind, kwargs = "toggle", {"widgets": session.toggle_states(label)}
            else:
                page = rng.choice([p for p in PAGES if p != page])
                kind, kwargs = "switch", {"page": page}
            seen = len(session.exceptions)
            start = time.perf_counter()
            try:
                nbytes = await session.rerun(args.timeout, **kwargs)
                ok = True
            except asyncio.TimeoutError:
                result.errors.append(f"timeout after {args.timeout:g} s ({kind} {page})")
                ok, nbytes = False, 0
            except (ConnectionError, WebSocketClosedError) as error:
                result.errors.append(f"disconnected ({kind} {page}): {error!r}")
                return result
            seconds = time.perf_counter() - start
            for text in session.exceptions[seen:]:
                result.errors.append(f"exception ({kind} {page}): {text[:200]}")
                ok = False
            result.reruns.append(Rerun(kind, page, seconds, ok, nbytes))
            if not ok:
                return result  # a broken session stops here (counted as an error)
            lo, hi = args.think
            await asyncio.sleep(rng.uniform(lo, hi))
    finally:
        session.close()
    return result


# ---------------------------------------------------------------- one load level


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


async def sample_memory(servers: list[Watched], stop: asyncio.Event) -> None:
    while not stop.is_set():
        for s in servers:
            s.sample_memory()
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


async def run_level(n: int, port: int, servers: list[Watched], args, deadline: float) -> dict:
    """N sessions at once against 127.0.0.1:port; `servers` are the processes measured."""
    if args.warmup:  # one session visiting each page: imports and first-run caches
        warm = argparse.Namespace(**{**vars(args), "reruns": 6, "think": (0.0, 0.0), "ramp": 0.0})
        # one per server at once: the proxy's least-connections rule spreads them
        await asyncio.gather(
            *(run_session(i, port, warm, deadline, seed=999) for i in range(args.servers))
        )
    stop = asyncio.Event()
    sampler = asyncio.ensure_future(sample_memory(servers, stop))
    cpu0 = sum(s.cpu() for s in servers)
    own0 = sum(os.times()[:2])
    busy0 = machine_busy_seconds()
    wall0 = time.perf_counter()
    level_deadline = min(deadline, time.monotonic() + args.level_cap)
    args = argparse.Namespace(**{**vars(args), "n_sessions": n})
    tasks = [
        asyncio.ensure_future(run_session(i, port, args, level_deadline, args.seed))
        for i in range(n)
    ]
    done, pending = await asyncio.wait(
        tasks, timeout=max(0.0, level_deadline - time.monotonic()) + args.timeout
    )
    for t in pending:
        t.cancel()
    wall = time.perf_counter() - wall0
    cpu = sum(s.cpu() for s in servers) - cpu0
    own = sum(os.times()[:2]) - own0
    other = machine_busy_seconds() - busy0 - cpu - own
    stop.set()
    await sampler
    results = [t.result() for t in done if not t.cancelled() and t.exception() is None]
    errors = [e for r in results for e in r.errors]
    errors += [f"session crashed: {t.exception()!r}" for t in done if t.exception() is not None]
    errors += ["session cut by the time cap"] * len(pending)
    reruns = [x for r in results for x in r.reruns if x.ok]
    secs = [x.seconds for x in reruns]
    by_kind = {
        k: round(percentile([x.seconds for x in reruns if x.kind == k], 95), 3)
        for k in ("open", "toggle", "switch")
    }
    by_page = {
        p: round(percentile([x.seconds for x in reruns if x.page == p], 95), 3) for p in PAGES
    }
    return {
        "sessions": n,
        "reruns": len(reruns),
        "p50": percentile(secs, 50),
        "p95": percentile(secs, 95),
        "p95_steady": percentile([x.seconds for x in reruns if x.kind != "open"], 95),
        "max": max(secs, default=float("nan")),
        "errors": len(errors),
        "error_samples": errors[:5],
        "peak_rss_mb": sum(s.peak for s in servers) / 2**20,
        "server_cpu": cpu / wall,
        "cpu_ms_per_rerun": 1000 * cpu / len(reruns) if reruns else float("nan"),
        "client_cpu": own / wall,
        "other_cpu": max(0.0, other / wall),
        "throughput": len(reruns) / wall,
        "kb_per_rerun": statistics.mean([x.nbytes for x in reruns]) / 1024 if reruns else 0,
        "p95_by_kind": by_kind,
        "p95_by_page": by_page,
        "wall": wall,
    }


def start_servers(args, logdir: Path) -> tuple[list[Server], Proxy | None, int]:
    """K servers on free ports (and the proxy when K > 1); stops what started on failure."""
    servers: list[Server] = []
    proxy = None
    try:
        for k in range(args.servers):
            servers.append(Server(args.repo, args.server_arg, logdir / f"server-{k}.log"))
        for s in servers:
            s.wait_ready(args.start_timeout)
        if args.servers > 1:
            proxy = Proxy([s.port for s in servers], logdir / "proxy.log")
            proxy.wait_ready(10)
    except BaseException:
        for s in servers:
            s.stop()
        if proxy is not None:
            proxy.stop()
        raise
    return servers, proxy, proxy.port if proxy else servers[0].port


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", default="1,5,10,20", help="levels, comma-separated")
    parser.add_argument("--reruns", type=int, default=12, help="reruns per session")
    parser.add_argument(
        "--think", default="0.5,1.0", help="think time LO,HI seconds (uniform); 0,0 for none"
    )
    parser.add_argument(
        "--ramp", type=float, default=0.0, help="spread session starts over this many s"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="per rerun, seconds")
    parser.add_argument("--level-cap", type=float, default=240.0, help="seconds per level")
    parser.add_argument("--time-cap", type=float, default=1200.0, help="seconds in all")
    parser.add_argument("--start-timeout", type=float, default=60.0)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the app's folder")
    parser.add_argument("--servers", type=int, default=1, help=">1: sticky proxy in front")
    parser.add_argument(
        "--server-arg", action="append", default=[], help="extra flag for streamlit run"
    )
    parser.add_argument(
        "--attach", type=int, metavar="PORT", help="use a running server on 127.0.0.1:PORT"
    )
    parser.add_argument(
        "--pid", type=int, action="append", default=[], help="with --attach: PIDs to measure"
    )
    parser.add_argument(
        "--query", default="", help="the link's query string, e.g. 'sizes=25-25-10&m=50'"
    )
    parser.add_argument("--no-msg-cache", action="store_true", help="send no cached hashes")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--logdir", type=Path, default=Path("/tmp/gradscope-load"))
    args = parser.parse_args()
    args.think = tuple(float(x) for x in args.think.split(","))
    if len(args.think) != 2 or not all(0 <= t <= 60 for t in args.think):
        parser.error("--think is LO,HI with 0 <= LO, HI <= 60 seconds")
    if not 0 <= args.ramp <= 600:
        parser.error("--ramp is 0..600 seconds")
    levels = [int(x) for x in args.sessions.split(",")]
    if not (1 <= args.reruns <= 1000 and all(1 <= n <= 200 for n in levels)):
        parser.error("reruns must be 1..1000 and sessions 1..200")
    if not 1 <= args.servers <= 8:
        parser.error("servers must be 1..8")
    args.logdir.mkdir(parents=True, exist_ok=True)
    # SIGTERM unwinds like Ctrl-C, so the `finally` below still stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    deadline = time.monotonic() + args.time_cap

    print(
        f"GradScope load: {f'127.0.0.1:{args.attach}' if args.attach else args.repo}, "
        f"{args.servers} server(s), {args.reruns} reruns per "
        f"session, think {args.think[0]:g}-{args.think[1]:g} s, {os.cpu_count()} CPUs, "
        f"load average before {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    for n in levels:
        if time.monotonic() >= deadline:
            print(f"time cap reached; {n} sessions not run")
            break
        if args.attach:  # a server the caller runs (state and caches carry over levels)
            servers, proxy, port = [], None, args.attach
            watched: list[Watched] = [Watched(p) for p in args.pid]
        else:
            servers, proxy, port = start_servers(args, args.logdir)
            watched = [*servers, *([proxy] if proxy else [])]
        pids = ", ".join(str(w.pid) for w in watched)
        print(f"  {n} sessions: server PID {pids or '?'}, port {port}", flush=True)
        try:
            row = asyncio.run(run_level(n, port, watched, args, deadline))
        finally:
            if proxy is not None:
                proxy.stop()
            for s in servers:
                s.stop()
        row["loadavg"] = os.getloadavg()[0]
        rows.append(row)
        print(
            f"  {n:3d} sessions: p50 {row['p50']:.2f} s, p95 {row['p95']:.2f} s, "
            f"{row['errors']} errors, {row['reruns']} reruns, CPU {row['server_cpu']:.2f}",
            flush=True,
        )
        for e in row["error_samples"]:
            print(f"      {e}")

    print()
    head = (
        f"{'sessions':>8} {'reruns':>6} {'p50 s':>6} {'p95 s':>6} {'p95 st':>6} {'max s':>6} "
        f"{'errors':>6} {'peak RSS':>9} {'server CPU':>10} {'client CPU':>10} "
        f"{'other CPU':>9} {'ms CPU/rerun':>12} {'reruns/s':>8} {'KB/rerun':>8}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['sessions']:>8} {r['reruns']:>6} {r['p50']:>6.2f} {r['p95']:>6.2f} "
            f"{r['p95_steady']:>6.2f} "
            f"{r['max']:>6.2f} {r['errors']:>6} {r['peak_rss_mb']:>6.0f} MB "
            f"{r['server_cpu']:>10.2f} {r['client_cpu']:>10.2f} {r['other_cpu']:>9.2f} "
            f"{r['cpu_ms_per_rerun']:>12.0f} "
            f"{r['throughput']:>8.1f} "
            f"{r['kb_per_rerun']:>8.0f}"
        )
    print("\np95 by rerun kind and by page (s):")
    for r in rows:
        print(f"  {r['sessions']:>3}: {r['p95_by_kind']}  {r['p95_by_page']}")
    print(
        "p95 st: p95 without each session's first page load (the opening burst when --ramp is 0)."
    )
    print(
        "CPU: CPU-seconds per wall second (1.00 = one core); 'other' is every other "
        "process on the machine during the level (noise: the cores are shared)."
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "args": {
                        **vars(args),
                        "repo": str(args.repo),
                        "json": str(args.json),
                        "logdir": str(args.logdir),
                    },
                    "rows": rows,
                },
                indent=1,
            )
        )
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
