"""Grid-connected V2H: keep the house's import under its breaker or contract limit.

The house stays on the grid, but its import must stay under a limit: the main breaker, a
contracted capacity, or a grid operator's temporary cap (an OpenADR ``IMPORT_CAPACITY_LIMIT``
event). Bidirectional cars discharge into the house (behind the meter, nothing exported unless
``export_limit_kw`` allows it) to keep the import under the limit, never below their driving
reserve, and charge towards their departure targets where there is headroom.

This is not a model of its own: it is the one voltpool scheduler
(:func:`voltpool.schedule.schedule` with ``"lp"``) run on a :class:`voltpool.model.Problem`
whose site is the house (``base_load_kw`` = house load, ``import_limit_kw`` = the limit) and
whose fleet floors are the reserves (``soc_min = reserve_kwh / capacity_kwh``). The LP prices
import above the limit far above anything else, so the limit yields only where the cars cannot
prevent it (they are away, at their reserve or at their discharge limit); those slots are
reported, with the scheduler's own explanation (:func:`voltpool.schedule.explain.site_limit_notes`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model import (
    DEFAULT_CHARGE_EFFICIENCY,
    DEFAULT_DISCHARGE_EFFICIENCY,
    DEFAULT_SLOT_MINUTES,
    DEFAULT_UNMET_PENALTY_PER_KWH,
    Fleet,
    Problem,
    Site,
    Tariff,
)
from voltpool.schedule import Schedule, schedule
from voltpool.schedule.explain import LIMIT_TOLERANCE_KW

DEFAULT_IMPORT_PRICE_PER_KWH = 0.30
"""A Dutch all-in household price (energy, network, taxes), EUR/kWh."""


@dataclass(frozen=True, eq=False)
class OverloadPlan:
    """The scheduler's answer for a house under an import limit.

    Attributes
    ----------
    problem : Problem
        What was scheduled (house as the site, cars as the fleet).
    schedule : Schedule
        The LP schedule; ``power_kw`` [N, T] is positive when charging.
    """

    problem: Problem
    schedule: Schedule

    @property
    def reserve_kwh(self) -> np.ndarray:
        """``[N]`` driving reserve: the fleet's SoC floor. [kWh]"""
        return self.problem.fleet.soc_min * self.problem.fleet.capacity_kwh

    @property
    def dt_h(self) -> float:
        return self.problem.dt_h

    @property
    def house_load_kw(self) -> np.ndarray:
        return self.problem.site.base_load_kw

    @property
    def limit_kw(self) -> np.ndarray:
        """``[T]`` import limit. [kW]"""
        return self.problem.site.import_limit_slots_kw

    @property
    def import_kw(self) -> np.ndarray:
        """``[T]`` net import of the house with the cars (negative = export). [kW]"""
        return self.schedule.site_net_load_kw

    @property
    def power_kw(self) -> np.ndarray:
        return self.schedule.power_kw

    @property
    def energy_kwh(self) -> np.ndarray:
        """``[N, T+1]`` stored energy. [kWh]"""
        return self.schedule.soc * self.problem.fleet.capacity_kwh[:, None]

    @property
    def excess_kw(self) -> np.ndarray:
        """``[T]`` import above the limit that the cars could not prevent. [kW]"""
        return np.maximum(self.import_kw - self.limit_kw, 0.0)

    @property
    def excess_slots(self) -> np.ndarray:
        return np.flatnonzero(self.excess_kw > LIMIT_TOLERANCE_KW)

    @property
    def excess_kwh(self) -> float:
        return float(self.excess_kw.sum() * self.dt_h)

    @property
    def excess_without_cars_kwh(self) -> float:
        """Energy above the limit the house alone would draw. [kWh]"""
        return float(np.maximum(self.house_load_kw - self.limit_kw, 0.0).sum() * self.dt_h)

    @property
    def over_limit_without_cars_slots(self) -> np.ndarray:
        return np.flatnonzero(self.house_load_kw - self.limit_kw > LIMIT_TOLERANCE_KW)

    @property
    def v2h_kwh(self) -> float:
        """Energy the cars gave the house (AC side). [kWh]"""
        return self.schedule.discharged_kwh

    @property
    def charged_kwh(self) -> float:
        return self.schedule.charged_kwh

    @property
    def shortfall_kwh(self) -> np.ndarray:
        """``[N]`` energy each car misses of its departure target. [kWh]"""
        return self.schedule.shortfall_kwh

    @property
    def notes(self) -> list[str]:
        """The scheduler's plain-words account of limit excess and missed targets."""
        ids = self.problem.fleet.ids
        return list(self.schedule.site_notes) + [
            f"{ids[n]}: {reason}" for n, reason in enumerate(self.schedule.reasons) if reason
        ]


def _vector(name: str, value: np.ndarray | float, n: int) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    if array.ndim == 0:
        return np.full(n, float(array))
    if array.shape != (n,):
        raise ProblemError([FieldIssue(name, f"needs {n} values (one per car), got {array.size}")])
    return array


def plan_overload(
    house_load_kw: np.ndarray,
    limit_kw: float | np.ndarray,
    capacity_kwh: np.ndarray,
    energy_kwh: np.ndarray,
    reserve_kwh: np.ndarray,
    max_charge_kw: np.ndarray,
    max_discharge_kw: np.ndarray,
    *,
    charge_efficiency: np.ndarray | float = DEFAULT_CHARGE_EFFICIENCY,
    discharge_efficiency: np.ndarray | float = DEFAULT_DISCHARGE_EFFICIENCY,
    target_kwh: np.ndarray | None = None,
    arrival_slot: np.ndarray | None = None,
    departure_slot: np.ndarray | None = None,
    slot_minutes: int = DEFAULT_SLOT_MINUTES,
    import_price_per_kwh: np.ndarray | float = DEFAULT_IMPORT_PRICE_PER_KWH,
    export_price_per_kwh: np.ndarray | float | None = None,
    export_limit_kw: float | np.ndarray = 0.0,
    ids: tuple[str, ...] | None = None,
    unmet_penalty_per_kwh: float = DEFAULT_UNMET_PENALTY_PER_KWH,
) -> OverloadPlan:
    """Keep a grid-connected house under ``limit_kw`` with its cars (module docstring).

    Parameters
    ----------
    house_load_kw : array [T]
        The house's own load. [kW]
    limit_kw : float or array [T]
        Import limit (breaker, contract, grid operator's cap). [kW]
    capacity_kwh, energy_kwh, reserve_kwh : array [N]
        Battery size, stored energy now, driving reserve. [kWh]
    max_charge_kw, max_discharge_kw : array [N]
        Charger limits at the AC side (0 discharge = one-way charger). [kW]
    charge_efficiency, discharge_efficiency : float or array [N]
    target_kwh : array [N], optional
        Wished stored energy at departure (default: the energy now). [kWh]
    arrival_slot, departure_slot : int array [N], optional
        The car is plugged in for ``arrival_slot <= t < departure_slot`` (default: all slots).
    slot_minutes : int
    import_price_per_kwh, export_price_per_kwh : float or array [T]
        Export defaults to 0 (or the import price where that is negative).
    export_limit_kw : float or array [T]
        Net export allowed; 0 (default) keeps the cars' energy behind the meter.
    ids : tuple of str, optional
    unmet_penalty_per_kwh : float
        Cost of each kWh missing at departure (the limit is priced far above it).

    Raises
    ------
    ProblemError
        Bad input, naming the field and the rule.
    """
    load = np.asarray(house_load_kw, dtype=float).reshape(-1)
    n_t = load.size
    capacity = np.asarray(capacity_kwh, dtype=float).reshape(-1)
    n = capacity.size
    energy = _vector("energy_kwh", energy_kwh, n)
    reserve = _vector("reserve_kwh", reserve_kwh, n)
    target = energy.copy() if target_kwh is None else _vector("target_kwh", target_kwh, n)
    issues: list[FieldIssue] = []
    for i in np.flatnonzero(~(capacity > 0) | ~np.isfinite(capacity)):
        issues.append(FieldIssue(f"capacity_kwh[{i}]", "must be a finite number > 0"))
    if issues:
        raise ProblemError(issues)
    for name, values in (("energy_kwh", energy), ("reserve_kwh", reserve), ("target_kwh", target)):
        for i in np.flatnonzero(~np.isfinite(values) | (values < 0))[:5]:
            issues.append(FieldIssue(f"{name}[{i}]", f"{values[i]!r} must be a finite number >= 0"))
        for i in np.flatnonzero(values > capacity * (1 + 1e-12))[:5]:
            issues.append(
                FieldIssue(
                    f"{name}[{i}]",
                    f"{values[i]:g} must be <= capacity_kwh[{i}] ({capacity[i]:g})",
                )
            )
    if issues:
        raise ProblemError(issues)
    import_price = np.broadcast_to(np.asarray(import_price_per_kwh, dtype=float), (n_t,))
    export_price = (
        np.minimum(import_price, 0.0)
        if export_price_per_kwh is None
        else np.broadcast_to(np.asarray(export_price_per_kwh, dtype=float), (n_t,))
    )
    fleet = Fleet(
        ids=ids if ids is not None else tuple(f"car {i + 1}" for i in range(n)),
        capacity_kwh=capacity,
        soc_initial=np.clip(energy / capacity, 0.0, 1.0),
        soc_min=np.clip(reserve / capacity, 0.0, 1.0),
        soc_max=np.ones(n),
        soc_target=np.clip(target / capacity, 0.0, 1.0),
        arrival_slot=np.zeros(n, dtype=np.int64) if arrival_slot is None else arrival_slot,
        departure_slot=(
            np.full(n, n_t, dtype=np.int64) if departure_slot is None else departure_slot
        ),
        max_charge_kw=_vector("max_charge_kw", max_charge_kw, n),
        max_discharge_kw=_vector("max_discharge_kw", max_discharge_kw, n),
        charge_efficiency=_vector("charge_efficiency", charge_efficiency, n),
        discharge_efficiency=_vector("discharge_efficiency", discharge_efficiency, n),
    )
    problem = Problem(
        fleet=fleet,
        site=Site(load, limit_kw, export_limit_kw),
        tariff=Tariff(np.array(import_price), np.array(export_price)),
        slot_minutes=slot_minutes,
        unmet_penalty_per_kwh=unmet_penalty_per_kwh,
    )
    return OverloadPlan(problem=problem, schedule=schedule(problem, "lp"))
