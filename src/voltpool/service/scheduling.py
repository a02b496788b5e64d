"""Schedule one problem (format v1): solve, check independently, compare with today's charging.

    outcome = plan(problem)                      # the LP, verified, with the baseline beside it
    verification = check(problem, document)      # a schedule document against its problem

``plan`` raises :class:`~voltpool.control.InvalidPlanError` when the independent verifier finds
a broken rule (for the uncontrolled baseline, site-limit excess is reported by the schedule
itself, not a failure), the
solver's :class:`~voltpool.errors.SolverError` when HiGHS fails, and
:class:`~voltpool.errors.ProblemError` on bad input. Nothing here writes a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from voltpool.control import InvalidPlanError
from voltpool.io import schedule_from_dict
from voltpool.model import Problem
from voltpool.schedule import DEFAULT_TIME_BUDGET_S, Schedule, Verification, schedule, verify

Method = Literal["lp", "decentral", "auto", "uncontrolled"]


@dataclass(frozen=True)
class ScheduleOutcome:
    """A verified schedule and, for the LP, today's charging on the same problem."""

    problem: Problem
    result: Schedule
    verification: Verification
    baseline: Schedule | None = None

    @property
    def shown(self) -> list[Schedule]:
        """The baseline (if any) first, then the result: the order a comparison reads."""
        return [self.result] if self.baseline is None else [self.baseline, self.result]


def plan(
    problem: Problem,
    method: Method = "lp",
    solver: str = "auto",
    time_limit_s: float = DEFAULT_TIME_BUDGET_S,
) -> ScheduleOutcome:
    """Schedule ``problem`` with ``method``, verify it, and add the uncontrolled baseline.

    ``solver`` goes to the LP (``lp``, and ``auto`` when it picks the LP), ``time_limit_s`` to
    every planning method."""
    options: dict[str, Any] = {}
    if method != "uncontrolled":
        options["time_limit_s"] = time_limit_s
    if method in ("lp", "auto"):
        options["solver"] = solver
    result = schedule(problem, method, **options)
    # a planner never adds to an exceeded site limit; today's charging may (its schedule says
    # where)
    verification = verify(problem, result, check_site_limits=method != "uncontrolled")
    if not verification.ok:
        broken = "; ".join(str(v) for v in verification.violations[:20])
        raise InvalidPlanError(f"the {method} schedule failed verification: {broken}")
    baseline = None if method == "uncontrolled" else schedule(problem, "uncontrolled")
    return ScheduleOutcome(problem, result, verification, baseline)


def check(problem: Problem, document: dict[str, Any]) -> Verification:
    """Every rule of ``problem`` checked on a schedule document (``ProblemError`` if it is not
    one)."""
    return verify(problem, schedule_from_dict(problem, document))
