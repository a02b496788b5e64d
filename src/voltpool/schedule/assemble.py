"""Turn a power matrix into a full :class:`Schedule`: SoC, site load, costs and explanations."""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem, energy_trajectory_kwh
from voltpool.schedule.explain import shortfall_reasons, site_limit_notes, transfer_reasons
from voltpool.schedule.explain_rules import rule_notes
from voltpool.schedule.objective import objective_terms, shortfall_kwh, site_net_load_kw
from voltpool.schedule.result import Schedule, SolverInfo


def deliverable_transfer_kw(
    problem: Problem, power_kw: np.ndarray, transfer_kw: np.ndarray | None
) -> np.ndarray:
    """Transfer flows ``[L, T]`` scaled down where a giver discharges, or a receiver charges,
    less than its transfers claim (solver round-off); zeros when there are none. [kW]"""
    n_links = problem.n_transfers
    if transfer_kw is None or n_links == 0:
        return np.zeros((n_links, problem.n_slots))
    transfers = problem.transfers
    assert transfers is not None
    flows = np.maximum(transfer_kw, 0.0)
    for cars, available in (
        (transfers.giver, np.maximum(-power_kw, 0.0)),
        (transfers.receiver, np.maximum(power_kw, 0.0)),
    ):
        claimed = np.zeros_like(power_kw)
        np.add.at(claimed, cars, flows)
        scale = np.divide(available, claimed, out=np.ones_like(claimed), where=claimed > available)
        flows = flows * np.minimum(scale[cars], 1.0)
    return flows


def assemble_schedule(
    problem: Problem,
    method: str,
    power_kw: np.ndarray,
    solver: SolverInfo,
    ok_status: str,
    transfer_kw: np.ndarray | None = None,
) -> Schedule:
    """Everything a user sees, derived from ``power_kw [N, T]`` (and the V2V flows, if any)."""
    fleet = problem.fleet
    energy = energy_trajectory_kwh(fleet, power_kw, problem.dt_h)
    net_kw = site_net_load_kw(problem, power_kw)
    shortfall = shortfall_kwh(problem, energy)
    notes = site_limit_notes(problem, net_kw)
    flows = deliverable_transfer_kw(problem, power_kw, transfer_kw)
    transfer_short = (
        np.zeros(0)
        if problem.transfers is None
        else np.maximum(problem.transfers.energy_kwh - flows.sum(axis=1) * problem.dt_h, 0.0)
    )
    return Schedule(
        method=method,
        status="site_limit_exceeded" if notes else ok_status,
        dt_h=problem.dt_h,
        power_kw=power_kw,
        soc=energy / fleet.capacity_kwh[:, None],
        site_net_load_kw=net_kw,
        objective_terms=objective_terms(problem, power_kw, shortfall, transfer_short),
        shortfall_kwh=shortfall,
        reasons=shortfall_reasons(problem, net_kw, shortfall),
        solver=solver,
        site_notes=notes,
        transfer_kw=flows,
        transfer_shortfall_kwh=transfer_short,
        transfer_reasons=transfer_reasons(problem, energy, transfer_short, shortfall),
        rule_notes=rule_notes(problem, power_kw, energy),
    )
