"""Plan my car tonight: one car at home, plugged in this evening, ready by the morning.

    night = Night(plugged, leave, "Europe/Amsterdam")
    tonight = plan_tonight(car, home, day_ahead_prices(grid_fee_per_kwh=0.12), night)

builds the one-car problem (slots of :data:`~voltpool.model.DEFAULT_SLOT_MINUTES` from the
plug-in to the departure, with its start and time zone set), schedules it with the exact LP
through :func:`voltpool.service.scheduling.plan` (verified independently, beside the
uncontrolled baseline: charging at full power from the plug-in) and tells the night as blocks
of charging, discharging and waiting, with the money each moves.

The prices are a :class:`~voltpool.model.tariffs.RetailTariff`: a flat contract
(:func:`flat_prices`), day-ahead plus a grid fee (:func:`day_ahead_prices`) or any tariff
preset (:func:`voltpool.model.tariffs.tariff_preset`), turned into the night's per-slot prices
on the night's slots; a capacity tariff bills the night's peak above the preset's minimum
(the month's earlier peaks are not known here). The defaults a home without a contract of its
own takes (:func:`reference_defaults`) are the reference tariff's grid fee on day-ahead prices
(``day-ahead-plus-fee``) and the built-in ``neighbourhood`` scenario's battery wear per kWh
discharged; ``--tariff`` takes any preset, the built-in scenario's among them. Day-ahead
prices are the shipped ENTSO-E Netherlands prices
(:func:`voltpool.data.prices.day_ahead_price_per_kwh`). Money is in the tariff's currency.

The owner's rules for the car (:class:`CarRules`: a V2G floor, a daily cap, the hours it may
give energy back, "not today", cycles per week) become the car's
:class:`~voltpool.model.rules.OwnerRules` in the one-car problem, constraints of the same LP;
"not today" is no discharge before the departure. The plan knows no V2G of earlier sessions:
the car is taken to have given nothing yet today or this week.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Literal

import numpy as np
import pandas as pd

from voltpool.data.prices import day_ahead_price_per_kwh
from voltpool.model import (
    DEFAULT_CHARGE_EFFICIENCY,
    DEFAULT_DISCHARGE_EFFICIENCY,
    Fleet,
    Problem,
    Site,
    SlotGrid,
)
from voltpool.model.physics import true_runs
from voltpool.model.rules import OwnerRules, Window, window_text
from voltpool.model.tariffs import DEFAULT_PRESET, RetailTariff, tariff_presets, tariff_with
from voltpool.scenario import load_scenario
from voltpool.schedule import Schedule, objective_terms
from voltpool.schedule.explain import SHORTFALL_TOLERANCE_KWH, discharge_blocks
from voltpool.service import scheduling
from voltpool.service.scheduling import ScheduleOutcome

CAR_ID = "my-car"
REFERENCE_SCENARIO = "neighbourhood"
POWER_TOLERANCE_KW = 1e-9
"""Below this a slot's power is no charging or discharging (as in the discharge blocks)."""
BREAKER_KW = 3 * 25 * 0.230
"""A common Dutch home connection, 3 x 25 A at 230 V: 17.25 kW each way."""
HOUSE_LOAD_KW = 0.4
"""A Dutch home's own load from the evening to the morning, flat: 3,000 kWh a year (the
neighbourhood scenario's ``homes.annual_kwh``) is 0.34 kW on average, rounded up for the
evening peak the car's stay includes."""

BlockKind = Literal["charge", "discharge", "wait"]
KINDS: tuple[BlockKind, ...] = ("charge", "discharge", "wait")


@dataclass(frozen=True)
class ReferenceDefaults:
    """What voltpool assumes for a home without a contract of its own: the grid fee of the
    reference tariff (``day-ahead-plus-fee``) and the built-in scenario's wear per kWh."""

    grid_fee_per_kwh: float
    """Network fee and taxes added to the day-ahead price for imports. [EUR/kWh]"""
    wear_per_kwh: float
    """Battery wear per kWh discharged at the AC side. [EUR/kWh]"""


@cache
def reference_defaults() -> ReferenceDefaults:
    """The reference tariff's grid fee and the built-in ``neighbourhood`` scenario's wear."""
    scenario = load_scenario(REFERENCE_SCENARIO)
    return ReferenceDefaults(
        grid_fee_per_kwh=tariff_presets()[DEFAULT_PRESET].network_fee_per_kwh,
        wear_per_kwh=scenario.vehicles.degradation_cost_per_kwh,
    )


@dataclass(frozen=True)
class CarRules:
    """The owner's rules for the car tonight (:mod:`voltpool.model.rules`); the defaults are
    no rule. Energy is counted on the battery side (what leaves the cells)."""

    v2g_floor_soc: float = 0.0
    """V2G never takes the car below it (the reserve still applies when it is higher). [0..1]"""
    v2g_max_kwh_per_day: float = math.inf
    """The most energy given back per local calendar day, battery side. [kWh]"""
    discharge_hours: tuple[Window, ...] = ()
    """Local windows in which the car may give energy back (empty: at any time)."""
    not_today: bool = False
    """No discharge at all in this plan."""
    max_cycles_per_week: float = math.inf
    """The most equivalent full cycles given back in a rolling week (one cycle: the capacity)."""

    @property
    def given(self) -> bool:
        """Whether any rule is set."""
        return self != CarRules()

    def owner_rules(self, night: Night) -> OwnerRules:
        """The rules as the one car's :class:`~voltpool.model.rules.OwnerRules` on ``night``
        ("not today": no discharge before the night's end)."""
        block: dict[str, object] = {"v2g_floor_soc": self.v2g_floor_soc}
        for name in ("v2g_max_kwh_per_day", "max_cycles_per_week"):
            if math.isfinite(getattr(self, name)):
                block[name] = getattr(self, name)
        if self.discharge_hours:
            block["discharge_hours"] = [window_text(w) for w in self.discharge_hours]
        if self.not_today:
            block["no_discharge_until"] = night.end.to_pydatetime()
        rules = OwnerRules.from_records([block])
        assert rules is not None
        return rules


@dataclass(frozen=True)
class Car:
    """The car and its charger. SoC values are fractions 0..1; powers at the AC side."""

    capacity_kwh: float
    soc_now: float
    soc_target: float
    soc_reserve: float
    """The driving reserve: V2G never takes the car below it (the problem's ``soc_min``)."""
    charger_kw: float
    discharge_kw: float
    """0 for a one-way charger. [kW]"""
    wear_per_kwh: float
    charge_efficiency: float = DEFAULT_CHARGE_EFFICIENCY
    discharge_efficiency: float = DEFAULT_DISCHARGE_EFFICIENCY
    rules: CarRules = field(default_factory=CarRules)
    """The owner's rules for V2G with the car (none by default)."""


@dataclass(frozen=True)
class Home:
    """The home the car is plugged in at."""

    house_load_kw: float = HOUSE_LOAD_KW
    """The home's own load, flat over the night. [kW]"""
    breaker_kw: float = BREAKER_KW
    """The connection's limit, the same for import and export. [kW]"""


FLAT = "flat"
"""The name of a tariff of :func:`flat_prices`."""


def flat_prices(import_price_per_kwh: float, export_price_per_kwh: float = 0.0) -> RetailTariff:
    """A fixed contract: one import and one export price all night, taxes included (the
    caller keeps the export price at most the import price). [EUR/kWh]"""
    return RetailTariff(
        name=FLAT,
        description="one import and one export price all night",
        source="given",
        energy="fixed",
        export="flat",
        energy_price_per_kwh=import_price_per_kwh,
        export_price_per_kwh=export_price_per_kwh,
    )


def day_ahead_prices(grid_fee_per_kwh: float) -> RetailTariff:
    """A dynamic contract: the day-ahead price plus ``grid_fee_per_kwh`` for imports, the bare
    day-ahead price for exports (the ``day-ahead-plus-fee`` preset with its fee). [EUR/kWh]"""
    return tariff_with(DEFAULT_PRESET, {"network_fee_per_kwh": grid_fee_per_kwh})


@dataclass(frozen=True)
class Night:
    """When the car is at home: ``plugged`` and ``leave`` are timezone-aware times, shown in
    ``timezone`` (an IANA name). The plan covers the whole slots between them: from the first
    slot boundary at or after the plug-in to the last at or before leaving."""

    plugged: pd.Timestamp
    leave: pd.Timestamp
    timezone: str

    @cached_property
    def clock(self) -> SlotGrid:
        """The night's slots: slot 0 starts at the plug-in, rounded up to a slot boundary."""
        return SlotGrid.at(self.plugged)

    @property
    def n_slots(self) -> int:
        """Whole slots the car is plugged in for (0 when it leaves within the first)."""
        return int(self.clock.end_slot(self.leave))

    @property
    def start(self) -> pd.Timestamp:
        """Start of the first planned slot. [UTC]"""
        return self.clock.time(0)

    @property
    def end(self) -> pd.Timestamp:
        """End of the last planned slot. [UTC]"""
        return self.clock.time(self.n_slots)


def night_problem(car: Car, home: Home, prices: RetailTariff, night: Night) -> Problem:
    """The one-car problem of ``night`` (raises ProblemError on values breaking its rules)."""
    n_slots = night.n_slots
    step = f"{night.clock.slot_minutes}min"
    day_ahead = (
        day_ahead_price_per_kwh(night.start, night.end, freq=step).to_numpy()
        if prices.needs_day_ahead
        else None
    )
    slot_start = pd.date_range(night.start, periods=n_slots, freq=step)
    fleet = Fleet(
        ids=(CAR_ID,),
        capacity_kwh=np.array([car.capacity_kwh]),
        soc_initial=np.array([car.soc_now]),
        soc_min=np.array([car.soc_reserve]),
        soc_max=np.array([1.0]),
        soc_target=np.array([car.soc_target]),
        arrival_slot=np.array([0]),
        departure_slot=np.array([n_slots]),
        max_charge_kw=np.array([car.charger_kw]),
        max_discharge_kw=np.array([car.discharge_kw]),
        charge_efficiency=np.array([car.charge_efficiency]),
        discharge_efficiency=np.array([car.discharge_efficiency]),
        degradation_cost_per_kwh=np.array([car.wear_per_kwh]),
        rules=car.rules.owner_rules(night) if car.rules.given else None,
    )
    return Problem(
        fleet=fleet,
        site=Site(
            base_load_kw=np.full(n_slots, home.house_load_kw),
            import_limit_kw=home.breaker_kw,
            export_limit_kw=home.breaker_kw,
        ),
        tariff=prices.tariff(n_slots, day_ahead, slot_start, zone=night.timezone),
        slot_minutes=night.clock.slot_minutes,
        start=night.start,
        timezone=night.timezone,
    )


@dataclass(frozen=True)
class Block:
    """One run of slots in which the car only charges, only discharges or waits.

    ``money`` is what the block's charging costs at the import price, or what its discharging
    is worth (at the import price where the home still imports, the export price where it
    exports: :class:`~voltpool.schedule.explain.DischargeBlock`); ``wear`` is the battery wear
    of a discharge.
    """

    kind: BlockKind
    start_slot: int
    end_slot: int
    energy_kwh: float
    """AC energy moved, positive both ways. [kWh]"""
    power_kw: float
    """Mean AC power over the block, positive both ways. [kW]"""
    soc_from: float
    soc_to: float
    money: float = 0.0
    """Cost of charging, worth of discharging. [currency]"""
    wear: float = 0.0
    """Battery wear of discharging. [currency]"""
    to_grid: bool = False
    """A discharge that sends energy beyond the home's own load to the grid."""


@dataclass(frozen=True)
class Tonight:
    """The night's verified plan, its blocks and its money beside charging at once."""

    outcome: ScheduleOutcome
    blocks: tuple[Block, ...]
    home_cost: float
    """What the home's own load costs over the night, without the car. [currency]"""

    @property
    def problem(self) -> Problem:
        return self.outcome.problem

    @property
    def result(self) -> Schedule:
        return self.outcome.result

    @property
    def baseline(self) -> Schedule:
        """Charging at full power from the plug-in until the target (uncontrolled)."""
        assert self.outcome.baseline is not None  # the LP always gets one (scheduling.plan)
        return self.outcome.baseline

    @property
    def soc_departure(self) -> float:
        return float(self.result.soc[0, -1])

    @property
    def shortfall_kwh(self) -> float:
        """Stored energy missing of the target at departure (0 when met). [kWh]"""
        short = float(self.result.shortfall_kwh[0])
        return short if short > SHORTFALL_TOLERANCE_KWH else 0.0

    @property
    def reason(self) -> str:
        """Why the car leaves short of its target, in plain words ('' when it does not)."""
        return self.result.reasons[0]

    def car_cost(self, schedule: Schedule) -> float:
        """What ``schedule`` costs for the car: the night's bill above the home's own, plus
        battery wear (the unmet-target penalty is no money and left out). [currency]"""
        return schedule.objective - schedule.objective_terms["unmet_penalty"] - self.home_cost

    @property
    def plan_cost(self) -> float:
        return self.car_cost(self.result)

    @property
    def uncontrolled_cost(self) -> float:
        return self.car_cost(self.baseline)

    @property
    def v2g_earned(self) -> float:
        """What the discharged energy is worth. [currency]"""
        return sum((b.money for b in self.blocks if b.kind == "discharge"), 0.0)

    @property
    def wear_cost(self) -> float:
        """Battery wear of the plan's discharging. [currency]"""
        return sum((b.wear for b in self.blocks if b.kind == "discharge"), 0.0)


def plan_tonight(car: Car, home: Home, prices: RetailTariff, night: Night) -> Tonight:
    """Schedule the car's night with the exact LP, verified, beside charging at once."""
    problem = night_problem(car, home, prices, night)
    outcome = scheduling.plan(problem)
    at_home = objective_terms(problem, np.zeros((1, problem.n_slots)), np.zeros(1))
    return Tonight(outcome, night_blocks(problem, outcome.result), at_home["energy_cost"])


def night_blocks(problem: Problem, result: Schedule) -> tuple[Block, ...]:
    """The schedule of the one car as blocks of charging, discharging and waiting, in order."""
    power_kw = result.power_kw[0]
    dt_h = problem.dt_h
    charging, discharging = power_kw > POWER_TOLERANCE_KW, power_kw < -POWER_TOLERANCE_KW
    kinds = np.stack([charging, discharging, ~(charging | discharging)])
    given = {
        b.start_slot: b for b in discharge_blocks(problem, result.power_kw, result.site_net_load_kw)
    }
    soc = result.soc[0]
    blocks = []
    for row, start, end in sorted(true_runs(kinds), key=lambda run: run[1]):
        window = slice(start, end)
        energy_kwh = float(np.abs(power_kw[window]).sum() * dt_h)
        kind = KINDS[row]
        money, wear, to_grid = 0.0, 0.0, False
        if kind == "charge":
            price = problem.tariff.import_price_per_kwh[window]
            money = float((power_kw[window] * price).sum() * dt_h)
        elif kind == "discharge":
            block = given[start]
            money = block.worth_per_kwh * block.energy_kwh
            wear = block.wear_per_kwh * block.energy_kwh
            to_grid = bool((result.site_net_load_kw[window] < 0).any())
        hours = (end - start) * dt_h
        blocks.append(
            Block(
                kind,
                start,
                end,
                energy_kwh,
                energy_kwh / hours,
                float(soc[start]),
                float(soc[end]),
                money,
                wear,
                to_grid,
            )
        )
    return tuple(blocks)
