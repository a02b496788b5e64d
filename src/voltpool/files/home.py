"""Home backup files (TOML): a house, its circuits, its cars, an outage and an overload window.

Validated with pydantic like the simulation scenarios (:mod:`voltpool.scenario.model`): unknown
keys are rejected and every problem is reported at once as a :class:`FieldIssue` whose field is
the key's path (``cars[1].min_range_km``, ``outage.end``); then the file becomes a
:class:`voltpool.backup.Home`, which checks the rules between keys. Times without an offset are
local to ``timezone``. Built-in homes ship in ``voltpool/backup/builtin/``.

A key left out takes the default of :mod:`voltpool.backup.home`. Cars use the problem format's
names (``soc_min``, ``soc_target``); a key of the older home format (``min_soc``,
``target_soc``) is an unknown key whose message names its new name.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voltpool import gate
from voltpool.backup.home import DEFAULT_TIMEZONE, Car, Circuit, Home, House, Overload, Window
from voltpool.errors import FieldIssue, ProblemError
from voltpool.files.toml import TimeZone, TomlLibrary, validation_issues
from voltpool.model import as_utc

RENAMED_KEYS = {"min_soc": "soc_min", "target_soc": "soc_target"}
"""Car keys of the older home format and their names now."""

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]
Efficiency = Annotated[float, Field(gt=0.0, le=1.0)]
Name = Annotated[str, Field(min_length=1)]


class Section(BaseModel):
    """Optional keys default to None here: left out, they take the core's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class HouseSpec(Section):
    annual_kwh: PositiveFloat | None = None
    load_kw: list[NonNegativeFloat] | None = None
    load_start: dt.datetime | None = None


class CircuitSpec(Section):
    name: Name
    share: Fraction | None = None
    load_kw: NonNegativeFloat | None = None
    runs_from: dt.time | None = None
    runs_until: dt.time | None = None
    critical: bool | None = None
    priority: int | None = None


class CarSpec(Section):
    name: Name
    model: str | None = None
    capacity_kwh: PositiveFloat
    soc: Fraction
    max_discharge_kw: NonNegativeFloat | None = None
    max_charge_kw: NonNegativeFloat | None = None
    discharge_efficiency: Efficiency | None = None
    charge_efficiency: Efficiency | None = None
    consumption_kwh_per_100km: PositiveFloat | None = None
    min_range_km: NonNegativeFloat | None = None
    soc_min: Fraction | None = None
    soc_target: Fraction | None = None
    home_from: dt.datetime | dt.time | None = None
    home_until: dt.datetime | dt.time | None = None


class WindowSpec(Section):
    """From ``start`` until ``end``, or for ``duration_hours``."""

    start: dt.datetime
    end: dt.datetime | None = None
    duration_hours: PositiveFloat | None = None


class OverloadSpec(WindowSpec):
    limit_kw: PositiveFloat | None = None
    import_price_per_kwh: Annotated[float, Field(allow_inf_nan=False)] | None = None


class HomeSpec(Section):
    """The TOML file's shape (see ``voltpool/backup/builtin/home.toml``)."""

    name: Name
    description: str | None = None
    timezone: TimeZone = DEFAULT_TIMEZONE
    breaker_kw: PositiveFloat
    export_limit_kw: NonNegativeFloat | None = None
    house: HouseSpec
    circuits: Annotated[list[CircuitSpec], Field(min_length=1)]
    cars: list[CarSpec] = []
    outage: WindowSpec
    overload: OverloadSpec | None = None


def _given(spec: BaseModel, *skip: str) -> dict[str, Any]:
    """The keys the file gives (so that the core's defaults apply to the others)."""
    return {k: v for k, v in spec.model_dump(exclude_unset=True).items() if k not in skip}


def _utc(value: Any, timezone: str) -> Any:
    """A date and time from the file in UTC (naive = local); a time of day as it is."""
    return as_utc(value, timezone) if isinstance(value, dt.datetime) else value


def _window(spec: WindowSpec, timezone: str) -> dict[str, Any]:
    start = as_utc(spec.start, timezone)
    if spec.end is not None:
        end = as_utc(spec.end, timezone)
    else:
        end = start + pd.Timedelta(hours=float(spec.duration_hours or 0.0))
    return _given(spec, "start", "end", "duration_hours") | {"start": start, "end": end}


def _home(spec: HomeSpec) -> Home:
    tz = spec.timezone
    house = _given(spec.house)
    if "load_kw" in house:
        house["load_kw"] = tuple(house["load_kw"])
    if "load_start" in house:
        house["load_start"] = as_utc(house["load_start"], tz)
    return Home(
        **_given(spec, "house", "circuits", "cars", "outage", "overload"),
        house=House(**house),
        circuits=tuple(Circuit(**_given(c)) for c in spec.circuits),
        cars=tuple(Car(**{k: _utc(v, tz) for k, v in _given(c).items()}) for c in spec.cars),
        outage=Window(**_window(spec.outage, tz)),
        overload=None if spec.overload is None else Overload(**_window(spec.overload, tz)),
    )


def _windows(spec: HomeSpec) -> dict[str, WindowSpec]:
    """The file's windows by key."""
    windows = {"outage": spec.outage, "overload": spec.overload}
    return {name: window for name, window in windows.items() if window is not None}


def home_from_dict(document: dict[str, object]) -> Home:
    """Validate a parsed home file (raises :class:`ProblemError` listing every issue)."""
    gate.check_document(document, "(home)")
    try:
        spec = HomeSpec.model_validate(document)
    except ValidationError as error:
        raise ProblemError(
            validation_issues(
                error,
                "(home)",
                "`voltpool backup show` prints the keys",
                skip=("datetime", "time"),  # pydantic names the union member it tried
                renamed=RENAMED_KEYS,
            )
        ) from None
    issues = [
        FieldIssue(f"{name}.end", "give exactly one of end and duration_hours")
        for name, window in _windows(spec).items()
        if (window.end is None) == (window.duration_hours is None)
    ]
    if issues:
        raise ProblemError(issues)
    try:
        return _home(spec)
    except ProblemError as error:
        # a window's end given as its length is reported against duration_hours
        by_duration = {f"{name}.end" for name, w in _windows(spec).items() if w.end is None}
        raise ProblemError(
            [
                FieldIssue(issue.field.replace(".end", ".duration_hours"), issue.rule)
                if issue.field in by_duration
                else issue
                for issue in error.issues
            ]
        ) from None


HOMES = TomlLibrary("voltpool.backup", "home", "HOME")
DEFAULT_HOME = "home"
"""The built-in home ``voltpool backup run`` plans when given none."""


def load_home(name_or_path: str | Path = DEFAULT_HOME) -> Home:
    """Read and validate a home by built-in name or TOML path (raises ProblemError)."""
    document, _source = HOMES.document(name_or_path)
    return home_from_dict(document)
