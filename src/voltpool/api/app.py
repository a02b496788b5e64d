"""The FastAPI application of ``voltpool serve``.

    app = create_app(ServeSettings(db="sqlite:///voltpool.sqlite"))

Opening it migrates the database (the ledger's tables and the application's, each with its
own Alembic history) and takes the planner's seat (:mod:`voltpool.api.seat`: the process
that leads runs the live planner and the demo's chargers); closing stops them and the
engines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from voltpool import web
from voltpool.api import problems
from voltpool.api.deps import AppState
from voltpool.api.events import EventHub
from voltpool.api.inflight import InFlightLimit
from voltpool.api.planner import LivePlanner
from voltpool.api.ratelimit import FailureLimiter
from voltpool.api.routes import (
    auth,
    backup,
    battery,
    cars,
    credits,
    grid,
    health,
    places,
    plans,
    stations,
    stream,
    v2v,
)
from voltpool.api.seat import BusPublisher, PlannerSeat, open_seat
from voltpool.api.settings import ServeSettings
from voltpool.api.store.schema import open_engine, sessions, upgrade
from voltpool.ledger import Ledger

DESCRIPTION = """voltpool's API: accounts, communities, homes, cars and the owner's rules,
plug-in sessions, the live plan of each car and community, and credits between friends.

Authenticate with a bearer token from `POST /v1/auth/token` (or a device's `X-API-Key`).
Units are in field names; times are RFC 3339. Errors are RFC 9457 problem details naming
each field and the rule it broke."""


def open_state(settings: ServeSettings) -> AppState:
    """Connect, migrate and build what the requests share (the planner's seat not taken yet:
    :mod:`voltpool.api.seat`)."""
    ledger = Ledger.open(settings.db)
    engine = open_engine(settings.db)
    upgrade(engine)
    factory = sessions(engine)
    hub = EventHub()

    def make_planner(publisher: BusPublisher) -> LivePlanner:
        return LivePlanner(factory, settings, publisher, ledger)

    return AppState(
        settings=settings,
        engine=engine,
        sessions=factory,
        read_sessions=sessions(engine, read_only=True),
        ledger=ledger,
        login_limiter=FailureLimiter(
            engine, settings.login_failures_max, settings.login_window.total_seconds()
        ),
        planner=open_seat(engine.url, make_planner, hub),
        events=hub,
    )


@asynccontextmanager
async def _demo(app: FastAPI, state: AppState, options: Any) -> AsyncIterator[None]:
    """The demo's simulated chargers (a leader's duty), as ``app.state.demo``."""
    from voltpool.api.demo import start_demo

    app.state.demo = await start_demo(state, options)
    try:
        yield
    finally:
        await app.state.demo.stop()


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = open_state(settings)
        app.state.voltpool = state
        seat: PlannerSeat = state.planner  # type: ignore[assignment]
        state.events.bind(asyncio.get_running_loop())
        if (options := getattr(settings, "demo", None)) is not None:  # serve --demo
            seat.add_duty(lambda: _demo(app, state, options))
        await seat.start()
        try:
            async with AsyncExitStack() as services:  # e.g. the OCPP CSMS (voltpool.ocpp)
                app.state.services = [
                    await services.enter_async_context(start(state)) for start in settings.services
                ]
                yield
        finally:
            await seat.stop()
            state.ledger.close()
            state.engine.dispose()

    app = FastAPI(
        title="voltpool",
        version="1",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(InFlightLimit, limit=settings.max_requests_in_flight)
    routers = (health, auth, places, cars, plans, credits, backup, battery, grid, v2v, stream)
    routers += (stations,)
    for module in routers:
        app.include_router(module.router)
    web.install(app)
    return app
