"""At most so many requests inside the application at once; the rest wait their turn.

FastAPI runs each synchronous dependency and endpoint in anyio's worker threads (40 by
default) and hops between threads several times per request, while the request's database
session keeps its connection (and, on SQLite, the write lock of a changing request) from its
first statement until the response is sent. Under a burst with more requests than threads,
every thread could end up waiting for a connection held by a request that waits for a thread:
the server stalls until the pool's timeout. Keeping fewer requests inside than there are
threads means a request holding a connection always finds a thread for its next step.

Live streams (``/v1/stream``) hold no thread while they wait and are not counted.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PREFIXES = ("/v1/stream",)


class InFlightLimit:
    """ASGI middleware: at most ``limit`` HTTP requests in ``app`` at once."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"limit: {limit!r} must be >= 1")
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(EXEMPT_PREFIXES):
            await self.app(scope, receive, send)
            return
        if self._slots is None:  # made on the server's loop
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
