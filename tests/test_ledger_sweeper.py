"""The background sweeper (``Ledger.start_sweeper`` / ``voltpool.ledger.Sweeper``) releases a
pending transfer at its timeout without any other call, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from voltpool.ledger import Balance, Ledger, Rejected, Sweeper

START = datetime(2026, 12, 2, 6, tzinfo=UTC)
WAIT_S = 10.0


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


def wait_until(condition, timeout_s: float = WAIT_S) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock):
    with Ledger.open(ledger_url, clock=clock) as opened:
        opened.create_account("pool", "community", "pool", "credit")
        opened.create_account("alice", "alice", "owner", "credit")
        opened.transfer("grant", "pool", "alice", 5_000, "credit", "grant")
        yield opened


def test_the_sweeper_expires_a_hold_on_time(ledger: Ledger, clock: FakeClock) -> None:
    ledger.transfer("hold", "alice", "pool", 3_000, "credit", "v2v", pending=True, timeout_s=60)
    ledger.transfer("open", "alice", "pool", 1_000, "credit", "v2v", pending=True)  # no timeout
    sweeper = ledger.start_sweeper(interval_s=0.02)
    try:
        assert wait_until(lambda: sweeper.sweeps >= 2)
        assert sweeper.expired == 0  # not due yet: nothing released early
        assert ledger.balance("alice").debits_pending == 4_000
        clock.now = START + timedelta(seconds=60)  # the deadline: expires at exactly 60 s
        assert wait_until(lambda: ledger.get_transfer("hold").status == "expired")
        # the sweep counts what it expired once its transaction has committed
        assert wait_until(lambda: sweeper.expired == 1)
        assert ledger.balance("alice") == Balance(0, 5_000, 1_000, 0)
        assert ledger.get_transfer("open").status == "pending"
        with pytest.raises(Rejected, match="already expired"):
            ledger.post("hold.post", "hold")
        assert ledger.verify().ok
    finally:
        sweeper.stop()
    assert not sweeper.running


def test_a_hold_with_a_real_short_timeout_is_released(ledger_url: str) -> None:
    """Real clock: a 1 s hold is voided by the sweeper within about a second of its deadline."""
    with Ledger.open(ledger_url) as ledger:
        ledger.create_account("pool", "community", "pool", "credit")
        ledger.create_account("bob", "bob", "owner", "credit")
        ledger.transfer("grant", "pool", "bob", 500, "credit", "grant")
        made = ledger.transfer("h", "bob", "pool", 500, "credit", "v2v", pending=True, timeout_s=1)
        assert ledger.balance("bob").available == 0
        with ledger.start_sweeper(interval_s=0.05):
            assert wait_until(lambda: ledger.balance("bob").available == 500, timeout_s=5.0)
        expired = ledger.get_transfer("h")
        assert expired.status == "expired" and made.transfer.expires_at is not None
        assert datetime.now(UTC) >= made.transfer.expires_at


def test_close_stops_the_sweeper_and_stop_is_idempotent(ledger_url: str) -> None:
    ledger = Ledger.open(ledger_url)
    sweeper = ledger.start_sweeper(interval_s=0.02)
    assert wait_until(lambda: sweeper.sweeps >= 1)
    ledger.close()
    assert not sweeper.running
    sweeper.stop()


def test_a_failing_sweep_is_logged_and_the_thread_keeps_going(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = {"n": 0}
    real = ledger.expire_pending

    def flaky() -> int:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("database unreachable")
        return real()

    monkeypatch.setattr(ledger, "expire_pending", flaky)
    with Sweeper(ledger, interval_s=0.02) as sweeper:
        assert wait_until(lambda: sweeper.sweeps >= 1)
        assert sweeper.last_error is None
    assert "database unreachable" in caplog.text


@pytest.mark.parametrize("interval_s", [0, -1, 0.001, float("nan"), float("inf"), "1", True])
def test_bad_intervals_are_refused(ledger: Ledger, interval_s: object) -> None:
    with pytest.raises(ValueError, match="interval_s"):
        Sweeper(ledger, interval_s)  # type: ignore[arg-type]
