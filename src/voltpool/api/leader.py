"""Who leads: one process of a ``voltpool serve`` deployment on PostgreSQL holds a
session-level advisory lock (:data:`LOCK_CLASS` and the hash of the database schema, so that
deployments in two schemas of one database each have their own leader) on a connection of its
own, and only that process runs the live planner, the slot tick and the demo's chargers
(:mod:`voltpool.api.seat`).

The lock belongs to the connection: when the leader dies (or its connection does), PostgreSQL
lets go of it and the next follower to try (every :data:`POLL_S`) takes it over. The leader
asks its connection every :data:`POLL_S` whether it is still alive and steps down when it is
not, so two leaders overlap for at most about that long, and only when the leader loses its
connection while it lives on (a network cut; a dead process plans nothing).

    lock = AdvisoryLock(dsn)
    if await lock.try_acquire():   # this process leads
        await lock.lost()          # returns once it no longer does

On SQLite (one file on one machine, one process: ``voltpool serve --workers`` refuses more)
the process is the :class:`SoleLeader`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

log = logging.getLogger("voltpool.leader")
LOCK_CLASS = 0x766F6C74
"""The lock's first key ("volt" in ASCII); the second is ``hashtext(current_schema())``."""
POLL_S = 1.0
"""How often a follower tries the lock and the leader checks its connection. [s]"""
CONNECT_TIMEOUT_S = 5


class AdvisoryLock:
    """The leader's lock on PostgreSQL ``dsn`` (a libpq connection string or URI)."""

    def __init__(self, dsn: str, poll_s: float = POLL_S) -> None:
        self._dsn = dsn
        self._poll_s = poll_s
        self._connection: psycopg.AsyncConnection | None = None

    @property
    def poll_s(self) -> float:
        return self._poll_s

    async def try_acquire(self) -> bool:
        """Take the lock if no other process holds it; whether this process holds it now."""
        if self._connection is None:
            self._connection = await self._try()
        return self._connection is not None

    async def _try(self) -> psycopg.AsyncConnection | None:
        """A connection that holds the lock, or None (someone else leads, or no server)."""
        try:
            connection = await psycopg.AsyncConnection.connect(
                self._dsn, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S
            )
        except psycopg.Error as error:
            log.warning("cannot reach the database to try the leader's lock: %s", error)
            return None
        try:
            cursor = await connection.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(current_schema()))", (LOCK_CLASS,)
            )
            row = await cursor.fetchone()
        except psycopg.Error:
            await connection.close()
            return None
        if row is None or not row[0]:
            await connection.close()
            return None
        return connection

    async def lost(self) -> None:
        """Return once the lock's connection stops answering (the lock is gone with it)."""
        connection = self._connection
        assert connection is not None, "try_acquire() first"
        while True:
            await asyncio.sleep(self._poll_s)
            try:
                await connection.execute("SELECT 1")
            except psycopg.Error as error:
                log.error("the leader's lock connection failed, stepping down: %s", error)
                await self.release()
                return

    async def release(self) -> None:
        """Let go of the lock (closing its connection releases it)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()


class SoleLeader:
    """The leader's lock of a deployment of one process (SQLite): always held, never lost."""

    poll_s = POLL_S

    async def try_acquire(self) -> bool:
        return True

    async def lost(self) -> None:
        await asyncio.Event().wait()

    async def release(self) -> None:
        """Nothing to let go of."""
