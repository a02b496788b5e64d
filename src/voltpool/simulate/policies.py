"""The simulator's policies: the one controller (:mod:`voltpool.control`), configured.

``uncontrolled`` charges on arrival. ``smart`` (one-way) and ``v2g`` (bidirectional) plan with
the exact LP over a rolling horizon and follow the plan until the next re-plan (hourly, and
with ``replan = "events"`` also on every arrival and departure); ``v2g-wear`` prices each car's
calibrated ageing instead of the flat wear cost. They see forecasts, not the future
(:class:`~voltpool.simulate.forecast.WorldForecast`).
"""

from __future__ import annotations

import numpy as np

from voltpool.control import CarTable, Controller, PlanningConfig
from voltpool.model.wear import BatteryWear
from voltpool.simulate.forecast import WorldForecast
from voltpool.simulate.world import World

POLICIES = ("uncontrolled", "smart", "v2g", "v2g-wear")


def fleet_wear(world: World) -> BatteryWear:
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


def car_table(world: World, wear: BatteryWear | None = None) -> CarTable:
    """The world's cars as the controller's table (each car's levels: ``[vehicles]``'s or its
    rule group's)."""
    vehicles = world.scenario.vehicles
    n = world.n_vehicles
    levels = world.scenario.car_levels()
    return CarTable(
        ids=world.vehicle_ids,
        capacity_kwh=world.capacity_kwh,
        max_charge_kw=world.max_charge_kw,
        max_discharge_kw=world.max_discharge_kw,
        charge_efficiency=world.charge_efficiency,
        discharge_efficiency=world.discharge_efficiency,
        **levels,
        degradation_cost_per_kwh=np.full(n, vehicles.degradation_cost_per_kwh),
        wear=wear,
        rules=world.owner_rules,
    )


def make_policy(name: str, world: World, on_invalid_plan: str = "raise") -> Controller:
    """The controller behind policy ``name`` on ``world``."""
    if name not in POLICIES:
        raise ValueError(f"policies: {name!r} must be one of {', '.join(POLICIES)}")
    scenario = world.scenario
    planning = scenario.planning
    config = PlanningConfig(
        method="uncontrolled" if name == "uncontrolled" else "lp",
        bidirectional=name != "smart",
        slot_minutes=scenario.slot_minutes,
        horizon_slots=planning.horizon_hours * 60 // scenario.slot_minutes,
        replan_every_slots=world.slots_per_hour * planning.replan_every_hours,
        replan_on_events=planning.replan == "events",
        unmet_penalty_per_kwh=planning.unmet_penalty_per_kwh,
        peak_billing=world.peak_billing,
        clock=world.clock,
        timezone=scenario.timezone,
        on_invalid_plan=on_invalid_plan,  # type: ignore[arg-type]
    )
    wear = fleet_wear(world) if name == "v2g-wear" else None
    return Controller(car_table(world, wear), WorldForecast(world), config, name=name)
