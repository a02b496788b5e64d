"""The failed-login limiter on the database: a sliding window per key, cleared by a success,
and shared by every limiter (process) on the same database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from voltpool.api.ratelimit import FailureLimiter
from voltpool.api.store.schema import open_engine, upgrade

START = datetime(2026, 12, 3, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def test_the_window_slides_a_success_clears_and_processes_share(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'app.sqlite'}")
    upgrade(engine)
    clock = Clock()
    one, other = (FailureLimiter(engine, 3, 60.0, clock) for _ in range(2))
    for limiter in (one, other, one):  # three failures, two "processes"
        assert limiter.retry_after_s("ann|1.2.3.4") == 0.0
        limiter.failed("ann|1.2.3.4")
        clock.now += timedelta(seconds=10)
    assert other.retry_after_s("ann|1.2.3.4") == 30.0  # the oldest (at 0 s) ages out at 60 s
    assert one.retry_after_s("bob|1.2.3.4") == 0.0  # per key
    clock.now += timedelta(seconds=30)
    assert one.retry_after_s("ann|1.2.3.4") == 0.0
    one.failed("ann|1.2.3.4")  # again three in the window: until the one at 10 s ages out
    assert other.retry_after_s("ann|1.2.3.4") == 10.0
    other.succeeded("ann|1.2.3.4")
    assert one.retry_after_s("ann|1.2.3.4") == 0.0
    engine.dispose()
