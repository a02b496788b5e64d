"""Safety of every plan on random problems: the reserve is a reserve, the cars never make an
exceeded site limit worse, every plan passes the verifier, and the time budget is kept.

The checks here step the state of charge from the plan's power themselves (sharing nothing with
the scheduler or the verifier) and read the site limits straight from the problem.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import problems
from voltpool.errors import SolverError
from voltpool.example import sunny_surplus_problem
from voltpool.model import Problem
from voltpool.schedule import Schedule, schedule, verify
from voltpool.schedule import exact as exact_module
from voltpool.schedule.highs import Budget

POWER_TOLERANCE_KW = 1e-6
SOC_TOLERANCE = 1e-6


def stepped_soc(problem: Problem, power_kw: np.ndarray) -> np.ndarray:
    """SoC after each slot, stepped from power with the fleet's efficiencies. ``[N, T]``"""
    fleet = problem.fleet
    level = fleet.soc_initial.astype(float).copy()
    after = np.empty_like(power_kw)
    for t in range(problem.n_slots):
        p = power_kw[:, t]
        gain = np.where(p >= 0, fleet.charge_efficiency * p, p / fleet.discharge_efficiency)
        level = level + gain * problem.dt_h / fleet.capacity_kwh
        after[:, t] = level
    return after


def assert_safe(problem: Problem, result: Schedule) -> None:
    fleet, site = problem.fleet, problem.site
    after = stepped_soc(problem, result.power_kw)
    giving = result.power_kw < -POWER_TOLERANCE_KW
    below = after < fleet.soc_min[:, None] - SOC_TOLERANCE
    assert not (giving & below).any(), "a car was discharged below its reserve"
    net = site.base_load_kw + result.power_kw.sum(axis=0)
    tolerance = POWER_TOLERANCE_KW * max(1, problem.n_vehicles)
    for load, alone, limit in (
        (net, site.base_load_kw, site.import_limit_slots_kw),
        (-net, -site.base_load_kw, site.export_limit_slots_kw),
    ):
        over = np.maximum(load - limit, 0.0)
        over_alone = np.maximum(alone - limit, 0.0)
        assert (over <= over_alone + tolerance).all(), "the cars made a slot's excess worse"
    report = verify(problem, result)
    assert report.ok, [str(v) for v in report.violations]


@st.composite
def surplus_days(draw: st.DrawFn) -> Problem:
    """Sunny days: rooftop solar above a tight (or impossible) export limit, negative prices."""
    return sunny_surplus_problem(
        draw(st.integers(1, 6)),
        seed=draw(st.integers(0, 2**32 - 1)),
        n_slots=draw(st.integers(3, 14)),
        export_limit_kw=draw(st.sampled_from([0.0, 2.0, 10.6, 50.0])),
    )


@settings(max_examples=120, deadline=None, derandomize=True)
@given(problems() | problems(negative_prices=True) | problems(wear=True) | surplus_days())
def test_every_plan_keeps_the_reserve_and_never_worsens_a_limit(problem: Problem) -> None:
    result = schedule(problem, "lp")
    assert result.solver.status == "optimal"
    assert_safe(problem, result)


@pytest.mark.parametrize("seed", range(3))
def test_a_sunny_neighbourhood_is_planned_exactly(seed: int) -> None:
    """45 cars, 34 hourly slots, a 10.6 kW export limit (the audit's worst case: 347 s)."""
    problem = sunny_surplus_problem(45, seed)
    result = schedule(problem, "lp")
    assert result.solver.status == "optimal"
    assert not any("at once" in note for note in result.solver.notes)  # no burning to do
    assert_safe(problem, result)


def test_a_budget_too_small_for_any_plan_says_so() -> None:
    with pytest.raises(SolverError, match="no plan within the time budget"):
        schedule(sunny_surplus_problem(20, 0), "lp", time_limit_s=1e-9)


def test_when_the_clock_runs_out_after_the_repair_the_repaired_plan_is_returned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The clock allows the LP, the tightened relaxation and the repair, and runs out as
    branch and bound starts: the answer is the repaired plan, every rule kept, status
    ``feasible`` with its proven gap."""
    clock = {"out": False}
    arm = Budget.arm
    make_integer = exact_module.make_integer

    def out_of_time_for_branch_and_bound(self: Budget, highs: object) -> bool:
        return not clock["out"] and arm(self, highs)  # type: ignore[arg-type]

    def clock_runs_out(highs: object, added: object) -> None:
        clock["out"] = True
        make_integer(highs, added)  # type: ignore[arg-type]

    monkeypatch.setattr(exact_module.Budget, "arm", out_of_time_for_branch_and_bound)
    monkeypatch.setattr(exact_module, "make_integer", clock_runs_out)
    problem = sunny_surplus_problem(45, 0)
    result = schedule(problem, "lp")
    assert result.solver.status == "feasible"
    assert result.status in {"feasible", "site_limit_exceeded"}
    assert 0 < result.solver.gap < 0.1
    assert "time budget" in result.solver.notes[-1]
    assert f"{result.solver.gap:.2%}" in result.solver.notes[-1]
    assert_safe(problem, result)
    monkeypatch.undo()  # the gap is a proven bound on the distance to the exact optimum
    optimum = schedule(problem, "lp")
    assert optimum.solver.status == "optimal"
    repaired, best = result.solver.solver_objective, optimum.solver.solver_objective
    assert best <= repaired + 1e-6 * abs(best)
    assert repaired - best <= result.solver.gap * max(1.0, abs(repaired)) + 1e-6 * abs(best)
