"""Failed-login limits: at most N failures per key (email and client address, or an account's
current-password checks) in a sliding window; the next attempt gets 429 with ``Retry-After``
until the oldest failure in the window ages out.

The failures are rows of ``app_login_failures``, so every process of ``voltpool serve --workers``
counts the same ones (in memory, N workers would allow N times the limit). Each call is one short
transaction of its own, apart from the request's; a key's rows older than the window go when it
fails again, all of them when it succeeds. Two processes failing the same key at the same instant
may each see one failure fewer: the limit holds to within the number of concurrent attempts.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from voltpool.api.store.tables import LoginFailure

FAILURES = LoginFailure.__table__


def _utc_now() -> datetime:
    return datetime.now(UTC)


class FailureLimiter:
    """The failures of each key within ``window_s``, on ``engine``'s database."""

    def __init__(
        self,
        engine: Engine,
        failures_max: int,
        window_s: float,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.engine = engine
        self.failures_max = failures_max
        self.window = timedelta(seconds=window_s)
        self.clock = clock

    def retry_after_s(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        now = self.clock()
        recent = (
            sa.select(FAILURES.c.failed_at)
            .where(FAILURES.c.key == key, FAILURES.c.failed_at > now - self.window)
            .order_by(FAILURES.c.failed_at.desc())
            .limit(self.failures_max)
        )
        with self.engine.connect() as conn:
            times = list(conn.scalars(recent))
        if len(times) < self.failures_max:
            return 0.0
        return max(0.0, (self.window - (now - times[-1])).total_seconds())

    def failed(self, key: str) -> None:
        now = self.clock()
        with self.engine.begin() as conn:
            conn.execute(
                FAILURES.delete().where(
                    FAILURES.c.key == key, FAILURES.c.failed_at <= now - self.window
                )
            )
            conn.execute(FAILURES.insert().values(key=key, failed_at=now))

    def succeeded(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(FAILURES.delete().where(FAILURES.c.key == key))
