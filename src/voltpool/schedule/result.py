"""What a scheduler returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class SolverInfo:
    """How the answer was obtained.

    ``build_time_s`` is the time to assemble the model, ``solve_time_s`` the solver's own run time.
    ``solver_objective`` is the optimizer's objective value (``None`` for rule-based methods); it
    includes the penalty for any site-limit excess. ``status`` is ``optimal`` (proven) or,
    when the time budget ended first, ``feasible`` (every rule holds; ``gap`` bounds the loss).
    """

    name: str
    status: str
    build_time_s: float = 0.0
    solve_time_s: float = 0.0
    iterations: int = 0
    solver_objective: float | None = None
    notes: tuple[str, ...] = ()
    gap: float = 0.0
    """Proven relative gap to the optimum: 0 when optimal, else at most this above it."""


@dataclass(frozen=True, eq=False)
class Schedule:
    """A schedule for every vehicle of a problem.

    Attributes
    ----------
    method : str
        ``"lp"`` or ``"uncontrolled"``.
    status : str
        ``"optimal"`` (lp), ``"feasible"`` (uncontrolled, all rules hold) or
        ``"site_limit_exceeded"`` (best effort: the site limits cannot be kept).
    dt_h : float
        Slot length. [h]
    power_kw : array [N, T]
        AC power per vehicle, positive when charging. [kW]
    soc : array [N, T+1]
        State of charge before slot 0 and after each slot. [0..1]
    site_net_load_kw : array [T]
        Base load plus vehicle power. [kW]
    objective_terms : dict
        The v1 objective's terms. [currency]
    shortfall_kwh : array [N]
        Energy missing at departure. [kWh]
    reasons : list of str
        Per vehicle: why it is short, in plain words (empty when not short).
    site_notes : list of str
        Plain-words account of any slot where the site limits are exceeded.
    transfer_kw : array [L, T]
        AC power each V2V transfer moves from its giver to its receiver per slot. [kW]
    transfer_shortfall_kwh : array [L]
        AC energy of each transfer left undelivered. [kWh]
    transfer_reasons : list of str
        Per transfer: why it is short, in plain words (empty when delivered).
    rule_notes : list of str
        What the owners' rules did to the plan, in plain words
        (:mod:`voltpool.schedule.explain_rules`).
    """

    method: str
    status: str
    dt_h: float
    power_kw: np.ndarray
    soc: np.ndarray
    site_net_load_kw: np.ndarray
    objective_terms: dict[str, float]
    shortfall_kwh: np.ndarray
    reasons: list[str]
    solver: SolverInfo
    site_notes: list[str] = field(default_factory=list)
    transfer_kw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    transfer_shortfall_kwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    transfer_reasons: list[str] = field(default_factory=list)
    rule_notes: list[str] = field(default_factory=list)

    @property
    def objective(self) -> float:
        return float(sum(self.objective_terms.values()))

    @property
    def peak_kw(self) -> float:
        return float(self.site_net_load_kw.max())

    @property
    def discharged_kwh(self) -> float:
        """Energy the vehicles gave back at the AC side (V2G/V2H/V2V) over the horizon. [kWh]"""
        return float(np.maximum(-self.power_kw, 0.0).sum() * self.dt_h)

    @property
    def transferred_kwh(self) -> np.ndarray:
        """AC energy each V2V transfer moved. [kWh]"""
        return self.transfer_kw.sum(axis=1) * self.dt_h

    @property
    def charged_kwh(self) -> float:
        """Energy the vehicles took at the AC side over the horizon. [kWh]"""
        return float(np.maximum(self.power_kw, 0.0).sum() * self.dt_h)
