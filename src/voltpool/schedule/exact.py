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

Warm start: ``SolverInfo.basis`` is the simplex basis of step 1 (HiGHS ``getBasis()``, read
before any binary is added), and ``solve_lp(..., warm_start=basis)`` starts step 1 of the next
plan from it, with the dual simplex and no presolve (HiGHS skips presolve when it is given a
basis; Huangfu & Hall 2018 for the simplex). After a small change (a car's state of charge
or target, a price, a limit) most of the basis stays optimal or nearly so: at 1,000 cars x 96
slots HiGHS needs about a hundred (a car's reading) to a few thousand (a price, a limit)
iterations instead of about 50,000 (``bench/bench_warm.py``). The basis is taken as it is
when the layout is the same (:class:`~voltpool.schedule.result.BasisKey`); mapped by vehicle
id and slot when only the vehicles, their plugged-in windows or the horizon's start moved
(:meth:`~voltpool.schedule.result.Basis.shifted`) and every block of both LPs is labelled
(the core and the battery-wear blocks, not V2V transfers or owner rules); otherwise it is
ignored and the LP solved cold. Measured on the ``owner-year`` street's wear-priced plans
(two weeks of June, 145 mapped re-plans): 417 against 1,187 dual simplex iterations, 19 against
25 ms in HiGHS, but 3 ms more to map and convert the basis, which is why the simulator still
plans cold. Steps 2-4 (binaries, repair, branch and bound)
start as before: step 2 re-solves from step 1's basis anyway. A basis only chooses where the
simplex starts, so the plan is as optimal as a cold one; a wrong or stale basis costs time,
never the optimum.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

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
from voltpool.schedule.highs import Budget, highs_basis, highs_for, run_highs, warm_start_from
from voltpool.schedule.lp import LinearProgram, build_lp
from voltpool.schedule.result import (
    BASIS_BASIC,
    BASIS_LOWER,
    BASIS_UPPER,
    BASIS_ZERO,
    Basis,
    BasisKey,
    Schedule,
    SolverInfo,
)

DEFAULT_TIME_BUDGET_S = 60.0
"""Wall-clock budget of one plan. [s] A live service re-plans every slot (15 min) or on events;
a minute leaves it room and fits the LP of 1,000 cars all plugged in (25 s on 2 cores)."""
SOLVERS = ("auto", "simplex", "ipm")
"""``auto`` is HiGHS's dual simplex at every size. Measured on this machine (2 cores, HiGHS
1.16, 2026-12-03, ``example_problem(N, seed=1)`` x 96 slots, one process per size, while other
work shared the cores), this LP took with the dual simplex against interior point without
crossover 0.49 / 0.87 s at 100 cars, 2.1 / 4.7 s at 300, 7.3 / 9.3 s at 1,000, 27 / 35 s at
2,000 and 166 / 206 s at 5,000 (800,000 columns): the simplex wins at every size, as it did in
the first measurement (1.24-1.85x from 100 to 5,000 cars), where a fixed threshold used to hand
LPs above 300,000 columns to interior point. The simplex also leaves the basis that the next
plan warm-starts from (at 5,000 cars, one car's state of charge +10 %: 1.25 s warm against
49.8 s cold, same optimum); ``ipm`` stays available by name."""
REPAIR_ROUNDS = 5
TIGHTEN_ROUNDS = 5
MIP_RELATIVE_GAP = 1e-6
OPTIMALITY_TOLERANCE = 1e-6
"""Relative gap under which a clean plan counts as proven optimal."""
PRESOLVE_MAX_COLUMNS_OFF = 8_000
"""LPs of at most this many columns are solved without presolve: on them presolve costs more
than it saves. Measured with HiGHS 1.16 on this machine, best of three: the ``owner-year``
street's wear-priced plans (10 cars) of 1,200 / 2,100 / 3,400 / 4,900 / 5,400 columns in
1.9 / 5.8 / 23 / 18 / 19 ms against 3.4 / 12.5 / 37 / 37 / 28 ms with presolve;
``example_problem`` with 10 / 20 cars x 96 slots (2,000 / 3,600 columns) 9.9 / 26.6 against
12.7 / 31.2 ms, even at 50 cars (8,600), slower from 100 (17,000: 192 against 184 ms). A
year of ``voltpool value`` on one tariff: 101 s against 124 s."""
MIN_MAPPED_SHARE = 0.5
"""A basis mapped onto a changed layout is used only if it places at least this share of the
new LP's columns (fewer: a cold start, HiGHS's crash basis, is as good)."""


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
        elif lp.cost.size <= PRESOLVE_MAX_COLUMNS_OFF:
            # for every run of this instance, branch and bound included: switching presolve
            # back on before branch and bound made HiGHS 1.16 prove a worse plan optimal
            # (tests/test_owner_rules.py found it)
            self.highs.setOptionValue("presolve", "off")
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
    problem: Problem,
    solver: str = "auto",
    time_limit_s: float = DEFAULT_TIME_BUDGET_S,
    warm_start: Basis | None = None,
) -> Schedule:
    """The optimal schedule of ``problem``, or the best found within ``time_limit_s``.

    Parameters
    ----------
    solver : {"auto", "simplex", "ipm"}
        HiGHS algorithm for the LP; ``auto`` and ``simplex`` are the dual simplex (faster than
        interior point at every size measured, :data:`SOLVERS`), ``ipm`` interior point
        without crossover (no basis for a later warm start).
    time_limit_s : float
        Wall-clock budget over every HiGHS run of this plan. [s]
    warm_start : Basis, optional
        The basis of an earlier solve (``schedule.solver.basis``) to start the LP's dual
        simplex from (see the module docstring); ignored, silently, where it does not fit the
        new LP and with ``solver="ipm"``. ``SolverInfo.start`` says what was done with it.

    Raises
    ------
    SolverError
        When the budget ends before the LP itself is solved (no plan exists yet).
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver: {solver!r} must be one of 'auto', 'simplex', 'ipm'")
    if not time_limit_s > 0:
        raise ValueError(f"time_limit_s: {time_limit_s} must be > 0")
    budget = Budget(time_limit_s)
    lp = build_lp(problem)
    key = basis_key(problem, lp)
    start_basis, start = (
        _starting_basis(warm_start, lp, key)
        if warm_start is not None and solver != "ipm"
        else (None, "cold")
    )
    use_ipm = solver == "ipm"
    main = _Run(lp, budget, use_ipm)
    if start_basis is not None and not warm_start_from(
        main.highs, start_basis, primal=start == "mapped"
    ):
        start = "cold"
    build_time_s = budget.spent_s

    status = main.solve()
    if status != highspy.HighsModelStatus.kOptimal:
        reached = "no time left" if status is None else main.highs.modelStatusToString(status)
        raise SolverError(
            f"no plan within the time budget: HiGHS stopped with status {reached!r} after "
            f"{budget.spent_s:.1f} s (time_limit_s={time_limit_s}); raise the time limit"
        )
    # read before steps 2-4 add columns: the basis of the LP the next plan starts from
    basis = None if use_ipm else Basis(key, highs_basis=main.highs.getBasis())
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
    solved = _schedule(problem, lp, x, best, gap, proven, main, runs, build_time_s, use_ipm, notes)
    info = dataclasses.replace(solved.solver, start=start, basis=basis)
    return dataclasses.replace(solved, solver=info)


def basis_key(problem: Problem, lp: LinearProgram) -> BasisKey:
    """The layout of ``lp`` (the LP of ``problem``) that a basis of it is valid for."""
    lay = lp.layout
    fleet = problem.fleet
    core_rows = lay.n_plugged + lay.n_vehicles + lay.n_slots * (2 if lay.n_peaks else 1)
    n_columns, n_rows = lp.cost.size, lp.row_lower.size
    return BasisKey(
        ids=fleet.ids,
        arrival_slot=fleet.arrival_slot.copy(),
        departure_slot=fleet.departure_slot.copy(),
        n_slots=lay.n_slots,
        n_peaks=lay.n_peaks,
        n_columns=n_columns,
        n_rows=n_rows,
        core_only=n_columns == lay.n_columns and n_rows == core_rows,
        extra_columns=lp.extra_columns,
        extra_rows=lp.extra_rows,
    )


def _starting_basis(
    warm: Basis, lp: LinearProgram, key: BasisKey
) -> tuple[highspy.HighsBasis | None, Literal["cold", "warm", "mapped"]]:
    """The HiGHS basis to start ``lp`` from, and how it was obtained (see the module
    docstring); ``(None, "cold")`` when ``warm`` does not fit."""
    if warm.shift == 0 and warm.key.same_layout(key):
        given = warm.highs_basis
        if isinstance(given, highspy.HighsBasis):
            return given, "warm"
        col, row = warm.col_status, warm.row_status
        basic = int((col == BASIS_BASIC).sum() + (row == BASIS_BASIC).sum())
        if col.size != key.n_columns or row.size != key.n_rows or basic != key.n_rows:
            return None, "cold"  # not a basis: HiGHS would quietly start from its own
        return highs_basis(col, row), "warm"
    mapped = map_basis(warm, lp, key)
    if mapped is None:
        return None, "cold"
    return highs_basis(*mapped), "mapped"


def map_basis(old: Basis, lp: LinearProgram, key: BasisKey) -> tuple[np.ndarray, np.ndarray] | None:
    """``old`` placed onto the LP ``lp`` of another layout: (column, row) statuses, or
    ``None`` when a block of either LP has no labels (V2V transfers, owner rules), or too
    little of ``lp`` maps.

    Car-slot columns and energy rows map by (vehicle id, slot), shortfall columns and target
    rows by vehicle id, site columns and rows by slot (``old.shift`` slots apart), peak columns
    by billing period when both have as many; the battery-wear blocks by their labels (kind,
    the car-slot they belong to, index within it). What is new starts as a slack basis would:
    energy and import columns basic, their rows' slacks not, new target and peak rows' and
    every new wear row's slacks basic. Then the count is set right (HiGHS needs one basic
    variable per row): the surplus of basic columns leaves the basis, charge and discharge of
    changed cars first; a deficit is filled by row slacks, the changed cars' target and energy
    rows first. Such a basis may be singular or infeasible; HiGHS repairs it
    (:func:`warm_start_from`).
    """
    was = old.key
    if not (was.mappable and key.mappable):
        return None
    old_col, old_row = old.col_status, old.row_status
    if old_col.size != was.n_columns or old_row.size != was.n_rows:
        return None
    lay = lp.layout
    shift = old.shift
    n_k, n_v, n_t = lay.n_plugged, lay.n_vehicles, lay.n_slots
    o_len = was.departure_slot - was.arrival_slot
    o_start = np.cumsum(o_len) - o_len
    o_k, o_v, o_t = int(o_len.sum()), len(was.ids), was.n_slots

    index = {vehicle: i for i, vehicle in enumerate(was.ids)}
    old_vehicle = np.array([index.get(vehicle, -1) for vehicle in key.ids], dtype=np.int64)
    v_old = old_vehicle[lay.vehicle]  # per new k
    safe = np.maximum(v_old, 0)
    s_old = lay.slot + shift
    inside = (v_old >= 0) & (s_old >= was.arrival_slot[safe]) & (s_old < was.departure_slot[safe])
    k_new = np.flatnonzero(inside)
    k_old = (o_start[safe] + s_old - was.arrival_slot[safe])[inside]
    fresh_k = np.flatnonzero(~inside)
    v_new = np.flatnonzero(old_vehicle >= 0)
    t_new = np.arange(n_t)
    t_old = t_new + shift
    kept_t = (t_old >= 0) & (t_old < o_t)
    fresh_t = t_new[~kept_t]
    t_new, t_old = t_new[kept_t], t_old[kept_t]
    old_k_of = np.full(n_k, -1, dtype=np.int64)
    old_k_of[k_new] = k_old
    assert key.extra_columns is not None and key.extra_rows is not None  # mappable
    assert was.extra_columns is not None and was.extra_rows is not None
    extra_col = _match_labels(key.extra_columns, was.extra_columns, old_k_of)
    extra_row = _match_labels(key.extra_rows, was.extra_rows, old_k_of)
    placed = 3 * k_new.size + v_new.size + 4 * t_new.size + int((extra_col >= 0).sum())
    if placed < MIN_MAPPED_SHARE * lp.cost.size:
        return None

    col = _nonbasic(lp.col_lower, lp.col_upper)
    row = np.full(lp.row_lower.size, BASIS_BASIC, dtype=np.int8)
    nonbasic_row = _nonbasic(lp.row_lower, lp.row_upper)
    for new_block, old_block in ((lay.charge, 0), (lay.discharge, o_k), (lay.energy, 2 * o_k)):
        col[new_block + k_new] = old_col[old_block + k_old]
    row[k_new] = old_row[k_old]
    col[lay.energy + fresh_k] = BASIS_BASIC
    row[fresh_k] = nonbasic_row[fresh_k]
    target_row, site_row = n_k, n_k + n_v
    o_target_row, o_site_row = o_k, o_k + o_v
    col[lay.shortfall + v_new] = old_col[3 * o_k + old_vehicle[v_new]]
    row[target_row + v_new] = old_row[o_target_row + old_vehicle[v_new]]
    o_imports = 3 * o_k + o_v
    for block in range(4):  # imports, exports, import excess, export excess
        col[lay.imports + block * n_t + t_new] = old_col[o_imports + block * o_t + t_old]
    row[site_row + t_new] = old_row[o_site_row + t_old]
    col[lay.imports + fresh_t] = BASIS_BASIC
    row[site_row + fresh_t] = nonbasic_row[site_row + fresh_t]
    if lay.n_peaks and was.n_peaks:
        row[site_row + n_t + t_new] = old_row[o_site_row + o_t + t_old]
        if lay.n_peaks == was.n_peaks:
            o_peak = o_imports + 4 * o_t
            col[lay.peak : lay.n_columns] = old_col[o_peak : o_peak + lay.n_peaks]
    found = np.flatnonzero(extra_col >= 0)
    o_extra = was.n_columns - was.extra_columns.shape[0]
    col[lay.n_columns + found] = old_col[o_extra + extra_col[found]]
    found = np.flatnonzero(extra_row >= 0)
    o_extra = was.n_rows - was.extra_rows.shape[0]
    row[row.size - extra_row.size + found] = old_row[o_extra + extra_row[found]]

    changed = np.ones(n_v, dtype=bool)
    mapped = np.bincount(lay.vehicle[k_new], minlength=n_v)
    known = old_vehicle >= 0
    changed[known] = (mapped[known] != np.diff(np.append(lay.start, n_k))[known]) | (
        mapped[known] != o_len[old_vehicle[known]]
    )
    k_changed = np.flatnonzero(changed[lay.vehicle])
    surplus = int((col == BASIS_BASIC).sum() + (row == BASIS_BASIC).sum()) - row.size
    if surplus > 0:
        first = np.concatenate([lay.charge + k_changed, lay.discharge + k_changed])
        out = _pick(first, col.size, col == BASIS_BASIC, surplus)
        col[out] = _nonbasic(lp.col_lower[out], lp.col_upper[out])
    elif surplus < 0:
        first = np.concatenate([target_row + np.flatnonzero(changed), k_changed])
        row[_pick(first, row.size, row != BASIS_BASIC, -surplus)] = BASIS_BASIC
    return col, row


def _match_labels(new: np.ndarray, old: np.ndarray, old_k_of: np.ndarray) -> np.ndarray:
    """Per labelled column (or row) ``new`` (kind, k, index): the position of the same one in
    ``old`` (the same kind and index at the old LP's car-slot ``old_k_of[k]``), or -1."""
    result = np.full(new.shape[0], -1, dtype=np.int64)
    if not new.shape[0] or not old.shape[0]:
        return result
    old_k = old_k_of[new[:, 1]]
    span_k = int(max(old[:, 1].max(), old_k.max())) + 1
    span_i = int(max(old[:, 2].max(), new[:, 2].max())) + 1

    def code(kind: np.ndarray, k: np.ndarray, index: np.ndarray) -> np.ndarray:
        return (kind * span_k + k) * span_i + index

    old_code = code(old[:, 0], old[:, 1], old[:, 2])
    order = np.argsort(old_code, kind="stable")
    known = old_k >= 0
    wanted = code(new[known, 0], old_k[known], new[known, 2])
    at = np.minimum(np.searchsorted(old_code, wanted, sorter=order), order.size - 1)
    hit = old_code[order[at]] == wanted
    result[np.flatnonzero(known)[hit]] = order[at[hit]]
    return result


def _nonbasic(lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """HiGHS status of a nonbasic variable within these bounds: at the lower bound, else at
    the upper one, else free at zero."""
    return np.where(
        np.isfinite(lower), BASIS_LOWER, np.where(np.isfinite(upper), BASIS_UPPER, BASIS_ZERO)
    ).astype(np.int8)


def _pick(first: np.ndarray, size: int, eligible: np.ndarray, count: int) -> np.ndarray:
    """``count`` indices where ``eligible`` holds, those of ``first`` first, then in order."""
    order = np.concatenate([first, np.arange(size)])
    _, at = np.unique(order, return_index=True)
    order = order[np.sort(at)]
    return order[eligible[order]][:count]


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
