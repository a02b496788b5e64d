"""Uncontrolled charging, today's behaviour and the baseline every strategy is measured against.

Each car charges at its full power from the moment it plugs in until it reaches its target, and
never discharges. It knows nothing of prices or the site limit.
"""

from __future__ import annotations

import time

import numpy as np

from voltpool.model import Problem
from voltpool.schedule.assemble import assemble_schedule
from voltpool.schedule.result import Schedule, SolverInfo


def uncontrolled_power_kw(problem: Problem) -> np.ndarray:
    """AC power ``[N, T]`` of charge-on-arrival (vectorized over vehicles, sequential in time)."""
    fleet = problem.fleet
    dt_h = problem.dt_h
    energy_kwh = fleet.energy_initial_kwh.copy()
    target_kwh = fleet.energy_target_kwh
    power_kw = np.zeros((fleet.n_vehicles, problem.n_slots))
    for t in range(problem.n_slots):
        plugged = (fleet.arrival_slot <= t) & (t < fleet.departure_slot)
        missing_kwh = np.maximum(target_kwh - energy_kwh, 0.0)
        wanted_kw = missing_kwh / (fleet.charge_efficiency * dt_h)
        power_kw[:, t] = np.where(plugged, np.minimum(fleet.max_charge_kw, wanted_kw), 0.0)
        energy_kwh += fleet.charge_efficiency * power_kw[:, t] * dt_h
    return power_kw


def schedule_uncontrolled(problem: Problem) -> Schedule:
    started = time.perf_counter()
    power_kw = uncontrolled_power_kw(problem)
    info = SolverInfo(
        name="uncontrolled", status="rule", solve_time_s=time.perf_counter() - started
    )
    return assemble_schedule(problem, "uncontrolled", power_kw, info, ok_status="feasible")
