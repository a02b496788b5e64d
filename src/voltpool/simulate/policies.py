"""Charging policies: each decides this slot's setpoints from what is known now.

``uncontrolled`` charges on arrival. ``smart`` (one-way) and ``v2g`` (bidirectional) plan with the
one scheduler (:func:`voltpool.schedule.schedule`, exact LP) over a rolling horizon and follow
the plan until the next re-plan (hourly, and with ``replan = "events"`` also on every
arrival and departure). They see forecasts,
not the future: base load by persistence (same slot yesterday) or perfectly; day-ahead prices
once published (12:00 local for the next day), yesterday's beyond that.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from voltpool.model import Fleet, Problem, Site, Tariff
from voltpool.model.wear import BatteryWear
from voltpool.schedule import schedule
from voltpool.schedule.uncontrolled import charge_on_arrival_kw
from voltpool.simulate.world import SLOTS_PER_DAY, World

if TYPE_CHECKING:
    from voltpool.simulate.sharing_desk import SharingDesk

PUBLICATION_HOUR_LOCAL = 13
"""Day-ahead results for tomorrow are public by about 12:45 local time (EPEX, SDAC)."""


@dataclass
class FleetState:
    """What a policy may look at in slot ``t`` (world-grid index), vectorized over all cars."""

    t: int
    energy_kwh: np.ndarray
    plugged: np.ndarray
    departure_slot: np.ndarray
    changed: np.ndarray
    """Cars that plugged in or left since the previous slot."""
    peak_so_far_kw: float = 0.0
    """Highest import of the neighbourhood so far in the period (the demand charge's base)."""
    islanded: np.ndarray | None = None
    """Cars plugged in at a home cut off by an outage: off the grid, backing their home up."""
    sharing: SharingDesk | None = None
    """Running V2V agreements (bidirectional policies plan them as transfers)."""
    new_agreements: bool = False


class Policy:
    """Base class: ``setpoints_kw`` returns the requested AC power of every car for slot t."""

    name: str = ""
    bidirectional: bool = False
    """Whether the policy may discharge cars (V2G, V2H backup in outages, V2V)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.solver_time_s: list[float] = []

    def setpoints_kw(self, state: FleetState) -> np.ndarray:
        raise NotImplementedError

    def transfer_kw(self, t: int) -> dict[str, float]:
        """The V2V flow the current plan moves in slot ``t``, per agreement id. [kW]"""
        return {}


class Uncontrolled(Policy):
    """Charge at full power from arrival until the target, never discharge."""

    name = "uncontrolled"

    def setpoints_kw(self, state: FleetState) -> np.ndarray:
        world = self.world
        started = time.perf_counter()
        target_kwh = world.scenario.vehicles.soc_target * world.capacity_kwh
        power = charge_on_arrival_kw(
            state.energy_kwh,
            target_kwh,
            world.max_charge_kw,
            world.charge_efficiency,
            world.dt_h,
            state.plugged,
        )
        self.solver_time_s.append(time.perf_counter() - started)
        return power


def price_known_until(world: World) -> np.ndarray:
    """For every slot t: the first slot whose day-ahead price is not yet published at t."""
    local = world.index.tz_convert(world.scenario.timezone)
    next_midnight = local.normalize() + pd.Timedelta(days=1)
    after_auction = local.hour >= PUBLICATION_HOUR_LOCAL
    known_end = next_midnight + pd.to_timedelta(after_auction.astype(int), unit="D")
    step = pd.Timedelta(minutes=world.scenario.slot_minutes)
    return ((known_end.tz_convert("UTC") - world.index[0]) // step).to_numpy(np.int64)


class Planned(Policy):
    """Rolling-horizon optimal charging with the exact LP; ``bidirectional`` allows V2G.

    With ``wear_priced`` the flat throughput cost is replaced by each car's calibrated
    cycle-depth and SoC-dwell costs (:mod:`voltpool.battery.calibrate`), so every discharge and
    every hour spent full pays for the ageing it causes.
    """

    def __init__(self, world: World, bidirectional: bool, wear_priced: bool = False) -> None:
        super().__init__(world)
        self.name = "v2g-wear" if wear_priced else ("v2g" if bidirectional else "smart")
        self.bidirectional = bidirectional
        self.wear = self._fleet_wear(world) if wear_priced else None
        scenario = world.scenario
        self.horizon = scenario.planning.horizon_hours * 60 // scenario.slot_minutes
        self.known_until = price_known_until(world)
        self.plan_cars = np.zeros(0, dtype=np.int64)
        self.plan_start = -1
        self.plan_kw = np.zeros((0, 0))
        self.plan_transfer_ids: tuple[str, ...] = ()
        self.plan_transfer_kw = np.zeros((0, 0))
        self.plan_count = 0

    @staticmethod
    def _fleet_wear(world: World) -> BatteryWear:
        """Every car's calibrated wear costs: one fit per chemistry, indexed per car."""
        chemistries, car_index = np.unique(world.chemistry, return_inverse=True)
        fits = [world.wear_coefficients(c) for c in chemistries]
        if not fits:
            return BatteryWear(np.zeros((0, 0)), np.zeros(0), np.zeros((0, 0)))
        cycle = np.array([f.cycle_depth_cost_per_kwh for f in fits])[car_index]
        dwell_per_kwh = np.array([f.dwell_cost_per_h_per_kwh for f in fits])[car_index]
        rate = np.array([f.rate_cost_per_kwh for f in fits])[car_index]
        return BatteryWear(
            cycle,
            fits[0].dwell_soc,
            dwell_per_kwh * world.capacity_kwh[:, None],
            fits[0].rate_c,
            rate,
        )

    def replan_due(self, state: FleetState) -> bool:
        if self.plan_start < 0:
            return True
        hourly = (state.t - self.world.first_slot) % 4 == 0
        if state.new_agreements:
            return True
        if self.world.scenario.planning.replan == "events":
            return hourly or bool(state.changed.any())
        return hourly

    def forecast(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Base load, import and export price for slots ``t .. t+H-1`` as known at slot t."""
        world = self.world
        slots = np.arange(t, t + self.horizon)
        if world.scenario.planning.forecast == "perfect":
            base = world.base_load_kw[slots]
            source = slots
        else:
            base = world.base_load_kw[slots - SLOTS_PER_DAY]
            known = self.known_until[t]
            days_back = np.maximum(0, -((known - slots - 1) // SLOTS_PER_DAY))
            source = slots - SLOTS_PER_DAY * days_back
        return base, world.import_price_per_kwh[source], world.export_price_per_kwh[source]

    def problem(self, state: FleetState, cars: np.ndarray) -> Problem:
        world = self.world
        vehicles = world.scenario.vehicles
        t = state.t
        capacity = world.capacity_kwh[cars]
        count = cars.size
        base, import_price, export_price = self.forecast(t)
        soc_min = np.full(count, vehicles.soc_min)
        if state.sharing is not None:  # energy on offer to friends is not sold to the grid
            reserved = state.sharing.reserved_kwh(t, state.energy_kwh)[cars] / capacity
            soc_min = np.clip(np.maximum(soc_min, reserved), 0.0, vehicles.soc_max)
        fleet = Fleet(
            ids=tuple(world.vehicle_ids[c] for c in cars),
            capacity_kwh=capacity,
            soc_initial=np.clip(state.energy_kwh[cars] / capacity, 0.0, vehicles.soc_max),
            soc_min=soc_min,
            soc_max=np.full(count, vehicles.soc_max),
            soc_target=np.full(count, vehicles.soc_target),
            arrival_slot=np.zeros(count, dtype=np.int64),
            departure_slot=np.minimum(state.departure_slot[cars] - t, self.horizon),
            max_charge_kw=world.max_charge_kw[cars],
            max_discharge_kw=world.max_discharge_kw[cars]
            if self.bidirectional
            else np.zeros(count),
            charge_efficiency=world.charge_efficiency[cars],
            discharge_efficiency=world.discharge_efficiency[cars],
            degradation_cost_per_kwh=np.full(
                count, 0.0 if self.wear is not None else vehicles.degradation_cost_per_kwh
            ),
            wear=None
            if self.wear is None
            else BatteryWear(
                self.wear.cycle_depth_cost_per_kwh[cars],
                self.wear.dwell_soc,
                self.wear.dwell_cost_per_h[cars],
                self.wear.rate_c,
                self.wear.rate_cost_per_kwh[cars],
            ),
        )
        window = slice(t, t + self.horizon)
        transfers = state.sharing.transfers_for(t, cars) if state.sharing else None
        if transfers is not None:
            transfers = dataclasses.replace(
                transfers, end_slot=np.minimum(transfers.end_slot, self.horizon)
            )
        return Problem(
            fleet=fleet,
            site=Site(base, world.import_limit_kw[window], world.export_limit_kw[window]),
            tariff=Tariff(
                import_price,
                np.minimum(export_price, import_price),
                world.scenario.tariff.peak_price_per_kw,
                peak_baseline_kw=state.peak_so_far_kw,
            ),
            slot_minutes=world.scenario.slot_minutes,
            unmet_penalty_per_kwh=world.scenario.planning.unmet_penalty_per_kwh,
            transfers=transfers,
        )

    def setpoints_kw(self, state: FleetState) -> np.ndarray:
        if self.replan_due(state):
            started = time.perf_counter()
            on_grid = state.plugged if state.islanded is None else state.plugged & ~state.islanded
            cars = np.flatnonzero(on_grid)
            self.plan_transfer_ids = ()
            self.plan_transfer_kw = np.zeros((0, self.horizon))
            if cars.size:
                problem = self.problem(state, cars)
                result = schedule(problem, "lp")
                self.plan_kw = result.power_kw
                if problem.transfers is not None:
                    self.plan_transfer_ids = problem.transfers.ids
                    self.plan_transfer_kw = result.transfer_kw
            else:
                self.plan_kw = np.zeros((0, self.horizon))
            self.plan_cars = cars
            self.plan_start = state.t
            self.plan_count += 1
            self.solver_time_s.append(time.perf_counter() - started)
        power = np.zeros(self.world.n_vehicles)
        offset = state.t - self.plan_start
        if offset < self.plan_kw.shape[1]:
            power[self.plan_cars] = self.plan_kw[:, offset]
        return power

    def transfer_kw(self, t: int) -> dict[str, float]:
        offset = t - self.plan_start
        if offset >= self.plan_transfer_kw.shape[1]:
            return {}
        return {
            transfer_id: float(self.plan_transfer_kw[row, offset])
            for row, transfer_id in enumerate(self.plan_transfer_ids)
        }


def make_policy(name: str, world: World) -> Policy:
    if name == "uncontrolled":
        return Uncontrolled(world)
    if name in ("smart", "v2g", "v2g-wear"):
        return Planned(world, bidirectional=name != "smart", wear_priced=name == "v2g-wear")
    raise ValueError(f"policies: {name!r} must be one of uncontrolled, smart, v2g, v2g-wear")
