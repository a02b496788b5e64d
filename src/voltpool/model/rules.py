"""The owner's rules for their car: what V2G (and V2V) may do with it, and nothing more.

An owner lends their battery on their terms. Each rule only ever *limits discharging*, so a
plan that keeps every rule always exists (the car charges, or idles):

- ``v2g_floor_soc``: V2G and V2V never take the car below it (an outage's V2H may still go
  down to the driving reserve ``soc_min``, never below: :mod:`voltpool.backup`). The plan's
  discharge floor is ``max(soc_min, v2g_floor_soc)``; a car that arrives below it may charge,
  and only energy above it ever leaves the car (the reserve rule of
  :mod:`voltpool.schedule.guards`).
- ``v2g_max_kwh_per_day``: the most energy discharged for V2G/V2V per local calendar day,
  counted on the **battery side** (what leaves the cells, ``p_discharge * dt_h / eta_d``),
  across plug-in sessions: ``v2g_kwh_today`` is what the car already gave today.
- ``discharge_hours``: the local times of day in which discharging is allowed (e.g.
  ``17:00-22:00``; empty means at any time); ``no_discharge_hours``: times in which it is not.
- ``no_discharge_until``: the "not today" switch: no discharge before this time.
- ``max_cycles_per_week``: equivalent full cycles from V2G/V2V per rolling week, one cycle
  being the car's capacity discharged (battery side; driving excluded). The week is today and
  the six local days before it: ``v2g_kwh_past_days`` holds those six days (oldest first).

Every rule is a linear constraint of the one exact LP (:mod:`voltpool.schedule.rules_lp`),
not a filter after it; the clock rules need the problem's ``start`` (a local time of day
means nothing without it). :class:`OwnerRules` holds them for N cars as a struct of arrays,
like :class:`~voltpool.model.wear.BatteryWear`; a car without rules has the neutral values
(floor 0, no caps, any hour).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.clock import MINUTES_PER_DAY, SlotGrid

PAST_DAYS = 6
"""Days of history before today the rolling week needs."""
WINDOW = re.compile(r"([01]\d|2[0-4]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)")
"""A local time window ``HH:MM-HH:MM``; one that ends before it starts runs over midnight."""
RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
"""An RFC 3339 date and time (the offset is checked apart, for its own message)."""
RULE_KEYS = (
    "v2g_floor_soc",
    "v2g_max_kwh_per_day",
    "discharge_hours",
    "no_discharge_hours",
    "no_discharge_until",
    "max_cycles_per_week",
    "v2g_kwh_today",
    "v2g_kwh_past_days",
)
"""The keys of a vehicle's ``rules`` block (problem format v1)."""
Window = tuple[int, int]
"""A local time window in minutes after midnight: ``[start, end)``, over midnight if end < start."""


def parse_window(text: object, path: str, issues: list[FieldIssue]) -> Window | None:
    """``"17:00-22:00"`` as minutes ``(1020, 1320)``, or None with an issue."""
    match = WINDOW.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        issues.append(FieldIssue(path, f"{text!r} must be a local time window HH:MM-HH:MM"))
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start > MINUTES_PER_DAY or end > MINUTES_PER_DAY or start == end:
        issues.append(FieldIssue(path, f"{text!r} must be a non-empty window within 00:00-24:00"))
        return None
    return start, end


def window_text(window: Window) -> str:
    """``(1020, 1320)`` as ``17:00-22:00``."""
    return "-".join(f"{m // 60:02d}:{m % 60:02d}" for m in window)


def in_windows(minute_of_day: np.ndarray, windows: Sequence[Window]) -> np.ndarray:
    """Whether each local minute of day lies in any of ``windows``."""
    inside = np.zeros(minute_of_day.shape, dtype=bool)
    for start, end in windows:
        if start < end:
            inside |= (minute_of_day >= start) & (minute_of_day < end)
        else:
            inside |= (minute_of_day >= start) | (minute_of_day < end)
    return inside


@dataclass(frozen=True, eq=False)
class OwnerRules:
    """The owner's rules of N cars (see the module docstring), one element per car.

    Parameters
    ----------
    v2g_floor_soc : array [N]
        V2G/V2V never discharge below it (0: only the reserve ``soc_min`` applies). [0..1]
    v2g_max_kwh_per_day : array [N]
        Most V2G/V2V energy per local day, battery side (inf: no cap). [kWh]
    max_cycles_per_week : array [N]
        Most V2G/V2V equivalent full cycles per rolling week (inf: no cap). [cycles]
    discharge_hours, no_discharge_hours : tuple of N tuples of windows
        Local windows in which discharging is allowed (empty: any time) / not allowed.
    no_discharge_until : tuple of N timezone-aware times or None
        No discharge before it.
    v2g_kwh_today : array [N]
        V2G/V2V energy the car already gave today, battery side. [kWh]
    v2g_kwh_past_days : array [N, 6]
        V2G/V2V energy it gave on each of the six days before today, oldest first. [kWh]
    """

    v2g_floor_soc: np.ndarray
    v2g_max_kwh_per_day: np.ndarray
    max_cycles_per_week: np.ndarray
    discharge_hours: tuple[tuple[Window, ...], ...]
    no_discharge_hours: tuple[tuple[Window, ...], ...]
    no_discharge_until: tuple[datetime | None, ...]
    v2g_kwh_today: np.ndarray
    v2g_kwh_past_days: np.ndarray

    def __post_init__(self) -> None:
        for name in (
            "v2g_floor_soc",
            "v2g_max_kwh_per_day",
            "max_cycles_per_week",
            "v2g_kwh_today",
        ):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))
        past = np.asarray(self.v2g_kwh_past_days, dtype=float).reshape(-1, PAST_DAYS)
        object.__setattr__(self, "v2g_kwh_past_days", past)
        issues: list[FieldIssue] = []
        self._check(issues)
        if issues:
            raise ProblemError(issues)

    @property
    def n_cars(self) -> int:
        return int(self.v2g_floor_soc.size)

    @classmethod
    def none(cls, n_cars: int) -> OwnerRules:
        """N cars without rules."""
        return cls(
            v2g_floor_soc=np.zeros(n_cars),
            v2g_max_kwh_per_day=np.full(n_cars, np.inf),
            max_cycles_per_week=np.full(n_cars, np.inf),
            discharge_hours=((),) * n_cars,
            no_discharge_hours=((),) * n_cars,
            no_discharge_until=(None,) * n_cars,
            v2g_kwh_today=np.zeros(n_cars),
            v2g_kwh_past_days=np.zeros((n_cars, PAST_DAYS)),
        )

    @classmethod
    def from_records(
        cls, blocks: Sequence[Mapping[str, object] | None], prefix: str = "vehicles"
    ) -> OwnerRules | None:
        """The rules of N cars from their optional ``rules`` blocks (None when no car has one).
        Raises :class:`ProblemError` naming ``vehicles[i].rules.<key>`` for every bad value."""
        if not any(blocks):
            return None
        n = len(blocks)
        rules = cls.none(n)
        columns = {
            "v2g_floor_soc": rules.v2g_floor_soc.copy(),
            "v2g_max_kwh_per_day": rules.v2g_max_kwh_per_day.copy(),
            "max_cycles_per_week": rules.max_cycles_per_week.copy(),
            "v2g_kwh_today": rules.v2g_kwh_today.copy(),
        }
        past = rules.v2g_kwh_past_days.copy()
        allowed: list[tuple[Window, ...]] = []
        forbidden: list[tuple[Window, ...]] = []
        until: list[datetime | None] = []
        issues: list[FieldIssue] = []
        for i, block in enumerate(blocks):
            block = block or {}
            root = f"{prefix}[{i}].rules"
            for key in sorted(set(block) - set(RULE_KEYS)):
                issues.append(
                    FieldIssue(f"{root}.{key}", f"is not a rule ({', '.join(RULE_KEYS)})")
                )
            for name, column in columns.items():
                if block.get(name) is not None:
                    column[i] = _number(block[name], f"{root}.{name}", issues)
            if block.get("v2g_kwh_past_days") is not None:
                past[i] = _past_days(
                    block["v2g_kwh_past_days"], f"{root}.v2g_kwh_past_days", issues
                )
            allowed.append(
                _windows(block.get("discharge_hours"), f"{root}.discharge_hours", issues)
            )
            forbidden.append(
                _windows(block.get("no_discharge_hours"), f"{root}.no_discharge_hours", issues)
            )
            until.append(
                _time(block.get("no_discharge_until"), f"{root}.no_discharge_until", issues)
            )
        if issues:
            raise ProblemError(issues)
        return cls(
            **columns,
            discharge_hours=tuple(allowed),
            no_discharge_hours=tuple(forbidden),
            no_discharge_until=tuple(until),
            v2g_kwh_past_days=past,
        )

    def to_record(self, i: int) -> dict[str, object]:
        """Car ``i``'s ``rules`` block with only the rules it has (empty: none)."""
        record: dict[str, object] = {}
        if self.v2g_floor_soc[i] > 0:
            record["v2g_floor_soc"] = float(self.v2g_floor_soc[i])
        for name in ("v2g_max_kwh_per_day", "max_cycles_per_week"):
            if np.isfinite(getattr(self, name)[i]):
                record[name] = float(getattr(self, name)[i])
        if self.discharge_hours[i]:
            record["discharge_hours"] = [window_text(w) for w in self.discharge_hours[i]]
        if self.no_discharge_hours[i]:
            record["no_discharge_hours"] = [window_text(w) for w in self.no_discharge_hours[i]]
        if self.no_discharge_until[i] is not None:
            record["no_discharge_until"] = pd.Timestamp(self.no_discharge_until[i]).isoformat()
        if self.v2g_kwh_today[i] > 0:
            record["v2g_kwh_today"] = float(self.v2g_kwh_today[i])
        if self.v2g_kwh_past_days[i].any():
            record["v2g_kwh_past_days"] = [float(v) for v in self.v2g_kwh_past_days[i]]
        return record

    def take(self, rows: np.ndarray) -> OwnerRules:
        """The rules of the cars ``rows`` (in that order)."""
        pick = [int(r) for r in rows]
        return OwnerRules(
            v2g_floor_soc=self.v2g_floor_soc[rows],
            v2g_max_kwh_per_day=self.v2g_max_kwh_per_day[rows],
            max_cycles_per_week=self.max_cycles_per_week[rows],
            discharge_hours=tuple(self.discharge_hours[r] for r in pick),
            no_discharge_hours=tuple(self.no_discharge_hours[r] for r in pick),
            no_discharge_until=tuple(self.no_discharge_until[r] for r in pick),
            v2g_kwh_today=self.v2g_kwh_today[rows],
            v2g_kwh_past_days=self.v2g_kwh_past_days[rows],
        )

    def uses_clock(self) -> np.ndarray:
        """``[N]`` cars with a rule that speaks of local days or times of day."""
        return (
            np.isfinite(self.v2g_max_kwh_per_day)
            | np.isfinite(self.max_cycles_per_week)
            | np.array([bool(w) for w in self.discharge_hours])
            | np.array([bool(w) for w in self.no_discharge_hours])
            | np.array([u is not None for u in self.no_discharge_until])
        )

    def discharge_allowed(self, clock: SlotGrid | None, zone: str, n_slots: int) -> np.ndarray:
        """``[N, T]`` whether each car may discharge in each slot (hours and "not today").

        A slot is allowed when it starts inside an allowed window (if the car has any), not
        inside a forbidden one, and not before ``no_discharge_until``. Without a clock only
        cars without clock rules are asked (every slot allowed)."""
        allowed = np.ones((self.n_cars, n_slots), dtype=bool)
        if clock is None:
            return allowed
        starts = clock.index(n_slots)
        local = starts.tz_convert(zone)
        minute = np.asarray(local.hour * 60 + local.minute)
        for i in range(self.n_cars):
            if self.discharge_hours[i]:
                allowed[i] &= in_windows(minute, self.discharge_hours[i])
            if self.no_discharge_hours[i]:
                allowed[i] &= ~in_windows(minute, self.no_discharge_hours[i])
            if self.no_discharge_until[i] is not None:
                allowed[i] &= np.asarray(starts >= pd.Timestamp(self.no_discharge_until[i]))
        return allowed

    def _check(self, issues: list[FieldIssue]) -> None:
        n = self.n_cars

        def bad(name: str, values: np.ndarray, rule: str) -> None:
            for i in np.flatnonzero(values)[:5]:
                issues.append(FieldIssue(f"vehicles[{i}].rules.{name}", rule))

        floor = self.v2g_floor_soc
        bad("v2g_floor_soc", ~((floor >= 0) & (floor <= 1)), "must be within [0, 1]")
        for name in ("v2g_max_kwh_per_day", "max_cycles_per_week"):
            values = getattr(self, name)
            bad(name, np.isnan(values) | (values < 0), "must be >= 0")
        bad(
            "v2g_kwh_today",
            ~np.isfinite(self.v2g_kwh_today) | (self.v2g_kwh_today < 0),
            "must be a finite number >= 0",
        )
        past = self.v2g_kwh_past_days
        bad(
            "v2g_kwh_past_days",
            ~(np.isfinite(past) & (past >= 0)).all(axis=1),
            "must be finite numbers >= 0",
        )
        sizes = {
            len(self.discharge_hours),
            len(self.no_discharge_hours),
            len(self.no_discharge_until),
            self.v2g_max_kwh_per_day.size,
            self.max_cycles_per_week.size,
            self.v2g_kwh_today.size,
            past.shape[0],
        }
        if sizes != {n}:
            issues.append(
                FieldIssue("vehicles[*].rules", f"rules given for {sorted(sizes)} of {n} cars")
            )


def _number(value: object, path: str, issues: list[FieldIssue]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(FieldIssue(path, f"{value!r} must be a number"))
        return 0.0
    return float(value)


def _past_days(value: object, path: str, issues: list[FieldIssue]) -> np.ndarray:
    if (
        not isinstance(value, list)
        or len(value) != PAST_DAYS
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
    ):
        issues.append(
            FieldIssue(path, f"must be {PAST_DAYS} numbers, the kWh of each day before today")
        )
        return np.zeros(PAST_DAYS)
    return np.asarray(value, dtype=float)


def _windows(value: object, path: str, issues: list[FieldIssue]) -> tuple[Window, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not value:
        issues.append(FieldIssue(path, "must be a non-empty list of windows HH:MM-HH:MM"))
        return ()
    windows = [parse_window(text, f"{path}[{k}]", issues) for k, text in enumerate(value)]
    return tuple(w for w in windows if w is not None)


def _time(value: object, path: str, issues: list[FieldIssue]) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        stamp = pd.Timestamp(value)
    elif isinstance(value, str):
        try:
            if not RFC_3339.fullmatch(value):  # pandas alone reads "now", "" or "Jan 15 9pm"
                raise ValueError(value)
            stamp = pd.Timestamp(value)
        except ValueError:
            issues.append(FieldIssue(path, f"{value!r} must be an RFC 3339 time"))
            return None
    else:
        issues.append(FieldIssue(path, f"{value!r} must be an RFC 3339 time"))
        return None
    if stamp.tzinfo is None:
        issues.append(FieldIssue(path, f"{value!r} has no UTC offset: add one or Z"))
        return None
    return stamp.tz_convert("UTC").to_pydatetime()


def local_days(clock: SlotGrid, zone: str, n_slots: int) -> np.ndarray:
    """``[T]`` the local calendar day each slot starts in, 0 being slot 0's day."""
    local = clock.index(n_slots).tz_convert(zone).tz_localize(None).normalize()
    return np.asarray((local - local[0]).days, dtype=np.int64)
