"""A home for V2H backup: its house, circuits and cars, an outage and an overload window.

Plain dataclasses, checked when built (every broken rule at once, each named by the path of the
key to fix: ``circuits[*].share``, ``cars[1].min_range_km``, ``outage.end``); home TOML files
are read by :mod:`voltpool.files.home`. Times are UTC timestamps; times of day (a circuit's
``runs_from``, a car's ``home_from``...) are local to the home's ``timezone``. Plans run on the
clock's slots (:class:`voltpool.model.SlotGrid`) from the start of their window.

The house's load is a profile split over the circuits that give a ``share`` (the BDEW H25
household profile scaled to ``house.annual_kwh``, via :func:`voltpool.data.household_load_kw`,
or an explicit ``house.load_kw`` list, one value per slot); circuits with a fixed ``load_kw``
(a heat pump, cooking) come on top of it, optionally only between ``runs_from`` and
``runs_until`` each day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from voltpool.backup.outage import OutagePlan, plan_outage, reserve_kwh_from
from voltpool.backup.overload import DEFAULT_IMPORT_PRICE_PER_KWH, OverloadPlan, plan_overload
from voltpool.errors import FieldIssue, ProblemError
from voltpool.model import (
    DEFAULT_CHARGE_EFFICIENCY,
    DEFAULT_DISCHARGE_EFFICIENCY,
    SlotGrid,
    as_utc,
)

DEFAULT_TIMEZONE = "Europe/Amsterdam"
MAX_HOURS = 14 * 24
"""Longest outage or overload window accepted (two weeks)."""

HomeTime = pd.Timestamp | dt.time
"""A moment (UTC) or a time of day (local to the home), e.g. when a car comes home."""


@dataclass(frozen=True)
class House:
    """The profile the ``share`` circuits split: H25 scaled to ``annual_kwh`` [kWh/a], or
    ``load_kw`` [kW], one value per slot from ``load_start`` (UTC; default the outage start)."""

    annual_kwh: float | None = None
    load_kw: tuple[float, ...] | None = None
    load_start: pd.Timestamp | None = None


@dataclass(frozen=True)
class Circuit:
    """One circuit behind its own relay: a ``share`` of the house profile, or a fixed
    ``load_kw`` [kW] drawn between ``runs_from`` and ``runs_until`` each day (default: all day).

    Critical circuits are shed only when nothing else is left; within the same class a lower
    ``priority`` is shed first.
    """

    name: str
    share: float | None = None
    load_kw: float | None = None
    runs_from: dt.time | None = None
    runs_until: dt.time | None = None
    critical: bool = False
    priority: int = 0


@dataclass(frozen=True)
class Car:
    """One of the home's cars, in the problem format's names where it has them.

    ``soc`` is the state of charge now; the driving reserve is the larger of ``soc_min`` and
    ``min_range_km`` at ``consumption_kwh_per_100km``; ``soc_target`` is the level it must be
    back at when an overload window ends (default: its SoC now). The car is at home from
    ``home_from`` until ``home_until`` (default: all the time).
    """

    name: str
    capacity_kwh: float
    soc: float
    model: str = ""
    max_discharge_kw: float = 0.0
    max_charge_kw: float = 11.0
    discharge_efficiency: float = DEFAULT_DISCHARGE_EFFICIENCY
    charge_efficiency: float = DEFAULT_CHARGE_EFFICIENCY
    consumption_kwh_per_100km: float = 18.0
    min_range_km: float | None = None
    soc_min: float | None = None
    soc_target: float | None = None
    home_from: HomeTime | None = None
    home_until: HomeTime | None = None


@dataclass(frozen=True)
class Window:
    """``[start, end)`` in UTC (naive = UTC): the grid is down (the outage) or the import is
    capped."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", as_utc(self.start))
        object.__setattr__(self, "end", as_utc(self.end))

    @property
    def grid(self) -> SlotGrid:
        """The clock's slots from ``start``."""
        return SlotGrid(self.start)

    def index(self, hours: float | None = None) -> pd.DatetimeIndex:
        """UTC start of every slot of the window (``hours`` overrides its length)."""
        grid = self.grid
        end = self.end if hours is None else self.start + pd.Timedelta(hours=hours)
        return grid.index(grid.end_slot(end))


@dataclass(frozen=True)
class Overload(Window):
    """The house may import at most ``limit_kw`` (default the breaker) in the window."""

    limit_kw: float | None = None
    import_price_per_kwh: float = DEFAULT_IMPORT_PRICE_PER_KWH


@dataclass(frozen=True)
class Home:
    """A house with circuits and cars, the outage to plan and an optional overload window.

    Raises :class:`ProblemError` naming every broken rule between its parts (shares that do
    not add up to 1, repeated names, a window off the slot grid, a reserve above a battery...).
    """

    name: str
    breaker_kw: float
    house: House
    circuits: tuple[Circuit, ...]
    outage: Window
    cars: tuple[Car, ...] = ()
    overload: Overload | None = None
    description: str = ""
    timezone: str = DEFAULT_TIMEZONE
    export_limit_kw: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "circuits", tuple(self.circuits))
        object.__setattr__(self, "cars", tuple(self.cars))
        issues = self.issues()
        if issues:
            raise ProblemError(issues)

    def issues(self) -> list[FieldIssue]:
        """Rules between keys, with the path of the key to fix."""
        issues = _house_issues(self.house)
        issues += _circuit_issues(self.circuits)
        issues += _car_issues(self.cars)
        issues += _window_issues("outage", self.outage, self.timezone)
        if self.overload is not None:
            issues += _window_issues("overload", self.overload, self.timezone)
        return issues


def _house_issues(house: House) -> list[FieldIssue]:
    issues = []
    if (house.annual_kwh is None) == (house.load_kw is None):
        issues.append(FieldIssue("house", "give exactly one of annual_kwh and load_kw"))
    if house.load_start is not None and house.load_kw is None:
        issues.append(FieldIssue("house.load_start", "only applies with house.load_kw"))
    return issues


def _repeats(prefix: str, names: list[str]) -> list[FieldIssue]:
    issues, seen = [], {}
    for i, name in enumerate(names):
        if name in seen:
            issues.append(
                FieldIssue(f"{prefix}[{i}].name", f"{name!r} repeats {prefix}[{seen[name]}].name")
            )
        seen.setdefault(name, i)
    return issues


def _circuit_issues(circuits: tuple[Circuit, ...]) -> list[FieldIssue]:
    issues = _repeats("circuits", [c.name for c in circuits])
    for i, circuit in enumerate(circuits):
        if (circuit.share is None) == (circuit.load_kw is None):
            issues.append(FieldIssue(f"circuits[{i}]", "give exactly one of share and load_kw"))
        if circuit.share is not None:
            for key in ("runs_from", "runs_until"):
                if getattr(circuit, key) is not None:
                    issues.append(
                        FieldIssue(f"circuits[{i}].{key}", "only applies to a fixed load_kw")
                    )
    shares = [c.share for c in circuits if c.share is not None]
    if shares and not math.isclose(sum(shares), 1.0, abs_tol=1e-6):
        issues.append(
            FieldIssue(
                "circuits[*].share",
                f"the shares add up to {sum(shares):g}; they must add up to 1 (they split the "
                "house profile)",
            )
        )
    return issues


def _car_issues(cars: tuple[Car, ...]) -> list[FieldIssue]:
    issues = _repeats("cars", [c.name for c in cars])
    for i, car in enumerate(cars):
        try:
            reserve_kwh_from(
                car.capacity_kwh, car.soc_min, car.min_range_km, car.consumption_kwh_per_100km / 100
            )
        except ProblemError as error:
            issues += [FieldIssue(f"cars[{i}].{x.field}", x.rule) for x in error.issues]
    return issues


def _window_issues(name: str, window: Window, timezone: str) -> list[FieldIssue]:
    clock = SlotGrid.at(window.start, slot_minutes=window.grid.slot_minutes)
    slot = f"{clock.slot_minutes}-minute slots"
    issues = []
    if clock.origin != window.start:
        issues.append(FieldIssue(f"{name}.start", f"must be on a slot boundary ({slot})"))
    field = f"{name}.end"
    if window.end <= window.start:
        end, start = window.end.tz_convert(timezone), window.start.tz_convert(timezone)
        return [*issues, FieldIssue(field, f"({end}) must be after start ({start})")]
    if not clock.is_boundary(window.end) or window.end - window.start < clock.slot:
        issues.append(
            FieldIssue(field, f"must end on a slot boundary, at least one slot in ({slot})")
        )
    if window.end - window.start > pd.Timedelta(hours=MAX_HOURS):
        issues.append(FieldIssue(field, f"the window must not be longer than {MAX_HOURS} h"))
    return issues


def _profile_kw(home: Home, index: pd.DatetimeIndex, grid: SlotGrid) -> np.ndarray:
    """The house profile (split by the share circuits) on ``index``. [kW]"""
    house = home.house
    if house.load_kw is not None:
        start = house.load_start or home.outage.start
        values = np.asarray(house.load_kw, dtype=float)
        offset = (index - start) // grid.slot
        if offset.min() < 0 or offset.max() >= values.size:
            raise ProblemError(
                [
                    FieldIssue(
                        "house.load_kw",
                        f"covers {start} .. {start + grid.slot * values.size} (UTC) in "
                        f"{grid.slot_minutes}-minute values; the plan needs {index[0]} .. "
                        f"{index[-1] + grid.slot}",
                    )
                ]
            )
        return values[np.asarray(offset)]
    from voltpool.data import household_load_kw  # demandlib is only loaded when needed

    first = index[0].floor("D")
    days = math.ceil((index[-1] + grid.slot - first) / pd.Timedelta(days=1))
    series = household_load_kw(first, days, float(house.annual_kwh or 0.0), local_tz=home.timezone)
    return series.reindex(index).to_numpy(dtype=float)


def _running(home: Home, circuit: Circuit, index: pd.DatetimeIndex) -> np.ndarray:
    """True in slots (by local start time) between ``runs_from`` and ``runs_until``."""
    if circuit.runs_from is None and circuit.runs_until is None:
        return np.ones(index.size, dtype=bool)
    local = index.tz_convert(home.timezone)
    minute = np.asarray(local.hour * 60 + local.minute)
    begin = _minutes(circuit.runs_from or dt.time(0, 0))
    end = _minutes(circuit.runs_until) if circuit.runs_until is not None else 24 * 60
    if begin < end:
        return (minute >= begin) & (minute < end)
    return (minute >= begin) | (minute < end)  # runs past midnight


def _minutes(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def circuit_loads_kw(home: Home, index: pd.DatetimeIndex, grid: SlotGrid) -> np.ndarray:
    """``[C, T]`` load of every circuit on ``index`` (slots of ``grid``). [kW]"""
    needs_profile = any(c.share is not None for c in home.circuits)
    profile = _profile_kw(home, index, grid) if needs_profile else np.zeros(index.size)
    rows = []
    for circuit in home.circuits:
        if circuit.share is not None:
            rows.append(circuit.share * profile)
        else:
            rows.append(float(circuit.load_kw or 0.0) * _running(home, circuit, index))
    return np.vstack(rows)


def _resolve(
    home: Home, value: HomeTime | None, day: pd.Timestamp, after: pd.Timestamp
) -> pd.Timestamp | None:
    """A car's home time: a moment as is; a time of day on ``day`` (local), moved a day on
    while it is not after ``after``."""
    if value is None or isinstance(value, pd.Timestamp):
        return value
    stamp = pd.Timestamp(dt.datetime.combine(day.date(), value)).tz_localize(home.timezone)
    while stamp <= after:
        stamp += pd.Timedelta(days=1)
    return stamp.tz_convert("UTC")


def car_available(home: Home, index: pd.DatetimeIndex, grid: SlotGrid) -> np.ndarray:
    """``[N, T]``: the car is at home (plugged in) for the whole slot."""
    start_local = index[0].tz_convert(home.timezone)
    available = np.ones((len(home.cars), index.size), dtype=bool)
    for n, car in enumerate(home.cars):
        came = _resolve(home, car.home_from, start_local, index[0] - pd.Timedelta(days=1))
        leaves = _resolve(home, car.home_until, start_local, came if came is not None else index[0])
        if came is not None:
            available[n] &= np.asarray(index >= came)
        if leaves is not None:
            available[n] &= np.asarray(index + grid.slot <= leaves)
    return available


@dataclass(frozen=True, eq=False)
class CarArrays:
    """The cars of a home as arrays over N (struct of arrays)."""

    names: tuple[str, ...]
    capacity_kwh: np.ndarray
    energy_kwh: np.ndarray
    reserve_kwh: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    consumption_kwh_per_km: np.ndarray
    target_kwh: np.ndarray

    @classmethod
    def of(cls, home: Home) -> CarArrays:
        cars = home.cars

        def col(key: str, missing: float = np.nan) -> np.ndarray:
            """One key over the cars; an optional key left out reads as ``missing``."""
            values = (getattr(c, key) for c in cars)
            return np.array([missing if v is None else float(v) for v in values], dtype=float)

        capacity = col("capacity_kwh")
        energy = col("soc") * capacity
        per_km = col("consumption_kwh_per_100km") / 100.0
        soc_target = col("soc_target")
        return cls(
            names=tuple(c.name for c in cars),
            capacity_kwh=capacity,
            energy_kwh=energy,
            # a floor that is not given counts as 0, as in reserve_kwh_from
            reserve_kwh=reserve_kwh_from(
                capacity, col("soc_min", 0.0), col("min_range_km", 0.0), per_km
            ),
            max_charge_kw=col("max_charge_kw"),
            max_discharge_kw=col("max_discharge_kw"),
            charge_efficiency=col("charge_efficiency"),
            discharge_efficiency=col("discharge_efficiency"),
            consumption_kwh_per_km=per_km,
            target_kwh=np.where(np.isnan(soc_target), energy, soc_target * capacity),
        )


@dataclass(frozen=True, eq=False)
class OutageCase:
    """A home's outage as arrays, ready for :func:`plan_outage`, and its plan."""

    home: Home
    grid: SlotGrid
    index: pd.DatetimeIndex
    circuit_load_kw: np.ndarray
    cars: CarArrays
    available: np.ndarray
    plan: OutagePlan

    @property
    def dt_h(self) -> float:
        return self.grid.dt_h


def plan_home_outage(home: Home, hours: float | None = None, **options: float) -> OutageCase:
    """Plan the home's outage (``hours`` overrides its length); ``options`` go to
    :func:`plan_outage` (``time_discount``, ``mip_rel_gap``, ``time_limit_s``)."""
    grid = home.outage.grid
    dt_h = grid.dt_h
    if hours is not None and not (dt_h <= hours <= MAX_HOURS and (hours / dt_h).is_integer()):
        raise ProblemError(
            [
                FieldIssue(
                    "--hours", f"{hours!r} must be a multiple of {dt_h} within {dt_h}..{MAX_HOURS}"
                )
            ]
        )
    index = home.outage.index(hours)
    loads = circuit_loads_kw(home, index, grid)
    cars = CarArrays.of(home)
    available = car_available(home, index, grid)
    plan = plan_outage(
        loads,
        np.array([c.critical for c in home.circuits], dtype=bool),
        np.array([c.priority for c in home.circuits], dtype=np.int64),
        cars.energy_kwh,
        cars.reserve_kwh,
        cars.max_discharge_kw,
        cars.discharge_efficiency,
        dt_h,
        available=available,
        circuit_names=tuple(c.name for c in home.circuits),
        **options,
    )
    return OutageCase(home, grid, index, loads, cars, available, plan)


@dataclass(frozen=True, eq=False)
class OverloadCase:
    """A home's overload window and the scheduler's plan for it (cars away are left out)."""

    home: Home
    grid: SlotGrid
    index: pd.DatetimeIndex
    cars: CarArrays
    plugged: np.ndarray
    """Which of the home's cars are plugged in at some point in the window ``[N]``."""
    plan: OverloadPlan


def plan_home_overload(home: Home) -> OverloadCase:
    """Schedule the home's overload window with the one scheduler (:func:`plan_overload`)."""
    if home.overload is None:
        raise ProblemError([FieldIssue("overload", "the home has no overload window")])
    section = home.overload
    grid = section.grid
    index = section.index()
    load = circuit_loads_kw(home, index, grid).sum(axis=0)
    cars = CarArrays.of(home)
    available = car_available(home, index, grid)
    plugged = available.any(axis=1)
    arrival = np.argmax(available, axis=1)
    # the plugged-in window runs from the first slot at home to the last (one stay per window)
    departure = available.shape[1] - np.argmax(available[:, ::-1], axis=1)
    keep = np.flatnonzero(plugged)
    plan = plan_overload(
        load,
        section.limit_kw if section.limit_kw is not None else home.breaker_kw,
        cars.capacity_kwh[keep],
        cars.energy_kwh[keep],
        cars.reserve_kwh[keep],
        cars.max_charge_kw[keep],
        cars.max_discharge_kw[keep],
        charge_efficiency=cars.charge_efficiency[keep],
        discharge_efficiency=cars.discharge_efficiency[keep],
        target_kwh=cars.target_kwh[keep],
        arrival_slot=arrival[keep],
        departure_slot=departure[keep],
        slot_minutes=grid.slot_minutes,
        import_price_per_kwh=section.import_price_per_kwh,
        export_limit_kw=home.export_limit_kw,
        ids=tuple(cars.names[n] for n in keep),
    )
    return OverloadCase(home, grid, index, cars, plugged, plan)
