"""Scenario files (TOML): what to simulate, validated with clear errors naming the key.

A scenario names the neighbourhood (homes, cars, transformer), the tariff, the period, the
policies to compare, how they plan (horizon, re-planning, forecasts) and grid events. Built-in
scenarios ship in ``voltpool/scenario/builtin/``; ``voltpool scenario show NAME`` prints one.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from voltpool.errors import FieldIssue, ProblemError

POLICIES = ("uncontrolled", "smart", "v2g", "v2g-wear")
PolicyName = Literal["uncontrolled", "smart", "v2g", "v2g-wear"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Homes(Section):
    count: Annotated[int, Field(ge=0, le=100_000)]
    annual_kwh: PositiveFloat = 3000.0
    annual_kwh_spread: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3


class Vehicles(Section):
    count: Annotated[int, Field(ge=0, le=100_000)]
    bidirectional_share: Fraction = 0.5
    charger_kw: PositiveFloat = 11.0
    session_category: Literal["home", "public", "workplace"] = "home"
    plugins_per_week: Annotated[float, Field(gt=0.0, le=7.0)] = 3.0
    soc_initial: Fraction = 0.6
    soc_min: Fraction = 0.3
    soc_max: Fraction = 0.9
    soc_target: Fraction = 0.8
    degradation_cost_per_kwh: NonNegativeFloat = 0.0

    @model_validator(mode="after")
    def _soc_order(self) -> Vehicles:
        if self.soc_min > self.soc_max:
            raise ValueError(f"soc_min ({self.soc_min}) must be <= soc_max ({self.soc_max})")
        if self.soc_target > self.soc_max:
            raise ValueError(f"soc_target ({self.soc_target}) must be <= soc_max ({self.soc_max})")
        if self.soc_initial > self.soc_max:
            raise ValueError(
                f"soc_initial ({self.soc_initial}) must be <= soc_max ({self.soc_max})"
            )
        return self


class Transformer(Section):
    import_limit_kw: PositiveFloat
    export_limit_kw: PositiveFloat | None = None


class TariffSpec(Section):
    network_fee_per_kwh: NonNegativeFloat = 0.0
    export_fee_per_kwh: NonNegativeFloat = 0.0
    peak_price_per_kw: NonNegativeFloat = 0.0


class Planning(Section):
    horizon_hours: Annotated[int, Field(ge=1, le=168)] = 24
    replan: Literal["hourly", "events"] = "hourly"
    forecast: Literal["perfect", "persistence"] = "persistence"
    unmet_penalty_per_kwh: NonNegativeFloat = 10.0


class BatterySpec(Section):
    """How battery wear is valued (health report, ``v2g-wear`` policy)."""

    pack_value_per_kwh: NonNegativeFloat = 120.0
    end_of_life_capacity: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.7
    temperature_c: Annotated[float, Field(ge=-30.0, le=60.0)] = 15.0
    segments: Annotated[int, Field(ge=1, le=10)] = 4
    warranty_years: Annotated[float, Field(gt=0.0, le=30.0)] = 8.0


class ImportLimitEvent(Section):
    type: Literal["import_limit"]
    start: dt.datetime
    end: dt.datetime
    import_limit_kw: NonNegativeFloat

    @model_validator(mode="after")
    def _ordered(self) -> ImportLimitEvent:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class Scenario(Section):
    """A validated scenario. Times in events are local to ``timezone`` unless they carry one."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    start: dt.date
    days: Annotated[int, Field(ge=1, le=3660)]
    timezone: str = "Europe/Amsterdam"
    seed: int = 0
    slot_minutes: Literal[15] = 15
    policies: Annotated[list[PolicyName], Field(min_length=1)] = [
        "uncontrolled",
        "smart",
        "v2g",
        "v2g-wear",
    ]
    homes: Homes
    vehicles: Vehicles
    transformer: Transformer
    tariff: TariffSpec = TariffSpec()
    planning: Planning = Planning()
    battery: BatterySpec = BatterySpec()
    events: list[ImportLimitEvent] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from error
        return value

    @field_validator("policies")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("policies must not repeat")
        return value

    @property
    def start_utc(self) -> pd.Timestamp:
        """Local midnight of ``start`` as a UTC timestamp."""
        return pd.Timestamp(self.start).tz_localize(self.timezone).tz_convert("UTC")

    @property
    def n_slots(self) -> int:
        return self.days * 24 * 60 // self.slot_minutes

    def slot_index(self) -> pd.DatetimeIndex:
        """Start of every simulated slot, UTC (wall-clock days follow the local zone's DST)."""
        return pd.date_range(self.start_utc, periods=self.n_slots, freq=f"{self.slot_minutes}min")

    def event_time_utc(self, value: dt.datetime) -> pd.Timestamp:
        stamp = pd.Timestamp(value)
        if stamp.tzinfo is None:
            stamp = stamp.tz_localize(self.timezone)
        return stamp.tz_convert("UTC")


def _issues(error: ValidationError) -> list[FieldIssue]:
    issues = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling; `voltpool scenario show` lists the keys)"
        elif item["type"] == "missing":
            message = "is required"
        issues.append(FieldIssue(path or "(scenario)", message))
    return issues


def scenario_from_dict(document: dict[str, object]) -> Scenario:
    try:
        return Scenario.model_validate(document)
    except ValidationError as error:
        raise ProblemError(_issues(error)) from None


def builtin_names() -> list[str]:
    folder = resources.files("voltpool.scenario").joinpath("builtin")
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


def scenario_text(name_or_path: str | Path) -> tuple[str, str]:
    """The TOML text of a built-in scenario (by name) or a file, and where it came from."""
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ProblemError([FieldIssue("SCENARIO", f"{path} is not a readable file")])
        return path.read_text(), str(path)
    name = str(name_or_path)
    if name not in builtin_names():
        raise ProblemError(
            [
                FieldIssue(
                    "SCENARIO",
                    f"{name!r} is neither a .toml file nor a built-in scenario "
                    f"({', '.join(builtin_names())})",
                )
            ]
        )
    text = resources.files("voltpool.scenario").joinpath(f"builtin/{name}.toml").read_text()
    return text, f"built-in scenario {name!r}"


def load_scenario(name_or_path: str | Path = "neighbourhood") -> Scenario:
    """Read and validate a scenario by built-in name or TOML path (raises ProblemError)."""
    text, source = scenario_text(name_or_path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProblemError([FieldIssue(source, f"is not valid TOML: {error}")]) from None
    return scenario_from_dict(document)
