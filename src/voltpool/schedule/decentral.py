"""The decentralized fleet scheduler: a coordinator broadcasts a per-slot price signal, every car
answers with its own plan, all cars at once as numpy arrays, and every answer carries a
certified gap.

The problem is the exact LP's (:mod:`voltpool.schedule.lp`), split as a sharing problem (Boyd,
Parikh, Chu, Peleato, Eckstein, "Distributed Optimization and Statistical Learning via the
Alternating Direction Method of Multipliers", Found. Trends Mach. Learn. 3(1), 2011, §7.3):
``min sum_n f_n(x_n) + G(base + sum_n p_n)`` where ``f_n`` is car n's own LP (charger limits,
efficiencies, floor and ceiling, target with priced shortfall, throughput wear, the owner's
discharge hours) and ``G`` the coordinator's site cost (:mod:`voltpool.schedule.site_cost`:
prices, the import limit with its priced excess, the curtailed export, the demand charge). As
in Gan, Topcu and Low's decentralized valley filling ("Optimal decentralized protocol for
electric vehicle charging", IEEE Trans. Power Syst. 28(2), 2013), the coordinator only sees
the aggregate and broadcasts a signal; a car only sees the signal.

**Iteration** (primal-dual hybrid gradient, Chambolle & Pock, J. Math. Imaging Vis. 40, 2011,
with their diagonal preconditioning, 2011 ICCV): the coordinator's signal is the dual ``lam[t]``
of the site balance; each car updates its charge, discharge and energy by one projected step
on its own prices and its own energy-balance duals, the coordinator takes the prox of ``G`` on
the aggregate and moves the signal by the mismatch. Every step is a handful of array
operations over all plugged-in car-slots: no loop over cars.

**Certificate**: for any signal ``lam``, weak duality gives the Lagrangian lower bound
``L(lam) = sum_n min_x f_n(x) + lam.p + min_y G(y) - lam.y + lam.base``. Every car's minimum is
computed exactly by dynamic programming (:mod:`voltpool.schedule.car_bound`), the coordinator's
exactly over its breakpoints. The plan is the iterate made feasible
(:mod:`voltpool.schedule.repair`), priced as the LP prices it. ``gap = (plan - bound) /
max(1, |plan|)`` is proven: the exact optimum lies between. The run stops at the requested gap
or at its time or iteration budget, and says which. Its status is ``optimal`` only when the gap
is below :data:`~voltpool.schedule.exact.OPTIMALITY_TOLERANCE`, else ``feasible``.

Not covered here (the exact LP handles them): V2V transfers (refused), and the cycle-depth,
SoC-dwell and charge-rate wear blocks, the owners' daily and weekly caps and the reserve of a
car arriving below it are not optimized by the iteration; the repaired plan keeps the rules and
its cost counts the wear, the bound leaves them out (still valid, possibly looser).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np

from voltpool.model import Problem, energy_trajectory_kwh
from voltpool.schedule.assemble import assemble_schedule
from voltpool.schedule.car_bound import car_minimum_cost
from voltpool.schedule.exact import OPTIMALITY_TOLERANCE
from voltpool.schedule.lp import Layout, make_layout
from voltpool.schedule.objective import objective_terms, shortfall_kwh, site_net_load_kw
from voltpool.schedule.repair import feasible_power_kw
from voltpool.schedule.result import Schedule, SolverInfo
from voltpool.schedule.site_cost import SiteCost, site_cost

DEFAULT_GAP = 1e-3
"""Certified relative gap the run stops at (0.1 %)."""
DEFAULT_TIME_LIMIT_S = 60.0
MAX_ITERATIONS = 20_000
FIRST_CHECK = 100
"""Iterations before the first certificate; then each check comes after twice as many."""
WEIGHT_ENERGY_KWH_PER_CAPACITY = 2.5
"""The primal weight (Chambolle-Pock's step ratio) is a typical price per slot over this many
capacities: tried 0.25, 0.75, 2.5, 7.5 and 25 at 100 and 1,000 example cars; 2.5 gave the
smallest certified gap after 1,600 and 3,200 iterations."""


@dataclass(frozen=True)
class DecentralStart:
    """Where a re-plan starts from: the last signal and plan, by vehicle id (a rolling horizon:
    :meth:`shifted`)."""

    price_per_kwh: np.ndarray
    power_kw: np.ndarray
    ids: tuple[str, ...]
    shift: int = 0

    def shifted(self, slots: int) -> DecentralStart:
        """This start for a problem that begins ``slots`` later."""
        return replace(self, shift=self.shift + int(slots))


@dataclass(frozen=True)
class DecentralResult:
    schedule: Schedule
    start: DecentralStart
    """Pass as ``warm_start`` to the next plan."""
    lower_bound: float
    """The certified lower bound of the exact LP's optimum. [currency]"""
    plan_objective: float
    """The plan's cost as the LP prices it (site excess included). [currency]"""


@dataclass
class _State:
    """Primal (per plugged-in slot k: charge, discharge, energy; per car shortfall; per slot the
    net load; per period the peak) and dual (energy balance per k, target per car, site balance
    per slot, peak per slot) iterates."""

    charge: np.ndarray
    discharge: np.ndarray
    energy: np.ndarray
    shortfall: np.ndarray
    net: np.ndarray
    peak: np.ndarray
    balance_dual: np.ndarray
    target_dual: np.ndarray
    signal: np.ndarray
    peak_dual: np.ndarray
    power_sum: np.ndarray
    """Net power per k summed since the last certificate (its average is a plan too)."""
    steps: int = 0


def decentral_plan(
    problem: Problem,
    gap: float = DEFAULT_GAP,
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    max_iterations: int = MAX_ITERATIONS,
    warm_start: DecentralStart | None = None,
) -> DecentralResult:
    """Plan ``problem`` by the decentralized scheme (module docstring) until the certified gap
    is at most ``gap`` or the budget ends."""
    if problem.n_transfers:
        raise ValueError("the decentralized scheduler has no V2V transfers: use method 'lp'")
    if not gap >= 0:
        raise ValueError(f"gap: {gap} must be >= 0")
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s: {time_limit_s} must be > 0")
    started = time.perf_counter()
    model = _Model(problem)
    state = model.initial(warm_start)
    build_time_s = time.perf_counter() - started
    best_plan, best_cost, bound = np.zeros((problem.n_vehicles, problem.n_slots)), np.inf, -np.inf
    iterations, next_check, checks = 0, FIRST_CHECK, 0
    reason = "iteration budget reached"
    while True:
        model.step(state)
        iterations += 1
        last = iterations >= max_iterations or time.perf_counter() - started >= time_limit_s
        if iterations < next_check and not last:
            continue
        checks += 1
        next_check = 2 * next_check
        plan, cost = model.plan(state)
        if cost < best_cost:
            best_plan, best_cost = plan, cost
        bound = max(bound, model.bound(state.signal))
        if _gap(best_cost, bound) <= gap:
            reason = f"certified gap {_gap(best_cost, bound):.4%} <= {gap:.4%} reached"
            break
        if last:
            if iterations < max_iterations:
                reason = f"time budget of {time_limit_s:g} s reached"
            break
    certified = _gap(best_cost, bound)
    notes = (
        f"decentralized: {iterations} iterations, {checks} certificates; {reason}",
        f"certified gap {certified:.4%}: plan {best_cost:,.4f}, lower bound {bound:,.4f}",
    )
    status = "optimal" if certified <= OPTIMALITY_TOLERANCE else "feasible"
    info = SolverInfo(
        name="decentral-pdhg",
        status=status,
        build_time_s=build_time_s,
        solve_time_s=time.perf_counter() - started - build_time_s,
        iterations=iterations,
        solver_objective=best_cost,
        notes=notes,
        gap=certified,
    )
    result = assemble_schedule(problem, "decentral", best_plan, info, ok_status=status)
    start = DecentralStart(state.signal / problem.dt_h, best_plan, problem.fleet.ids)
    return DecentralResult(result, start, bound, best_cost)


def solve_decentral(problem: Problem, **options: object) -> Schedule:
    """:func:`decentral_plan`'s schedule (the ``decentral`` method of ``schedule()``)."""
    return decentral_plan(problem, **options).schedule  # type: ignore[arg-type]


def lp_objective(problem: Problem, cost: SiteCost, power_kw: np.ndarray) -> float:
    """A plan's cost as the exact LP prices it: the objective's terms, with the energy term as
    the LP's site cost (import excess at its price, curtailed export earning nothing). [currency]"""
    fleet = problem.fleet
    net = site_net_load_kw(problem, power_kw)
    energy = energy_trajectory_kwh(fleet, power_kw, problem.dt_h)
    terms = objective_terms(problem, power_kw, shortfall_kwh(problem, energy))
    site = float(cost.value(net).sum())
    return float(sum(terms.values())) - terms["energy_cost"] + site


def _gap(plan: float, bound: float) -> float:
    return max(plan - bound, 0.0) / max(1.0, abs(plan))


class _Model:
    """The problem's arrays, step sizes and operators, over the plugged-in car-slots k."""

    def __init__(self, problem: Problem) -> None:
        fleet = problem.fleet
        self.problem = problem
        self.lay: Layout = make_layout(problem)
        lay = self.lay
        veh, dt_h = lay.vehicle, problem.dt_h
        self.cost = site_cost(problem)
        allowed = np.ones((fleet.n_vehicles, problem.n_slots), dtype=bool)
        if fleet.rules is not None:
            allowed = fleet.rules.discharge_allowed(
                problem.clock, problem.timezone, problem.n_slots
            )
        plugged = fleet.plugged_mask(problem.n_slots)
        self.discharge_limit_kw = fleet.max_discharge_kw[:, None] * (plugged & allowed)
        self.charge_max = fleet.max_charge_kw[veh]
        self.discharge_max = self.discharge_limit_kw[veh, lay.slot]
        self.gain = fleet.charge_efficiency[veh] * dt_h  # kWh stored per kW charged
        self.loss = dt_h / fleet.discharge_efficiency[veh]  # kWh taken per kW given
        self.wear = fleet.degradation_cost_per_kwh[veh] * dt_h
        self.floor = fleet.energy_floor_kwh[veh]
        self.ceiling = fleet.energy_ceiling_kwh[veh]
        self.first_rhs = np.where(lay.first, fleet.energy_initial_kwh[veh], 0.0)
        self.previous = np.flatnonzero(~lay.first)
        self.target = fleet.energy_target_kwh
        self.penalty = problem.unmet_penalty_per_kwh
        self.has_peak = bool(self.cost.peak_price_per_kw.max(initial=0.0) > 0)
        n_cars_slot = np.bincount(lay.slot, minlength=problem.n_slots)
        # Pock-Chambolle (alpha = 1) diagonal steps: 1 / column and row sums of |K|
        self.tau_charge = 1.0 / (self.gain + 1.0)
        self.tau_discharge = 1.0 / (self.loss + 1.0)
        self.tau_energy = np.where(np.isin(np.arange(lay.n_plugged), lay.last), 1 / 3, 0.5)
        self.tau_net = 1.0 / (2.0 if self.has_peak else 1.0)
        counts = np.bincount(self.cost.period, minlength=self.cost.peak_price_per_kw.size)
        self.tau_peak = 1.0 / np.maximum(counts, 1)
        self.sigma_balance = 1.0 / (2.0 + self.gain + self.loss)
        self.sigma_site = 1.0 / (2.0 * n_cars_slot + 1.0)
        prices = np.abs(problem.tariff.import_price_per_kwh) * dt_h
        self.weight = max(float(np.median(prices)), 1e-4) / (
            WEIGHT_ENERGY_KWH_PER_CAPACITY * float(fleet.capacity_kwh.mean())
        )

    def initial(self, warm: DecentralStart | None) -> _State:
        """The starting iterate: idle cars at the import price, or the warm start mapped by
        vehicle id and slot."""
        problem, lay = self.problem, self.lay
        fleet = problem.fleet
        dt_h = problem.dt_h
        signal = problem.tariff.import_price_per_kwh * dt_h
        power = np.zeros(lay.n_plugged)
        if warm is not None:
            signal, power = self._mapped(warm, signal, power)
        energy = fleet.energy_initial_kwh[lay.vehicle] + np.zeros(lay.n_plugged)
        return _State(
            charge=np.clip(power, 0.0, self.charge_max),
            discharge=np.clip(-power, 0.0, self.discharge_max),
            energy=np.clip(energy, self.floor, self.ceiling),
            shortfall=np.zeros(fleet.n_vehicles),
            net=problem.site.base_load_kw.copy(),
            peak=np.zeros(self.cost.peak_price_per_kw.size),
            balance_dual=-signal[lay.slot] / self.gain,
            target_dual=np.zeros(fleet.n_vehicles),
            signal=signal,
            peak_dual=np.zeros(problem.n_slots),
            power_sum=np.zeros(lay.n_plugged),
        )

    def _mapped(
        self, warm: DecentralStart, signal: np.ndarray, power: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        lay, problem = self.lay, self.problem
        n_slots = problem.n_slots
        old_t = np.arange(n_slots) + warm.shift
        kept = (old_t >= 0) & (old_t < warm.price_per_kwh.size)
        signal = signal.copy()
        signal[kept] = warm.price_per_kwh[old_t[kept]] * problem.dt_h
        index = {vehicle: i for i, vehicle in enumerate(warm.ids)}
        old_n = np.array([index.get(v, -1) for v in problem.fleet.ids], dtype=np.int64)[lay.vehicle]
        slot = lay.slot + warm.shift
        inside = (old_n >= 0) & (slot >= 0) & (slot < warm.power_kw.shape[1])
        power = power.copy()
        power[inside] = warm.power_kw[old_n[inside], slot[inside]]
        return signal, power

    def step(self, s: _State) -> None:
        """One primal-dual step (module docstring); ``s`` is updated in place."""
        lay, w = self.lay, self.weight
        mu, lam = s.balance_dual, s.signal[lay.slot]
        flow = mu.copy()
        flow[self.previous - 1] -= mu[self.previous]
        flow[lay.last] += s.target_dual
        charge = np.clip(
            s.charge + self.tau_charge / w * (-self.gain * mu - lam), 0.0, self.charge_max
        )
        discharge = np.clip(
            s.discharge + self.tau_discharge / w * (self.loss * mu + lam - self.wear),
            0.0,
            self.discharge_max,
        )
        energy = np.clip(s.energy + self.tau_energy / w * flow, self.floor, self.ceiling)
        shortfall = np.maximum(s.shortfall + (s.target_dual - self.penalty) / w, 0.0)
        pull = s.signal - s.peak_dual
        net = self.cost.prox(s.net + self.tau_net / w * pull, self.tau_net / w)
        peak = s.peak
        if self.has_peak:
            gathered = np.bincount(self.cost.period, s.peak_dual, peak.size)
            peak = np.maximum(
                s.peak + self.tau_peak / w * (gathered - self.cost.peak_price_per_kw), 0.0
            )
        # duals from the extrapolated primal 2 x_new - x_old
        c_bar, d_bar = 2 * charge - s.charge, 2 * discharge - s.discharge
        e_bar, y_bar = 2 * energy - s.energy, 2 * net - s.net
        row = e_bar - self.first_rhs - self.gain * c_bar + self.loss * d_bar
        row[self.previous] -= e_bar[self.previous - 1]
        s.balance_dual = mu - self.sigma_balance * w * row
        short_bar = 2 * shortfall - s.shortfall
        s.target_dual = np.maximum(
            s.target_dual + 0.5 * w * (self.target - e_bar[lay.last] - short_bar), 0.0
        )
        aggregate = np.bincount(lay.slot, c_bar - d_bar, self.problem.n_slots)
        base = self.problem.site.base_load_kw
        s.signal = s.signal + self.sigma_site * w * (base - (y_bar - aggregate))
        if self.has_peak:
            p_bar = (2 * peak - s.peak)[self.cost.period]
            baseline = self.cost.peak_baseline_kw[self.cost.period]
            s.peak_dual = np.maximum(s.peak_dual + 0.5 * w * (-baseline - (p_bar - y_bar)), 0.0)
        s.charge, s.discharge, s.energy, s.shortfall, s.net, s.peak = (
            charge,
            discharge,
            energy,
            shortfall,
            net,
            peak,
        )
        s.power_sum += charge - discharge
        s.steps += 1

    def plan(self, s: _State) -> tuple[np.ndarray, float]:
        """The better of the iterate and the average of the iterates since the last call, each
        made feasible, and its cost as the LP prices it (the average is restarted)."""
        problem, lay = self.problem, self.lay
        best, best_cost = np.zeros(0), np.inf
        for net_kw in (s.charge - s.discharge, s.power_sum / max(s.steps, 1)):
            power = np.zeros((problem.n_vehicles, problem.n_slots))
            power[lay.vehicle, lay.slot] = net_kw
            plan = feasible_power_kw(problem, power, self.discharge_limit_kw)
            cost = lp_objective(problem, self.cost, plan)
            if cost < best_cost:
                best, best_cost = plan, cost
        s.power_sum[:] = 0.0
        s.steps = 0
        return best, best_cost

    def bound(self, signal: np.ndarray) -> float:
        """The Lagrangian lower bound at ``signal`` (currency per kW and slot). [currency]"""
        problem = self.problem
        cars = car_minimum_cost(problem, signal / problem.dt_h, self.discharge_limit_kw)
        site = self.cost.lagrangian_min(signal)
        return float(cars.sum()) + site + float(signal @ problem.site.base_load_kw)
