"""The period a simulation covers: in one line, and as the time axis its charts draw on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from voltpool.report.figures import step_y, wall_clock
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


MAX_CHART_POINTS = 5_000
"""The most points a time-series trace of a report draws: a longer run is drawn as means over
whole groups of slots (a year of 15-min slots as 2-hour means: 4,392 points instead of 35,136,
a report of 9 instead of 35 MB), the full series being in the run's time-series files."""
GROUP_MINUTES = (30, 60, 120, 180, 360, 720, 1440)
"""The lengths a chart's point may take when slots are grouped: clock-friendly divisors of a
day. [min]"""


@dataclass(frozen=True)
class ChartTime:
    """The time axis a report's charts draw a run on: every slot, or means over groups of
    ``group`` slots when the run has more than :data:`MAX_CHART_POINTS` slots.

    ``edges`` are the G+1 local wall-clock instants the G points start at (and the end of the
    last); ``starts`` the first slot of each point. Powers, loads and prices are averaged over a
    point (energy is kept); limits take the tightest value (:meth:`lowest`); a state (SoC at
    slot edges) is read at the edges (:meth:`states`)."""

    edges: pd.DatetimeIndex
    starts: np.ndarray
    n_slots: int
    group: int
    group_minutes: float

    @property
    def grouped(self) -> bool:
        return self.group > 1

    def means(self, values: np.ndarray) -> np.ndarray:
        """Slot values ``[..., T]`` as a step line over the edges: each point's mean (infinite:
        no line), the last held to the end."""
        return step_y(self._reduce(np.add, values) / self._counts())

    def lowest(self, values: np.ndarray) -> np.ndarray:
        """Like :meth:`means`, with each point's lowest value (a limit: the tightest)."""
        return step_y(self._reduce(np.minimum, values))

    def states(self, values: np.ndarray) -> np.ndarray:
        """Values at the T+1 slot edges ``[..., T+1]`` read at the chart's edges."""
        values = np.asarray(values, dtype=float)
        return np.concatenate([values[..., self.starts], values[..., -1:]], axis=-1)

    def note(self) -> str:
        """What a chart's note says of the axis: nothing at full resolution."""
        if not self.grouped:
            return ""
        length = _duration(self.group_minutes)
        return (
            f"Drawn as {length} means (the tables count every slot; the time-series files "
            "hold each slot). "
        )

    def _reduce(self, ufunc: np.ufunc, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if not self.grouped:
            return values
        return ufunc.reduceat(values, self.starts, axis=-1)

    def _counts(self) -> np.ndarray:
        return np.diff(np.append(self.starts, self.n_slots))


def _duration(minutes: float) -> str:
    if minutes < 60:
        return f"{minutes:g}-min"
    if minutes < 1440:
        return f"{minutes / 60:g}-hour"
    return "daily"


def chart_time(run: PolicyRun, timezone: str, max_points: int | None = None) -> ChartTime:
    """The axis the charts draw ``run`` on: its slots, or the shortest group length of
    :data:`GROUP_MINUTES` (whole slots) that keeps a trace within ``max_points`` (default
    :data:`MAX_CHART_POINTS`)."""
    max_points = MAX_CHART_POINTS if max_points is None else max_points
    edges = slot_edges(run, timezone)
    n_slots = edges.size - 1
    slot_minutes = run.dt_h * 60
    group = 1
    if n_slots > max_points:
        whole = [m for m in GROUP_MINUTES if m % slot_minutes == 0 and m > slot_minutes]
        fits = [m for m in whole if np.ceil(n_slots * slot_minutes / m) <= max_points]
        group = round((fits[0] if fits else whole[-1]) / slot_minutes) if whole else 1
    starts = np.arange(0, n_slots, group)
    return ChartTime(
        edges[np.append(starts, n_slots)], starts, n_slots, group, group * slot_minutes
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


__all__ = ["ChartTime", "chart_time", "describe_period", "slot_edges", "slot_end"]
