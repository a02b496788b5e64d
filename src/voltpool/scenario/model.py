"""Scenario files (TOML): what to simulate, validated with clear errors naming the key.

A scenario names the neighbourhood (homes, cars, transformer), the tariff, the period, the
policies to compare, how they plan (horizon, re-planning, forecasts) and grid events. Built-in
scenarios ship in ``voltpool/scenario/builtin/``; ``voltpool scenario show NAME`` prints one.

Events name homes and cars by id (``home-007``, ``car-023``: the n-th home or car the world
draws) or, for V2V, ``car = "auto"``. The ids are checked for their form here; whether a car
or home can do what its event needs is judged on the drawn world (a changed count or seed
draws other cars), where an event is re-targeted or left out with a note rather than refused
(:mod:`voltpool.simulate.events`). So are events outside the simulated period.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, ClassVar, Literal, TypeVar, get_args

import numpy as np
import pandas as pd
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from voltpool import gate
from voltpool.errors import FieldIssue, ProblemError
from voltpool.files.toml import TimeZone, TomlLibrary, validation_issues
from voltpool.model.rules import parse_window
from voltpool.model.tariffs import (
    DEFAULT_PRESET,
    RetailTariff,
    tariff_presets,
    tariff_with,
)

E = TypeVar("E")

POLICIES = ("uncontrolled", "smart", "v2g", "v2g-wear")
PolicyName = Literal["uncontrolled", "smart", "v2g", "v2g-wear"]

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveFloat = Annotated[float, Field(gt=0.0)]
NonNegativeFloat = Annotated[float, Field(ge=0.0)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


AUTO_CAR = "auto"
"""The car of a V2V event that names none: the simulator picks a suitable one."""


def id_number(kind: str, value: str) -> int | None:
    """The number of a well-formed id (``car-023`` -> 23 for ``kind`` ``car``), else None.

    The form is the one :attr:`Scenario.vehicle_ids` and :attr:`Scenario.home_ids` write: the
    kind, a dash and the number from 1, at least three digits with no other leading zeros."""
    prefix, dash, digits = value.partition("-")
    if prefix != kind or not dash or not digits.isascii() or not digits.isdigit():
        return None
    number = int(digits)
    return number if number >= 1 and digits == f"{number:03d}" else None


def _checked_id(kind: str, value: str, also: str = "") -> str:
    """``value`` if it is a well-formed ``kind`` id; ``also`` adds to the forms listed."""
    if id_number(kind, value) is None:
        raise ValueError(
            f"{gate.quote(value)} is not a {kind} id ({kind}-001, {kind}-002 ...{also})"
        )
    return value


def _home_id(value: str) -> str:
    return _checked_id("home", value)


def _car_choice(value: str) -> str:
    return value if value == AUTO_CAR else _checked_id("car", value, f', or "{AUTO_CAR}"')


HomeId = Annotated[str, AfterValidator(_home_id)]
CarChoice = Annotated[str, AfterValidator(_car_choice)]


class Homes(Section):
    count: Annotated[int, Field(ge=1, le=100_000)]
    annual_kwh: PositiveFloat = 3000.0
    annual_kwh_spread: Annotated[float, Field(ge=0.0, le=2.0)] = 0.3


class Vehicles(Section):
    count: Annotated[int, Field(ge=1, le=100_000)]
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


class RuleGroup(Section):
    """The owners' rules for some cars (:mod:`voltpool.model.rules`): ``vehicles`` names them
    (``car-001`` ...; every car when left out). A later group overrides an earlier one for
    the rules it sets. ``soc_min``, ``soc_max`` and ``soc_target`` replace the ``[vehicles]``
    levels for these cars. The simulator keeps the history the rules need (energy given today and
    on the six days before)."""

    vehicles: list[str] | None = None
    soc_min: Fraction | None = None
    soc_max: Fraction | None = None
    soc_target: Fraction | None = None
    v2g_floor_soc: Fraction | None = None
    v2g_max_kwh_per_day: NonNegativeFloat | None = None
    discharge_hours: Annotated[list[str], Field(min_length=1)] | None = None
    no_discharge_hours: Annotated[list[str], Field(min_length=1)] | None = None
    max_cycles_per_week: NonNegativeFloat | None = None

    @model_validator(mode="after")
    def _windows(self) -> RuleGroup:
        issues: list[FieldIssue] = []
        for name in ("discharge_hours", "no_discharge_hours"):
            for k, text in enumerate(getattr(self, name) or ()):
                parse_window(text, f"{name}[{k}]", issues)
        if issues:
            raise ValueError("; ".join(str(issue) for issue in issues))
        return self

    def block(self) -> dict[str, object]:
        """The rules it sets, as a vehicle's ``rules`` block."""
        return self.model_dump(exclude={"vehicles", *LEVELS}, exclude_none=True)


LEVELS = ("soc_min", "soc_max", "soc_target")
"""The per-car SoC levels a rule group may set instead of the ``[vehicles]`` ones."""


class Transformer(Section):
    import_limit_kw: PositiveFloat
    export_limit_kw: PositiveFloat | None = None


SIMULATOR_CURRENCY = "EUR"
"""The simulator's money (its reports, battery values and wear costs are in euros)."""


class TariffSpec(Section):
    """The prices: a preset (:mod:`voltpool.model.tariffs`, docs/tariffs.md) with some of its
    values overridden, each override a value the preset's kinds of energy and export use.

    Without ``preset`` the tariff is today's, ``day-ahead-plus-fee`` with the keys'
    defaults: imports pay day-ahead plus ``network_fee_per_kwh``, exports earn day-ahead minus
    ``export_fee_per_kwh`` (both 0 unless given). ``peak_price_per_kw`` is a demand charge
    per kW of the simulated period's highest import; a capacity tariff bills each calendar
    month's peak instead (:func:`voltpool.simulate.world.peak_billing`), and the two do not go
    together.
    """

    preset: str | None = None
    network_fee_per_kwh: float | None = None
    export_fee_per_kwh: float | None = None
    peak_price_per_kw: NonNegativeFloat = 0.0
    energy_price_per_kwh: float | None = None
    markup_per_kwh: float | None = None
    energy_tax_per_kwh: float | None = None
    vat_rate: float | None = None
    export_tax_refund: bool | None = None
    export_price_per_kwh: float | None = None
    capacity_price_per_kw_month: float | None = None
    capacity_min_kw: float | None = None

    def model(self) -> RetailTariff:
        """The tariff the section describes (raises ProblemError naming ``tariff.<key>``)."""
        overrides = self.model_dump(exclude={"preset", "peak_price_per_kw"}, exclude_none=True)
        if self.preset is None:
            overrides.setdefault("network_fee_per_kwh", 0.0)
        return tariff_with(self.preset or DEFAULT_PRESET, overrides)

    @model_validator(mode="after")
    def _valid(self) -> TariffSpec:
        preset = self.preset or DEFAULT_PRESET
        try:
            tariff = self.model()
            issues = []
        except ProblemError as error:  # the demand charge is judged by the preset's
            tariff = tariff_presets().get(preset)
            issues = error.issues
        if tariff is None:
            raise _located(issues)
        if "peak_price_per_kw" in self.model_fields_set and (
            issue := tariff.peak_price_issue(self.peak_price_per_kw, "tariff.peak_price_per_kw")
        ):
            issues.append(issue)
        if tariff.currency != SIMULATOR_CURRENCY:
            issues.append(
                FieldIssue(
                    "tariff.preset",
                    f"{tariff.name!r} prices in {tariff.currency}; the simulator accounts in "
                    f"{SIMULATOR_CURRENCY} (battery values, wear, reports): choose a preset in "
                    f"{SIMULATOR_CURRENCY} (voltpool plan takes any)",
                )
            )
        if issues:
            raise _located(issues)
        return self


def _located(issues: list[FieldIssue]) -> ValidationError:
    """``issues`` (paths from ``tariff``) as pydantic's error, located under the section."""
    return ValidationError.from_exception_data(
        "TariffSpec",
        [
            InitErrorDetails(
                type=PydanticCustomError("tariff", "{rule}", {"rule": issue.rule}),
                loc=tuple(issue.field.removeprefix("tariff.").split(".")),
                input=None,
            )
            for issue in issues
        ],
    )


class Planning(Section):
    """How the LP policies plan: over ``horizon_hours``, re-planning every
    ``replan_every_hours`` (and with ``replan = "events"`` also on every arrival and
    departure), on ``forecast`` base loads."""

    horizon_hours: Annotated[int, Field(ge=1, le=168)] = 24
    replan: Literal["hourly", "events"] = "hourly"
    replan_every_hours: Annotated[int, Field(ge=1, le=24)] = 1

    @model_validator(mode="after")
    def _within_horizon(self) -> Planning:
        if self.replan_every_hours > self.horizon_hours:
            raise ValueError(
                f"replan_every_hours ({self.replan_every_hours}) must be <= horizon_hours "
                f"({self.horizon_hours}): a plan must last until the next one"
            )
        return self

    forecast: Literal["perfect", "persistence"] = "persistence"
    unmet_penalty_per_kwh: NonNegativeFloat = 10.0


class BatterySpec(Section):
    """How battery wear is valued (health report, ``v2g-wear`` policy)."""

    pack_value_per_kwh: NonNegativeFloat = 120.0
    end_of_life_capacity: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.7
    temperature_c: Annotated[float, Field(ge=-30.0, le=60.0)] = 15.0
    segments: Annotated[int, Field(ge=1, le=10)] = 4
    warranty_years: Annotated[float, Field(gt=0.0, le=30.0)] = 8.0


class EventSpec(Section):
    """What every event kind says about its times (for fitting it to the simulated period)."""

    begins: ClassVar[tuple[str, ...]]
    """The time fields that must all have passed for the event to act (``start``)."""
    ends: ClassVar[str]
    """The time field at which it stops acting (``end``)."""


class ImportLimitEvent(EventSpec):
    begins = ("start",)
    ends = "end"

    type: Literal["import_limit"]
    start: dt.datetime
    end: dt.datetime
    import_limit_kw: NonNegativeFloat

    @model_validator(mode="after")
    def _ordered(self) -> ImportLimitEvent:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        return self


class CircuitSpec(Section):
    """A group of a home's circuits that is switched as one during an outage."""

    name: Annotated[str, Field(min_length=1)]
    share: Fraction
    """Share of the home's load on these circuits."""
    critical: bool = False
    priority: int = 0
    """Among circuits of the same class, the lower number is shed first."""


def _default_circuits() -> list[CircuitSpec]:
    return [
        CircuitSpec(
            name="essentials (fridge, freezer, heating controls, lights, router)",
            share=0.3,
            critical=True,
            priority=1,
        ),
        CircuitSpec(name="heating and hot water", share=0.3, priority=1),
        CircuitSpec(name="cooking, washing and other appliances", share=0.4, priority=0),
    ]


class BackupSpec(Section):
    """How homes ride through an outage on their cars (V2H, ``outage`` events)."""

    circuits: Annotated[list[CircuitSpec], Field(min_length=1)] = Field(
        default_factory=_default_circuits
    )
    min_range_km: NonNegativeFloat = 50.0
    """Driving reserve the cars keep during an outage (besides ``vehicles.soc_min``)."""
    consumption_kwh_per_100km: PositiveFloat = 18.0

    @model_validator(mode="after")
    def _shares(self) -> BackupSpec:
        total = sum(c.share for c in self.circuits)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"circuits: the shares must add up to 1 (they add up to {total:g})")
        names = [c.name for c in self.circuits]
        if len(set(names)) != len(names):
            raise ValueError("circuits: names must not repeat")
        return self


class OutageEvent(EventSpec):
    """The grid fails for some homes: they run islanded on their cars (if they can)."""

    begins = ("start",)
    ends = "end"

    type: Literal["outage"]
    start: dt.datetime
    end: dt.datetime
    expected_end: dt.datetime | None = None
    """What the households plan for (the grid operator's estimate); ``end`` when not given.
    The grid coming back before it is the 'grid returns early' case."""
    homes: list[HomeId] | None = None
    """Home ids (``home-001`` ...). A listed home the drawn neighbourhood lacks (``homes.count``
    made smaller) is left out with a note, and the outage too if none is left; ``home_share``
    instead cuts off a seeded random share of the homes, whatever their count."""
    home_share: Fraction | None = None

    @model_validator(mode="after")
    def _valid(self) -> OutageEvent:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.expected_end is not None and self.expected_end <= self.start:
            raise ValueError(f"expected_end ({self.expected_end}) must be after start")
        if (self.homes is None) == (self.home_share is None):
            raise ValueError("give either homes (a list of home ids) or home_share, not both")
        return self


class V2VOfferEvent(EventSpec):
    """A driver offers energy to the neighbourhood's drivers ("up to 15 kWh tonight")."""

    begins = ("at", "start")
    ends = "end"

    type: Literal["v2v_offer"]
    id: Annotated[str, Field(min_length=1)]
    at: dt.datetime
    """When the offer is posted."""
    car: CarChoice
    """The giver: a car id or ``"auto"``. It must have a bidirectional charger and be plugged
    in at some time from the offer's posting or start (the later) to its end; a car that is
    not (or does not exist) is replaced, with a note, by the car that is, plugged in longest
    then and used by no other V2V event (the first id on a tie)."""
    max_energy_kwh: PositiveFloat
    """Most energy that may leave the giver's battery. [kWh]"""
    start: dt.datetime
    end: dt.datetime
    keep_above_soc: Fraction
    price_credits_per_kwh: NonNegativeFloat

    @model_validator(mode="after")
    def _window(self) -> V2VOfferEvent:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end}) must be after start ({self.start})")
        if self.end <= self.at:
            raise ValueError(f"end ({self.end}) is not after the time it is posted ({self.at})")
        return self


class V2VRequestEvent(EventSpec):
    """A driver asks for energy ("I need 12 kWh by 07:30 tomorrow")."""

    begins = ("at",)
    ends = "deadline"

    type: Literal["v2v_request"]
    id: Annotated[str, Field(min_length=1)]
    at: dt.datetime
    """When the request is posted; it is matched once both cars are plugged in."""
    car: CarChoice
    """The receiver: a car id or ``"auto"``. Any charger can receive; the car must be plugged
    in at some time from ``at`` to the deadline, else it is replaced as an offer's car is."""
    energy_kwh: PositiveFloat
    """Energy into the receiver's battery. [kWh]"""
    deadline: dt.datetime
    max_price_credits_per_kwh: NonNegativeFloat

    @model_validator(mode="after")
    def _window(self) -> V2VRequestEvent:
        if self.deadline <= self.at:
            raise ValueError(f"deadline ({self.deadline}) must be after at ({self.at})")
        return self


Event = Annotated[
    ImportLimitEvent | OutageEvent | V2VOfferEvent | V2VRequestEvent,
    Field(discriminator="type"),
]


class Scenario(Section):
    """A validated scenario. Times in events are local to ``timezone`` unless they carry one."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    start: dt.date
    days: Annotated[int, Field(ge=1, le=3660)]
    timezone: TimeZone = "Europe/Amsterdam"
    seed: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
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
    backup: BackupSpec = BackupSpec()
    events: list[Event] = []
    rules: list[RuleGroup] = []

    @field_validator("policies")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("policies must not repeat")
        return value

    @model_validator(mode="after")
    def _unique_event_ids(self) -> Scenario:
        ids: set[str] = set()
        for number, event in enumerate(self.events):
            if isinstance(event, V2VOfferEvent | V2VRequestEvent):
                if event.id in ids:
                    raise ValueError(f"events[{number}].id: {gate.quote(event.id)} is used twice")
                ids.add(event.id)
        return self

    @model_validator(mode="after")
    def _rule_cars(self) -> Scenario:
        known = set(self.vehicle_ids)
        for k, group in enumerate(self.rules):
            for j, car in enumerate(group.vehicles or ()):
                if car not in known:
                    raise ValueError(
                        f"rules[{k}].vehicles[{j}]: {gate.quote(car)} is not a car of this "
                        f"scenario (car-001 .. {self.vehicle_ids[-1]})"
                    )
        if any(getattr(group, name) is not None for group in self.rules for name in LEVELS):
            levels = self.car_levels()
            for n, car in enumerate(self.vehicle_ids):
                low, high, target = (levels[name][n] for name in LEVELS)
                if not low <= high or not target <= high or not self.vehicles.soc_initial <= high:
                    raise ValueError(
                        f"rules: {car} gets soc_min {low}, soc_max {high}, soc_target {target}"
                        f" (soc_initial {self.vehicles.soc_initial}): soc_min, soc_target and "
                        "soc_initial must be <= soc_max"
                    )
        return self

    def _rows(self, group: RuleGroup) -> list[int]:
        """The car rows a rule group names (every car when it names none)."""
        index = {car: n for n, car in enumerate(self.vehicle_ids)}
        cars = self.vehicle_ids if group.vehicles is None else group.vehicles
        return [index[car] for car in cars]

    def car_levels(self) -> dict[str, np.ndarray]:
        """Each car's ``soc_min``, ``soc_max`` and ``soc_target`` [N]: ``[vehicles]``'s, then
        the rule groups' in file order."""
        count = self.vehicles.count
        levels = {name: np.full(count, getattr(self.vehicles, name)) for name in LEVELS}
        for group in self.rules:
            for name in LEVELS:
                if (value := getattr(group, name)) is not None:
                    levels[name][self._rows(group)] = value
        return levels

    def rule_blocks(self) -> list[dict[str, object]]:
        """Each car's ``rules`` block, the groups applied in file order."""
        blocks: list[dict[str, object]] = [{} for _ in self.vehicle_ids]
        for group in self.rules:
            for n in self._rows(group):
                blocks[n].update(group.block())
        return blocks

    @property
    def home_ids(self) -> tuple[str, ...]:
        """``home-001`` ... : how events and reports name the homes."""
        return tuple(f"home-{i + 1:03d}" for i in range(self.homes.count))

    @property
    def vehicle_ids(self) -> tuple[str, ...]:
        """``car-001`` ... : how events and reports name the cars."""
        return tuple(f"car-{i + 1:03d}" for i in range(self.vehicles.count))

    def events_of(self, kind: type[E]) -> list[E]:
        """The events of one type, in file order."""
        return [e for e in self.events if isinstance(e, kind)]

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


EVENT_TYPES = frozenset(
    get_args(kind.model_fields["type"].annotation)[0] for kind in get_args(get_args(Event)[0])
)
"""The ``type`` tag of every event kind (pydantic puts it in error locations)."""


def scenario_from_dict(document: dict[str, object]) -> Scenario:
    """Validate a parsed scenario (the input gate's rules, then the model's; raises
    :class:`ProblemError` listing every issue)."""
    gate.check_document(document, "(scenario)")
    try:
        return Scenario.model_validate(document)
    except ValidationError as error:
        raise ProblemError(
            validation_issues(
                error, "(scenario)", "`voltpool scenario show` lists the keys", EVENT_TYPES
            )
        ) from None


SCENARIOS = TomlLibrary("voltpool.scenario", "scenario", "SCENARIO")


def builtin_names() -> list[str]:
    return SCENARIOS.names()


def scenario_text(name_or_path: str | Path) -> tuple[str, str]:
    """The TOML text of a built-in scenario (by name) or a file, and where it came from."""
    return SCENARIOS.text(name_or_path)


def load_scenario(name_or_path: str | Path = "neighbourhood") -> Scenario:
    """Read and validate a scenario by built-in name or TOML path (raises ProblemError)."""
    document, _source = SCENARIOS.document(name_or_path)
    return scenario_from_dict(document)
