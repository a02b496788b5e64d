"""A scheduling problem: a fleet at a site under a tariff over T slots of ``dt_h`` hours,
optionally placed in real time (the start of slot 0 and the time zone its times are shown in)."""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.clock import MINUTES_PER_DAY, SlotGrid
from voltpool.model.fleet import Fleet
from voltpool.model.site import Site
from voltpool.model.tariff import Tariff
from voltpool.model.transfers import Transfers

DEFAULT_UNMET_PENALTY_PER_KWH = 100.0
DEFAULT_TIMEZONE = "UTC"
START_YEARS = (1970, 2199)
"""Years a ``start`` may lie in; its slots must end before :data:`SLOTS_END`."""
SLOTS_END = pd.Timestamp(f"{START_YEARS[1] + 1}-01-01", tz="UTC")
_NOT_A_ZONE = frozenset({"localtime"})
"""Names the zone database holds that mean "this machine's zone", not one place."""


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - _NOT_A_ZONE


def timezone_issue(name: object, field: str = "timezone") -> FieldIssue | None:
    """Why ``name`` is no IANA time zone name (``Europe/Amsterdam``, ``UTC``), or None."""
    if name == DEFAULT_TIMEZONE or (isinstance(name, str) and name in _zone_names()):
        return None
    shown = repr(name) if len(repr(name)) <= 40 else repr(name)[:37] + "..."
    return FieldIssue(
        field, f"{shown} is not an IANA time zone name (e.g. Europe/Amsterdam or UTC)"
    )


def start_issue(start: object, field: str = "start") -> FieldIssue | None:
    """Why ``start`` is no start of slot 0 (a timezone-aware time on a whole minute), or None."""
    if not isinstance(start, datetime):
        return FieldIssue(field, f"{start!r} must be a date and time")
    if not START_YEARS[0] <= start.year <= START_YEARS[1]:
        first, last = START_YEARS
        return FieldIssue(field, f"{start.isoformat()} must lie in the years {first}..{last}")
    stamp = pd.Timestamp(start)
    if stamp.tzinfo is None:
        return FieldIssue(
            field,
            f"{stamp.isoformat()} has no UTC offset: add one (e.g. +01:00) or Z for UTC",
        )
    if stamp != stamp.floor("min"):
        return FieldIssue(field, f"{stamp.isoformat()} must be on a whole minute (no seconds)")
    return None


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything a scheduler needs; validated on construction (all issues reported at once).

    Parameters
    ----------
    fleet, site, tariff
        The vehicles, the grid connection and the prices.
    slot_minutes : int
        Slot length; ``dt_h = slot_minutes / 60``. [min]
    unmet_penalty_per_kwh : float
        Cost of each kWh a vehicle misses of its departure target, and of each kWh of an agreed
        V2V transfer left undelivered. [currency/kWh]
    transfers : Transfers, optional
        V2V transfers between vehicles of the fleet (:mod:`voltpool.model.transfers`).
    start : datetime, optional
        Start of slot 0: timezone-aware, on a whole minute; stored in UTC. Without it the
        slots have no clock time (``docs/conventions.md``, "Time").
    timezone : str
        IANA time zone the problem's times are shown in (``Europe/Amsterdam``); default UTC.
    """

    fleet: Fleet
    site: Site
    tariff: Tariff
    slot_minutes: int = 15
    unmet_penalty_per_kwh: float = DEFAULT_UNMET_PENALTY_PER_KWH
    transfers: Transfers | None = None
    start: pd.Timestamp | None = None
    timezone: str = DEFAULT_TIMEZONE

    def __post_init__(self) -> None:
        issues: list[FieldIssue] = []
        issues += [i for i in (timezone_issue(self.timezone), self._start_issue()) if i]
        if not (isinstance(self.slot_minutes, int) and 0 < self.slot_minutes <= 1440):
            issues.append(
                FieldIssue(
                    "slot_minutes", f"{self.slot_minutes!r} must be a whole number in 1..1440"
                )
            )
        penalty = self.unmet_penalty_per_kwh
        if not (isinstance(penalty, int | float) and math.isfinite(penalty) and penalty >= 0):
            issues.append(FieldIssue("unmet_penalty_per_kwh", f"{penalty!r} must be >= 0"))
        issues += self.site.issues()
        n_slots = self.site.n_slots
        issues += self.tariff.issues(n_slots)
        issues += self.fleet.check_horizon(n_slots)
        if self.transfers is not None:
            issues += self.transfers.issues(self.fleet.n_vehicles, n_slots)
        rules = self.fleet.rules
        if rules is not None and self.start is None:
            for n in np.flatnonzero(rules.uses_clock())[:5]:
                issues.append(
                    FieldIssue(
                        f"vehicles[{n}].rules",
                        "speaks of local days or times of day: the problem needs a start",
                    )
                )
        if issues:
            raise ProblemError(issues)

    def _start_issue(self) -> FieldIssue | None:
        """Check ``start`` and store it in UTC; a start needs slots that divide a day."""
        if self.start is None:
            return None
        issue = start_issue(self.start)
        if issue is not None:
            return issue
        start = pd.Timestamp(self.start).tz_convert("UTC")
        object.__setattr__(self, "start", start)
        minutes = self.slot_minutes
        if not isinstance(minutes, int) or not 0 < minutes <= MINUTES_PER_DAY:
            return None  # reported as slot_minutes' own issue
        if MINUTES_PER_DAY % minutes:
            return FieldIssue(
                "slot_minutes",
                f"{minutes} must divide a day ({MINUTES_PER_DAY} min) when a start is given",
            )
        if (SLOTS_END - start) / pd.Timedelta(minutes=1) < self.site.n_slots * minutes:
            return FieldIssue("start", f"its slots must end before {SLOTS_END:%Y-%m-%d}")
        return None

    @property
    def clock(self) -> SlotGrid | None:
        """The slots' clock (slot 0 at ``start``), or None when the problem has no start."""
        return None if self.start is None else SlotGrid(self.start, self.slot_minutes)

    @property
    def n_slots(self) -> int:
        return self.site.n_slots

    @property
    def n_vehicles(self) -> int:
        return self.fleet.n_vehicles

    @property
    def n_transfers(self) -> int:
        return 0 if self.transfers is None else self.transfers.n_transfers

    @property
    def dt_h(self) -> float:
        return self.slot_minutes / 60.0
