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
    write lock at BEGIN on SQLite) or, ``read_only``, snapshots. Objects stay readable after
    a commit: responses are built from them."""
    bind = engine.execution_options(**{MODE_OPTION: "snapshot" if read_only else "write"})
    return sessionmaker(bind, expire_on_commit=False)


def open_engine(url: str) -> Engine:
    """The engine of the application's requests on ``url``: the ledger's database plumbing
    (SQLite: WAL, foreign keys, ``BEGIN IMMEDIATE`` for writes; the PostgreSQL driver), with
    PostgreSQL at READ COMMITTED (the application's rows are changed by their owner; the
    ledger keeps its own SERIALIZABLE engine for money)."""
    engine = create(normalise_url(url))
    if engine.dialect.name == "postgresql":
        return engine.execution_options(isolation_level="READ COMMITTED")
    return engine
