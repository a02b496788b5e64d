"""Alembic environment of the application's tables (``app_*``, version table
``app_alembic_version``); :func:`voltpool.api.store.schema.upgrade` runs it with its open
connection in ``config.attributes["connection"]``. The ledger's tables in the same database
have their own migrations (:mod:`voltpool.ledger`)."""

from __future__ import annotations

from alembic import context

from voltpool.api.store.tables import VERSION_TABLE, metadata

TABLE_PREFIX = "app_"


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Only the application's own tables (the database holds the ledger's too)."""
    if type_ == "table":
        return name is not None and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    include_name=include_name,
    compare_type=True,
    render_as_batch=True,
)
with context.begin_transaction():
    context.run_migrations()
