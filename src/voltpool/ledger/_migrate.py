"""Run the ledger's Alembic migrations from the installed package (no alembic.ini needed).

``upgrade(engine)`` is idempotent and safe when several processes open the same database at
once: the whole upgrade runs in one transaction that first takes a lock (SQLite: ``BEGIN
IMMEDIATE``, the database's write lock; PostgreSQL: a transaction-scoped advisory lock), so the
second opener waits, then finds the schema at head and does nothing. Both databases have
transactional DDL, so a failed upgrade leaves no half-made schema.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine

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


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default head) under the migration lock."""
    with _locked(engine) as connection:
        command.upgrade(alembic_config(connection), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    with _locked(engine) as connection:
        command.downgrade(alembic_config(connection), revision)


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the migration lock.

    On PostgreSQL it runs READ COMMITTED, not the ledger's SERIALIZABLE: a snapshot taken before
    waiting for the lock would not see the schema that the previous lock holder committed.
    """
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="READ COMMITTED")
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({PG_LOCK_KEY})")
            yield connection
