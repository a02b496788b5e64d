"""The one rolling-horizon controller: the simulator's policies and the live service's planner.

Each slot the caller hands it plain arrays: what is measured now (:class:`Observation`: stored
energy, which cars are on the grid, when they leave) and the running V2V agreements
(:class:`V2VInputs`: energy kept for friends, the transfers to plan). It answers this slot's
setpoint of every car and the V2V flows (:class:`Setpoints`). When a re-plan is due (every
``replan_every_slots`` since the first step, and with ``replan_on_events`` whenever a car
arrives, leaves or is cut off, or a V2V agreement starts) it builds one
:class:`~voltpool.model.Problem` over the horizon from the car table and the forecast source,
solves it with the exact LP (:func:`voltpool.schedule.schedule`) and checks the plan with the
independent verifier (:func:`voltpool.schedule.verify`) before following it. A plan that fails
the check (or a solver that fails) is an error with ``on_invalid_plan="raise"`` (tests, the
simulator); with ``"fallback"`` (a running service) the controller follows
:func:`~voltpool.control.fallback.safe_plan_kw` instead and records why in ``notes``.

Between re-plans it follows the last plan. Method ``"uncontrolled"`` is today's charging
(full power from plug-in to the target), decided afresh every slot.

Warm starts: :meth:`Controller.plan` takes the ``basis`` of an earlier :class:`PlanOutcome`
(HiGHS's simplex basis of that plan's LP) and re-solves from it, which after a small event (a
car's new reading, target or departure, a car arriving or leaving, a price or a limit) takes a
fraction of a cold solve (``bench/bench_warm.py``). The live service builds a new controller
per re-plan, so it keeps the basis per community between re-plans; a re-plan whose horizon
starts ``n`` slots later passes ``basis.shifted(n)``. :meth:`step` (the simulator) plans cold:
where a plan has several optima a warm start may pick another one, and the simulated week
would then depend on the solve history (tried: the demo week's totals moved by 0.1 %, for
5 % less time at its 40 cars).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from voltpool.control.cars import CarTable
from voltpool.control.fallback import safe_plan_kw
from voltpool.control.forecast import ForecastSource
from voltpool.errors import SolverError
from voltpool.model import (
    DEFAULT_UNMET_PENALTY_PER_KWH,
    Fleet,
    PeakBilling,
    Problem,
    Site,
    SlotGrid,
    Tariff,
    Transfers,
)
from voltpool.model.rules import PAST_DAYS, OwnerRules
from voltpool.schedule import DEFAULT_TIME_BUDGET_S, Basis, Schedule, schedule, verify
from voltpool.schedule.uncontrolled import charge_on_arrival_kw


class InvalidPlanError(RuntimeError):
    """A plan failed the independent verifier (or the solver failed) in ``raise`` mode."""


@dataclass(frozen=True)
class PlanningConfig:
    """How the controller plans.

    ``horizon_slots`` and ``replan_every_slots`` count slots of ``slot_minutes``;
    ``bidirectional`` lets the plan discharge cars (V2G, V2V); ``peak_billing`` the demand
    charge on each billing period's highest import (absolute slots, like ``Observation.t``);
    ``time_budget_s`` bounds each plan's solve (a plan cut short is the best found, every
    rule kept, with its proven gap in the notes). ``clock`` places absolute slot numbers in
    time (each plan then starts at ``clock.time(t)``, told in ``timezone``): the owners'
    clock rules (hours, daily caps) need it.
    """

    method: Literal["lp", "uncontrolled"] = "lp"
    bidirectional: bool = True
    slot_minutes: int = 15
    horizon_slots: int = 96
    replan_every_slots: int = 4
    replan_on_events: bool = True
    unmet_penalty_per_kwh: float = DEFAULT_UNMET_PENALTY_PER_KWH
    peak_billing: PeakBilling | None = None
    clock: SlotGrid | None = None
    timezone: str = "UTC"
    on_invalid_plan: Literal["raise", "fallback"] = "raise"
    time_budget_s: float = DEFAULT_TIME_BUDGET_S

    def __post_init__(self) -> None:
        if self.method not in ("lp", "uncontrolled"):
            raise ValueError(f"method: {self.method!r} must be 'lp' or 'uncontrolled'")
        if self.on_invalid_plan not in ("raise", "fallback"):
            raise ValueError(f"on_invalid_plan: {self.on_invalid_plan!r} must be raise|fallback")
        for name in ("slot_minutes", "horizon_slots", "replan_every_slots"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)} must be >= 1")
        if not self.time_budget_s > 0:
            raise ValueError(f"time_budget_s: {self.time_budget_s} must be > 0")

    @property
    def dt_h(self) -> float:
        return self.slot_minutes / 60.0


@dataclass(frozen=True, eq=False)
class Observation:
    """What is measured at the start of slot ``t``, one element per car of the table.

    ``on_grid`` marks the cars plugged in where the controller sets the power (a car at a home
    cut off by an outage is not); ``departure_slot`` is each car's expected departure (first
    slot away; absolute, like ``t``); ``changed`` the cars that arrived, left or were cut off
    since the previous slot; ``peak_so_far_kw`` the highest import of the billing period so far;
    ``v2g_kwh_history`` ``[N, 7]`` the V2G/V2V energy each car gave (battery side) on each of
    the six local days before today, oldest first, and today so far (the owner's daily cap
    and weekly cycles count it; None: nothing given yet). [kWh]
    """

    t: int
    energy_kwh: np.ndarray
    on_grid: np.ndarray
    departure_slot: np.ndarray
    changed: np.ndarray | None = None
    peak_so_far_kw: float = 0.0
    v2g_kwh_history: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class V2VInputs:
    """Running V2V agreements as plain data.

    ``reserved_kwh`` per car: stored energy its open offers keep for friends (not for V2G).
    ``transfers``: the agreements to plan, with ``giver``/``receiver`` rows of the car table and
    absolute slots (like ``Observation.t``). ``new``: an agreement started (re-plan now).
    """

    reserved_kwh: np.ndarray
    transfers: Transfers | None = None
    new: bool = False


@dataclass(frozen=True, eq=False)
class Setpoints:
    """This slot's decision: AC power per car (positive charging) [kW] and V2V flows [kW]."""

    power_kw: np.ndarray
    transfer_ids: tuple[str, ...] = ()
    transfer_kw: np.ndarray = field(default_factory=lambda: np.zeros(0))
    replanned: bool = False

    def transfer_flows_kw(self) -> dict[str, float]:
        return dict(zip(self.transfer_ids, self.transfer_kw.tolist(), strict=True))


@dataclass(frozen=True, eq=False)
class PlanOutcome:
    """One re-plan: the cars planned (``rows`` of the car table), their power ``[n, H]``
    [kW], the problem and its verified schedule (None when no car was on the grid, or when
    the plan was rejected: then ``rejected`` says why and ``power_kw`` is the safe plan), the
    V2V flows ``[L, H]`` [kW], and ``basis``: the simplex basis of the plan's LP (HiGHS
    ``getBasis()``; None without a solved LP) to warm-start the next re-plan from
    (:meth:`Controller.plan`)."""

    rows: np.ndarray
    power_kw: np.ndarray
    problem: Problem | None = None
    schedule: Schedule | None = None
    rejected: str | None = None
    transfer_ids: tuple[str, ...] = ()
    transfer_kw: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    basis: Basis | None = None


class Controller:
    """Rolling-horizon control of one car table (see the module docstring)."""

    def __init__(
        self,
        cars: CarTable,
        forecasts: ForecastSource,
        config: PlanningConfig,
        name: str = "",
    ) -> None:
        self.cars = cars
        self.forecasts = forecasts
        self.config = config
        self.name = name or config.method
        self.solver_time_s: list[float] = []
        """Time each decision took (a re-plan, or an uncontrolled step). [s]"""
        self.notes: list[str] = []
        """Why a plan was not followed (fallback mode)."""
        self.plan_count = 0
        self._first_slot: int | None = None
        self._plan_start = -1
        self._plan_rows = np.zeros(0, dtype=np.int64)
        self._plan_kw = np.zeros((0, 0))
        self._plan_transfer_ids: tuple[str, ...] = ()
        self._plan_transfer_kw = np.zeros((0, 0))

    @property
    def bidirectional(self) -> bool:
        """Whether this controller may discharge cars (V2G, V2V, V2H backup)."""
        return self.config.method == "lp" and self.config.bidirectional

    def step(self, observed: Observation, v2v: V2VInputs | None = None) -> Setpoints:
        """This slot's setpoints, re-planning first when due."""
        if self._first_slot is None:
            self._first_slot = observed.t
        if self.config.method == "uncontrolled":
            return Setpoints(self._charge_on_arrival(observed))
        replanned = self._replan_due(observed, v2v)
        if replanned:
            self._replan(observed, v2v)
        power = np.zeros(self.cars.n_cars)
        offset = observed.t - self._plan_start
        transfer_kw = np.zeros(len(self._plan_transfer_ids))
        if offset < self._plan_kw.shape[1]:
            power[self._plan_rows] = self._plan_kw[:, offset]
            transfer_kw = self._plan_transfer_kw[:, offset]
        return Setpoints(power, self._plan_transfer_ids, transfer_kw, replanned)

    def _charge_on_arrival(self, observed: Observation) -> np.ndarray:
        started = time.perf_counter()
        cars = self.cars
        power = charge_on_arrival_kw(
            observed.energy_kwh,
            cars.soc_target * cars.capacity_kwh,
            cars.max_charge_kw,
            cars.charge_efficiency,
            self.config.dt_h,
            observed.on_grid,
        )
        self.solver_time_s.append(time.perf_counter() - started)
        return power

    def _replan_due(self, observed: Observation, v2v: V2VInputs | None) -> bool:
        if self._plan_start < 0 or (v2v is not None and v2v.new):
            return True
        assert self._first_slot is not None
        periodic = (observed.t - self._first_slot) % self.config.replan_every_slots == 0
        if self.config.replan_on_events and observed.changed is not None:
            return periodic or bool(observed.changed.any())
        return periodic

    def _replan(self, observed: Observation, v2v: V2VInputs | None) -> None:
        started = time.perf_counter()
        planned = self.plan(observed, v2v)
        self._plan_kw = planned.power_kw
        self._plan_rows = planned.rows
        self._plan_transfer_ids = planned.transfer_ids
        horizon = self.config.horizon_slots
        no_flows = np.zeros((0, horizon))
        self._plan_transfer_kw = planned.transfer_kw if planned.transfer_ids else no_flows
        self._plan_start = observed.t
        self.plan_count += 1
        self.solver_time_s.append(time.perf_counter() - started)

    def plan(
        self,
        observed: Observation,
        v2v: V2VInputs | None = None,
        warm_start: Basis | None = None,
    ) -> PlanOutcome:
        """A new plan from slot ``observed.t`` for the cars on the grid: the verified LP plan,
        or (fallback mode) the safe plan with the reason in ``rejected`` and ``notes``. It does
        not change what :meth:`step` follows (the live service stores it, then steps).

        ``warm_start``: the ``basis`` of an earlier outcome, to start HiGHS's dual simplex
        from (:func:`voltpool.schedule.exact.solve_lp`): after a small change (a car's state
        of charge, target or departure, a price, a limit) the LP re-solves in a fraction of a
        cold solve's time, with the same optimum. A plan from a later slot than that outcome's
        takes ``basis.shifted(slots later)``. Where it does not fit, the LP is solved cold.
        """
        horizon = self.config.horizon_slots
        rows = np.flatnonzero(observed.on_grid)
        if not rows.size:
            return PlanOutcome(rows, np.zeros((0, horizon)))
        problem = self.problem(observed, rows, v2v)
        t = observed.t
        try:
            started = {} if warm_start is None else {"warm_start": warm_start}
            result = schedule(problem, "lp", time_limit_s=self.config.time_budget_s, **started)
        except SolverError as error:
            return self._reject(problem, rows, t, f"the solver failed: {error}")
        check = verify(problem, result)  # every rule, the site limits too
        if not check.ok:
            broken = "; ".join(str(v) for v in check.violations[:3])
            return self._reject(problem, rows, t, f"the plan failed verification: {broken}")
        if result.solver.status != "optimal":
            self.notes.append(f"slot {t}: {result.solver.notes[-1]}")
        transfers = problem.transfers
        return PlanOutcome(
            rows,
            result.power_kw,
            problem=problem,
            schedule=result,
            transfer_ids=() if transfers is None else transfers.ids,
            transfer_kw=result.transfer_kw,
            basis=result.solver.basis,
        )

    def _reject(self, problem: Problem, rows: np.ndarray, t: int, reason: str) -> PlanOutcome:
        if self.config.on_invalid_plan == "raise":
            raise InvalidPlanError(f"{self.name}, slot {t}: {reason}")
        self.notes.append(f"slot {t}: {reason}; followed the safe plan (charge only)")
        return PlanOutcome(rows, safe_plan_kw(problem), problem=problem, rejected=reason)

    def problem(self, observed: Observation, rows: np.ndarray, v2v: V2VInputs | None) -> Problem:
        """The scheduling problem of the cars ``rows`` over the horizon from slot ``t``."""
        cars, config = self.cars, self.config
        t, horizon = observed.t, config.horizon_slots
        capacity = cars.capacity_kwh[rows]
        soc_max = cars.soc_max[rows]
        soc_min = cars.soc_min[rows]
        if v2v is not None:  # energy on offer to friends is not sold to the grid
            soc_min = np.clip(np.maximum(soc_min, v2v.reserved_kwh[rows] / capacity), 0.0, soc_max)
        wear = None if cars.wear is None else cars.wear.take(rows)
        rules = None if cars.rules is None else _rules_now(cars.rules, rows, observed)
        fleet = Fleet(
            ids=tuple(cars.ids[r] for r in rows),
            capacity_kwh=capacity,
            soc_initial=np.clip(observed.energy_kwh[rows] / capacity, 0.0, soc_max),
            soc_min=soc_min,
            soc_max=soc_max,
            soc_target=cars.soc_target[rows],
            arrival_slot=np.zeros(rows.size, dtype=np.int64),
            departure_slot=np.minimum(observed.departure_slot[rows] - t, horizon),
            max_charge_kw=cars.max_charge_kw[rows],
            max_discharge_kw=cars.max_discharge_kw[rows]
            if config.bidirectional
            else np.zeros(rows.size),
            charge_efficiency=cars.charge_efficiency[rows],
            discharge_efficiency=cars.discharge_efficiency[rows],
            degradation_cost_per_kwh=np.zeros(rows.size)
            if wear is not None
            else cars.degradation_cost_per_kwh[rows],
            wear=wear,
            rules=rules,
        )
        ahead = self.forecasts.forecast(t, horizon)
        return Problem(
            fleet=fleet,
            site=Site(ahead.base_load_kw, ahead.import_limit_kw, ahead.export_limit_kw),
            tariff=Tariff(
                ahead.import_price_per_kwh,
                np.minimum(ahead.export_price_per_kwh, ahead.import_price_per_kwh),
                **(
                    config.peak_billing.horizon(t, horizon, observed.peak_so_far_kw)
                    if config.peak_billing is not None
                    else {}
                ),
            ),
            slot_minutes=config.slot_minutes,
            unmet_penalty_per_kwh=config.unmet_penalty_per_kwh,
            transfers=None if v2v is None else _transfer_rows(v2v.transfers, rows, t, horizon),
            start=None if config.clock is None else config.clock.time(t).to_pydatetime(),
            timezone=config.timezone,
        )


def _rules_now(rules: OwnerRules, rows: np.ndarray, observed: Observation) -> OwnerRules:
    """The rules of the cars ``rows`` with the history they have given so far."""
    taken = rules.take(rows)
    if observed.v2g_kwh_history is None:
        return taken
    history = observed.v2g_kwh_history[rows]
    return dataclasses.replace(
        taken, v2g_kwh_past_days=history[:, :PAST_DAYS], v2g_kwh_today=history[:, PAST_DAYS]
    )


def _transfer_rows(
    transfers: Transfers | None, rows: np.ndarray, t: int, horizon: int
) -> Transfers | None:
    """The transfers between cars of ``rows``, as fleet rows and slots from ``t``."""
    if transfers is None or transfers.n_transfers == 0:
        return None
    row_of = np.full(int(max(rows.max(), transfers.giver.max(), transfers.receiver.max())) + 1, -1)
    row_of[rows] = np.arange(rows.size)
    giver, receiver = row_of[transfers.giver], row_of[transfers.receiver]
    keep = (giver >= 0) & (receiver >= 0) & (transfers.energy_kwh > 0)
    if not keep.any():
        return None
    return dataclasses.replace(
        transfers,
        ids=tuple(i for i, k in zip(transfers.ids, keep, strict=True) if k),
        giver=giver[keep],
        receiver=receiver[keep],
        start_slot=np.maximum(transfers.start_slot[keep] - t, 0),
        end_slot=np.minimum(transfers.end_slot[keep] - t, horizon),
        energy_kwh=transfers.energy_kwh[keep],
        giver_floor_kwh=transfers.giver_floor_kwh[keep],
    )
