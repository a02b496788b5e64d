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


def charge_on_arrival_kw(
    energy_kwh: np.ndarray,
    target_kwh: np.ndarray,
    max_charge_kw: np.ndarray,
    charge_efficiency: np.ndarray,
    dt_h: float,
    plugged: np.ndarray,
) -> np.ndarray:
    """This slot's power of every car under the charge-on-arrival rule. [kW]

    Full power while plugged in and below target; the last slot only what the target needs.
    """
    missing_kwh = np.maximum(target_kwh - energy_kwh, 0.0)
    wanted_kw = missing_kwh / (charge_efficiency * dt_h)
    return np.where(plugged, np.minimum(max_charge_kw, wanted_kw), 0.0)


def uncontrolled_power_kw(problem: Problem) -> np.ndarray:
    """AC power ``[N, T]`` of charge-on-arrival (vectorized over vehicles, sequential in time)."""
    fleet = problem.fleet
    dt_h = problem.dt_h
    energy_kwh = fleet.energy_initial_kwh.copy()
    power_kw = np.zeros((fleet.n_vehicles, problem.n_slots))
    for t in range(problem.n_slots):
        plugged = (fleet.arrival_slot <= t) & (t < fleet.departure_slot)
        power_kw[:, t] = charge_on_arrival_kw(
            energy_kwh,
            fleet.energy_target_kwh,
            fleet.max_charge_kw,
            fleet.charge_efficiency,
            dt_h,
            plugged,
        )
        energy_kwh += fleet.charge_efficiency * power_kw[:, t] * dt_h
    return power_kw


def schedule_uncontrolled(problem: Problem) -> Schedule:
    started = time.perf_counter()
    power_kw = uncontrolled_power_kw(problem)
    info = SolverInfo(
        name="uncontrolled", status="rule", solve_time_s=time.perf_counter() - started
    )
    return assemble_schedule(problem, "uncontrolled", power_kw, info, ok_status="feasible")
