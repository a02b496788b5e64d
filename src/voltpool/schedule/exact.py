"""The exact scheduler: the LP of :mod:`voltpool.schedule.lp`, made exact by lazy binaries
(:mod:`voltpool.schedule.guards`), within one wall-clock budget per plan.

1. Solve the LP. If its optimum breaks none of the rules the LP relaxes, it is the optimum
   (the common case: no binaries at all).
2. Otherwise, add the binaries of the broken rules as continuous columns in [0, 1] (their
   rows are valid for every real plan, so this is a tighter relaxation) and re-solve from the
   last basis, lazily, at most :data:`TIGHTEN_ROUNDS` times. A clean optimum of it is the
   optimum (often the case for "one direction per slot": the relaxation of its binary is
   ``pc / Pc + pd / Pd <= 1``).
3. Otherwise, find a plan that breaks none (the *repair*): the same LP with the offending
   directions switched off (the charge or the discharge of a car-slot, by its net direction;
   the discharge of a car below its reserve; the flows of a transfer below its giver's floor),
   re-solved until clean, at most :data:`REPAIR_ROUNDS` times, then with every car-slot held to
   one direction. Idle cars are always feasible, so the repair always ends with a plan.
4. With what is left of the budget, branch and bound on those columns made binary, started
   from the best clean plan; rules broken by its answer get binaries too (lazy rounds).

The answer is the best clean plan found, with a proven bound: ``status`` is ``optimal`` when
the bound meets it, else ``feasible`` with ``SolverInfo.gap`` the proven relative gap; the
notes say which steps ran. No run exceeds the budget by more than the time HiGHS takes to stop.
"""

from __future__ import annotations

import math

import highspy
import numpy as np

from voltpool.errors import SolverError
from voltpool.model import Problem
from voltpool.schedule.assemble import assemble_schedule
from voltpool.schedule.guards import (
    Binaries,
    Breaches,
    add_binaries,
    below_reserve_at_arrival,
    find_breaches,
    guarded_transfers,
    make_integer,
    mip_start,
)
from voltpool.schedule.highs import Budget, highs_for, run_highs
from voltpool.schedule.lp import LinearProgram, build_lp
from voltpool.schedule.result import Schedule, SolverInfo

DEFAULT_TIME_BUDGET_S = 60.0
"""Wall-clock budget of one plan. [s] A live service re-plans every slot (15 min) or on events;
a minute leaves it room and fits the LP of 1,000 cars all plugged in (25 s on 2 cores)."""
IPM_THRESHOLD_COLUMNS = 300_000
"""Above this size (about 1,800 cars x 96 slots) interior point (no crossover) takes over."""
REPAIR_ROUNDS = 5
TIGHTEN_ROUNDS = 5
MIP_RELATIVE_GAP = 1e-6
OPTIMALITY_TOLERANCE = 1e-6
"""Relative gap under which a clean plan counts as proven optimal."""


class _Run:
    """One HiGHS instance of the LP, its solutions and the budget it draws on."""

    def __init__(self, lp: LinearProgram, budget: Budget, use_ipm: bool) -> None:
        self.lp = lp
        self.budget = budget
        self.highs = highs_for(
            lp.cost, lp.col_lower, lp.col_upper, lp.matrix, lp.row_lower, lp.row_upper
        )
        if use_ipm:
            self.highs.setOptionValue("solver", "ipm")
            self.highs.setOptionValue("run_crossover", "off")
        self.iterations = 0
        self.solve_time_s = 0.0

    def solve(self) -> highspy.HighsModelStatus | None:
        """Run HiGHS on what is left of the budget; ``None`` when nothing was left."""
        if not self.budget.arm(self.highs):
            return None
        spent = self.budget.spent_s
        status = run_highs(self.highs)
        self.solve_time_s += self.budget.spent_s - spent
        info = self.highs.getInfo()
        self.iterations += int(info.simplex_iteration_count) + int(max(info.ipm_iteration_count, 0))
        return status

    def solution(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().col_value)

    def objective(self) -> float:
        return float(self.highs.getInfo().objective_function_value)

    def has_solution(self) -> bool:
        status = self.highs.getInfo().primal_solution_status
        return int(status) == int(highspy.SolutionStatus.kSolutionStatusFeasible)


def solve_lp(
    problem: Problem, solver: str = "auto", time_limit_s: float = DEFAULT_TIME_BUDGET_S
) -> Schedule:
    """The optimal schedule of ``problem``, or the best found within ``time_limit_s``.

    Parameters
    ----------
    solver : {"auto", "simplex", "ipm"}
        HiGHS algorithm for the LP; ``auto`` takes simplex for small models and interior point
        without crossover above ``IPM_THRESHOLD_COLUMNS`` columns.
    time_limit_s : float
        Wall-clock budget over every HiGHS run of this plan. [s]

    Raises
    ------
    SolverError
        When the budget ends before the LP itself is solved (no plan exists yet).
    """
    if solver not in ("auto", "simplex", "ipm"):
        raise ValueError(f"solver: {solver!r} must be one of 'auto', 'simplex', 'ipm'")
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s: {time_limit_s} must be > 0")
    budget = Budget(time_limit_s)
    lp = build_lp(problem)
    use_ipm = solver == "ipm" or (solver == "auto" and lp.cost.size > IPM_THRESHOLD_COLUMNS)
    main = _Run(lp, budget, use_ipm)
    build_time_s = budget.spent_s

    status = main.solve()
    if status != highspy.HighsModelStatus.kOptimal:
        reached = "no time left" if status is None else main.highs.modelStatusToString(status)
        raise SolverError(
            f"no plan within the time budget: HiGHS stopped with status {reached!r} after "
            f"{budget.spent_s:.1f} s (time_limit_s={time_limit_s}); raise the time limit"
        )
    x = main.solution()
    bound = main.objective()
    breaches = find_breaches(problem, lp, x)
    notes: list[str] = []
    runs = [main]
    if breaches:
        notes.append(f"the LP relaxation {breaches.describe()}")
        x, best, bound, steps = _exact(problem, lp, main, x, bound, breaches, budget, runs)
        notes += steps
    else:
        best = bound
    gap = _relative_gap(best, bound)
    proven = gap <= OPTIMALITY_TOLERANCE
    if not proven:
        notes.append(
            f"time budget of {time_limit_s:g} s reached: best plan found, at most "
            f"{gap:.2%} above the optimum (proven bound)"
        )
    return _schedule(problem, lp, x, best, gap, proven, main, runs, build_time_s, use_ipm, notes)


def _relative_gap(best: float, bound: float) -> float:
    return max(best - bound, 0.0) / max(1.0, abs(best))


def _exact(
    problem: Problem,
    lp: LinearProgram,
    main: _Run,
    relaxed_x: np.ndarray,
    bound: float,
    breaches: Breaches,
    budget: Budget,
    runs: list[_Run],
) -> tuple[np.ndarray, float, float, list[str]]:
    """Steps 2-4 of the module docstring: (plan, its objective, proven bound, notes)."""
    notes: list[str] = []
    added = Binaries()
    tightened, objective, rounds, pending = _tighten(problem, lp, main, breaches, added)
    if tightened is not None:
        notes.append(
            f"made exact by the LP relaxation of {added.count} binaries ({rounds} warm re-solves)"
        )
        return tightened, objective, objective, notes
    bound = max(bound, objective)
    repaired = _repair(problem, lp, relaxed_x, breaches, budget, runs)
    if repaired is None:
        raise SolverError(
            f"no plan within the time budget ({budget.seconds:g} s): the LP relaxation "
            f"{breaches.describe()} and the budget ended before a plan that does not was found"
        )
    best_x, best = repaired
    if _relative_gap(best, bound) <= OPTIMALITY_TOLERANCE:
        notes.append("a plan keeping every rule meets the relaxation's bound: it is optimal")
        return best_x, best, bound, notes

    highs = main.highs
    highs.setOptionValue("solver", "choose")
    highs.setOptionValue("mip_rel_gap", MIP_RELATIVE_GAP)
    make_integer(highs, added)
    first_round = True
    while (pending or first_round) and budget.remaining_s > 0:
        first_round = False
        add_binaries(highs, problem, lp, pending, added, integer=True)
        start = highspy.HighsSolution()
        start.col_value = mip_start(problem, lp, best_x, added, highs.getNumCol()).tolist()
        start.value_valid = True
        highs.setSolution(start)
        status = main.solve()
        if status is None:
            break
        info = highs.getInfo()
        if math.isfinite(info.mip_dual_bound):
            bound = max(bound, float(info.mip_dual_bound))
        if not main.has_solution():
            break
        x = main.solution()
        found = find_breaches(problem, lp, x)
        if not found and main.objective() < best:
            best_x, best = x, main.objective()
        pending = found.minus(added.covered)
        if found and not pending:
            break  # binaries already forbid these: only round-off remains
        if status == highspy.HighsModelStatus.kOptimal and not found:
            bound = max(bound, best)  # a clean optimum of a relaxation is the optimum
            break
    verb = "made exact by" if _relative_gap(best, bound) <= OPTIMALITY_TOLERANCE else "ran"
    notes.append(f"{verb} branch and bound on {added.count} binaries")
    return best_x, best, min(bound, best), notes


def _tighten(
    problem: Problem, lp: LinearProgram, main: _Run, breaches: Breaches, added: Binaries
) -> tuple[np.ndarray | None, float, int, Breaches]:
    """Step 2 of the module docstring: add the binaries of ``breaches`` as continuous columns
    in [0, 1] and re-solve from the last basis, lazily, until the solution breaks no rule: it
    is then optimal, every real plan being a point of this tighter LP. Returns (that plan or
    ``None``, the last optimal objective: a lower bound, re-solves, breaches not yet covered);
    ``added`` holds every column added."""
    pending = breaches
    bound = -math.inf
    for round_ in range(1, TIGHTEN_ROUNDS + 1):
        add_binaries(main.highs, problem, lp, pending, added, integer=False)
        if main.solve() != highspy.HighsModelStatus.kOptimal:
            return None, bound, round_, Breaches()
        bound = main.objective()
        x = main.solution()
        found = find_breaches(problem, lp, x)
        if not found:
            return x, bound, round_, found
        pending = found.minus(added.covered)
        if not pending:
            break
    return None, bound, round_, pending


def _repair(
    problem: Problem,
    lp: LinearProgram,
    x: np.ndarray,
    breaches: Breaches,
    budget: Budget,
    runs: list[_Run],
) -> tuple[np.ndarray, float] | None:
    """Step 3 of the module docstring: a plan breaking no rule, or ``None`` out of time."""
    lay = lp.layout
    upper = lp.col_upper.copy()
    run = _Run(lp, budget, use_ipm=False)
    runs.append(run)
    for round_ in range(REPAIR_ROUNDS + 1):
        if round_ == REPAIR_ROUNDS:  # last resort: every car-slot keeps one direction
            breaches = Breaches(
                np.arange(lay.n_plugged),
                below_reserve_at_arrival(problem),
                guarded_transfers(problem),
            )
        _switch_off(lp, x, breaches, upper)
        run.highs.changeColsBounds(
            upper.size, np.arange(upper.size, dtype=np.int32), lp.col_lower, upper
        )
        if run.solve() != highspy.HighsModelStatus.kOptimal:
            return None
        x = run.solution()
        breaches = find_breaches(problem, lp, x)
        if not breaches:
            return x, run.objective()
    return None


def _switch_off(lp: LinearProgram, x: np.ndarray, breaches: Breaches, upper: np.ndarray) -> None:
    """Close the directions ``breaches`` used: each car-slot keeps its net direction, cars
    below their reserve do not discharge, transfers below the giver's floor do not flow."""
    lay = lp.layout
    pairs = breaches.simultaneous
    charging = x[lay.charge + pairs] - x[lay.discharge + pairs] >= 0
    upper[lay.discharge + pairs[charging]] = 0.0
    upper[lay.charge + pairs[~charging]] = 0.0
    upper[lay.discharge + np.flatnonzero(np.isin(lay.vehicle, breaches.reserve))] = 0.0
    columns = lp.transfers
    if columns is not None and breaches.giver_floor.size:
        flows = columns.first_flow + np.flatnonzero(np.isin(columns.link, breaches.giver_floor))
        upper[flows] = 0.0


def _schedule(
    problem: Problem,
    lp: LinearProgram,
    x: np.ndarray,
    objective: float,
    gap: float,
    proven: bool,
    main: _Run,
    runs: list[_Run],
    build_time_s: float,
    use_ipm: bool,
    notes: list[str],
) -> Schedule:
    lay = lp.layout
    fleet = problem.fleet
    charge_kw = x[lay.charge : lay.discharge]
    discharge_kw = x[lay.discharge : lay.energy]
    power_kw = np.zeros((fleet.n_vehicles, problem.n_slots))
    power_kw[lay.vehicle, lay.slot] = charge_kw - discharge_kw
    np.clip(power_kw, -fleet.max_discharge_kw[:, None], fleet.max_charge_kw[:, None], out=power_kw)
    transfer_kw = np.zeros((problem.n_transfers, problem.n_slots))
    if lp.transfers is not None:
        columns = lp.transfers
        flows = x[columns.first_flow : columns.first_flow + columns.link.size]
        transfer_kw[columns.link, columns.slot] = np.maximum(flows, 0.0)
    status = "optimal" if proven else "feasible"
    solver_info = SolverInfo(
        name=f"highs-{main.highs.version()}-{'ipm' if use_ipm else 'simplex'}",
        status=status,
        build_time_s=build_time_s,
        solve_time_s=sum(run.solve_time_s for run in runs),
        iterations=sum(run.iterations for run in runs),
        solver_objective=objective,
        notes=tuple(notes),
        gap=gap,
    )
    return assemble_schedule(
        problem, "lp", power_kw, solver_info, ok_status=status, transfer_kw=transfer_kw
    )
