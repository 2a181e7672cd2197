"""Server memory over many distinct scenarios: does the byte-bounded cache hold a ceiling?

    python benchmarks/memory_ceiling.py [--scenarios 1000] [--max-seconds 1800]

Drives the real pages in Streamlit's AppTest, so this process is the server: the same
page scripts and the same `ui.cache` store a `streamlit run` server uses, shared by all
sessions. One session visits distinct scenarios one after another (mostly small and
mid-size networks, one in twenty (`--big-share`) of 100k to 300k parameters with the
exact check asked for), mostly on the Gradient check page (check, diagnosis, heatmaps,
scatter, table: the most memory per scenario), some on the Overview, Bug lab and
Epsilon pages.
Prints this process's resident memory (VmRSS) and its peak (VmHWM) from
/proc/self/status as it goes, then the peak and final values. The cache budget is
GRADSCOPE_CACHE_MB (default 512); `--budget-mb` sets it for this run. Bounded by
`--scenarios` and `--max-seconds` (it stops early, saying how many it ran).
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = {
    "check": "pages/1_Gradient_check.py",
    "overview": "app.py",
    "bugs": "pages/2_Bug_lab.py",
    "epsilon": "pages/3_Epsilon.py",
}
BUG_CHOICES = ((), ("sigmoid-sign-flip",), ("bias-regularized",), ("numgrad-skips-first",))


def status_kb() -> dict[str, int]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0])
    return fields


def draw_scenarios(n: int, seed: int = 0, big_share: float = 0.05):
    """(page, scenario) pairs, all scenarios distinct (each has its own seed)."""
    from engine.scenario.settings import Scenario

    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind = rng.random()
        if kind < big_share:  # big: 100k to 300k parameters
            inputs, hidden = rng.choice([(400, 250), (500, 300), (784, 300), (1000, 300)])
            sizes, m, page = (inputs, hidden, 10), 100, "check"
        elif kind < big_share + 0.4:  # mid: about 2k to 25k parameters
            sizes = (rng.randint(100, 400), rng.randint(10, 60), 10)
            m, page = rng.randint(20, 100), rng.choice(["check"] * 4 + ["overview", "bugs"])
        else:  # small
            sizes = tuple(rng.randint(2, 30) for _ in range(rng.randint(2, 4)))
            m = rng.randint(3, 50)
            page = rng.choice(["check"] * 3 + ["overview", "bugs", "epsilon"])
        out.append(
            (page, Scenario(layer_sizes=sizes, m=m, seed=1000 + i, bugs=rng.choice(BUG_CHOICES)))
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scenarios", type=int, default=1000)
    parser.add_argument("--max-seconds", type=float, default=1800.0)
    parser.add_argument("--budget-mb", type=float, default=None)
    parser.add_argument("--every", type=int, default=100, help="print a line every N scenarios")
    parser.add_argument(
        "--big-share",
        type=float,
        default=0.05,
        help="fraction of big scenarios (1 = the issue's 'many mid-size checks' case)",
    )
    args = parser.parse_args(argv)
    if args.budget_mb is not None:
        os.environ["GRADSCOPE_CACHE_MB"] = str(args.budget_mb)

    from streamlit.testing.v1 import AppTest

    from ui import cache
    from ui.frame import SETTINGS_KEY, settings_of

    scenarios = draw_scenarios(max(0, min(args.scenarios, 100_000)), big_share=args.big_share)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    start_kb = status_kb()["VmRSS"]
    print(
        f"cache budget: {cache.cache_budget_bytes() / 2**20:.0f} MB; "
        f"after start-up: RSS {start_kb / 1024:.0f} MB"
    )
    print(
        f"{'scenarios':>9} {'seconds':>8} {'RSS MB':>8} {'peak MB':>8} "
        f"{'cache MB':>9} {'entries':>8} {'evicted':>8}"
    )
    started, done, errors, page_now = time.monotonic(), 0, 0, "overview"
    for page, scenario in scenarios:
        if time.monotonic() - started > args.max_seconds:
            print(f"stopped after {args.max_seconds:g} s")
            break
        if page != page_now:
            at.switch_page(PAGES[page])
            page_now = page
        at.session_state[SETTINGS_KEY] = settings_of(scenario)
        at.run()
        exact = [b for b in at.button if b.label == "Run the exact check"]
        if exact:
            exact[0].click()
            at.run()
        errors += bool(at.exception) or bool(at.error)
        done += 1
        if done % args.every == 0 or done == len(scenarios):
            report(done, started, cache)
    gc.collect()
    kb = status_kb()
    print(
        f"ran {done} scenarios in {time.monotonic() - started:.0f} s, "
        f"{errors} with an error or exception; "
        f"peak RSS {kb['VmHWM'] / 1024:.0f} MB, final RSS {kb['VmRSS'] / 1024:.0f} MB "
        f"(start-up {start_kb / 1024:.0f} MB)"
    )
    return 0


def report(done: int, started: float, cache) -> None:
    kb = status_kb()
    store = cache.store() if hasattr(cache, "store") else None
    held = (
        f"{store.nbytes / 2**20:>9.0f} {len(store):>8} {store.evictions:>8}"
        if store
        else f"{'-':>9} {'-':>8} {'-':>8}"
    )
    print(
        f"{done:>9} {time.monotonic() - started:>8.0f} {kb['VmRSS'] / 1024:>8.0f} "
        f"{kb['VmHWM'] / 1024:>8.0f} {held}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
