"""A background sweeper that releases pending transfers when their timeout passes.

A pending transfer past its timeout can no longer be posted, but its reservation stays on the
paying account until something expires it. ``Sweeper`` calls ``Ledger.expire_pending()`` every
``interval_s`` seconds in a daemon thread, so holds are released on time without any other call:

    sweeper = ledger.start_sweeper(interval_s=1.0)   # or: with Sweeper(ledger, 1.0): ...
    ...
    sweeper.stop()

Each sweep is ``expire_pending``'s own transactions (chunks, retried on transient failures;
safe alongside any number of writers and other sweepers, also in other processes). A sweep that
fails (e.g. the database is briefly unreachable) is logged and retried at the next interval; the
thread never dies of it. ``stop()`` wakes the thread, waits for it and is idempotent.
"""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voltpool.ledger._ledger import Ledger

log = logging.getLogger(__name__)

INTERVAL_S_MIN = 0.01


class Sweeper:
    """Expires timed-out pending transfers of ``ledger`` every ``interval_s`` seconds.

    ``expired``: how many it has released so far; ``sweeps``: how many sweeps finished;
    ``last_error``: the exception of the last failed sweep (None after a good one).
    """

    def __init__(self, ledger: Ledger, interval_s: float = 1.0) -> None:
        if (
            isinstance(interval_s, bool)
            or not isinstance(interval_s, int | float)
            or not math.isfinite(interval_s)
            or interval_s < INTERVAL_S_MIN
        ):
            raise ValueError(
                f"interval_s: {interval_s!r} must be a number of seconds >= {INTERVAL_S_MIN}"
            )
        self.ledger = ledger
        self.interval_s = float(interval_s)
        self.expired = 0
        self.sweeps = 0
        self.last_error: Exception | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="voltpool-ledger-sweeper")
        self._thread.daemon = True

    def start(self) -> Sweeper:
        """Start the thread (the first sweep runs at once); returns self. Idempotent."""
        if self._thread.ident is None:
            self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout_s: float | None = 10.0) -> None:
        """Ask the thread to stop and wait for it (a sweep under way finishes first)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    def sweep(self) -> int:
        """One sweep now, in the caller's thread: how many pending transfers it expired."""
        count = self.ledger.expire_pending()
        self.expired += count
        self.sweeps += 1
        return count

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
                self.last_error = None
            except Exception as exc:  # keep sweeping: the next interval may succeed
                self.last_error = exc
                log.warning("ledger sweeper: expire_pending failed: %s", exc)
            self._stop.wait(self.interval_s)

    def __enter__(self) -> Sweeper:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["Sweeper"]
