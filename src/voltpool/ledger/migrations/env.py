"""Alembic environment of the ledger.

``voltpool.ledger._migrate.upgrade`` runs it programmatically and passes its open connection in
``config.attributes["connection"]`` (inside a transaction that holds the migration lock). From the
command line: ``alembic -c /dev/null -x url=sqlite:///ledger.sqlite upgrade head`` with
``script_location`` pointing here also works (the URL defaults to ``$VOLTPOOL_DB``).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from voltpool.ledger._engine import create, normalise_url
from voltpool.ledger._schema import VERSION_TABLE, metadata

TABLE_PREFIX = "ledger_"


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Only the ledger's own tables (the database may hold other subsystems' tables)."""
    if type_ == "table":
        return name is not None and name.startswith(TABLE_PREFIX) and name != VERSION_TABLE
    return True


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        version_table=VERSION_TABLE,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    config = context.config
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = normalise_url(context.get_x_argument(as_dictionary=True).get("url"))
    if context.is_offline_mode():
        context.configure(
            url=url, target_metadata=metadata, version_table=VERSION_TABLE, literal_binds=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create(url)
    try:
        with engine.connect() as connection, connection.begin():
            run(connection)
    finally:
        engine.dispose()


main()
