"""How ``voltpool serve`` runs: the database, the token secret and lifetimes, login limits."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from voltpool.api.clock import Clock, WallClock

ENV_SECRET = "VOLTPOOL_SECRET"


def _secret_from_env() -> str:
    return os.environ.get(ENV_SECRET) or secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ServeSettings:
    """``db``: one SQLAlchemy URL for the ledger and the application (``sqlite:///file`` or
    ``postgresql://...``). ``secret`` signs access tokens: ``$VOLTPOOL_SECRET``, else a random
    one per process (tokens then end with the process; refresh tokens, kept in the database,
    still work). ``plan_on_events`` re-plans a community at once on every change; the slot tick
    re-plans every ``slot_minutes`` as well."""

    db: str = "sqlite:///voltpool.sqlite"
    secret: str = field(default_factory=_secret_from_env, repr=False)
    access_token_lifetime: timedelta = timedelta(minutes=15)
    refresh_token_lifetime: timedelta = timedelta(days=30)
    login_failures_max: int = 5
    """Failed logins per email and client within ``login_window`` before 429."""
    login_window: timedelta = timedelta(minutes=1)
    password_min_length: int = 10
    slot_minutes: int = 15
    horizon_slots: int = 96
    plan_time_budget_s: float = 20.0
    plan_on_events: bool = True
    tick: bool = True
    """Re-plan every community with plugged-in cars at each slot boundary."""
    max_requests_in_flight: int = 8
    """Requests inside the application at once, fewer than its 40 worker threads
    (:mod:`voltpool.api.inflight`); the rest wait their turn. Few is faster: the requests
    inside share one interpreter lock, and each database answer waits for it. Measured at
    1,000 cars, 200 requests/s on PostgreSQL (``bench/bench_api.py``): p99 of reads 390-1,200
    ms with 32 inside, 43-100 ms with 6."""
    clock: Clock = field(default_factory=WallClock)
    """The site's time (plans, sessions, grid events, V2V); tokens expire in real time."""
    services: tuple[Callable[[Any], AbstractAsyncContextManager[Any]], ...] = ()
    """More servers run in the same process and event loop while the application is open,
    each given the application's state (:class:`voltpool.api.deps.AppState`) once the
    planner runs: ``voltpool serve --ocpp-port`` adds the OCPP central system
    (:func:`voltpool.ocpp.csms_service`). None by default (tests ask for one)."""
