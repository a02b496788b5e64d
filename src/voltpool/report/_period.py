"""The period a simulation covers: in one line, and as the slot edges its charts draw on."""

from __future__ import annotations

import pandas as pd

from voltpool.report.figures import wall_clock
from voltpool.simulate.result import PolicyRun, SimulationResult


def slot_end(run: PolicyRun) -> pd.Timestamp:
    """End of the run's last slot (UTC)."""
    return run.index[-1] + pd.Timedelta(hours=run.dt_h)


def slot_edges(run: PolicyRun, timezone: str) -> pd.DatetimeIndex:
    """Slot starts plus the end of the last slot: T+1 instants as the clocks of ``timezone``
    show them (:func:`~voltpool.report.figures.wall_clock`)."""
    return wall_clock(
        pd.DatetimeIndex(run.index).append(pd.DatetimeIndex([slot_end(run)])), timezone
    )


def describe_period(result: SimulationResult) -> str:
    """``2024-03-04 00:00 to 2024-03-11 00:00 UTC (7.0 days, 15-min slots)`` from the first run."""
    if not result.runs:
        return "no policy runs"
    run = next(iter(result.runs.values()))
    if len(run.index) == 0:
        return "empty period"
    start = run.index[0].tz_convert("UTC")
    end = slot_end(run).tz_convert("UTC")
    days = (end - start) / pd.Timedelta(days=1)
    return (
        f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC "
        f"({days:.1f} days, {run.dt_h * 60:g}-min slots)"
    )


__all__ = ["describe_period", "slot_edges", "slot_end"]
