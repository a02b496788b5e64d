"""Database plumbing: engines for SQLite and PostgreSQL and a bounded transaction-retry loop.

SQLite (embedded default): WAL journal, ``synchronous=FULL``, foreign keys on, a busy timeout, and
``BEGIN IMMEDIATE`` for every write transaction so that writers from any number of processes take
the database's write lock before reading what they will change. Multi-statement reads use a
deferred ``BEGIN`` (one WAL snapshot); single-statement reads run in autocommit mode. The pysqlite
driver's own transaction handling is switched off (``isolation_level = None``) and SQLAlchemy's
``begin`` event emits the BEGIN, as in the SQLAlchemy documentation's recipe.

PostgreSQL: write transactions run READ COMMITTED and serialize on explicit locks taken before
anything they decide on is read: a transaction-scoped advisory lock per transfer id, then the
account rows ``FOR UPDATE`` in id order (why this keeps every promise: ``_ledger``'s docstring).
Contending writers wait for each other's locks instead of failing, so retries are rare (none
under SERIALIZABLE's rules, which abort a transaction whose locked row changed after its
snapshot, i.e. nearly every contended transfer). A transaction that fails with a
serialization failure (40001), a deadlock (40P01), a unique violation from a concurrent insert
of the same key (23505) or a lost connection is rolled back and re-run from the start after a
jittered exponential backoff, a bounded number of times; ``Runner.stats`` counts the attempts.
Multi-statement reads run REPEATABLE READ (one snapshot, never a serialization failure);
single-statement reads run in autocommit mode.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from voltpool.ledger._errors import InvalidInput

DEFAULT_URL = "sqlite:///voltpool-ledger.sqlite"
ENV_URL = "VOLTPOOL_DB"
SQLITE_BUSY_TIMEOUT_S = 30.0
RETRY_ATTEMPTS_MAX = 200
RETRY_SECONDS_MAX = 60.0
UNIQUE_RETRIES_MAX = 3
BACKOFF_S_MIN = 0.0005
BACKOFF_S_MAX = 0.05
MODE_OPTION = "voltpool_ledger_mode"  # execution option: "write", "snapshot" or "single"
MODES = ("write", "snapshot", "single")
RETRYABLE_SQLSTATES = ("40001", "40P01", "23505")
PG_WRITE_ISOLATION = "READ COMMITTED"  # with explicit locks first: see the module docstring

T = TypeVar("T")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def normalise_url(url: str | None) -> URL:
    """``None`` -> ``$VOLTPOOL_DB`` or the default SQLite file; ``postgresql://`` -> psycopg 3."""
    raw = url if url is not None else os.environ.get(ENV_URL) or DEFAULT_URL
    if not isinstance(raw, str):
        raise InvalidInput("url", f"must be a database URL string, got {type(raw).__name__}")
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw[len("postgres://") :]
    try:
        parsed = make_url(raw)
    except ArgumentError as exc:
        raise InvalidInput("url", f"{raw!r} is not a database URL ({exc})") from None
    backend = parsed.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise InvalidInput(
            "url", f"{backend!r} is not supported: use sqlite:///path or postgresql://..."
        )
    driver = parsed.get_driver_name()
    if backend == "postgresql":
        if "+" not in parsed.drivername:  # a bare postgresql:// means psycopg 3 here
            parsed = parsed.set(drivername="postgresql+psycopg")
    elif driver != "pysqlite":
        raise InvalidInput("url", f"SQLite driver {driver!r} is not supported (use sqlite:///)")
    return parsed


def create(url: URL, pool_size: int = 5, max_overflow: int = 10) -> Engine:
    """The engine for a normalised URL, with a pool of ``pool_size`` connections (and up to
    ``max_overflow`` more under a burst; in-memory SQLite keeps its one); InvalidInput naming
    the url when its driver is missing (the PostgreSQL driver is the optional extra
    ``postgres``)."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, pool_size, max_overflow)
    try:
        return sa.create_engine(
            url,
            isolation_level=PG_WRITE_ISOLATION,
            pool_size=pool_size,
            max_overflow=max_overflow,
        )
    except ImportError as exc:
        raise InvalidInput(
            "url",
            f"cannot open {url.render_as_string()}: the PostgreSQL driver is not installed "
            f"({exc}); install it with: pip install voltpool[postgres]",
        ) from None


def _sqlite_engine(url: URL, pool_size: int, max_overflow: int) -> Engine:
    memory = url.database in (None, "", ":memory:")
    kwargs: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    }
    if memory:  # one shared connection, or every checkout would see a new empty database
        kwargs["poolclass"] = sa.pool.StaticPool
    else:
        kwargs |= {"pool_size": pool_size, "max_overflow": max_overflow}
    engine = sa.create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see ``_on_begin``)
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
            if not memory:
                _set_wal(cursor)
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(MODE_OPTION, "write")
        if mode == "write":
            execute(connection, "BEGIN IMMEDIATE", {})
        elif mode == "snapshot":
            execute(connection, "BEGIN", {})
        # "single": one SELECT in autocommit mode is atomic on its own

    return engine


def _set_wal(cursor: sqlite3.Cursor) -> None:
    """Switch to WAL (persistent in the file); a concurrent first open may find it locked."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
            continue
        if str(mode).lower() != "wal":
            raise RuntimeError(f"SQLite refused WAL journal mode (got {mode!r})")
        return


def execute(
    conn: Connection, sql: str, params: dict[str, Any] | list[dict[str, Any]], many: bool = False
) -> list[Any]:
    """Run ``sql`` on the connection's DBAPI cursor, in its transaction; the rows it returns.

    ``many``: ``params`` is a list, one dict per row (SQLite only: psycopg's ``executemany``
    runs in pipeline mode). Driver errors come out as SQLAlchemy's ``DBAPIError`` subclasses.
    """
    dialect = conn.dialect
    cursor = conn.connection.cursor()
    try:
        if many:
            cursor.executemany(sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description is not None else []
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(
            sql,
            params,
            exc,
            dialect.loaded_dbapi.Error,
            connection_invalidated=lost,
            dialect=dialect,
            ismulti=many,
        ) from exc
    finally:
        cursor.close()


def is_retryable(exc: BaseException) -> bool:
    """Transient: serialization failure, deadlock, concurrent duplicate insert, SQLite busy,
    lost connection. Redoing a write whose COMMIT was lost is safe: the retry finds the id and
    answers ``exists`` (or ``Rejected`` again), never a second copy."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:  # a dropped connection: safe to redo, ids are idempotent
        return True
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    if isinstance(orig, sqlite3.OperationalError):
        return "locked" in str(orig) or "busy" in str(orig)
    if isinstance(orig, sqlite3.IntegrityError):  # a concurrent insert of the same key
        return "UNIQUE constraint failed" in str(orig)
    return False


def is_unique_violation(exc: DBAPIError) -> bool:
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23505":
        return True
    return isinstance(orig, sqlite3.IntegrityError) and "UNIQUE constraint failed" in str(orig)


@dataclass(frozen=True, slots=True)
class RunStats:
    """What a ledger's write transactions cost so far: ``transactions`` run (committed, or
    ended by a ledger answer such as ``Rejected``), ``attempts`` made (``retries`` =
    attempts that failed transiently and were re-run)."""

    transactions: int
    attempts: int
    retries: int


class Runner:
    """Runs a function inside one transaction, retrying the whole of it on transient failures.

    ``mode``: ``write`` (SQLite BEGIN IMMEDIATE / PostgreSQL READ COMMITTED with the ledger's
    locks), ``snapshot`` (several reads from one snapshot: SQLite deferred BEGIN / PostgreSQL
    REPEATABLE READ) or ``single`` (one read statement, autocommit: no BEGIN/COMMIT round trips).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        self._rng = random.Random()  # jitter only; never affects results
        self._count_lock = threading.Lock()
        self._transactions = 0
        self._attempts = 0
        self._retries = 0

    @property
    def stats(self) -> RunStats:
        """Write transactions, attempts and retries since this runner was made."""
        with self._count_lock:
            return RunStats(self._transactions, self._attempts, self._retries)

    def _count(self, attempts: int, retries: int) -> None:
        with self._count_lock:
            self._transactions += 1
            self._attempts += attempts
            self._retries += retries

    def run(self, fn: Callable[[Connection], T], *, mode: str) -> T:
        if mode not in MODES:
            raise ValueError(f"mode {mode!r} must be one of {MODES}")
        options: dict[str, Any] = {MODE_OPTION: mode}
        if self.postgres and mode != "write":
            options["isolation_level"] = "REPEATABLE READ" if mode == "snapshot" else "AUTOCOMMIT"
        started = time.monotonic()
        unique_violations = 0
        attempt = 0
        try:
            for attempt in range(RETRY_ATTEMPTS_MAX):
                try:
                    with self.engine.connect() as conn:
                        if mode != "write":
                            conn = conn.execution_options(**options)
                        with conn.begin():
                            return fn(conn)
                except DBAPIError as exc:
                    # a duplicate key is transient only once: the retry reads the row that won
                    unique_violations += is_unique_violation(exc)
                    last = (
                        attempt == RETRY_ATTEMPTS_MAX - 1
                        or unique_violations > UNIQUE_RETRIES_MAX
                        or time.monotonic() - started > RETRY_SECONDS_MAX
                    )
                    if not is_retryable(exc) or last:
                        raise
                ceiling = min(BACKOFF_S_MAX, BACKOFF_S_MIN * 2**attempt)
                time.sleep(self._rng.uniform(0.0, ceiling))
        finally:
            if mode == "write":
                self._count(attempt + 1, attempt)
        raise AssertionError("unreachable: the retry loop returns or raises")


def to_us(moment: datetime) -> int:
    """Timezone-aware datetime -> integer microseconds since the Unix epoch."""
    assert moment.tzinfo is not None
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value: int | None) -> datetime | None:
    if value is None:
        return None
    return EPOCH + timedelta(microseconds=value)


def utc_now() -> datetime:
    return datetime.now(UTC)
