"""Failed-login limits: at most N failures per key (email and client address) in a sliding
window; the next attempt gets 429 with ``Retry-After`` until the oldest failure ages out."""

from __future__ import annotations

import threading
import time
from collections import deque


class FailureLimiter:
    def __init__(self, failures_max: int, window_s: float) -> None:
        self.failures_max = failures_max
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after_s(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(key)
            if failures is None:
                return 0.0
            while failures and now - failures[0] >= self.window_s:
                failures.popleft()
            if not failures:
                del self._failures[key]
                return 0.0
            if len(failures) < self.failures_max:
                return 0.0
            return self.window_s - (now - failures[0])

    def failed(self, key: str) -> None:
        with self._lock:
            self._failures.setdefault(key, deque()).append(time.monotonic())

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
