"""The live stream's hub: the planner publishes what changed, each connected client has a
queue. Publishing is safe from any thread (the planner stores plans in a worker thread); a
client too slow to keep up loses its oldest events, never blocks the planner."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol

QUEUE_EVENTS_MAX = 100
CLOSING: dict[str, Any] = {"type": "closing"}
"""The event that ends a stream."""


class Publisher(Protocol):
    """Where the planner publishes: this process's hub, or every process's over the bus
    (:class:`voltpool.api.seat.BusPublisher`)."""

    def publish(self, event: dict[str, Any]) -> None: ...


@dataclass
class EventHub:
    _loop: asyncio.AbstractEventLoop | None = None
    _queues: set[asyncio.Queue[dict[str, Any]]] = field(default_factory=set)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, event: dict[str, Any]) -> None:
        """Hand ``event`` to every connected client (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._fan_out, event)

    def close(self) -> None:
        """End every stream (before a shutdown, so that no client holds it up)."""
        self.publish(CLOSING)

    def _fan_out(self, event: dict[str, Any]) -> None:
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()  # drop the oldest: a slow client must not hold up others
            queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_EVENTS_MAX)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    @property
    def clients(self) -> int:
        return len(self._queues)
