"""Home backup files (TOML): a house, its circuits, its cars, an outage and an overload window.

Validated with pydantic like the simulation scenarios (:mod:`voltpool.scenario.model`): unknown
keys are rejected and every problem is reported at once as a :class:`FieldIssue` whose field is
the key's path (``cars[1].min_range_km``, ``outage.end``). Times without an offset are local to
``timezone``. Built-in homes ship in ``voltpool/backup/builtin/``.

The house's load is a profile split over the circuits that give a ``share`` (the BDEW H25
household profile scaled to ``house.annual_kwh``, via :func:`voltpool.data.household_load_kw`,
or an explicit ``house.load_kw`` list); circuits with a fixed ``load_kw`` (a heat pump, cooking)
come on top of it, optionally only between ``runs_from`` and ``runs_until`` each day.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voltpool.backup.outage import OutagePlan, plan_outage, reserve_kwh_from
from voltpool.backup.overload import DEFAULT_IMPORT_PRICE_PER_KWH, OverloadPlan, plan_overload
from voltpool.errors import FieldIssue, ProblemError
from voltpool.tomlfiles import TimeZone, TomlLibrary, validation_issues

SLOT_MINUTES = 15
SLOT = pd.Timedelta(minutes=SLOT_MINUTES)
DT_H = SLOT_MINUTES / 60
MAX_HOURS = 14 * 24
"""Longest outage or overload window accepted (two weeks)."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class House(Section):
    """The profile the ``share`` circuits split: H25 scaled to ``annual_kwh`` or ``load_kw``."""

    annual_kwh: PositiveFloat | None = None
    load_kw: list[NonNegativeFloat] | None = None
    load_start: dt.datetime | None = None


class Circuit(Section):
    name: Name
    share: Fraction | None = None
    load_kw: NonNegativeFloat | None = None
    runs_from: dt.time | None = None
    runs_until: dt.time | None = None
    critical: bool = False
    priority: int = 0


class Car(Section):
    name: Name
    model: str = ""
    capacity_kwh: PositiveFloat
    soc: Fraction
    max_discharge_kw: NonNegativeFloat = 0.0
    max_charge_kw: NonNegativeFloat = 11.0
    discharge_efficiency: Efficiency = 0.9
    charge_efficiency: Efficiency = 0.9
    consumption_kwh_per_100km: PositiveFloat = 18.0
    min_range_km: NonNegativeFloat | None = None
    min_soc: Fraction | None = None
    target_soc: Fraction | None = None
    home_from: dt.datetime | dt.time | None = None
    home_until: dt.datetime | dt.time | None = None


class Window(Section):
    start: dt.datetime
    end: dt.datetime | None = None
    duration_hours: PositiveFloat | None = None


class Outage(Window):
    """The grid is down from ``start`` until ``end`` (or for ``duration_hours``)."""


class Overload(Window):
    """The house may import at most ``limit_kw`` (default ``breaker_kw``) in this window."""

    limit_kw: PositiveFloat | None = None
    import_price_per_kwh: Annotated[float, Field(allow_inf_nan=False)] = (
        DEFAULT_IMPORT_PRICE_PER_KWH
    )


class Home(Section):
    """A validated home backup file."""

    name: Name
    description: str = ""
    timezone: TimeZone = "Europe/Amsterdam"
    breaker_kw: PositiveFloat
    export_limit_kw: NonNegativeFloat = 0.0
    house: House
    circuits: Annotated[list[Circuit], Field(min_length=1)]
    cars: list[Car] = []
    outage: Outage
    overload: Overload | None = None

    def local(self, value: dt.datetime) -> pd.Timestamp:
        """A time from the file as a UTC timestamp (naive = local to ``timezone``)."""
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(self.timezone)
        return stamp.tz_convert("UTC")

    def window(self, section: Window, hours: float | None = None) -> pd.DatetimeIndex:
        """UTC start of every 15-minute slot of ``section`` (``hours`` overrides its length)."""
        start = self.local(section.start)
        if hours is not None:
            end = start + pd.Timedelta(hours=hours)
        elif section.end is not None:
            end = self.local(section.end)
        else:
            end = start + pd.Timedelta(hours=float(section.duration_hours or 0.0))
        return pd.date_range(start, end, freq=SLOT, inclusive="left", name="time_utc")


def _window_issues(home: Home, name: str, section: Window) -> list[FieldIssue]:
    issues: list[FieldIssue] = []
    if (section.end is None) == (section.duration_hours is None):
        issues.append(FieldIssue(f"{name}.end", "give exactly one of end and duration_hours"))
        return issues
    start = home.local(section.start)
    if start != start.floor(SLOT):
        issues.append(FieldIssue(f"{name}.start", "must be on a quarter hour (15-minute slots)"))
    if section.end is not None:
        end = home.local(section.end)
        field = f"{name}.end"
        if end <= start:
            issues.append(
                FieldIssue(field, f"({section.end}) must be after start ({section.start})")
            )
            return issues
    else:
        end = start + pd.Timedelta(hours=float(section.duration_hours or 0.0))
        field = f"{name}.duration_hours"
    if end != end.floor(SLOT) or (end - start) < SLOT:
        issues.append(FieldIssue(field, "must end on a quarter hour, at least 15 minutes in"))
    if end - start > pd.Timedelta(hours=MAX_HOURS):
        issues.append(FieldIssue(field, f"the window must not be longer than {MAX_HOURS} h"))
    return issues


def _cross_issues(home: Home) -> list[FieldIssue]:
    """Rules between keys, with the path of the key to fix."""
    issues: list[FieldIssue] = []
    house = home.house
    if (house.annual_kwh is None) == (house.load_kw is None):
        issues.append(FieldIssue("house", "give exactly one of annual_kwh and load_kw"))
    if house.load_start is not None and house.load_kw is None:
        issues.append(FieldIssue("house.load_start", "only applies with house.load_kw"))
    shares = 0.0
    names: dict[str, int] = {}
    for i, circuit in enumerate(home.circuits):
        if circuit.name in names:
            issues.append(
                FieldIssue(
                    f"circuits[{i}].name",
                    f"{circuit.name!r} repeats circuits[{names[circuit.name]}].name",
                )
            )
        names.setdefault(circuit.name, i)
        if (circuit.share is None) == (circuit.load_kw is None):
            issues.append(FieldIssue(f"circuits[{i}]", "give exactly one of share and load_kw"))
        if circuit.share is not None:
            shares += circuit.share
            for key in ("runs_from", "runs_until"):
                if getattr(circuit, key) is not None:
                    issues.append(
                        FieldIssue(f"circuits[{i}].{key}", "only applies to a fixed load_kw")
                    )
    if any(c.share is not None for c in home.circuits) and not math.isclose(
        shares, 1.0, abs_tol=1e-6
    ):
        issues.append(
            FieldIssue(
                "circuits[*].share",
                f"the shares add up to {shares:g}; they must add up to 1 (they split the house "
                "profile)",
            )
        )
    car_names: dict[str, int] = {}
    for i, car in enumerate(home.cars):
        if car.name in car_names:
            issues.append(
                FieldIssue(f"cars[{i}].name", f"{car.name!r} repeats cars[{car_names[car.name]}]")
            )
        car_names.setdefault(car.name, i)
        try:
            reserve_kwh_from(
                car.capacity_kwh, car.min_soc, car.min_range_km, car.consumption_kwh_per_100km / 100
            )
        except ProblemError as error:
            issues += [FieldIssue(f"cars[{i}].{x.field}", x.rule) for x in error.issues]
    issues += _window_issues(home, "outage", home.outage)
    if home.overload is not None:
        issues += _window_issues(home, "overload", home.overload)
    return issues


def home_from_dict(document: dict[str, object]) -> Home:
    """Validate a parsed home file (raises :class:`ProblemError` listing every issue)."""
    try:
        home = Home.model_validate(document)
    except ValidationError as error:
        raise ProblemError(
            validation_issues(
                error,
                "(home)",
                "`voltpool backup --show` prints the keys",
                skip=("datetime", "time"),  # pydantic names the union member it tried
            )
        ) from None
    issues = _cross_issues(home)
    if issues:
        raise ProblemError(issues)
    return home


HOMES = TomlLibrary("voltpool.backup", "home", "--scenario")


def load_home(name_or_path: str | Path = "home") -> Home:
    """Read and validate a home by built-in name or TOML path (raises ProblemError)."""
    document, _source = HOMES.document(name_or_path)
    return home_from_dict(document)


def _profile_kw(home: Home, index: pd.DatetimeIndex) -> np.ndarray:
    """The house profile (split by the share circuits) on ``index``. [kW]"""
    house = home.house
    if house.load_kw is not None:
        start = home.local(house.load_start or home.outage.start)
        values = np.asarray(house.load_kw, dtype=float)
        offset = (index - start) // SLOT
        if offset.min() < 0 or offset.max() >= values.size:
            covered_end = start + SLOT * values.size
            raise ProblemError(
                [
                    FieldIssue(
                        "house.load_kw",
                        f"covers {start} .. {covered_end} (UTC) in 15-minute values; "
                        f"the plan needs {index[0]} .. {index[-1] + SLOT}",
                    )
                ]
            )
        return values[np.asarray(offset)]
    from voltpool.data import household_load_kw  # demandlib is only loaded when needed

    first = index[0].floor("D")
    days = math.ceil((index[-1] + SLOT - first) / pd.Timedelta(days=1))
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


def circuit_loads_kw(home: Home, index: pd.DatetimeIndex) -> np.ndarray:
    """``[C, T]`` load of every circuit on ``index``. [kW]"""
    needs_profile = any(c.share is not None for c in home.circuits)
    profile = _profile_kw(home, index) if needs_profile else np.zeros(index.size)
    rows = []
    for circuit in home.circuits:
        if circuit.share is not None:
            rows.append(circuit.share * profile)
        else:
            rows.append(float(circuit.load_kw or 0.0) * _running(home, circuit, index))
    return np.vstack(rows)


def _resolve(
    home: Home, value: dt.datetime | dt.time | None, day: pd.Timestamp, after: pd.Timestamp
) -> pd.Timestamp | None:
    """A car's home time: a datetime as is; a time of day on ``day`` (local), moved a day on
    while it is not after ``after``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return home.local(value)
    stamp = home.local(dt.datetime.combine(day.date(), value))
    while stamp <= after:
        stamp += pd.Timedelta(days=1)
    return stamp


def car_available(home: Home, index: pd.DatetimeIndex) -> np.ndarray:
    """``[N, T]``: the car is at home (plugged in) for the whole slot."""
    start_local = index[0].tz_convert(home.timezone)
    available = np.ones((len(home.cars), index.size), dtype=bool)
    for n, car in enumerate(home.cars):
        came = _resolve(home, car.home_from, start_local, index[0] - pd.Timedelta(days=1))
        leaves = _resolve(home, car.home_until, start_local, came if came is not None else index[0])
        if came is not None:
            available[n] &= np.asarray(index >= came)
        if leaves is not None:
            available[n] &= np.asarray(index + SLOT <= leaves)
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
        target_soc = col("target_soc")
        return cls(
            names=tuple(c.name for c in cars),
            capacity_kwh=capacity,
            energy_kwh=energy,
            # a floor that is not given counts as 0, as in reserve_kwh_from
            reserve_kwh=reserve_kwh_from(
                capacity, col("min_soc", 0.0), col("min_range_km", 0.0), per_km
            ),
            max_charge_kw=col("max_charge_kw"),
            max_discharge_kw=col("max_discharge_kw"),
            charge_efficiency=col("charge_efficiency"),
            discharge_efficiency=col("discharge_efficiency"),
            consumption_kwh_per_km=per_km,
            target_kwh=np.where(np.isnan(target_soc), energy, target_soc * capacity),
        )


@dataclass(frozen=True, eq=False)
class OutageCase:
    """A home's outage as arrays, ready for :func:`plan_outage`, and its plan."""

    home: Home
    index: pd.DatetimeIndex
    circuit_load_kw: np.ndarray
    cars: CarArrays
    available: np.ndarray
    plan: OutagePlan

    @property
    def dt_h(self) -> float:
        return self.plan.dt_h


def plan_home_outage(home: Home, hours: float | None = None, **options: float) -> OutageCase:
    """Plan the home's outage (``hours`` overrides its length); ``options`` go to
    :func:`plan_outage` (``time_discount``, ``mip_rel_gap``, ``time_limit_s``)."""
    if hours is not None and not (DT_H <= hours <= MAX_HOURS and (hours / DT_H).is_integer()):
        raise ProblemError(
            [
                FieldIssue(
                    "--hours", f"{hours!r} must be a multiple of {DT_H} within {DT_H}..{MAX_HOURS}"
                )
            ]
        )
    index = home.window(home.outage, hours)
    loads = circuit_loads_kw(home, index)
    cars = CarArrays.of(home)
    available = car_available(home, index)
    plan = plan_outage(
        loads,
        np.array([c.critical for c in home.circuits], dtype=bool),
        np.array([c.priority for c in home.circuits], dtype=np.int64),
        cars.energy_kwh,
        cars.reserve_kwh,
        cars.max_discharge_kw,
        cars.discharge_efficiency,
        DT_H,
        available=available,
        circuit_names=tuple(c.name for c in home.circuits),
        **options,
    )
    return OutageCase(home, index, loads, cars, available, plan)


@dataclass(frozen=True, eq=False)
class OverloadCase:
    """A home's overload window and the scheduler's plan for it (cars away are left out)."""

    home: Home
    index: pd.DatetimeIndex
    cars: CarArrays
    plugged: np.ndarray
    """Which of the home's cars are plugged in at some point in the window ``[N]``."""
    plan: OverloadPlan


def plan_home_overload(home: Home) -> OverloadCase:
    """Schedule the home's overload window with the one scheduler (:func:`plan_overload`)."""
    if home.overload is None:
        raise ProblemError([FieldIssue("overload", "the home file has no [overload] section")])
    section = home.overload
    index = home.window(section)
    load = circuit_loads_kw(home, index).sum(axis=0)
    cars = CarArrays.of(home)
    available = car_available(home, index)
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
        slot_minutes=SLOT_MINUTES,
        import_price_per_kwh=section.import_price_per_kwh,
        export_limit_kw=home.export_limit_kw,
        ids=tuple(cars.names[n] for n in keep),
    )
    return OverloadCase(home, index, cars, plugged, plan)
