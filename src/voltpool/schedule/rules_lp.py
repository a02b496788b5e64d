"""The owner's rules (:mod:`voltpool.model.rules`) as linear constraints of the exact LP.

With ``pd[k]`` the discharge (AC side, kW) of plugged-in slot k of car n, the energy that
leaves its cells is ``pd[k] * dt_h / eta_d[n]`` (battery side). Then:

- **hours and "not today"**: ``pd[k] = 0`` (its upper bound) in every slot that starts outside
  the car's allowed windows, inside a forbidden one or before ``no_discharge_until``;
- **daily cap**: per car and local day d of the horizon,
  ``sum_{k in d} pd[k] dt_h / eta_d <= max(0, cap - (v2g_kwh_today if d = 0))``;
- **cycles per rolling week**: per car and local day d, over the plan's days ``d-6 .. d``,
  ``sum pd[k] dt_h / eta_d <= max(0, cycles * capacity - history in the window)``, the history
  being today's and the past days' energy that lie in days ``d-6 .. d``;
- **V2G floor**: the floor is the car's discharge floor ``max(soc_min, v2g_floor_soc)``
  (:attr:`voltpool.model.Fleet.discharge_floor_soc`), kept as the reserve is
  (:mod:`voltpool.schedule.guards`).

Each rule only bounds discharging, so the LP stays feasible whatever the rules say (idle cars
keep them all); a cap already used up makes the right-hand side 0, not negative.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from voltpool.model import Problem
from voltpool.model.rules import PAST_DAYS, local_days

if TYPE_CHECKING:
    from voltpool.schedule.lp import LinearProgram


def day_cap_kwh(problem: Problem, n_days: int) -> np.ndarray:
    """``[N, D]`` the V2G/V2V energy each car may still give on each local day of the horizon
    (battery side; inf without a cap). [kWh]"""
    rules = problem.fleet.rules
    assert rules is not None
    cap = np.repeat(rules.v2g_max_kwh_per_day[:, None], n_days, axis=1)
    cap[:, 0] -= rules.v2g_kwh_today
    return np.maximum(cap, 0.0)


def week_cap_kwh(problem: Problem, n_days: int) -> np.ndarray:
    """``[N, D]`` the V2G/V2V energy each car may give over the plan's days ``d-6 .. d``: its
    weekly cycles times its capacity less the history in that rolling week (battery side; inf
    without a cap). [kWh]"""
    rules = problem.fleet.rules
    assert rules is not None
    fleet = problem.fleet
    past = rules.v2g_kwh_past_days  # [N, 6], oldest (6 days before today) first
    cap = np.empty((fleet.n_vehicles, n_days))
    for d in range(n_days):
        # history days -p (p = 1..6 days ago) lie in the week ending on day d when p <= 6 - d
        kept = past[:, PAST_DAYS - max(0, PAST_DAYS - d) :].sum(axis=1)
        history = kept + (rules.v2g_kwh_today if d <= PAST_DAYS else 0.0)
        cap[:, d] = rules.max_cycles_per_week * fleet.capacity_kwh - history
    return np.maximum(cap, 0.0)


def add_owner_rules(problem: Problem, lp: LinearProgram) -> LinearProgram:
    """Append the rules of the fleet's cars to ``lp`` (see the module docstring)."""
    fleet = problem.fleet
    rules = fleet.rules
    assert rules is not None
    lay = lp.layout
    k = np.arange(lay.n_plugged)
    veh, slot = lay.vehicle, lay.slot
    upper = lp.col_upper.copy()
    allowed = rules.discharge_allowed(problem.clock, problem.timezone, problem.n_slots)
    upper[lay.discharge + k[~allowed[veh, slot]]] = 0.0
    clock = problem.clock
    if clock is None:  # no clock rules without a start (the problem refuses them)
        return _with(lp, upper, [], np.zeros(0))
    day = local_days(clock, problem.timezone, problem.n_slots)
    n_days = int(day[-1]) + 1
    k_day = day[slot]
    battery_kwh = problem.dt_h / fleet.discharge_efficiency[veh]
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    bounds: list[np.ndarray] = []
    n_rows = lp.row_lower.size

    def add_rows(ks: np.ndarray, group: np.ndarray, cap: np.ndarray) -> None:
        """One row per distinct ``group`` value of the plugged-in slots ``ks``, but for those
        that cannot bind: a cap at least what the slots could give at full power is left
        out, so loose rules leave the LP as it was (the same plan, not just as good)."""
        nonlocal n_rows
        if not ks.size:
            return
        keys, row = np.unique(group, return_inverse=True)
        most_kwh = np.bincount(row, upper[lay.discharge + ks] * battery_kwh[ks], keys.size)
        binds = cap[keys] < most_kwh
        if not binds.any():
            return
        renumber = np.cumsum(binds) - 1
        kept = binds[row]
        entries.append(
            (n_rows + renumber[row[kept]], lay.discharge + ks[kept], battery_kwh[ks[kept]])
        )
        bounds.append(cap[keys[binds]])
        n_rows += int(binds.sum())

    daily = day_cap_kwh(problem, n_days)
    ks = k[np.isfinite(daily[veh, k_day])]
    add_rows(ks, veh[ks] * n_days + k_day[ks], daily.ravel())
    weekly = week_cap_kwh(problem, n_days)
    for d in range(n_days):
        inside = (k_day >= d - PAST_DAYS) & (k_day <= d) & np.isfinite(weekly[veh, d])
        ks = k[inside]
        add_rows(ks, veh[ks], weekly[:, d])
    return _with(lp, upper, entries, np.concatenate(bounds) if bounds else np.zeros(0))


def _with(
    lp: LinearProgram,
    upper: np.ndarray,
    entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
    row_upper: np.ndarray,
) -> LinearProgram:
    """``lp`` with new column upper bounds and rows ``entries <= row_upper``."""
    n_rows = lp.row_lower.size + row_upper.size
    matrix = lp.matrix
    if entries:
        coo = lp.matrix.tocoo()
        matrix = sp.csc_matrix(
            (
                np.concatenate([coo.data, *(e[2] for e in entries)]),
                (
                    np.concatenate([coo.row, *(e[0] for e in entries)]),
                    np.concatenate([coo.col, *(e[1] for e in entries)]),
                ),
            ),
            shape=(n_rows, lp.cost.size),
        )
    return dataclasses.replace(
        lp,
        col_upper=upper,
        matrix=matrix,
        row_lower=np.concatenate([lp.row_lower, np.full(row_upper.size, -np.inf)]),
        row_upper=np.concatenate([lp.row_upper, row_upper]),
        extra_columns=None,  # rule rows carry no labels: a basis of this LP is not mapped
        extra_rows=None,
    )
