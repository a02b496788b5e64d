"""Make any power matrix a plan every rule allows: one sweep forward in time, all cars at once.

The decentralized scheduler's iterates keep each car's rules only approximately (and may charge
and discharge one car in one slot). Slot by slot, with each car's stored energy carried along,
the car's net power is clipped to:

- its charger limits (and the owner's discharge hours: 0 where discharging is forbidden);
- its target: a car that could no longer reach it charging at full power in its later slots
  charges the difference now (so a shortfall is left only where the charger or the site
  cannot give more);
- its ceiling (charge no more than fits) and its discharge floor: a car discharges only into
  energy it holds above ``max(reserve, the owner's V2G floor)``, so a car that arrives below its
  reserve gives nothing until it is above it (the reserve rule the verifier checks);
- the owner's daily and rolling-week caps (battery side, :mod:`voltpool.schedule.rules_lp`);
- the site: where the cars would push the net load over the import limit (or over what the
  base load alone needs), every charging car of the slot is scaled down by one factor; past
  the export limit every discharging car likewise.

Each step only moves power toward zero, so what was feasible stays so, and the target is kept
soft (the shortfall is priced, as in the LP).
"""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem
from voltpool.model.rules import PAST_DAYS, local_days
from voltpool.schedule.rules_lp import day_cap_kwh, week_cap_kwh

MARGIN = 1e-9
"""Relative margin kept inside every bound, for round-off. [1]"""


def feasible_power_kw(
    problem: Problem, power_kw: np.ndarray, discharge_limit_kw: np.ndarray
) -> np.ndarray:
    """``power_kw`` ``[N, T]`` made to keep every rule (module docstring). [kW]"""
    fleet = problem.fleet
    site = problem.site
    dt_h = problem.dt_h
    n_slots = problem.n_slots
    plugged = fleet.plugged_mask(n_slots)
    eta_c, eta_d = fleet.charge_efficiency, fleet.discharge_efficiency
    capacity = fleet.capacity_kwh
    ceiling = fleet.energy_ceiling_kwh * (1.0 - MARGIN)
    floor = fleet.discharge_floor_soc * capacity + MARGIN * capacity
    import_cap = np.maximum(site.import_limit_slots_kw, site.base_load_kw)
    export_cap = np.maximum(site.export_limit_slots_kw, -site.base_load_kw)
    caps = _Caps(problem)
    most_kw = fleet.max_charge_kw[:, None] * plugged
    later_kwh = np.cumsum((eta_c[:, None] * dt_h * most_kw)[:, ::-1], axis=1)[:, ::-1]
    later_kwh = np.concatenate([later_kwh[:, 1:], np.zeros((fleet.n_vehicles, 1))], axis=1)
    target = np.minimum(fleet.energy_target_kwh, ceiling)
    energy = fleet.energy_initial_kwh.copy()
    out = np.zeros_like(power_kw)
    for t in range(n_slots):
        behind_kwh = np.maximum(target - energy - later_kwh[:, t], 0.0)
        p = np.where(
            behind_kwh > 0, np.maximum(power_kw[:, t], behind_kwh / (eta_c * dt_h)), power_kw[:, t]
        )
        p = np.clip(p, -discharge_limit_kw[:, t], most_kw[:, t])
        p = np.minimum(p, np.maximum(ceiling - energy, 0.0) / (eta_c * dt_h))
        give_kwh = np.minimum(np.maximum(energy - floor, 0.0), caps.left_kwh(t))
        p = np.maximum(p, -give_kwh * eta_d / dt_h)
        p = _site_fit(p, site.base_load_kw[t], import_cap[t], export_cap[t])
        taken = np.maximum(-p, 0.0) * dt_h / eta_d
        energy += np.where(p > 0, eta_c * p * dt_h, -taken)
        caps.use(t, taken)
        out[:, t] = p
    return out


def _site_fit(
    p: np.ndarray, base_kw: float, import_cap_kw: float, export_cap_kw: float
) -> np.ndarray:
    """One slot's powers with the charging (discharging) scaled down by one factor where the
    net load would pass the import (export) limit."""
    net = base_kw + p.sum()
    scale = 1.0 - MARGIN
    if net > import_cap_kw * scale:
        charging = np.maximum(p, 0.0).sum()
        keep = max(0.0, 1.0 - (net - import_cap_kw * scale) / charging) if charging else 1.0
        p = np.where(p > 0, p * keep, p)
    elif -net > export_cap_kw * scale:
        giving = np.maximum(-p, 0.0).sum()
        keep = max(0.0, 1.0 - (-net - export_cap_kw * scale) / giving) if giving else 1.0
        p = np.where(p < 0, p * keep, p)
    return p


class _Caps:
    """The owners' daily and rolling-week discharge caps, used up slot by slot (battery side)."""

    def __init__(self, problem: Problem) -> None:
        rules = problem.fleet.rules
        clock = problem.clock
        self.active = rules is not None and clock is not None
        n_vehicles = problem.n_vehicles
        if not self.active:
            self.unlimited = np.full(n_vehicles, np.inf)
            return
        self.day = local_days(clock, problem.timezone, problem.n_slots)  # type: ignore[arg-type]
        n_days = int(self.day[-1]) + 1
        self.daily = day_cap_kwh(problem, n_days)
        self.weekly = week_cap_kwh(problem, n_days)
        self.used = np.zeros((n_vehicles, n_days))

    def left_kwh(self, t: int) -> np.ndarray:
        """What each car may still give in slot t under both caps. [kWh]"""
        if not self.active:
            return self.unlimited
        d = int(self.day[t])
        left = self.daily[:, d] - self.used[:, d]
        for later in range(d, min(d + PAST_DAYS, self.used.shape[1] - 1) + 1):
            week = self.used[:, max(0, later - PAST_DAYS) : later + 1].sum(axis=1)
            left = np.minimum(left, self.weekly[:, later] - week)
        return np.maximum(left * (1.0 - MARGIN), 0.0)

    def use(self, t: int, taken_kwh: np.ndarray) -> None:
        if self.active:
            self.used[:, int(self.day[t])] += taken_kwh
