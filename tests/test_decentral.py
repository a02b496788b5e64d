"""The decentralized scheduler: its plans keep every rule, its certified gap is never below the
true gap to the exact LP, its bound's parts are exact, warm starts and ``auto``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from scipy.optimize import linprog
from typer.testing import CliRunner

from strategies import problems, ruled_problems
from voltpool.cli import app
from voltpool.example import example_problem
from voltpool.io import problem_to_dict
from voltpool.model import Problem
from voltpool.schedule import (
    DecentralStart,
    choose_method,
    decentral_plan,
    schedule,
    verify,
)
from voltpool.schedule.car_bound import car_minimum_cost
from voltpool.schedule.decentral import lp_objective
from voltpool.schedule.site_cost import site_cost

ITERATIONS = 800
"""A short run: the certificate must hold whatever gap it reached."""
RELATIVE = 1e-6


def check_against_exact(problem: Problem) -> None:
    """The plan keeps every rule, and bound <= exact optimum <= plan, with the certified gap at
    least the true gap (both relative to the plan, as ``SolverInfo.gap``)."""
    result = decentral_plan(problem, gap=0.0, max_iterations=ITERATIONS)
    planned = result.schedule
    report = verify(problem, planned, check_site_limits=True)
    assert report.ok, report.violations[:5]
    exact = schedule(problem, "lp")
    optimum = exact.solver.solver_objective
    assert optimum is not None
    scale = max(1.0, abs(result.plan_objective))
    assert result.lower_bound <= optimum + RELATIVE * scale
    assert result.plan_objective >= optimum - RELATIVE * scale
    true_gap = max(result.plan_objective - optimum, 0.0) / scale
    assert planned.solver.gap >= true_gap - RELATIVE
    assert planned.solver.status == "feasible" or planned.solver.gap <= 1e-6


@settings(max_examples=40, deadline=None, derandomize=True)
@given(problems(max_vehicles=4, max_slots=8, negative_prices=True))
def test_certified_gap_is_never_below_the_true_gap(problem: Problem) -> None:
    check_against_exact(problem)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(problems(max_vehicles=3, max_slots=6, wear=True))
def test_wear_blocks_are_kept_and_counted(problem: Problem) -> None:
    check_against_exact(problem)


@settings(max_examples=15, deadline=None, derandomize=True)
@given(ruled_problems(max_vehicles=3, slots=(24, 36)))
def test_owner_rules_are_kept(problem: Problem) -> None:
    check_against_exact(problem)


def test_the_plan_is_priced_as_the_exact_lp_prices_it() -> None:
    problem = example_problem(30, seed=2)
    exact = schedule(problem, "lp")
    priced = lp_objective(problem, site_cost(problem), exact.power_kw)
    assert priced == pytest.approx(exact.solver.solver_objective, rel=1e-7)


def one_car_lp(
    problem: Problem, n: int, price_per_kwh: np.ndarray, discharge_kw: np.ndarray
) -> float:
    """Car n's own LP at a price, by HiGHS (scipy): the reference for the DP."""
    fleet, n_slots, dt_h = problem.fleet, problem.n_slots, problem.dt_h
    plugged = fleet.plugged_mask(n_slots)[n]
    cost = np.concatenate(
        [
            price_per_kwh * dt_h,
            (fleet.degradation_cost_per_kwh[n] - price_per_kwh) * dt_h,
            np.zeros(n_slots),
            [problem.unmet_penalty_per_kwh],
        ]
    )
    balance = np.zeros((n_slots, 3 * n_slots + 1))
    rhs = np.zeros(n_slots)
    rhs[0] = fleet.energy_initial_kwh[n]
    for t in range(n_slots):
        balance[t, 2 * n_slots + t] = 1.0
        if t:
            balance[t, 2 * n_slots + t - 1] = -1.0
        balance[t, t] = -fleet.charge_efficiency[n] * dt_h
        balance[t, n_slots + t] = dt_h / fleet.discharge_efficiency[n]
    target = np.zeros((1, 3 * n_slots + 1))
    target[0, 3 * n_slots - 1] = target[0, -1] = -1.0
    bounds = (
        [(0.0, fleet.max_charge_kw[n] * plugged[t]) for t in range(n_slots)]
        + [(0.0, discharge_kw[n, t]) for t in range(n_slots)]
        + [(fleet.energy_floor_kwh[n], fleet.energy_ceiling_kwh[n])] * n_slots
        + [(0.0, None)]
    )
    solved = linprog(
        cost,
        A_ub=target,
        b_ub=[-fleet.energy_target_kwh[n]],
        A_eq=balance,
        b_eq=rhs,
        bounds=bounds,
        method="highs",
    )
    assert solved.status == 0
    return float(solved.fun)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_cars_minimum_is_exact(seed: int) -> None:
    problem = example_problem(12, seed=seed)
    rng = np.random.default_rng(seed)
    discharge = problem.fleet.max_discharge_kw[:, None] * problem.fleet.plugged_mask(
        problem.n_slots
    )
    discharge[:, rng.random(problem.n_slots) < 0.3] = 0.0  # owner's hours
    for scale in (-1.0, 0.5, 2.0):
        price = scale * problem.tariff.import_price_per_kwh + rng.normal(0, 0.1, problem.n_slots)
        got = car_minimum_cost(problem, price, discharge)
        want = [one_car_lp(problem, n, price, discharge) for n in range(problem.n_vehicles)]
        assert got == pytest.approx(want, abs=1e-7)


def test_the_sites_part_of_the_bound_is_exact() -> None:
    """``lagrangian_min`` against an LP of the site alone: net within its bounds, the pieces,
    the demand charge."""
    problem = example_problem(20, seed=4)
    cost = site_cost(problem)
    rng = np.random.default_rng(4)
    n_slots, pieces = cost.slopes.shape
    for trial in range(4):
        price_kw = cost.slopes[:, 2] * rng.uniform(0.5, 1.5, n_slots) + 0.02 * trial
        # variables: per slot and piece the amount walked (within its width), then the peak
        widths = np.diff(cost.start_kw, axis=1, append=np.inf)
        obj = np.concatenate(
            [(cost.slopes - price_kw[:, None]).ravel(), [cost.peak_price_per_kw[0]]]
        )
        upper_walk = np.minimum(widths, np.maximum(cost.upper_kw[:, None] - cost.start_kw, 0.0))
        bounds = [(0.0, float(u)) for u in upper_walk.ravel()] + [(0.0, None)]
        rows = np.zeros((2 * n_slots, n_slots * pieces + 1))
        rhs = np.zeros(2 * n_slots)
        for t in range(n_slots):
            rows[t, t * pieces : (t + 1) * pieces] = -1.0  # net >= lower
            rhs[t] = -(cost.lower_kw[t] - cost.start_kw[t, 0])
            rows[n_slots + t, t * pieces : (t + 1) * pieces] = 1.0  # net - peak <= baseline
            rows[n_slots + t, -1] = -1.0
            rhs[n_slots + t] = cost.peak_baseline_kw[0] - cost.start_kw[t, 0]
        solved = linprog(obj, A_ub=rows, b_ub=rhs, bounds=bounds, method="highs")
        constant = float((cost.offset - price_kw * cost.start_kw[:, 0]).sum())
        assert cost.lagrangian_min(price_kw) == pytest.approx(solved.fun + constant, rel=1e-9)


def test_warm_start_from_the_last_plan_needs_fewer_iterations() -> None:
    problem = example_problem(60, seed=3)
    cold = decentral_plan(problem, gap=2e-3)
    warm = decentral_plan(problem, gap=2e-3, warm_start=cold.start)
    assert verify(problem, warm.schedule).ok
    assert warm.schedule.solver.gap <= 2e-3
    assert warm.schedule.solver.iterations <= cold.schedule.solver.iterations
    later = decentral_plan(problem, max_iterations=200, warm_start=cold.start.shifted(4))
    assert verify(problem, later.schedule).ok


def test_a_start_maps_by_vehicle_id() -> None:
    problem = example_problem(10, seed=5)
    start = DecentralStart(
        np.full(problem.n_slots, 0.2), np.zeros((1, problem.n_slots)), ("someone-else",)
    )
    assert verify(
        problem, decentral_plan(problem, max_iterations=100, warm_start=start).schedule
    ).ok


def test_transfers_are_refused_and_auto_takes_the_exact_lp_for_small_fleets() -> None:
    from voltpool.example import sunny_surplus_problem

    problem = sunny_surplus_problem(5, seed=0)
    assert choose_method(problem) == "lp"
    assert schedule(problem, "auto", time_limit_s=30.0).method == "lp"
    with pytest.raises(ValueError, match="gap"):
        decentral_plan(problem, gap=-1.0)


def test_cli_method_decentral_says_what_ran_and_the_gap(tmp_path: Path) -> None:
    problem_path = tmp_path / "problem.json"
    problem_path.write_text(json.dumps(problem_to_dict(example_problem(20, seed=1), name="t")))
    out = tmp_path / "schedule.json"
    ran = CliRunner().invoke(
        app, ["schedule", str(problem_path), "-o", str(out), "--method", "decentral"]
    )
    assert ran.exit_code == 0, ran.output
    assert "ran decentral" in ran.output and "certified gap" in ran.output
    checked = CliRunner().invoke(app, ["verify", str(problem_path), str(out)])
    assert checked.exit_code == 0, checked.output
    ran = CliRunner().invoke(
        app, ["schedule", str(problem_path), "-o", str(out), "--method", "auto"]
    )
    assert "auto picked lp" in ran.output
