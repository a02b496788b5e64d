"""``voltpool serve --workers N``: the application in N processes on one listening socket.

The parent binds the address, starts N worker processes (spawned, each building its own
application from the same :class:`~voltpool.api.settings.ServeSettings`, the token secret
included, so a token from one worker is good at every other) and replaces any that dies, as
uvicorn's own ``--workers`` does. One worker leads and runs the live planner
(:mod:`voltpool.api.seat`); the others serve requests and pass re-plans and stream events
over the database (:mod:`voltpool.api.bus`). More than one worker needs PostgreSQL
(:func:`check_workers`).
"""

from __future__ import annotations

from typing import Any

import uvicorn
from uvicorn.supervisors import Multiprocess

from voltpool.api.app import create_app
from voltpool.api.settings import ServeSettings
from voltpool.ledger._engine import normalise_url

WORKERS_MAX = 64
HEALTHCHECK_TIMEOUT_S = 60
"""How long a worker may take to answer the parent's ping before it is killed and replaced:
a spawned worker imports the whole application first (several seconds on a busy machine,
more than uvicorn's default of 5 s)."""


class WorkerConfig(uvicorn.Config):
    """uvicorn's configuration with the application built from ``settings`` in the process
    that serves it (a configuration travels to each spawned worker; an application cannot)."""

    def __init__(self, settings: ServeSettings, **options: Any) -> None:
        super().__init__(create_app, **options)
        self.settings = settings

    def load_app(self) -> Any:
        return create_app(self.settings)


def check_workers(settings: ServeSettings, workers: int) -> str | None:
    """Why ``settings`` cannot run in ``workers`` processes (None: it can)."""
    if not 1 <= workers <= WORKERS_MAX:
        return f"must be between 1 and {WORKERS_MAX}, got {workers}"
    if workers == 1:
        return None
    if normalise_url(settings.db).get_backend_name() != "postgresql":
        return (
            "more than one worker needs PostgreSQL (--db postgresql://...): SQLite is one "
            "file on one machine whose writers take turns, so more processes add no speed, "
            "and its processes have no way to elect one planner and tell each other of "
            "changes"
        )
    if settings.services:
        return (
            "the OCPP central system listens in one process: run it alone beside the "
            "workers (voltpool ocpp --db ...) or serve with --workers 1"
        )
    return None


def serve(settings: ServeSettings, host: str, port: int, workers: int = 1) -> None:
    """Serve ``settings`` on ``host:port`` in ``workers`` processes (1: this one) until
    interrupted."""
    reason = check_workers(settings, workers)
    if reason is not None:
        raise ValueError(f"workers: {reason}")
    config = WorkerConfig(
        settings,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        timeout_worker_healthcheck=HEALTHCHECK_TIMEOUT_S,
    )
    if workers == 1:
        uvicorn.Server(config).run()
        return
    Multiprocess(config, sockets=[config.bind_socket()]).run()
