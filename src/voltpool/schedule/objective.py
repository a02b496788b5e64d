"""The scheduling objective of problem format v1, evaluated on a power schedule.

Both schedulers report their objective through this one function, so their numbers compare.
"""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem, energy_trajectory_kwh
from voltpool.model.physics import fleet_cycle_depth_cost_slots
from voltpool.model.wear import charge_rate_cost, dwell_cost

TERMS = (
    "energy_cost",
    "peak_cost",
    "degradation_cost",
    "cycle_depth_cost",
    "soc_dwell_cost",
    "charge_rate_cost",
    "unmet_penalty",
)


def site_net_load_kw(problem: Problem, power_kw: np.ndarray) -> np.ndarray:
    """Net site load per slot: base load plus the vehicles' power (import positive). [kW]"""
    return problem.site.base_load_kw + power_kw.sum(axis=0)


def shortfall_kwh(problem: Problem, energy_kwh: np.ndarray) -> np.ndarray:
    """Energy each vehicle misses of its target at departure. [kWh]

    ``energy_kwh`` is the stored energy ``[N, T+1]``.
    """
    fleet = problem.fleet
    at_departure = energy_kwh[np.arange(fleet.n_vehicles), fleet.departure_slot]
    return np.maximum(fleet.energy_target_kwh - at_departure, 0.0)


def objective_terms(
    problem: Problem,
    power_kw: np.ndarray,
    shortfall: np.ndarray,
    transfer_shortfall_kwh: np.ndarray | None = None,
) -> dict[str, float]:
    """The four cost terms of the v1 objective (all in currency units).

    ``energy_cost = sum_t dt_h * max(import_price * net, export_price * net)``;
    ``peak_cost = peak_price_per_kw * max(0, max_t net - peak_baseline_kw)`` per billing
    period (:meth:`~voltpool.model.tariff.Tariff.peak_cost`);
    ``degradation_cost = sum_n cost_n * dt_h * sum_t max(-p, 0)``;
    ``cycle_depth_cost``, ``soc_dwell_cost`` and ``charge_rate_cost`` from the optional battery
    blocks
    (:mod:`voltpool.model.wear`);
    ``unmet_penalty = unmet_penalty_per_kwh * (sum_n shortfall_n + sum_l transfer_shortfall_l)``
    (V2V transfers left undelivered, :mod:`voltpool.model.transfers`).
    """
    tariff = problem.tariff
    net = site_net_load_kw(problem, power_kw)
    energy_cost = (
        problem.dt_h
        * np.maximum(tariff.import_price_per_kwh * net, tariff.export_price_per_kwh * net).sum()
    )
    peak_cost = tariff.peak_cost(net)
    discharged_kwh = problem.dt_h * np.maximum(-power_kw, 0.0).sum(axis=1)
    degradation_cost = float(problem.fleet.degradation_cost_per_kwh @ discharged_kwh)
    undelivered = 0.0 if transfer_shortfall_kwh is None else float(transfer_shortfall_kwh.sum())
    unmet = problem.unmet_penalty_per_kwh * (float(shortfall.sum()) + undelivered)
    fleet = problem.fleet
    cycle = fleet_cycle_depth_cost_slots(fleet, power_kw, problem.dt_h).sum(axis=1)
    soc_after = (
        energy_trajectory_kwh(fleet, power_kw, problem.dt_h)[:, 1:] / (fleet.capacity_kwh[:, None])
    )
    dwell = dwell_cost(fleet.wear, soc_after, fleet.plugged_mask(problem.n_slots), problem.dt_h)
    return {
        "energy_cost": float(energy_cost),
        "peak_cost": float(peak_cost),
        "degradation_cost": degradation_cost,
        "cycle_depth_cost": float(cycle.sum()),
        "soc_dwell_cost": float(dwell.sum()),
        "charge_rate_cost": float(
            charge_rate_cost(fleet.wear, fleet.capacity_kwh, power_kw, problem.dt_h).sum()
        ),
        "unmet_penalty": unmet,
    }
