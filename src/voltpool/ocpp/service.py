"""The central system as a service of ``voltpool serve`` (the same process and event loop as
the API and the planner) or on its own (``voltpool ocpp``).

    service = csms_service(CsmsOptions(port=9000))
    app = create_app(ServeSettings(db=..., services=(service,)))
    ...                     # service.running is the CentralSystem while the app is open
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from voltpool.ocpp.csms import CentralSystem, CsmsOptions


class CsmsService:
    """A ``ServeSettings.services`` entry: opens a :class:`CentralSystem` on the app's state."""

    def __init__(self, options: CsmsOptions) -> None:
        self.options = options
        self.running: CentralSystem | None = None

    @contextlib.asynccontextmanager
    async def __call__(self, state: Any) -> AsyncIterator[CentralSystem]:
        csms = CentralSystem(state, self.options)
        await csms.start()
        self.running = csms
        try:
            yield csms
        finally:
            self.running = None
            await csms.stop()


def csms_service(options: CsmsOptions | None = None) -> CsmsService:
    return CsmsService(options or CsmsOptions())


async def run_alone(settings: Any, options: CsmsOptions) -> None:
    """The central system with the live planner and no HTTP API, until cancelled."""
    from voltpool.api.app import open_state

    state = open_state(settings)
    state.events.bind(asyncio.get_running_loop())
    planner = state.planner
    await planner.start()  # type: ignore[attr-defined]
    try:
        async with csms_service(options)(state):
            await asyncio.Event().wait()
    finally:
        state.events.close()
        await planner.stop()  # type: ignore[attr-defined]
        state.ledger.close()
        state.engine.dispose()
