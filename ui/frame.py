"""The frame every page shares: page config, navigation, the scenario sidebar, bad input.

Pages use Streamlit's `pages/` folder (DESIGN.md section 7: st.navigation with a
`pages/` folder misbehaves in 1.67), so each page calls `frame()` first.

The sidebar's settings live in one plain session-state dict, `SETTINGS_KEY`, holding
exactly what the user typed (so a bad value is shown back, never lost). Widgets are
views of it: each run writes the stored value into the widget's key before drawing
it, and the widget's on_change writes the new value back. Plain keys survive page
switches (widget keys do not), so every page sees the same scenario.
"""

from __future__ import annotations

import math
import random

import streamlit as st

from engine.bugs.catalogue import BUGS, SEED_BUGS, WHERE, WHERE_TITLES
from engine.network.pieces import HIDDEN_ACTIVATIONS
from engine.scenario.clamp import (
    Wording,
    clamped_number,
    finite_number,
    known_activation,
    known_bugs,
)
from engine.scenario.parse import parse_layer_sizes
from engine.scenario.settings import LIMITS, Scenario
from engine.scenario.workload import WorkTooLarge, check_workload
from ui import cache, linked_run, runs, share

SETTINGS_KEY = "scenario-settings"
AUTO = "auto"
EPS_CHOICES = tuple(float(f"{m}e-{k}") for k in range(1, 14) for m in (3, 1) if (m, k) != (3, 1))
THRESHOLD_CHOICES = (AUTO, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8)
PAGES = (
    ("app.py", "Overview", ":material/home:"),
    ("pages/1_Gradient_check.py", "Gradient check", ":material/grid_on:"),
    ("pages/2_Bug_lab.py", "Bug lab", ":material/bug_report:"),
    ("pages/3_Epsilon.py", "Epsilon", ":material/show_chart:"),
    ("pages/4_Training.py", "Training", ":material/model_training:"),
    ("pages/5_Your_code.py", "Your code", ":material/code:"),
    (runs.RUNS_PAGE, "Runs", ":material/history:"),
)
# The work each page runs beyond one exact check (engine.scenario.workload.WORKS), by page title.
# Training checks its own work once its settings are chosen (`within_limits`).
PAGE_WORK = {"Bug lab": "bug-lab", "Epsilon": "sweep"}


def bug_key(bug_id: str) -> str:
    return f"bug-{bug_id}"


def settings_of(scenario: Scenario) -> dict:
    """The sidebar's stored settings that show `scenario`."""
    return {
        "sizes": "-".join(map(str, scenario.layer_sizes)),
        "m": scenario.m,
        "seed": scenario.seed,
        "lamb": scenario.lamb,
        "eps": _nearest(EPS_CHOICES, scenario.eps),
        "activation": scenario.activation,
        "threshold": AUTO
        if scenario.threshold is None
        else _nearest(THRESHOLD_CHOICES[1:], scenario.threshold),
        "bugs": list(scenario.bugs),
    }


def _nearest(choices, value: float) -> float:
    return min(choices, key=lambda c: abs(math.log10(c) - math.log10(value)))


def settings() -> dict:
    """The current settings (created with the defaults on a session's first run)."""
    if SETTINGS_KEY not in st.session_state:
        st.session_state[SETTINGS_KEY] = settings_of(Scenario())
    return st.session_state[SETTINGS_KEY]


# The sidebar's notices name a setting as it is stored: "m = 0 is outside 1..100000".
_WORDING = Wording(
    not_a_number="{name} = {value} is not a number; using {default}.",
    not_whole="{name} = {value} is not a whole number; using {default}.",
    outside="{name} = {value} is outside {low}..{high}; using {kept}.",
    unknown_activation="activation {value} is unknown; using {default}.",
    unknown_bugs="unknown bug id(s) ignored: {ids}.",
    quote=repr,
    listing=lambda ids: ", ".join(map(repr, ids)),
)


def sanitize_settings(values: dict) -> tuple[dict, list[str]]:
    """Settings every widget can show, and a notice for each value that had to change.

    Widgets refuse values outside their options or range, so anything that did not
    come from a widget passes through here first: the scenario's own bounds
    (`engine.scenario.clamp`, as for links and files), then eps and the threshold
    snapped to the values their widgets offer. The layer sizes stay as typed: their
    own validation explains what is wrong.
    """
    defaults, notices, clean = settings_of(Scenario()), [], {}
    clean["sizes"] = str(values.get("sizes", defaults["sizes"]))[:200]
    for name in ("m", "seed", "lamb"):
        clean[name] = clamped_number(values.get(name, defaults[name]), name, _WORDING, notices)
    clean["eps"] = _choice(values.get("eps"), EPS_CHOICES, defaults["eps"], "eps", notices)
    threshold = values.get("threshold", AUTO)
    clean["threshold"] = (
        AUTO
        if threshold in (AUTO, None)
        else _choice(threshold, THRESHOLD_CHOICES[1:], AUTO, "threshold", notices)
    )
    clean["activation"] = known_activation(
        values.get("activation", defaults["activation"]), _WORDING, notices
    )
    bugs = values.get("bugs", [])
    bugs = bugs if isinstance(bugs, (list, tuple)) else [bugs]
    clean["bugs"] = list(known_bugs(bugs, _WORDING, notices))
    return clean, notices


def _choice(value, choices, default, name: str, notices: list) -> float:
    """The value itself if offered, the nearest choice if it is a positive number."""
    number = finite_number(value)
    if number is not None and number in choices:
        return number
    if number is None or number <= 0:
        notices.append(f"{name} = {value!r} must be a positive number; using {default}.")
        return default
    nearest = _nearest(choices, number)
    notices.append(f"{name} = {value!r} is not offered; using the nearest, {nearest:.0e}.")
    return nearest


def update_settings(**changes) -> None:
    settings().update(changes)


def load_scenario(scenario: Scenario) -> None:
    """Show `scenario` in the sidebar; say so if eps or the threshold had to be rounded."""
    st.session_state[SETTINGS_KEY] = sidebar_values(scenario)


def sidebar_values(scenario: Scenario) -> dict:
    """The sidebar's settings showing `scenario`, with a notice for a rounded eps or
    threshold (the sidebar offers a fixed set of each)."""
    values = settings_of(scenario)
    if values["eps"] != scenario.eps:
        share.add_notices(
            [f"eps {scenario.eps:g} is not offered; using the nearest, {values['eps']:.0e}."]
        )
    if scenario.threshold is not None and values["threshold"] != scenario.threshold:
        share.add_notices(
            [
                f"threshold {scenario.threshold:g} is not offered; using the nearest, "
                f"{values['threshold']:.0e}."
            ]
        )
    return values


def load_seed_scenario() -> None:
    load_scenario(Scenario(bugs=SEED_BUGS))


def set_bug(bug_id: str, on: bool) -> None:
    bugs = [b for b in settings()["bugs"] if b != bug_id] + ([bug_id] if on else [])
    update_settings(bugs=[b for b in BUGS if b in bugs])


def flip_bug(bug_id: str) -> None:
    set_bug(bug_id, bug_id not in settings()["bugs"])


def scenario_from_settings(values: dict) -> Scenario:
    """Validate the stored settings; ValueError names the first bad one."""
    threshold = values["threshold"]
    return Scenario.create(
        layer_sizes=parse_layer_sizes(values["sizes"]),
        m=values["m"],
        seed=values["seed"],
        lamb=values["lamb"],
        eps=values["eps"],
        activation=values["activation"],
        threshold=None if threshold == AUTO else threshold,
        bugs=values["bugs"],
    )


def frame(
    page_title: str, icon: str = ":material/troubleshoot:", work: str | None = None
) -> Scenario:
    """Configure the page, draw navigation and the scenario sidebar, return the scenario.

    Invalid or too-large settings get a clear message in the page and stop the run
    (never a traceback); the sidebar keeps what the user typed. Every page runs one
    exact check (its downloads and restores do), and `work` (by default PAGE_WORK's
    entry for the title) is what else the page runs: it must fit the same limits.
    """
    st.set_page_config(page_title=f"{page_title} · GradScope", page_icon=icon, layout="wide")
    share.read_url_once(load_scenario)
    run = enter_linked_run()
    clean, notices = sanitize_settings(settings())
    st.session_state[SETTINGS_KEY] = clean
    share.show_notices("Some settings were adjusted:", share.take_notices() + notices)
    top = st.container()  # the run's banner, drawn once the sidebar's scenario is known
    with st.sidebar:
        _navigation()
        _scenario_controls(settings())
    try:
        scenario = scenario_from_settings(settings())
    except ValueError as error:
        if run:
            with top:
                linked_run.banner(run, page_title, None)
        share.literal_alert(
            "error", "Please fix the scenario in the sidebar.", str(error), ":material/error:"
        )
        st.stop()
    if run:
        with top:
            linked_run.banner(run, page_title, scenario)
    work = PAGE_WORK.get(page_title, "check") if work is None else work
    if not within_limits(scenario) or (work != "check" and not within_limits(scenario, work)):
        st.stop()
    share.write_url(scenario, run.id if run else None)
    if share.RESTORE_CHECK_KEY in st.session_state:
        share.confirm_restored(cache.check_result(scenario))
    with st.sidebar:
        share.share_panel(scenario, load_scenario, in_run=run is not None)
        runs.database_note(linked_run.link_params())
    return scenario


def enter_linked_run(show_errors: bool = True):
    """The saved run the address names (`?run=ID`), or None for live checks.

    Entering a run loads the scenario it was checked on into the sidebar (a scenario
    run's, or the problem a code run was given), so the pages that compute from the
    sidebar (Bug lab, Epsilon, Training, Your code) work on the run's own network, data
    and bugs; leaving the run gives the sidebar back (`linked_run.restore`).
    """
    run, entering = linked_run.current(show_errors)
    if run and entering:
        values = run_sidebar_values(run)
        if values is not None:
            linked_run.fill("sidebar", {SETTINGS_KEY: values})
    return run


def run_sidebar_values(run) -> dict | None:
    """The sidebar's settings for a run: its scenario (for code, the problem it was given,
    without the catalogue bugs switched on then: they changed nothing in the user's code);
    for a contract run, the current settings with the run's eps (the only setting that
    mode takes from the sidebar)."""
    scenario = linked_run.scenario_of(run)
    if scenario is not None:
        return sidebar_values(scenario if run.kind == "scenario" else scenario.with_bugs(()))
    eps = finite_number(run.settings.get("eps"))
    if run.settings.get("mode") == "contract" and eps is not None and eps > 0:
        return {**settings(), "eps": _nearest(EPS_CHOICES, eps)}
    return None


def runs_frame() -> None:
    """The Runs page's frame: page config, navigation and where runs are kept.

    No scenario sidebar: a run carries its own settings, and the page must show a linked
    run even when the sidebar's settings are invalid or too large. The address is left
    alone, so `?run=ID` stays in it. The page says itself why a run cannot be shown, so
    the run view here is quiet: a short banner with the way out, the links keep `run`.
    """
    st.set_page_config(page_title="Runs · GradScope", page_icon=":material/history:", layout="wide")
    share.read_url_once(load_scenario)
    run = enter_linked_run(show_errors=False)
    if run:
        linked_run.banner(run, "Runs", None)
    with st.sidebar:
        _navigation()
        runs.database_note(linked_run.link_params())


def within_limits(scenario: Scenario, work: str = "check", **options) -> bool:
    """True when `work` on `scenario` fits this server's limits; else the estimate is
    shown as an error (the caller decides whether to stop the page or skip a part)."""
    try:
        check_workload(scenario, work, **options)
    except WorkTooLarge as error:
        # The message is ours (numbers and catalogue ids only), so Markdown is safe here.
        subject = "This check" if work == "check" else "This page's work"
        st.error(f"**{subject} is too large to run here.** {error}", icon=":material/block:")
        return False
    return True


def _navigation() -> None:
    """The page links; in a saved run they carry `?run=ID`, so the run follows."""
    query = linked_run.link_params()
    for path, label, icon in PAGES:
        st.page_link(path, label=label, icon=icon, query_params=query)
    st.divider()


def _bound(widget, label: str, name: str, values: dict, **kwargs):
    """Draw `widget` showing values[name]; its changes are written back to `values`."""
    key = f"w-{name}"
    st.session_state[key] = values[name]

    def write_back():
        update_settings(**{name: st.session_state[key]})

    return widget(label, key=key, on_change=write_back, **kwargs)


def _scenario_controls(values: dict) -> None:
    st.header("Scenario")
    _bound(
        st.text_input,
        "Layer sizes",
        "sizes",
        values,
        help="Inputs, hidden layers, outputs; e.g. 3-5-3 or 64-25-10-10.",
    )
    left, right = st.columns(2)
    with left:
        low, high = LIMITS["m"]
        _bound(st.number_input, "Examples m", "m", values, min_value=low, max_value=high, step=1)
    with right:
        _bound(
            st.number_input,
            "λ (regularisation)",
            "lamb",
            values,
            min_value=LIMITS["lamb"][0],
            max_value=LIMITS["lamb"][1],
            step=0.5,
        )
    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left:
        low, high = LIMITS["seed"]
        _bound(st.number_input, "Seed", "seed", values, min_value=low, max_value=high, step=1)
    right.button(
        "New draw",
        on_click=lambda: update_settings(seed=random.randrange(1, 10**6)),
        help="Draw new weights and data",
    )
    _bound(
        st.select_slider,
        "Step eps",
        "eps",
        values,
        options=EPS_CHOICES,
        format_func=lambda v: f"{v:.0e}",
        help="Finite-difference step; the Epsilon page shows how it trades truncation "
        "against round-off.",
    )
    _bound(st.selectbox, "Hidden activation", "activation", values, options=HIDDEN_ACTIVATIONS)
    _bound(
        st.selectbox,
        "Divergence threshold (relative error)",
        "threshold",
        values,
        options=THRESHOLD_CHOICES,
        format_func=lambda v: "auto (by dtype and method)" if v == AUTO else f"{v:.0e}",
        help="An entry diverges when its relative error exceeds this and its absolute "
        "difference exceeds the noise floor of the check.",
    )
    st.header("Bugs")
    for where in WHERE:
        st.caption(WHERE_TITLES[where])
        for bug in (b for b in BUGS.values() if b.where == where):
            key = bug_key(bug.id)
            st.session_state[key] = bug.id in values["bugs"]
            st.toggle(
                bug.title,
                key=key,
                help=f"`{bug.id}`: {bug.explanation}",
                on_change=lambda b=bug.id, k=key: set_bug(b, st.session_state[k]),
            )
