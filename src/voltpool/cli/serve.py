"""``voltpool serve``: the API and the live planner on one database.

    voltpool serve --db sqlite:///voltpool.sqlite --port 8000

OpenAPI at ``/docs``, health at ``/healthz``. ``--admin EMAIL`` creates (or keeps) an admin
account with the password in ``$VOLTPOOL_ADMIN_PASSWORD``. FastAPI and uvicorn are imported
only when the command runs.
"""

from __future__ import annotations

import os
from typing import Annotated

import typer

ENV_ADMIN_PASSWORD = "VOLTPOOL_ADMIN_PASSWORD"


def serve_command(
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar="VOLTPOOL_DB",
            help="Database URL for the ledger and the application (sqlite:///FILE or "
            "postgresql://...).",
        ),
    ] = "sqlite:///voltpool.sqlite",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8000,
    admin: Annotated[
        str | None,
        typer.Option(help=f"Create this admin account (password from ${ENV_ADMIN_PASSWORD})."),
    ] = None,
) -> None:
    """Serve the HTTP API and the live planner.

    Accounts, communities, homes, cars and their rules, plug-in sessions, the live plans and
    credits between friends; OpenAPI at /docs."""
    import uvicorn

    from voltpool.api.accounts import ensure_admin
    from voltpool.api.app import create_app
    from voltpool.api.settings import ServeSettings

    settings = ServeSettings(db=db)
    if admin is not None:
        password = os.environ.get(ENV_ADMIN_PASSWORD)
        if not password:
            raise typer.BadParameter(
                f"set ${ENV_ADMIN_PASSWORD} to its password", param_hint="--admin"
            )
        ensure_admin(settings, admin, password)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")
