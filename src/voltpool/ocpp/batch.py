"""Many stations' small database writes in one transaction (the central system's write batch).

A fleet-wide re-plan wakes every station's pusher at once, and each push is a few small
writes: the wanted profile, the station's answer, the composite check
(:mod:`voltpool.ocpp.commands`). One transaction and one worker thread each made the pushes
queue on the thread pool and on SQLite's one write lock (two hundred stations: 3 s at p99,
``bench/bench_ocpp.py``). Here every write that arrives while a transaction is being written
joins the next one: ``await batch.run(work, *args)`` returns ``work(db, *args)``'s value once
the transaction that holds it has committed, so a caller still goes on only after its write
is durable, as with its own transaction.

A write that raises spoils only itself: the transaction is rolled back and every write of it
is done again in its own transaction, so the others commit and the one that failed gets its
exception. A write may therefore run twice: it must be a function of the database alone
(the pushes' writes set a row to a value, they do not add to it). The writes of a batch share
one session without autoflush (each write touches its own station's rows; a flush per read
cost more than the reads): what one write reads, another of the batch has not changed, and
``Session.info`` may hold what every write of the transaction reads alike
(:func:`voltpool.ocpp.commands.car_setpoints`: the community's newest plan).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("voltpool.ocpp")
T = TypeVar("T")
_Write = tuple[Callable[..., Any], tuple[Any, ...], asyncio.Future[Any]]


class WriteBatch:
    """See the module docstring; one per central system, used from its event loop."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._pending: list[_Write] = []
        self._writer: asyncio.Task[None] | None = None
        self.transactions = 0
        """Transactions committed (the benchmark and the tests read it)."""
        self.writes = 0

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(db, *args)`` in the next transaction; its value once committed."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((work, args, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="voltpool-ocpp-writes")
        return await future

    async def _write(self) -> None:
        await asyncio.sleep(0)  # the writes woken with this one join it
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                outcomes = await asyncio.to_thread(self._commit, batch)
            except BaseException as error:  # the thread could not run: nobody waits forever
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                raise
            for (_, _, future), (ok, value) in zip(batch, outcomes, strict=True):
                if future.done():  # its caller gave up (cancelled)
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    def _commit(self, batch: list[_Write]) -> list[tuple[bool, Any]]:
        try:
            with self._sessions() as db, db.no_autoflush:  # one flush, at the commit
                values = [work(db, *args) for work, args, _ in batch]
                db.commit()
        except Exception:
            if len(batch) == 1:
                return [self._alone(batch[0])]
            log.info("a write of a batch of %d failed: each in its own transaction", len(batch))
            return [self._alone(write) for write in batch]
        self.transactions += 1
        self.writes += len(batch)
        return [(True, value) for value in values]

    def _alone(self, write: _Write) -> tuple[bool, Any]:
        work, args, _ = write
        try:
            with self._sessions() as db:
                value = work(db, *args)
                db.commit()
        except Exception as error:
            return (False, error)
        self.transactions += 1
        self.writes += 1
        return (True, value)
