"""Turn a power matrix into a full :class:`Schedule`: SoC, site load, costs and explanations."""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem, energy_trajectory_kwh
from voltpool.schedule.explain import shortfall_reasons, site_limit_notes
from voltpool.schedule.objective import objective_terms, shortfall_kwh, site_net_load_kw
from voltpool.schedule.result import Schedule, SolverInfo


def assemble_schedule(
    problem: Problem, method: str, power_kw: np.ndarray, solver: SolverInfo, ok_status: str
) -> Schedule:
    """Everything a user sees, derived from ``power_kw [N, T]`` alone (so both methods agree)."""
    fleet = problem.fleet
    energy = energy_trajectory_kwh(fleet, power_kw, problem.dt_h)
    net_kw = site_net_load_kw(problem, power_kw)
    shortfall = shortfall_kwh(problem, energy)
    notes = site_limit_notes(problem, net_kw)
    return Schedule(
        method=method,
        status="site_limit_exceeded" if notes else ok_status,
        dt_h=problem.dt_h,
        power_kw=power_kw,
        soc=energy / fleet.capacity_kwh[:, None],
        site_net_load_kw=net_kw,
        objective_terms=objective_terms(problem, power_kw, shortfall),
        shortfall_kwh=shortfall,
        reasons=shortfall_reasons(problem, net_kw, shortfall),
        solver=solver,
        site_notes=notes,
    )
