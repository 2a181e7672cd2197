"""How long the Gradient check page's script run takes, cold and warm (AppTest, one process).

    python benchmarks/page_speed.py

Cold: a scenario never seen by this process (check, diagnosis and figures computed; above
200k parameters the fast screen runs first). Exact: then pressing "Run the exact check".
Warm: the same scenario again (cached results and figures).
Toggle: a view-only widget changed (the 'only diverging rows' filter).
Each is the best of `--repeat` runs; budgets from issue 3: 0.3 s (3-5-3), 2 s (400-25-10).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from engine.scenario.settings import Scenario  # noqa: E402
from ui.frame import SETTINGS_KEY, settings_of  # noqa: E402

CASES = [
    ("3-5-3, m = 5 (default)", Scenario(), 0.3),
    ("400-25-10, m = 100", Scenario(layer_sizes=(400, 25, 10), m=100), 2.0),
    ("1000-990-10, m = 100 (1M)", Scenario(layer_sizes=(1000, 990, 10), m=100), None),
]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(scenario: Scenario, repeat: int) -> dict:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()
    at.switch_page("pages/1_Gradient_check.py")
    cold, exact = [], []
    for seed in range(repeat):
        fresh = Scenario(**{**scenario.__dict__, "seed": 100 + seed})  # never cached yet
        at.session_state[SETTINGS_KEY] = settings_of(fresh)
        cold.append(timed(at.run))
        on_demand = [b for b in at.button if b.label == "Run the exact check"]
        if on_demand:  # big networks: the fast screen came first
            on_demand[0].click()
            exact.append(timed(at.run))
    assert not at.exception, at.exception
    warm = [timed(at.run) for _ in range(repeat)]
    flips = []
    for _ in range(repeat):
        toggle = at.toggle(key="only-diverging")
        toggle.set_value(not toggle.value)
        flips.append(timed(at.run))
    return {
        "cold": min(cold),
        "exact": min(exact) if exact else None,
        "warm": min(warm),
        "toggle": min(flips),
    }


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"{'scenario':<28}{'cold s':>9}{'exact s':>9}{'warm s':>9}{'toggle s':>10}{'budget s':>10}"
    )
    for name, scenario, budget in CASES:
        t = measure(scenario, args.repeat)
        shown = f"{budget:>10.1f}" if budget else f"{'-':>10}"
        exact = f"{t['exact']:>9.3f}" if t["exact"] is not None else f"{'-':>9}"
        print(f"{name:<28}{t['cold']:>9.3f}{exact}{t['warm']:>9.3f}{t['toggle']:>10.3f}{shown}")


if __name__ == "__main__":
    main()
