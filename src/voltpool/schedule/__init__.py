"""Scheduling: the exact LP, the uncontrolled baseline, explanations and an independent verifier."""

from __future__ import annotations

from voltpool.model import Problem
from voltpool.schedule.exact import DEFAULT_TIME_BUDGET_S, solve_lp
from voltpool.schedule.lp import build_lp
from voltpool.schedule.objective import TERMS, objective_terms
from voltpool.schedule.result import Basis, BasisKey, Schedule, SolverInfo
from voltpool.schedule.uncontrolled import schedule_uncontrolled
from voltpool.schedule.verify import Verification, Violation, verify

METHODS = ("lp", "uncontrolled")


def schedule(problem: Problem, method: str = "lp", **options: object) -> Schedule:
    """Schedule every vehicle of ``problem``.

    Parameters
    ----------
    method : {"lp", "uncontrolled"}
        ``lp``: optimal bidirectional schedule (HiGHS); ``uncontrolled``: charge at full power on
        arrival until the target, never discharge (the baseline).
    options
        Passed to the method (``solver``, ``time_limit_s`` and ``warm_start`` for ``lp``: the
        :class:`Basis` of an earlier solve, ``schedule.solver.basis``, to start HiGHS's dual
        simplex from; see :func:`solve_lp`).
    """
    if method == "lp":
        return solve_lp(problem, **options)  # type: ignore[arg-type]
    if method == "uncontrolled":
        return schedule_uncontrolled(problem)
    raise ValueError(f"method: {method!r} must be one of {', '.join(METHODS)}")


__all__ = [
    "DEFAULT_TIME_BUDGET_S",
    "METHODS",
    "TERMS",
    "Basis",
    "BasisKey",
    "Schedule",
    "SolverInfo",
    "Verification",
    "Violation",
    "build_lp",
    "objective_terms",
    "schedule",
    "solve_lp",
    "verify",
]
