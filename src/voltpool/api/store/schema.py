"""The application's database: engine, schema migrations and sessions.

One URL holds both the ledger (:mod:`voltpool.ledger`, tables ``ledger_*``) and the application
(tables ``app_*``), each with its own Alembic history and version table; both upgrade under the
same migration lock, so several processes may open the database at once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from voltpool.ledger._engine import MODE_OPTION, create, normalise_url
from voltpool.ledger._migrate import migration_lock

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
POOL_SIZE = 48
"""Connections the application's engine keeps open: more than the requests let in at once
(:mod:`voltpool.api.inflight`) and the planner's, so a request rarely waits for one."""
POOL_OVERFLOW = {"sqlite": -1, "postgresql": 16}
"""Connections beyond ``POOL_SIZE`` under a burst, closed when returned: SQLite's cost a file
handle (no limit, so a request never waits for one), PostgreSQL's a server process (48 + 16
and the ledger's 15 stay under the default ``max_connections`` of 100)."""


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the application's tables to ``revision`` (idempotent, under the lock)."""
    config = alembic_config()
    with migration_lock(engine) as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def sessions(engine: Engine, read_only: bool = False) -> sessionmaker[Session]:
    """The session factory of the application's requests: transactions that write (the
    write lock at BEGIN on SQLite) or, ``read_only``, reads: one snapshot on SQLite; on
    PostgreSQL, whose READ COMMITTED gives every statement its own snapshot inside a
    transaction or not, in autocommit mode (a BEGIN and the pool's ROLLBACK per request were
    two round trips that bought nothing). Objects stay readable after a commit: responses are
    built from them."""
    options: dict[str, str] = {MODE_OPTION: "snapshot" if read_only else "write"}
    if read_only and engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    return sessionmaker(engine.execution_options(**options), expire_on_commit=False)


def open_engine(url: str) -> Engine:
    """The engine of the application's requests on ``url``: the ledger's database plumbing
    (SQLite: WAL, foreign keys, ``BEGIN IMMEDIATE`` for writes; the PostgreSQL driver), with
    PostgreSQL's connections at READ COMMITTED from the start (the application's rows are
    changed by their owner; the ledger keeps its own engine for money). The level is the
    engine's, not an execution option: that would be set and reset at every checkout, and
    would keep :func:`sessions` from putting reads in autocommit mode."""
    address = normalise_url(url)
    overflow = POOL_OVERFLOW.get(address.get_backend_name(), POOL_OVERFLOW["postgresql"])
    return create(address, pool_size=POOL_SIZE, max_overflow=overflow)
