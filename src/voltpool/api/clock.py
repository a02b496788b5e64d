"""The service's clock: what time it is for plans, plug-in sessions, grid events and V2V.

``voltpool serve`` runs on :class:`WallClock`. ``voltpool serve --demo`` runs a simulated
neighbourhood on a :class:`FastClock` (an hour of the site's life per ``3600 / speed`` real
seconds), and tests step a :class:`ManualClock` by hand. Security never reads this clock:
access and refresh tokens expire in real time, whatever the site's clock says.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time (timezone-aware, UTC)."""
        ...

    def real_seconds(self, span: timedelta) -> float:
        """How many real seconds ``span`` of this clock's time lasts."""
        ...


@dataclass(frozen=True)
class WallClock:
    """Real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def real_seconds(self, span: timedelta) -> float:
        return span.total_seconds()


@dataclass
class FastClock:
    """Time running ``speed`` times faster than real time from ``start`` (default: now)."""

    speed: float
    start: datetime = field(default_factory=lambda: datetime.now(UTC))
    _started_s: float = field(default_factory=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed: {self.speed!r} must be > 0")
        if self.start.tzinfo is None:
            raise ValueError("start: must be timezone-aware")

    def now(self) -> datetime:
        elapsed_s = (time.monotonic() - self._started_s) * self.speed
        return self.start.astimezone(UTC) + timedelta(seconds=elapsed_s)

    def real_seconds(self, span: timedelta) -> float:
        return span.total_seconds() / self.speed


@dataclass
class ManualClock:
    """Time that moves only when :meth:`advance` is called (tests)."""

    current: datetime = field(default_factory=lambda: datetime.now(UTC))
    poll_s: float = 0.05
    """How often a waiter looks again (it cannot know when the test will advance)."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> datetime:
        with self._lock:
            return self.current

    def advance(self, span: timedelta) -> datetime:
        with self._lock:
            self.current += span
            return self.current

    def real_seconds(self, span: timedelta) -> float:
        return min(span.total_seconds(), self.poll_s) if span.total_seconds() > 0 else 0.0
