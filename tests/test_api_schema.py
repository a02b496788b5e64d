"""The application's tables: Alembic's migrations create exactly the ORM's tables, on SQLite
and PostgreSQL, beside the ledger's in the same database, and opening twice changes nothing."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from voltpool.api.store.schema import head_revision, open_engine, upgrade
from voltpool.api.store.tables import VERSION_TABLE, metadata
from voltpool.ledger import Ledger


def _app_changes(change: object) -> bool:
    """Differences about the application's tables (the ledger's have their own test)."""
    table = getattr(change[1], "name", None) if isinstance(change, tuple) else None
    if table is None and isinstance(change, tuple) and hasattr(change[1], "table"):
        table = change[1].table.name
    return table is None or (table.startswith("app_") and table != VERSION_TABLE)


def test_the_migrations_create_the_orms_tables_beside_the_ledgers(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    engine = open_engine(ledger_url)
    try:
        upgrade(engine)
        upgrade(engine)  # at head already: nothing to do
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            assert context.get_current_revision() == head_revision()
            diff = [
                change for change in compare_metadata(context, metadata) if _app_changes(change)
            ]
            tables = set(conn.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    assert diff == []
    assert {"ledger_accounts", "app_users", "app_car_plans"} <= tables
