"""Messages between the processes of one deployment: a re-plan request from any worker to the
leader, and each stored plan from the leader to every worker's live streams.

- :class:`PgBus` (PostgreSQL): ``NOTIFY`` on a channel per message kind and database schema
  (two deployments in two schemas of one database do not hear each other), sent on a
  connection of its own from any thread; every process ``LISTEN``\\ s on another and hands each
  message to its handler on the event loop. A listener whose connection breaks connects
  again and calls its ``on_reconnect`` callbacks: what was sent meanwhile is lost (the leader
  re-plans every community then, :mod:`voltpool.api.seat`).
- :class:`LocalBus` (SQLite, one process): the same calls within the process.

A payload is a short text (PostgreSQL allows under 8,000 bytes): a JSON object here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable

import psycopg
from psycopg import sql

log = logging.getLogger("voltpool.bus")
REPLAN = "replan"
"""A community to re-plan (any worker -> the leader)."""
PLAN_STORED = "plan"
"""A plan the leader stored (the leader -> every worker's live streams)."""
KINDS = (REPLAN, PLAN_STORED)
RECONNECT_S = 1.0
IDENTIFIER_MAX = 63

Handler = Callable[[str], None]


class LocalBus:
    """The bus of one process: :meth:`send` calls the kind's handlers on the event loop."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = {kind: [] for kind in KINDS}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_reconnect: list[Callable[[], None]] = []

    def on(self, kind: str, handler: Handler) -> None:
        """Call ``handler(payload)`` on the event loop for every message of ``kind``."""
        self._handlers[kind].append(handler)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._loop = None

    def send(self, kind: str, payload: str) -> None:
        """Deliver ``payload`` to ``kind``'s handlers (from any thread)."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._deliver, kind, payload)

    def _deliver(self, kind: str, payload: str) -> None:
        for handler in self._handlers[kind]:
            try:
                handler(payload)
            except Exception:  # one bad message must not stop the others
                log.exception("handling a %s message failed", kind)


class PgBus(LocalBus):
    """The bus of a deployment on PostgreSQL ``dsn`` (see the module docstring)."""

    def __init__(self, dsn: str) -> None:
        super().__init__()
        self._dsn = dsn
        self._channels: dict[str, str] = {}
        self._sender: psycopg.Connection | None = None
        self._send_lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def start(self) -> None:
        """Listen (returns once this process hears every channel)."""
        await super().start()
        self._listening = asyncio.Event()
        self._task = asyncio.create_task(self._listen(), name="voltpool-bus")
        waiting = asyncio.create_task(self._listening.wait())
        await asyncio.wait((self._task, waiting), return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        if self._task.done():
            self._task.result()  # the first connection failed: say why

    async def stop(self) -> None:
        await super().stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with self._send_lock:
            if self._sender is not None:
                self._sender.close()
                self._sender = None

    def send(self, kind: str, payload: str) -> None:
        """``NOTIFY`` every process (this one too) of ``payload`` (from any thread)."""
        channel = self._channels[kind]
        with self._send_lock:
            for attempt in (1, 2):  # once more on a fresh connection if the old one broke
                try:
                    if self._sender is None or self._sender.closed:
                        self._sender = psycopg.connect(self._dsn, autocommit=True)
                    self._sender.execute("SELECT pg_notify(%s, %s)", (channel, payload))
                    return
                except psycopg.OperationalError:
                    if self._sender is not None:
                        self._sender.close()
                    self._sender = None
                    if attempt == 2:
                        raise

    async def _connect(self) -> psycopg.AsyncConnection:
        connection = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        cursor = await connection.execute("SELECT current_schema()")
        row = await cursor.fetchone()
        schema = row[0] if row is not None and row[0] else "public"
        self._channels = {kind: f"voltpool_{kind}_{schema}"[:IDENTIFIER_MAX] for kind in KINDS}
        for channel in self._channels.values():
            await connection.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        return connection

    async def _listen(self) -> None:
        kinds = {}
        first = True
        while True:
            try:
                connection = await self._connect()
            except psycopg.OperationalError:
                if first:
                    raise
                log.warning("the bus cannot reach the database; trying again")
                await asyncio.sleep(RECONNECT_S)
                continue
            kinds = {channel: kind for kind, channel in self._channels.items()}
            if first:
                self._listening.set()
            else:
                for callback in self.on_reconnect:
                    callback()
            first = False
            try:
                async for message in connection.notifies():
                    kind = kinds.get(message.channel)
                    if kind is not None:
                        self._deliver(kind, message.payload)
            except psycopg.OperationalError as error:
                log.warning("the bus lost its connection (%s); connecting again", error)
            finally:
                with contextlib.suppress(psycopg.Error):
                    await connection.close()
            await asyncio.sleep(RECONNECT_S)
