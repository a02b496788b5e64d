"""Scheduling: the exact LP, the decentralized scheduler, the uncontrolled baseline,
explanations and an independent verifier."""

from __future__ import annotations

from voltpool.model import Problem
from voltpool.schedule.decentral import (
    DecentralResult,
    DecentralStart,
    decentral_plan,
    solve_decentral,
)
from voltpool.schedule.exact import DEFAULT_TIME_BUDGET_S, solve_lp
from voltpool.schedule.lp import build_lp
from voltpool.schedule.objective import TERMS, objective_terms
from voltpool.schedule.result import Basis, BasisKey, Schedule, SolverInfo
from voltpool.schedule.uncontrolled import schedule_uncontrolled
from voltpool.schedule.verify import Verification, Violation, verify

METHODS = ("lp", "decentral", "auto", "uncontrolled")
AUTO_EXACT_MAX_VEHICLES = 5_000
"""``auto`` runs the exact LP up to this many cars and the decentralized scheduler above (and
the exact LP whenever there are V2V transfers, which only it plans). Measured on this 2-core
machine (``bench/bench_decentral.py``): the exact LP takes 4-5 s at 1,000 cars x 96 slots and
about 2 min at 5,000 and does not finish at 10,000 and more; the decentralized scheduler
certifies 0.08 % at 1,000 cars in 20 s and is at 9.5 % after 30 s at 5,000."""


def choose_method(problem: Problem) -> str:
    """The method ``auto`` runs on ``problem``: ``lp`` or ``decentral``."""
    if problem.n_transfers or problem.n_vehicles <= AUTO_EXACT_MAX_VEHICLES:
        return "lp"
    return "decentral"


def schedule(problem: Problem, method: str = "lp", **options: object) -> Schedule:
    """Schedule every vehicle of ``problem``.

    Parameters
    ----------
    method : {"lp", "decentral", "auto", "uncontrolled"}
        ``lp``: optimal bidirectional schedule (HiGHS); ``decentral``: the decentralized
        scheduler with a certified gap (:mod:`voltpool.schedule.decentral`); ``auto``: ``lp`` or
        ``decentral`` by size (:func:`choose_method`; ``Schedule.method`` says which ran);
        ``uncontrolled``: charge at full power on arrival until the target, never discharge
        (the baseline).
    options
        Passed to the method (``solver``, ``time_limit_s`` and ``warm_start`` for ``lp``: the
        :class:`Basis` of an earlier solve, ``schedule.solver.basis``, to start HiGHS's dual
        simplex from; see :func:`solve_lp`; ``gap``, ``time_limit_s``, ``max_iterations`` and
        ``warm_start`` (a :class:`DecentralStart`) for ``decentral``). ``auto`` passes
        ``time_limit_s`` on and drops the options the chosen method does not take.
    """
    if method == "auto":
        method = choose_method(problem)
        taken = ("solver", "time_limit_s") if method == "lp" else ("gap", "time_limit_s")
        options = {name: value for name, value in options.items() if name in taken}
    if method == "decentral":
        return solve_decentral(problem, **options)
    if method == "lp":
        return solve_lp(problem, **options)  # type: ignore[arg-type]
    if method == "uncontrolled":
        return schedule_uncontrolled(problem)
    raise ValueError(f"method: {method!r} must be one of {', '.join(METHODS)}")


__all__ = [
    "AUTO_EXACT_MAX_VEHICLES",
    "DEFAULT_TIME_BUDGET_S",
    "METHODS",
    "TERMS",
    "Basis",
    "BasisKey",
    "DecentralResult",
    "DecentralStart",
    "Schedule",
    "SolverInfo",
    "Verification",
    "Violation",
    "build_lp",
    "choose_method",
    "decentral_plan",
    "objective_terms",
    "schedule",
    "solve_decentral",
    "solve_lp",
    "verify",
]
