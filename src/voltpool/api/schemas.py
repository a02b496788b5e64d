"""Request and response bodies (pydantic). Units are in the field names (``_kw``, ``_kwh``,
``_soc`` as a fraction 0..1, ``_credits`` in whole credits with up to three decimals); times
are RFC 3339 with their offset, UTC in what voltpool stores, local in ``*_local`` fields."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from voltpool.errors import FieldIssue
from voltpool.model.rules import parse_window

Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
    ),
]


def _aware(value: datetime) -> datetime:
    """A time with its offset, as UTC (what voltpool stores and answers)."""
    if value.tzinfo is None:
        raise ValueError("must carry its UTC offset (RFC 3339), e.g. 2026-12-02T07:30:00+01:00")
    return value.astimezone(UTC)


AwareTime = Annotated[datetime, AfterValidator(_aware)]
EARLIEST_BATTERY = date(2000, 1, 1)


def _past(value: date) -> date:
    """A day that has come (a battery put into service), not before 2000."""
    if value > datetime.now(UTC).date():
        raise ValueError("must not be in the future")
    if value < EARLIEST_BATTERY:
        raise ValueError(f"must be on or after {EARLIEST_BATTERY.isoformat()}")
    return value


PastDate = Annotated[date, AfterValidator(_past)]


def _window(value: str) -> str:
    issues: list[FieldIssue] = []
    parse_window(value, "window", issues)
    if issues:
        raise ValueError(issues[0].rule)
    return value


Window = Annotated[str, AfterValidator(_window)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Register(Strict):
    email: Email
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    name: Annotated[str, Field(max_length=128)] = ""
    role: Literal["owner", "operator"] = "owner"


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str
    created_at: datetime


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    refresh_token: str


class Refresh(Strict):
    refresh_token: Annotated[str, Field(min_length=1, max_length=256)]


class ApiKeyIn(Strict):
    name: Name


class ApiKeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    revoked: bool


class ApiKeyCreated(ApiKeyOut):
    key: str
    """Shown once: only its SHA-256 is kept."""


Password = Annotated[str, Field(min_length=1, max_length=1024)]


class MeUpdate(Strict):
    """``PATCH /v1/me``: what is given changes, what is left out (or null) stays."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    email: Email | None = None
    current_password: Password | None = None
    """Needed to change ``email`` (the email is what one logs in with)."""


class PasswordChange(Strict):
    """``POST /v1/me/password``."""

    current_password: Password
    new_password: Password


class CommunityIn(Strict):
    name: Name
    timezone: Annotated[str, Field(min_length=1, max_length=64)] = "Europe/Amsterdam"
    tariff: Annotated[str, Field(min_length=1, max_length=64)] = "day-ahead-plus-fee"
    import_limit_kw: Annotated[float, Field(gt=0, le=1e6)] | None = None
    export_limit_kw: Annotated[float, Field(gt=0, le=1e6)] | None = None


class CommunityOut(BaseModel):
    id: str
    name: str
    timezone: str
    tariff: str
    import_limit_kw: float | None
    export_limit_kw: float | None
    created_at: datetime


class CircuitIn(Strict):
    """A circuit behind its own relay (:class:`voltpool.backup.home.Circuit`): a ``share`` of
    the house's load, or a fixed ``load_kw`` between ``runs_from`` and ``runs_until`` each day
    (local). In an outage critical circuits are shed last; within a class a lower
    ``priority`` is shed first."""

    name: Name
    share: Fraction | None = None
    load_kw: Annotated[float, Field(ge=0, le=1000)] | None = None
    runs_from: time | None = None
    runs_until: time | None = None
    critical: bool = False
    priority: Annotated[int, Field(ge=-1000, le=1000)] = 0


Circuits = Annotated[list[CircuitIn], Field(max_length=32)]


class HomeIn(Strict):
    name: Name
    community_id: Annotated[str, Field(min_length=1, max_length=64)]
    breaker_kw: Annotated[float, Field(gt=0, le=1000)] = 17.25
    house_load_kw: Annotated[float, Field(ge=0, le=1000)] = 0.4
    circuits: Circuits = []
    """Empty: the whole house is one critical circuit."""


class OutageOut(BaseModel):
    """An outage the home is in: the grid event and its window, in UTC and local time."""

    event_id: str
    start: datetime
    end: datetime
    start_local: str
    end_local: str


class HomeOut(BaseModel):
    id: str
    name: str
    community_id: str
    breaker_kw: float
    house_load_kw: float
    circuits: list[CircuitIn]
    created_at: datetime
    outage: OutageOut | None = None
    """The outage the home is islanded in now (None: on the grid)."""


class RulesIn(Strict):
    """The owner's rules for V2G and V2V with the car (:mod:`voltpool.model.rules`); energy on
    the battery side. Absent: no such rule."""

    v2g_floor_soc: Fraction = 0.0
    v2g_max_kwh_per_day: Annotated[float, Field(ge=0, le=1000)] | None = None
    discharge_hours: list[Window] = Field(default_factory=list, max_length=24)
    no_discharge_hours: list[Window] = Field(default_factory=list, max_length=24)
    no_discharge_until: AwareTime | None = None
    max_cycles_per_week: Annotated[float, Field(ge=0, le=100)] | None = None


class CarIn(Strict):
    name: Name
    home_id: Annotated[str, Field(min_length=1, max_length=64)]
    capacity_kwh: Annotated[float, Field(gt=0, le=500)]
    max_charge_kw: Annotated[float, Field(gt=0, le=500)] = 11.0
    max_discharge_kw: Annotated[float, Field(ge=0, le=500)] = 11.0
    charge_efficiency: Annotated[float, Field(gt=0, le=1)] = 0.92
    discharge_efficiency: Annotated[float, Field(gt=0, le=1)] = 0.92
    chemistry: Literal["nmc", "lfp", "nca"] = "nmc"
    soc_min: Fraction = 0.2
    soc_max: Fraction = 1.0
    soc_target: Fraction = 0.8
    soc_now: Fraction = 0.5
    wear_per_kwh: Annotated[float, Field(ge=0, le=10)] | None = None
    """Battery wear per kWh discharged (AC side); default: the reference scenario's. [EUR]"""
    rules: RulesIn = Field(default_factory=RulesIn)
    battery_since: PastDate | None = None
    """When the battery went into service (first registration); default: today."""


class CarPatch(Strict):
    name: Name | None = None
    soc_min: Fraction | None = None
    soc_max: Fraction | None = None
    soc_target: Fraction | None = None
    soc_now: Fraction | None = None
    max_charge_kw: Annotated[float, Field(gt=0, le=500)] | None = None
    max_discharge_kw: Annotated[float, Field(ge=0, le=500)] | None = None
    battery_since: PastDate | None = None


class CarOut(BaseModel):
    id: str
    name: str
    home_id: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float
    discharge_efficiency: float
    chemistry: str
    soc_min: float
    soc_max: float
    soc_target: float
    soc_now: float
    wear_per_kwh: float
    rules: RulesIn
    plugged_in: bool
    battery_since: date | None = None
    created_at: datetime


SessionKw = Annotated[float, Field(ge=0, le=500)]


class SessionIn(Strict):
    """A plug-in: now (or ``arrival``), leaving at ``departure`` with ``soc_target``."""

    departure: AwareTime
    arrival: AwareTime | None = None
    soc_now: Fraction | None = None
    soc_target: Fraction | None = None
    max_charge_kw: SessionKw | None = None
    """What the station and the EV allow this stay, if less than the car's own (OCPP)."""
    max_discharge_kw: SessionKw | None = None


class SessionPatch(Strict):
    departure: AwareTime | None = None
    soc_target: Fraction | None = None
    max_charge_kw: SessionKw | None = None
    max_discharge_kw: SessionKw | None = None
    charge_now: bool | None = None
    """Full power until the target, no discharge, for this stay (:mod:`voltpool.api.charge_now`)."""


class SessionOut(BaseModel):
    id: str
    car_id: str
    arrival: datetime
    departure: datetime
    departure_local: str
    soc_arrival: float
    soc_target: float
    charge_now: bool = False
    max_charge_kw: float | None = None
    max_discharge_kw: float | None = None
    ended_at: datetime | None


class TransferIn(Strict):
    to_email: Email
    amount_credits: Annotated[float, Field(gt=0, le=1e9, multiple_of=0.001)]
    memo: Annotated[str, Field(max_length=200)] = ""


class Move(BaseModel):
    transfer_id: str
    at: datetime
    amount_credits: float
    """Positive: credits in; negative: credits out."""
    code: str
    counterparty: str
    memo: str


class CreditsOut(BaseModel):
    balance_credits: float
    pending_out_credits: float
    available_credits: float
    moves: list[Move]


class TransferOut(BaseModel):
    transfer_id: str
    status: Literal["created", "exists"]
    amount_credits: float
    to_email: str
    balance_credits: float


class PlanSlot(BaseModel):
    start: datetime
    start_local: str
    power_kw: float
    """Positive: charging; negative: giving energy back (V2G/V2V)."""
    soc_end: float
    import_price_per_kwh: float
    export_price_per_kwh: float


class Discharge(BaseModel):
    start: datetime
    end: datetime
    from_local: str
    to_local: str
    energy_kwh: float
    worth_per_kwh: float
    wear_per_kwh: float


class PlannedTransfer(BaseModel):
    """A V2V agreement in the plan: AC power per slot of the plan (from its first slot),
    what it delivers and, if not all, why."""

    id: str
    """The agreement's id."""
    giver_car_id: str
    receiver_car_id: str
    transfer_kw: list[float]
    delivered_kwh: float
    shortfall_kwh: float
    reason: str | None


class CarTransfer(PlannedTransfer):
    role: Literal["gives", "receives"]


class CarPlanOut(BaseModel):
    car_id: str
    plan_id: str
    planned_at: datetime
    reason: str
    timezone: str
    status: str
    departure_local: str | None
    soc_target: float
    shortfall_kwh: float
    shortfall_reason: str | None
    slots: list[PlanSlot]
    discharges: list[Discharge]
    notes: list[str]
    transfers: list[CarTransfer] = []
    charge_now: bool = False
    """Planned on "charge now": ``departure_local`` and ``soc_target`` are then the first slot
    full power reaches the target, and a shortfall means the site's limits held it back."""


class SiteSlot(BaseModel):
    start: datetime
    start_local: str
    site_import_kw: float
    """The site's planned net import (negative: export), homes' own load included."""
    cars_kw: float
    import_limit_kw: float | None
    export_limit_kw: float | None


class ShortfallGroup(BaseModel):
    """Cars the plan leaves short of their target for one reason (how many, not whose)."""

    reason: str
    cars: int
    shortfall_kwh: float


class FlexibilityOut(BaseModel):
    """The plugged-in cars' headroom now (:mod:`voltpool.api.flexibility`)."""

    community_id: str
    at: datetime
    at_local: str
    cars: int
    planned_kw: float
    """What the plan has the cars draw now (negative: give). [kW]"""
    up_kw: float
    down_kw: float
    up_energy_kwh: float
    down_energy_kwh: float
    down_hours: float | None


class SitePlanOut(BaseModel):
    community_id: str
    plan_id: str
    planned_at: datetime
    reason: str
    applied: bool
    status: str
    cars_planned: int
    shortfalls: list[ShortfallGroup] = []
    """The cars short of their target, by reason (none: every target is met)."""
    objective: float
    solve_s: float
    slots: list[SiteSlot]
    notes: list[str]
    transfers: list[PlannedTransfer] = []


class BackupCar(BaseModel):
    car_id: str
    name: str
    soc_now: float
    reserve_soc: float
    max_discharge_kw: float
    """What its charger can give the house (0: a one-way charger gives nothing). [kW]"""
    energy_above_reserve_kwh: float
    reaches_reserve_local: str | None
    """When the plan takes it down to its reserve (None: it never does in the window)."""


class BackupCircuit(BaseModel):
    name: str
    critical: bool
    priority: int
    shed_order: int
    """1 is shed first; circuits shed together share a number."""
    hours_on: float
    """Hours of the window the circuit is powered. [h]"""
    shed_from_local: str | None
    """When it is first switched off (None: it stays on)."""
    served_kwh: float
    unserved_kwh: float


class BackupOut(BaseModel):
    """How long the plugged-in cars can power the house if the grid went down now."""

    home_id: str
    start: datetime
    start_local: str
    hours_planned: float
    hours_full_house: float
    """From now, hours the house runs with nothing shed. [h]"""
    served_kwh: float
    unserved_kwh: float
    house_load_kw_average: float
    cars: list[BackupCar]
    circuits: list[BackupCircuit]
    status: str
    outage: OutageOut | None = None
    """The outage the home is in now: the plan then covers what is left of it (None: the
    answer is "if the grid went down now")."""


class GridEventIn(Strict):
    """A grid signal over ``[start, end)``: ``capacity`` with an import and/or export limit,
    ``price`` with the import price in the window, or ``outage``: the homes ``home_ids``
    (absent: every home of the community) are cut off the grid."""

    kind: Literal["capacity", "price", "outage"]
    start: AwareTime
    end: AwareTime
    import_limit_kw: Annotated[float, Field(ge=0, le=1e6)] | None = None
    export_limit_kw: Annotated[float, Field(ge=0, le=1e6)] | None = None
    price_per_kwh: Annotated[float, Field(ge=-10, le=10)] | None = None
    home_ids: Annotated[list[str], Field(min_length=1, max_length=10_000)] | None = None


class GridEventOut(BaseModel):
    id: str
    community_id: str
    kind: str
    start: datetime
    end: datetime
    start_local: str
    end_local: str
    import_limit_kw: float | None
    export_limit_kw: float | None
    price_per_kwh: float | None
    home_ids: list[str] | None = None
    planned_max_import_kw: float | None
    """The newest plan's highest site import in the event's slots (its response)."""
    planned_max_export_kw: float | None
    plan_id: str | None
    created_at: datetime


Credits = Annotated[float, Field(ge=0, le=1e6, multiple_of=0.001)]
Energy = Annotated[float, Field(gt=0, le=1000)]


class V2VRequestIn(Strict):
    """Ask friends for ``energy_kwh`` into the car's battery by ``deadline``."""

    car_id: str
    energy_kwh: Energy
    deadline: AwareTime
    earliest_start: AwareTime | None = None
    max_price_credits_per_kwh: Credits | None = None
    """Per kWh delivered at the charger; None: any price."""


class V2VOfferIn(Strict):
    """Offer friends at most ``energy_kwh`` out of the car's battery until ``end``."""

    car_id: str
    energy_kwh: Energy
    end: AwareTime
    start: AwareTime | None = None
    keep_above_soc: Fraction = 0.0
    """Never below this SoC (nor the car's reserve)."""
    price_credits_per_kwh: Credits = 0.0
    """Per kWh delivered at the charger."""
    consent: Literal["community"] | Annotated[list[Email], Field(min_length=1, max_length=100)]
    """``community``: any member; or the friends' emails."""


class AgreementOut(BaseModel):
    """A matched request and offer: who gives what to whom, when, at what price; the estimate
    is held from the receiver's credits until it settles."""

    id: str
    status: Literal["running", "settled", "cancelled"]
    request_id: str
    offer_id: str
    giver_email: str
    receiver_email: str
    giver_car_id: str
    receiver_car_id: str
    mode: str
    """``direct`` (both cars at one home) or ``grid`` (between homes)."""
    start: datetime
    end: datetime
    start_local: str
    end_local: str
    ac_kwh: float
    """Agreed AC energy at the chargers."""
    giver_battery_kwh: float
    receiver_battery_kwh: float
    price_credits_per_kwh: float
    estimate_credits: float
    """Held from the receiver at acceptance; never more is paid."""
    delivered_ac_kwh: float
    paid_credits: float | None
    settled_at: datetime | None


class RefusedMatch(BaseModel):
    request_id: str
    offer_id: str
    ac_kwh: float
    estimate_credits: float
    reason: str


class V2VRequestOut(BaseModel):
    id: str
    car_id: str
    status: Literal["open", "withdrawn", "expired"]
    energy_kwh: float
    remaining_kwh: float
    """What no agreement covers yet (battery side)."""
    earliest_start: datetime | None
    deadline: datetime
    deadline_local: str
    max_price_credits_per_kwh: float | None
    agreements: list[AgreementOut]
    refused: list[RefusedMatch] = []
    """Matches the receiver's available credits did not cover (this round)."""


class V2VOfferOut(BaseModel):
    id: str
    car_id: str | None
    """Only in your own offers."""
    owner_email: str
    status: Literal["open", "withdrawn", "expired"]
    energy_kwh: float
    remaining_kwh: float
    start: datetime | None
    end: datetime
    end_local: str
    keep_above_soc: float
    price_credits_per_kwh: float
    consent: Literal["community"] | list[str]
    mine: bool
    agreements: list[AgreementOut]


class HealthHorizon(BaseModel):
    """The battery after ``years`` in service, with the V2G the service recorded and without."""

    years: float
    capacity_pct: float
    capacity_pct_without_v2g: float
    fade_calendar_pct: float
    fade_cycling_pct: float
    v2g_kwh: float
    """AC energy given back over these years at the recorded rate. [kWh]"""
    v2g_cost_eur: float
    """The capacity V2G cost by then, valued at the pack's value per kWh. [EUR]"""


class CarHealthOut(BaseModel):
    """How the car's battery is doing and what V2G costs it (:mod:`voltpool.api.health`)."""

    car_id: str
    status: Literal["estimated", "collecting"]
    """``collecting``: less than a day recorded yet (the horizons are None)."""
    chemistry: str
    capacity_kwh: float
    recorded_hours: float
    hours_needed: float
    recorded_from: datetime | None
    v2g_kwh_recorded: float
    battery_since: date | None
    age_years: float
    temperature_c: float
    warranty_years: float
    end_of_life_pct: float
    pack_value_per_kwh: float
    valuation: str
    so_far: HealthHorizon | None
    projected: HealthHorizon | None
    """At the end of the warranty (or now, for a battery older than it)."""
    v2g_cost_eur_per_kwh: float | None
    """The projected V2G cost per kWh given back (None without V2G). [EUR/kWh]"""
    warnings: list[str]
    assumptions: list[str]


class FleetHealthOut(BaseModel):
    """The community's batteries, counted (not named): now and at the end of the warranty."""

    community_id: str
    cars: int
    cars_estimated: int
    """Cars with a day of recorded trace or more (the rest are still collecting)."""
    capacity_now_pct_mean: float | None
    capacity_at_warranty_pct_mean: float | None
    capacity_at_warranty_pct_min: float | None
    capacity_at_warranty_pct_without_v2g_mean: float | None
    cars_below_end_of_life: int
    """Cars projected under the end-of-life capacity by the warranty's end."""
    end_of_life_pct: float
    v2g_cost_eur_total: float
    v2g_kwh_to_warranty_total: float
    v2g_cost_eur_per_kwh: float | None
    warranty_years: float
