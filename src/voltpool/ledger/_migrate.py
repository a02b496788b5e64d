"""Run the ledger's Alembic migrations from the installed package (no alembic.ini needed).

``upgrade(engine)`` is idempotent and safe when several processes open the same database at
once: the whole upgrade runs in one transaction that first takes a lock (SQLite: ``BEGIN
IMMEDIATE``, the database's write lock; PostgreSQL: a transaction-scoped advisory lock), so the
second opener waits, then finds the schema at head and does nothing. Both databases have
transactional DDL, so a failed upgrade leaves no half-made schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, Connection, Engine

from voltpool.ledger._errors import InvalidInput, NotFound
from voltpool.ledger._schema import VERSION_TABLE

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PG_LOCK_KEY = 0x766F6C74706F6F6C  # "voltpool" in ASCII: the key of the migration advisory lock


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the ledger has no migrations"
    return head


def current_revision(connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def require_ledger(engine: Engine) -> None:
    """Raise ``NotFound`` (field ``url``) unless ``engine``'s database already holds the ledger
    (its migration bookkeeping table), reading only.

    A SQLite file is read through a connection of its own that can neither create the file
    (``mode=rw``) nor write to it (``query_only``): the ledger's engine would create a missing
    file and switch an existing one to WAL as it connects. Raises ``InvalidInput`` when the file
    cannot be read as a database.
    """
    url = engine.url
    path = url.database
    if url.get_backend_name() == "sqlite" and path not in (None, "", ":memory:"):
        if not Path(path).exists():
            raise NotFound("url", f"no ledger at {path} (no such file)")
        found = _sqlite_has_table(url, Path(path), VERSION_TABLE)
        where = path
    else:  # a server (or an in-memory SQLite database): connecting creates nothing
        with engine.connect() as connection:
            found = sa.inspect(connection).has_table(VERSION_TABLE)
        where = url.render_as_string()
    if not found:
        raise NotFound("url", f"no ledger at {where} (it holds no ledger tables)")


def _sqlite_has_table(url: URL, path: Path, table: str) -> bool:
    """Whether the existing SQLite file ``path`` holds ``table`` (read without changing it)."""
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True)) as db:
            db.execute("PRAGMA query_only = ON")
            return db.execute(query, (table,)).fetchone() is not None
    except sqlite3.DatabaseError as error:  # not a database, unreadable
        raise cannot_open(url, error) from None


def cannot_open(url: URL, error: BaseException | None) -> InvalidInput:
    """The ``InvalidInput`` for a database that cannot be opened (no such folder, not a
    database, a bad password): the URL without its password and the driver's first line."""
    lines = str(error).strip().splitlines()
    reason = lines[0] if lines else type(error).__name__
    return InvalidInput("url", f"cannot open {url.render_as_string()}: {reason}")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default head) under the migration lock."""
    with migration_lock(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with migration_lock(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the migration lock (the application's migrations take it too).

    On PostgreSQL it runs READ COMMITTED (also if the engine's default changes): a snapshot taken
    before waiting for the lock would not see the schema that the previous lock holder committed.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="READ COMMITTED")
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
            yield connection
