"""Saved runs from the command line: `--save [TITLE]` on the checks, the store they go
to (`--runs-url`), and the link a teammate opens (`?run=ID` on `--runs-base-url`).

The store is engine.runs: SQLite in a file by default, any SQLAlchemy URL by
GRADSCOPE_RUNS_URL or `--runs-url`. A store that cannot be opened or written, or a run
above the size limit, is one line on stderr and exit status 2, never a traceback.

`--team KEY` (else GRADSCOPE_TEAM_KEY, a CI secret) files the run under a team key, so
the app lists it to whoever enters the key (engine.runs.team). The key is a secret: it
is checked before the check runs, and never printed back.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cli.terminal import out, refuse
from engine.runs.store import NewerSchema, RunsFull, RunStore, RunTooLarge
from engine.runs.team import BadTeamKey, team_tag

BASE_URL_SETTING = "GRADSCOPE_BASE_URL"
TEAM_KEY_SETTING = "GRADSCOPE_TEAM_KEY"
FILED_UNDER_TEAM = "(filed under your team key)"
DEFAULT_BASE_URL = "http://localhost:8501/"
RUNS_PAGE_PATH = "Runs"  # the address Streamlit gives pages/6_Runs.py


class StoreError(Exception):
    """The runs database could not be opened, read or written: a one-line reason."""


@dataclass(frozen=True)
class SavedRun:
    id: str
    link: str
    filed_under_team_key: bool = False  # whether, never which: the key is a secret

    def as_dict(self) -> dict:
        return {"id": self.id, "link": self.link, "filed_under_team_key": self.filed_under_team_key}

    def line(self) -> str:
        team = f" {FILED_UNDER_TEAM}" if self.filed_under_team_key else ""
        return f"saved run {self.id}: {self.link}{team}"


def add_store_flags(parser: argparse.ArgumentParser, default=None) -> None:
    """Where the runs are and what their links point to. `default=argparse.SUPPRESS`
    lets a sub-command repeat the flags without hiding its parent's values."""
    parser.add_argument(
        "--runs-url",
        metavar="URL",
        default=default,
        help="the runs database, any SQLAlchemy URL, e.g. sqlite:///runs.sqlite or "
        "postgresql+psycopg://user@host/db (default: the GRADSCOPE_RUNS_URL setting, else "
        "a SQLite file in your data directory)",
    )
    parser.add_argument(
        "--runs-base-url",
        metavar="URL",
        default=default,
        help=f"the GradScope app the links point to (default: the {BASE_URL_SETTING} "
        f"setting, else {DEFAULT_BASE_URL})",
    )


def add_save_flags(parser: argparse.ArgumentParser, note: str = "") -> None:
    """`--save [TITLE]` and the store flags, for a command that checks."""
    parser.add_argument(
        "--save",
        nargs="?",
        const="",
        default=None,
        metavar="TITLE",
        help="save the run (settings, code, verdict, findings, gradients) with this short "
        "title (default: one from the verdict) and print its link; exit status 2 if it "
        "cannot be saved" + note,
    )
    parser.add_argument(
        "--team",
        metavar="KEY",
        default=None,
        help="with --save: file the run under this team key, so the app's Runs page lists "
        "it to whoever enters the key (default: the GRADSCOPE_TEAM_KEY setting; a new key: "
        "runs team-key; --team=KEY if it starts with '-'). The key is never printed",
    )
    add_store_flags(parser)


def team_key_problem(args: argparse.Namespace) -> str:
    """Why the team key cannot be used, in one line that never repeats it; '' when it
    can. Called before the check runs, so a bad key costs no wait. The key used is left
    in `args.team`: `--team`, else GRADSCOPE_TEAM_KEY (an empty setting is none)."""
    if args.save is None:
        if args.team is not None:
            return "--team files a saved run under a team key: add --save"
        return ""
    given = "--team"
    if args.team is None:
        args.team, given = os.environ.get(TEAM_KEY_SETTING) or None, TEAM_KEY_SETTING
    if args.team is None:
        return ""
    try:
        team_tag(args.team)
    except BadTeamKey as error:
        return f"the team key in {given} is refused, nothing was checked: {error} " + (
            "`runs team-key` makes a good one."
        )
    return ""


def run_link(run_id: str, base_url: str | None = None) -> str:
    """The app's Runs page with `?run=ID`: the run's whole view (findings, figures, code,
    downloads), and from there every page shows it. A query the base has is kept."""
    base = urlsplit(base_url or os.environ.get(BASE_URL_SETTING) or DEFAULT_BASE_URL)
    path = base.path.rstrip("/") + "/" + RUNS_PAGE_PATH
    query = urlencode([*parse_qsl(base.query), ("run", run_id)])
    return urlunsplit(base._replace(path=path, query=query))


def open_store(url: str | None) -> RunStore:
    """The store at `url` (None: the default); StoreError says why it cannot be opened."""
    try:
        return RunStore(url)
    except Exception as error:  # any driver's failure: one line
        raise StoreError(_reason(error, url)) from None


def with_store(url: str | None, action, failing: str):
    """`action(store)` on the store at `url`, closed after; StoreError, one line, when the
    store cannot be opened or `action` fails (`failing` says what failed: 'read the run')."""
    store = open_store(url)
    try:
        return action(store)
    except Exception as error:  # any driver's failure while used: one line
        raise StoreError(f"cannot {failing}: {one_line(error)}") from None
    finally:
        store.close()


def save_run(args: argparse.Namespace, result, findings, *, kind, settings, code=None):
    """Save this check as `args.save` asks: the SavedRun, or None when not asked.

    StoreError, a one-line reason, when the run is too large or the store fails."""
    if args.save is None:
        return None
    from engine.runs.record import run_from_check

    run = run_from_check(result, findings, title=args.save, kind=kind, settings=settings, code=code)
    try:
        store = open_store(args.runs_url)
    except StoreError as error:
        raise StoreError(f"the run was not saved: {error}") from None
    try:
        run_id = store.save(run, team=args.team)
    except (RunTooLarge, RunsFull) as error:
        raise StoreError(str(error)) from None  # says that nothing was saved
    except BadTeamKey as error:  # team_key_problem refuses it before the check
        raise StoreError(f"the run was not saved: {error}") from None
    except Exception as error:  # any driver's failure: one line
        raise StoreError(f"the run was not saved: {_reason(error, args.runs_url, store)}") from None
    finally:
        store.close()
    return SavedRun(run_id, run_link(run_id, args.runs_base_url), args.team is not None)


def saving(args: argparse.Namespace, result, findings, **run) -> tuple[SavedRun | None, str]:
    """save_run, with its failure as a message instead: (saved, '') or (None, why)."""
    try:
        return save_run(args, result, findings, **run), ""
    except StoreError as error:
        return None, str(error)


def finish_saving(prog: str, saved: SavedRun | None, failure: str, as_json: bool, code: int):
    """After the check's output: the saved line (not in JSON: the document has it), or
    the failure on stderr and exit status 2; otherwise the check's own status."""
    if failure:
        return refuse(prog, failure)
    if saved is not None and not as_json:
        out(saved.line())
    return code


def with_saved_run(document: dict, saved: SavedRun | None) -> dict:
    return document if saved is None else {**document, "saved_run": saved.as_dict()}


def _reason(error: Exception, url: str | None, store: RunStore | None = None) -> str:
    """One line: where, and the driver's own words (not SQLAlchemy's background link)."""
    if isinstance(error, NewerSchema):
        return str(error)
    words = one_line(error)
    where = store.location if store is not None else _hidden_password(url)
    return f"the runs database {where} failed: {words}"


def one_line(error: Exception) -> str:
    """The first line of the driver's own words (SQLAlchemy adds the SQL and a link)."""
    cause = getattr(error, "orig", None) or error
    return (str(cause).strip().splitlines() or [type(cause).__name__])[0]


def _hidden_password(url: str | None) -> str:
    from sqlalchemy.engine import make_url

    from engine.runs.store import default_url

    try:
        return make_url(url or default_url()).render_as_string(hide_password=True)
    except Exception:  # unparsable: named by its scheme only
        return repr((url or "").split(":", 1)[0] + ":...")
