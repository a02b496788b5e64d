"""The planner's seat: ``state.planner`` in every process of a deployment, running the live
planner (:class:`voltpool.api.planner.LivePlanner`), its slot tick and the leader's other
duties (the demo's chargers) only while this process leads (:mod:`voltpool.api.leader`).

- :meth:`PlannerSeat.notify` (any worker, any thread) sends the re-plan over the bus
  (:mod:`voltpool.api.bus`); the leader's handler queues it in its planner.
- Each plan the leader stores goes over the bus to every process, whose handler hands it to
  the process's own live streams (:class:`voltpool.api.events.EventHub`).
- A process that becomes the leader re-plans every community with plugged-in cars at once
  (the re-plans asked for while no one led were not heard), and so does the leader when its
  bus connected again after a break.

On SQLite the one process leads from the start and the bus is the process's own (nothing is
missed: no re-plan of everything at the start).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from sqlalchemy.engine import URL

from voltpool.api.bus import PLAN_STORED, REPLAN, LocalBus, PgBus
from voltpool.api.events import EventHub
from voltpool.api.leader import AdvisoryLock, SoleLeader
from voltpool.api.planner import LivePlanner

log = logging.getLogger("voltpool.seat")
TOOK_OVER = "a new leader took over"
BUS_BACK = "the bus connected again"

Duty = Callable[[], AbstractAsyncContextManager[Any]]
"""Something only the leader runs, for as long as it leads (the demo's chargers)."""


class Lock(Protocol):
    """The leader's lock (:class:`voltpool.api.leader.AdvisoryLock` or ``SoleLeader``)."""

    poll_s: float

    async def try_acquire(self) -> bool: ...

    async def lost(self) -> None: ...

    async def release(self) -> None: ...


class BusPublisher:
    """What the planner publishes, sent to every process's live streams over the bus."""

    def __init__(self, bus: LocalBus) -> None:
        self._bus = bus

    def publish(self, event: dict[str, Any]) -> None:
        self._bus.send(PLAN_STORED, json.dumps(event))


class PlannerSeat:
    """``state.planner``: see the module docstring. ``make_planner`` builds a fresh live
    planner for each term of office; ``replan_on_lead``: re-plan every plugged-in community
    when a term begins (a deployment of one process has missed nothing: off)."""

    def __init__(
        self,
        make_planner: Callable[[BusPublisher], LivePlanner],
        lock: Lock,
        bus: LocalBus,
        hub: EventHub,
        replan_on_lead: bool = True,
    ) -> None:
        self._make_planner = make_planner
        self._replan_on_lead = replan_on_lead
        self._lock = lock
        self._bus = bus
        self._hub = hub
        self._duties: list[Duty] = []
        self._planner: LivePlanner | None = None
        self._task: asyncio.Task[None] | None = None
        self._tried = asyncio.Event()
        self._plans_before = 0
        self.terms = 0
        """How many times this process took the lead."""
        bus.on(REPLAN, self._on_replan)
        bus.on(PLAN_STORED, lambda payload: hub.publish(json.loads(payload)))
        bus.on_reconnect.append(lambda: self._replan_all(BUS_BACK))

    @property
    def leading(self) -> bool:
        return self._planner is not None

    @property
    def plans_made(self) -> int:
        """Re-plans this process made, over all its terms."""
        return self._plans_before + (0 if self._planner is None else self._planner.plans_made)

    def add_duty(self, duty: Duty) -> None:
        """Run ``duty`` from the next term on (before :meth:`start`: from the first)."""
        self._duties.append(duty)

    async def start(self) -> None:
        """Listen on the bus and stand; returns once the first try for the lead is over
        (a process that leads then runs the planner and its duties already)."""
        await self._bus.start()
        self._tried = asyncio.Event()
        self._task = asyncio.create_task(self._campaign(), name="voltpool-planner-seat")
        waiting = asyncio.create_task(self._tried.wait())
        await asyncio.wait((self._task, waiting), return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done():
            self._task.result()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._bus.stop()

    def notify(self, community_id: str, reason: str) -> None:
        """Have the leader re-plan ``community_id`` because of ``reason`` (from any thread)."""
        self._bus.send(REPLAN, json.dumps({"community_id": community_id, "reason": reason}))

    def _on_replan(self, payload: str) -> None:
        if self._planner is not None:
            message = json.loads(payload)
            self._planner.notify(message["community_id"], message["reason"])

    def _replan_all(self, reason: str) -> None:
        if self._planner is not None:
            self._planner.replan_all(reason)

    async def _campaign(self) -> None:
        try:
            while True:
                while not await self._lock.try_acquire():
                    self._tried.set()
                    await asyncio.sleep(self._lock.poll_s)
                await self._lead()
        finally:
            await self._lock.release()

    async def _lead(self) -> None:
        """One term of office: the planner and the duties until the lock is lost."""
        self.terms += 1
        log.info("this process (term %d) leads: it runs the live planner", self.terms)
        planner = self._make_planner(BusPublisher(self._bus))
        await planner.start()
        try:
            async with contextlib.AsyncExitStack() as duties:
                for duty in self._duties:
                    await duties.enter_async_context(duty())
                self._planner = planner
                if self._replan_on_lead:
                    planner.replan_all(TOOK_OVER)
                self._tried.set()
                await self._lock.lost()
                log.error("this process lost the lead: it stops planning")
        finally:
            self._planner = None
            self._plans_before += planner.plans_made
            await planner.stop()


def open_seat(
    url: URL, make_planner: Callable[[BusPublisher], LivePlanner], hub: EventHub
) -> PlannerSeat:
    """The seat of a process on database ``url``: elected by an advisory lock with a
    ``LISTEN``/``NOTIFY`` bus on PostgreSQL, the sole leader with its own bus on SQLite."""
    if url.get_backend_name() != "postgresql":
        return PlannerSeat(make_planner, SoleLeader(), LocalBus(), hub, replan_on_lead=False)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PlannerSeat(make_planner, AdvisoryLock(dsn), PgBus(dsn), hub)
