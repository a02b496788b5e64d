"""How long can my car power my house? Plan a home's outage (V2H) or its overload window
(``voltpool backup run``).

    outcome = outage("home", grid_returns=["19:00", "21:30"])
    outcome.case.plan.hours_full, outcome.return_slots    # 6.0, (8, 18)

Both read a home backup file (built-in name or TOML path) and raise
:class:`~voltpool.errors.ProblemError` naming every bad field; a solver failure raises
:class:`~voltpool.errors.SolverError`. Nothing is written: the picture is drawn by
:func:`voltpool.report.backup.write_backup_html`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from voltpool import gate
from voltpool.backup.home import (
    Home,
    OutageCase,
    OverloadCase,
    plan_home_outage,
    plan_home_overload,
)
from voltpool.errors import FieldIssue, ProblemError
from voltpool.files.home import load_home
from voltpool.report.backup_text import slot_clock

GRID_RETURNS = "--grid-returns"
"""The field a bad grid-return time is reported against."""
RETURNS_SHOWN = 8
"""Without given times, about this many evenly spaced whole hours are looked at."""
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


@dataclass(frozen=True)
class OutageOutcome:
    """An outage plan and the slots at which the grid may return (ascending, the last one the
    end of the outage when no times were given)."""

    home: Home
    case: OutageCase
    return_slots: tuple[int, ...]


@dataclass(frozen=True)
class OverloadOutcome:
    """An overload window's plan, and the home's cars that are away during it."""

    home: Home
    case: OverloadCase
    away: tuple[str, ...]


def _every_few_hours(case: OutageCase) -> list[int]:
    """Whole hours spread over the outage (about :data:`RETURNS_SHOWN`), and its end."""
    n_t = case.index.size
    slots_per_hour = max(round(1 / case.dt_h), 1)
    step = max(slots_per_hour, (n_t // RETURNS_SHOWN // slots_per_hour) * slots_per_hour)
    slots = list(range(step, n_t + 1, step))
    return slots if slots and slots[-1] == n_t else [*slots, n_t]


def return_slots(case: OutageCase, times: Sequence[str]) -> list[int]:
    """Slots at which the grid returns: the given local ``HH:MM`` times (the next such time
    after the outage starts), or whole hours spread over the outage when none are given.

    Raises :class:`~voltpool.errors.ProblemError` for a time that is not ``HH:MM``, not on a
    slot boundary or outside the outage.
    """
    if not times:
        return _every_few_hours(case)
    index = case.index
    n_t = index.size
    start_local = index[0].tz_convert(case.home.timezone)
    slots = []
    issues = []
    for text in times:
        found = _HHMM.match(text.strip())
        if not found or int(found[1]) > 23 or int(found[2]) > 59:
            issues.append(FieldIssue(GRID_RETURNS, f"{gate.quote(text)} is not a time HH:MM"))
            continue
        stamp = start_local.normalize() + pd.Timedelta(hours=int(found[1]), minutes=int(found[2]))
        if stamp <= start_local:
            stamp += pd.Timedelta(days=1)
        offset = (stamp.tz_convert("UTC") - index[0]) / case.grid.slot
        if offset != int(offset):
            issues.append(FieldIssue(GRID_RETURNS, f"{text} is not on a quarter hour"))
        elif not 0 < offset <= n_t:
            issues.append(
                FieldIssue(
                    GRID_RETURNS,
                    f"{text} is outside the outage ({start_local:%H:%M} .. "
                    f"{slot_clock(case, n_t)}); use --hours to plan a longer one",
                )
            )
        else:
            slots.append(int(offset))
    if issues:
        raise ProblemError(issues)
    return sorted(set(slots))


def outage(
    home: str | Path = "home", hours: float | None = None, grid_returns: Sequence[str] = ()
) -> OutageOutcome:
    """Plan the home's outage: which circuits the cars keep on, and when each car reaches its
    reserve. ``hours`` plans that long from the outage's start instead of to its end;
    ``grid_returns`` are local ``HH:MM`` times at which the grid may come back."""
    loaded = load_home(home)
    case = plan_home_outage(loaded, hours)
    return OutageOutcome(loaded, case, tuple(return_slots(case, grid_returns)))


def overload(home: str | Path = "home") -> OverloadOutcome:
    """Schedule the home's overload window: the cars keep the house under its import limit."""
    loaded = load_home(home)
    case = plan_home_overload(loaded)
    away = tuple(
        car.name for car, plugged in zip(loaded.cars, case.plugged, strict=True) if not plugged
    )
    return OverloadOutcome(loaded, case, away)
