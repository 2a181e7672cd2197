"""Saved runs in a real database, through SQLAlchemy: SQLite in a file by default, any
SQLAlchemy URL (PostgreSQL for a team) by a setting.

Every save is one transaction: a run is stored whole or not at all, so a crash mid-save
loses nothing saved before it, and concurrent saves (threads, sessions, processes) each
commit their own row (SQLite in WAL mode waits for the writer before it instead of
failing). The schema is created, and migrated, on opening; a database made by a newer
GradScope is refused rather than touched. A run is opened by its id; a listing returns
what a history needs (title, verdict, arrays, time), never the code, and the app lists
only the runs whose ids a session knows, or whose team key it holds (engine.runs.team).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError

from engine.runs.record import TITLE_LENGTH, Run, pack_arrays, unpack_arrays
from engine.runs.team import TEAM_TAG_LENGTH, team_tag

MAX_RUN_BYTES = 64 * 1024**2  # per run; GRADSCOPE_RUN_LIMIT_MB changes it
MAX_TOTAL_BYTES = 4 * 1024**3  # all runs together; GRADSCOPE_RUNS_QUOTA_MB changes it
SCHEMA_VERSION = 2  # 2: a run's team key and the other files of its code
RUN_ID = re.compile(r"^[A-Za-z0-9_-]{16,32}$")

metadata = MetaData()
runs_table = Table(
    "gradscope_runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("title", String(TITLE_LENGTH), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created", DateTime(timezone=True), nullable=False, index=True),
    Column("verdict", String(16), nullable=False),
    Column("diverging_arrays", Text, nullable=False),  # JSON list of names
    Column("settings", Text, nullable=False),
    Column("code", Text),
    Column("summary", Text, nullable=False),
    Column("findings", Text, nullable=False),
    Column("check_data", Text, nullable=False),
    Column("arrays", LargeBinary, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("team", String(TEAM_TAG_LENGTH), index=True),  # team_tag(key), or NULL
    Column("other_files", Text),  # JSON {path: text} of the code's other files, or NULL
)
schema_table = Table("gradscope_schema", metadata, Column("version", Integer, nullable=False))


def _add_team_and_files(connection) -> None:
    """Schema 1 -> 2: the team a run is filed under and its code's other files (none for
    the runs saved before)."""
    connection.exec_driver_sql(
        f"ALTER TABLE gradscope_runs ADD COLUMN team VARCHAR({TEAM_TAG_LENGTH})"
    )
    connection.exec_driver_sql("ALTER TABLE gradscope_runs ADD COLUMN other_files TEXT")
    for index in runs_table.indexes:
        index.create(connection, checkfirst=True)


# version -> the step from it to the next; each runs in the opening transaction
MIGRATIONS: dict[int, Callable] = {1: _add_team_and_files}


class RunTooLarge(ValueError):
    """The run is bigger than a run may be here; nothing was stored."""


class RunsFull(ValueError):
    """The database's runs together would pass its quota; nothing was stored."""


class NewerSchema(RuntimeError):
    """The database was made by a newer GradScope: it is left as it is."""


def default_url() -> str:
    """GRADSCOPE_RUNS_URL, else a SQLite file in the user's data directory."""
    if os.environ.get("GRADSCOPE_RUNS_URL"):
        return os.environ["GRADSCOPE_RUNS_URL"]
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return f"sqlite:///{data / 'gradscope' / 'runs.sqlite'}"


def default_limit() -> int:
    return _megabytes("GRADSCOPE_RUN_LIMIT_MB", MAX_RUN_BYTES)


def default_quota() -> int:
    return _megabytes("GRADSCOPE_RUNS_QUOTA_MB", MAX_TOTAL_BYTES)


def _megabytes(variable: str, default: int) -> int:
    text = os.environ.get(variable)
    return int(float(text) * 1024**2) if text else default


@dataclass(frozen=True)
class RunListing:
    """One line of a history: what it shows, without the code or the arrays."""

    id: str
    title: str
    kind: str
    created: datetime
    verdict: str
    diverging_arrays: tuple[str, ...]
    size_bytes: int
    filed_under_team: bool = False  # under the team key the listing asked for


class RunStore:
    """Save, load, list and delete runs in the database at `url`."""

    def __init__(
        self,
        url: str | None = None,
        max_run_bytes: int | None = None,
        max_total_bytes: int | None = None,
    ):
        self.url = make_url(url or default_url())
        self.max_run_bytes = default_limit() if max_run_bytes is None else max_run_bytes
        self.max_total_bytes = default_quota() if max_total_bytes is None else max_total_bytes
        self.engine = _engine_for(self.url)
        migrate(self.engine)

    @property
    def location(self) -> str:
        return location_of(self.url)

    def save(self, run: Run, team: str | None = None) -> str:
        """Store `run` whole, in one transaction, filed under the team key `team` if
        given (BadTeamKey if it could be guessed); its id."""
        row = _row(run) | {"team": team_tag(team) if team is not None else None}
        if row["size_bytes"] > self.max_run_bytes:
            raise RunTooLarge(
                f"This run is {_size(row['size_bytes'])}; a run may be at most "
                f"{_size(self.max_run_bytes)} here (GRADSCOPE_RUN_LIMIT_MB sets it). "
                "Nothing was saved."
            )
        with self.engine.begin() as connection:
            self._check_quota(connection, row["size_bytes"])
            connection.execute(insert(runs_table).values(**row))
        return run.id

    def _check_quota(self, connection, size: int) -> None:
        """Refuse a run that would take the database past its quota: on a shared server,
        saving is open to every visitor, and the disk is not theirs to fill. (Two saves
        racing may pass it by one run: a bound on growth, not an accounting.)"""
        used = connection.execute(select(func.coalesce(func.sum(runs_table.c.size_bytes), 0)))
        used = int(used.scalar_one())
        if used + size > self.max_total_bytes:
            raise RunsFull(
                f"The runs database holds {_size(used)} of runs; this one ({_size(size)}) "
                f"would take it past its quota of {_size(self.max_total_bytes)} "
                "(GRADSCOPE_RUNS_QUOTA_MB sets it). Delete old runs, or ask whoever runs the "
                "server. Nothing was saved."
            )

    def get(self, run_id: str) -> Run | None:
        """The run with this id, or None (an id of the wrong shape is never looked up)."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            return None
        with self.engine.connect() as connection:
            row = connection.execute(select(runs_table).where(runs_table.c.id == run_id)).first()
        return None if row is None else _run(row._mapping)

    def list(
        self,
        limit: int = 50,
        verdict: str | None = None,
        kind: str | None = None,
        title: str | None = None,
        *,
        team: str | None = None,
        ids: Iterable[str] | None = None,
    ) -> list[RunListing]:
        """The newest runs first, filtered by verdict, kind and words of the title.

        With `team` or `ids`, only the runs filed under that team key or with one of
        those ids (what a visitor of the app may list); without either, all of them
        (for whoever holds the database URL).
        """
        columns = [
            runs_table.c[name]
            for name in (
                "id",
                "title",
                "kind",
                "created",
                "verdict",
                "diverging_arrays",
                "size_bytes",
                "team",
            )
        ]
        query = select(*columns).order_by(runs_table.c.created.desc()).limit(int(limit))
        if verdict:
            query = query.where(runs_table.c.verdict == verdict)
        if kind:
            query = query.where(runs_table.c.kind == kind)
        if title:
            query = query.where(func.lower(runs_table.c.title).contains(title.lower()))
        tag = team_tag(team) if team is not None else None
        if team is not None or ids is not None:
            query = query.where(_visible(tag, ids))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            RunListing(
                r.id,
                r.title,
                r.kind,
                _utc(r.created),
                r.verdict,
                tuple(json.loads(r.diverging_arrays)),
                r.size_bytes,
                tag is not None and r.team == tag,
            )
            for r in rows
        ]

    def delete(self, run_id: str) -> bool:
        """Remove a run; False when there was none with this id."""
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            return False
        with self.engine.begin() as connection:
            done = connection.execute(delete(runs_table).where(runs_table.c.id == run_id))
        return done.rowcount > 0

    def count(self) -> int:
        with self.engine.connect() as connection:
            return connection.execute(select(func.count()).select_from(runs_table)).scalar_one()

    def close(self) -> None:
        self.engine.dispose()


def _visible(tag: str | None, ids: Iterable[str] | None):
    """The runs filed under the team `tag`, or with one of `ids` (malformed ids are
    dropped)."""
    known = sorted({i for i in ids or () if isinstance(i, str) and RUN_ID.match(i)})
    clauses = [runs_table.c.id.in_(known)] if known else []
    if tag is not None:
        clauses.append(runs_table.c.team == tag)
    return or_(*clauses) if clauses else runs_table.c.id.is_(None)


def location_of(url) -> str:
    """Where runs at `url` are: the SQLite file, or the URL without its password (read
    from the URL alone: showing it opens no database)."""
    url = make_url(url)
    if url.get_backend_name() == "sqlite" and url.database:
        return str(Path(url.database).resolve())
    return url.render_as_string(hide_password=True)


def _engine_for(url) -> Engine:
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _sqlite_settings(connection, _record):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute("PRAGMA busy_timeout=30000")  # writers wait for each other
        cursor.execute("PRAGMA synchronous=FULL")  # a commit survives a power cut
        cursor.close()

    return engine


def migrate(engine: Engine) -> int:
    """Create the tables, then bring an older schema up to SCHEMA_VERSION; the version."""
    for attempt in range(3):  # two processes opening a new database at once
        try:
            with engine.begin() as connection:
                metadata.create_all(connection)
                version = connection.execute(select(schema_table.c.version)).scalar()
                if version is None:
                    connection.execute(insert(schema_table).values(version=SCHEMA_VERSION))
                    return SCHEMA_VERSION
                if version > SCHEMA_VERSION:
                    raise NewerSchema(
                        f"The runs database has schema {version}; this GradScope knows up to "
                        f"{SCHEMA_VERSION}. Upgrade GradScope, or use another database."
                    )
                while version < SCHEMA_VERSION:
                    MIGRATIONS[version](connection)
                    version += 1
                    connection.execute(schema_table.update().values(version=version))
                return version
        except (OperationalError, ProgrammingError):
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _row(run: Run) -> dict:
    texts = {
        "settings": json.dumps(run.settings),
        "summary": json.dumps(run.summary),
        "findings": json.dumps(run.findings),
        "check_data": json.dumps(run.check),
        "diverging_arrays": json.dumps(list(run.diverging_arrays)),
    }
    if run.other_files:
        texts["other_files"] = json.dumps(run.other_files)
    arrays = pack_arrays(run.arrays)
    size = len(arrays) + sum(len(t) for t in texts.values()) + len(run.code or "")
    return {
        "id": run.id,
        "title": run.title,
        "kind": run.kind,
        "created": run.created,
        "verdict": run.verdict,
        "code": run.code,
        "arrays": arrays,
        "size_bytes": size,
        **texts,
    }


def _run(row) -> Run:
    return Run(
        id=row["id"],
        title=row["title"],
        kind=row["kind"],
        created=_utc(row["created"]),
        settings=json.loads(row["settings"]),
        code=row["code"],
        verdict=row["verdict"],
        diverging_arrays=tuple(json.loads(row["diverging_arrays"])),
        summary=json.loads(row["summary"]),
        findings=json.loads(row["findings"]),
        check=json.loads(row["check_data"]),
        arrays=unpack_arrays(row["arrays"]),
        other_files=json.loads(row["other_files"]) if row["other_files"] else {},
    )


def _size(n_bytes: int) -> str:
    """'830 bytes', '12.4 KB', '65.0 MB'."""
    if n_bytes < 1024:
        return f"{n_bytes} bytes"
    if n_bytes < 1024**2:
        return f"{n_bytes / 1024:.1f} KB"
    return f"{n_bytes / 1024**2:.1f} MB"


def _utc(moment: datetime) -> datetime:
    """SQLite returns naive datetimes: they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
