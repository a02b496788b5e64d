"""Benchmark: the exact LP against the minimal direct HiGHS LP of the same problem, same run.

The problem is ``voltpool example-problem --seed 1 -n N`` (``example_problem(N, seed=1)``,
96 x 15 min). The *anchor* is the smallest LP a competent direct implementation would pass to
HiGHS: per plugged-in car-slot charge, discharge and stored energy; per car a shortfall; per
slot import and export within hard site limits; a peak column per billing period; built as one
scipy.sparse matrix and solved by HiGHS's default (dual simplex), nothing around it. The exact
LP is ``schedule(problem, "lp")``, everything included (building its LP, HiGHS, the breach
checks and any tightening, reading the solution, assembling the schedule); the independent
verifier runs after it and is timed on its own. Both must reach the same optimum.

Every (case, size, repeat) runs in a fresh process (its peak memory its own), anchor and exact
alternating, so that what other work does to the machine falls on both; the table gives the
best of the repeats and every run. Usage: ``python bench/bench_schedule.py [--quick]``
(``--quick``: 100 and 1,000 cars).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from typing import Any

from _isolated import run_isolated

SIZES = [1000, 5000]
SIZES_QUICK = [100, 1000]
REPEATS = {100: 3, 1000: 3, 5000: 2}
"""Runs of each case per size (5,000 cars take minutes a run)."""
GOAL_RATIO = 1.0
"""The exact LP's goal: at most the anchor's time (best run against best run)."""


def anchor_lp(n_vehicles: int, seed: int) -> dict[str, Any]:
    """Build and solve the anchor LP of ``example_problem(n_vehicles, seed)`` (see the module
    docstring): its build and HiGHS times, iterations and optimum."""
    import highspy
    import numpy as np
    import scipy.sparse as sp

    from voltpool.example import example_problem

    problem = example_problem(n_vehicles, seed=seed)
    fleet, site, tariff, dt_h = problem.fleet, problem.site, problem.tariff, problem.dt_h
    started = time.perf_counter()
    n_v, n_t = fleet.n_vehicles, problem.n_slots
    lengths = fleet.departure_slot - fleet.arrival_slot
    n_k = int(lengths.sum())
    first_k = np.cumsum(lengths) - lengths
    car = np.repeat(np.arange(n_v), lengths)
    k = np.arange(n_k)
    slot = k - first_k[car] + fleet.arrival_slot[car]
    follows = k[k != first_k[car]]
    periods = tariff.peak_periods(n_t)
    period = np.zeros(n_t, dtype=np.int64)
    for p, (slots, _price, _baseline) in enumerate(periods):
        period[slots] = p
    t = np.arange(n_t)
    v = np.arange(n_v)
    # columns: charge [K], discharge [K], energy [K], shortfall [V], import [T], export [T],
    # peak [P]; rows: energy balance [K], target [V], site balance [T], peak [T]
    charge, discharge, energy, shortfall = 0, n_k, 2 * n_k, 3 * n_k
    imports = shortfall + n_v
    exports, peak = imports + n_t, imports + 2 * n_t
    target_row, site_row, peak_row = n_k, n_k + n_v, n_k + n_v + n_t
    entries = [
        (k, energy + k, np.ones(n_k)),
        (follows, energy + follows - 1, -np.ones(follows.size)),
        (k, charge + k, -fleet.charge_efficiency[car] * dt_h),
        (k, discharge + k, dt_h / fleet.discharge_efficiency[car]),
        (target_row + v, energy + first_k + lengths - 1, np.ones(n_v)),
        (target_row + v, shortfall + v, np.ones(n_v)),
        (site_row + slot, charge + k, np.ones(n_k)),
        (site_row + slot, discharge + k, -np.ones(n_k)),
        (site_row + t, imports + t, -np.ones(n_t)),
        (site_row + t, exports + t, np.ones(n_t)),
        (peak_row + t, peak + period, np.ones(n_t)),
        (peak_row + t, imports + t, -np.ones(n_t)),
    ]
    n_rows, n_cols = peak_row + n_t, peak + len(periods)
    rows, cols, values = (np.concatenate(part) for part in zip(*entries, strict=True))
    matrix = sp.csc_matrix((values, (rows, cols)), shape=(n_rows, n_cols))
    initial = np.where(k == first_k[car], fleet.energy_initial_kwh[car], 0.0)
    baseline = np.array([b for _, _, b in periods])[period]
    row_lower = np.concatenate([initial, fleet.energy_target_kwh, -site.base_load_kw, -baseline])
    row_upper = np.concatenate(
        [initial, np.full(n_v, np.inf), -site.base_load_kw, np.full(n_t, np.inf)]
    )
    cost = np.concatenate(
        [
            np.zeros(n_k),
            fleet.degradation_cost_per_kwh[car] * dt_h,
            np.zeros(n_k),
            np.full(n_v, problem.unmet_penalty_per_kwh),
            tariff.import_price_per_kwh * dt_h,
            -tariff.export_price_per_kwh * dt_h,
            [price for _, price, _ in periods],
        ]
    )
    col_lower = np.concatenate(
        [np.zeros(2 * n_k), fleet.energy_floor_kwh[car], np.zeros(n_v + 2 * n_t + len(periods))]
    )
    col_upper = np.concatenate(
        [
            fleet.max_charge_kw[car],
            fleet.max_discharge_kw[car],
            fleet.energy_ceiling_kwh[car],
            np.full(n_v, np.inf),
            site.import_limit_slots_kw,
            site.export_limit_slots_kw,
            np.full(len(periods), np.inf),
        ]
    )
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.passModel(
        n_cols,
        n_rows,
        matrix.nnz,
        int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize),
        0.0,
        cost,
        col_lower,
        col_upper,
        row_lower,
        row_upper,
        matrix.indptr[:-1].astype(np.int32),
        matrix.indices.astype(np.int32),
        matrix.data,
        np.zeros(n_cols, dtype=np.int32),
    )
    build_s = time.perf_counter() - started
    highs.run()
    solve_s = time.perf_counter() - started - build_s
    assert highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    info = highs.getInfo()
    return {
        "build_s": build_s,
        "solve_s": solve_s,
        "total_s": build_s + solve_s,
        "iterations": int(info.simplex_iteration_count),
        "objective": float(info.objective_function_value),
    }


def exact_lp(n_vehicles: int, seed: int) -> dict[str, Any]:
    """``schedule(problem, "lp")`` on the same problem, timed in parts, then verified."""
    from voltpool.example import example_problem
    from voltpool.schedule import schedule, verify

    problem = example_problem(n_vehicles, seed=seed)
    started = time.perf_counter()
    result = schedule(problem, "lp", time_limit_s=float("inf"))  # the anchor has none
    total_s = time.perf_counter() - started
    solver = result.solver
    verified = time.perf_counter()
    assert verify(problem, result, check_site_limits=True).ok
    assert solver.solver_objective is not None
    return {
        "build_s": solver.build_time_s,
        "solve_s": solver.solve_time_s,
        "total_s": total_s,
        "rest_s": total_s - solver.build_time_s - solver.solve_time_s,
        "verify_s": time.perf_counter() - verified,
        "iterations": solver.iterations,
        "objective": solver.solver_objective,
    }


def measure(case: str, n_vehicles: int, seed: int = 1) -> dict[str, Any]:
    """One run of ``case`` (``anchor`` or ``exact``) in this process."""
    measured = anchor_lp(n_vehicles, seed) if case == "anchor" else exact_lp(n_vehicles, seed)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": case, "vehicles": n_vehicles, "peak_rss_mb": peak_mb, **measured}


def run(sizes: list[int]) -> list[dict[str, Any]]:
    """Every run: per size, anchor and exact alternating, each in a fresh process."""
    return [
        run_isolated(__file__, case, str(n_vehicles))
        for n_vehicles in sizes
        for _ in range(REPEATS.get(n_vehicles, 1))
        for case in ("anchor", "exact")
    ]


def table_rows(runs: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    """One row per size: the best run of each case, their ratio, where the exact LP's time
    went (its best run) and every run's total."""
    header = [
        "cars x 96",
        "anchor s (best)",
        "exact s (best)",
        "exact / anchor",
        "exact: build s",
        "HiGHS s",
        "rest s",
        "verify s",
        "HiGHS iter. anchor / exact",
        "optimum diff. (rel.)",
        "peak MB anchor / exact",
        "all runs: anchor / exact s",
    ]
    body = []
    for n_vehicles in dict.fromkeys(r["vehicles"] for r in runs):
        mine = [r for r in runs if r["vehicles"] == n_vehicles]
        anchors = [r for r in mine if r["case"] == "anchor"]
        exacts = [r for r in mine if r["case"] == "exact"]
        anchor = min(anchors, key=lambda r: r["total_s"])
        exact = min(exacts, key=lambda r: r["total_s"])
        ratio = exact["total_s"] / anchor["total_s"]
        difference = abs(exact["objective"] - anchor["objective"]) / abs(anchor["objective"])
        body.append(
            [
                f"{n_vehicles:,}",
                f"{anchor['total_s']:.2f}",
                f"{exact['total_s']:.2f}",
                f"{ratio:.2f}x " + ("ok" if ratio <= GOAL_RATIO else "MISSED"),
                f"{exact['build_s']:.2f}",
                f"{exact['solve_s']:.2f}",
                f"{exact['rest_s']:.2f}",
                f"{exact['verify_s']:.2f}",
                f"{anchor['iterations']:,} / {exact['iterations']:,}",
                f"{difference:.1e}",
                f"{anchor['peak_rss_mb']:.0f} / {exact['peak_rss_mb']:.0f}",
                ", ".join(
                    f"{a['total_s']:.1f} / {e['total_s']:.1f}"
                    for a, e in zip(anchors, exacts, strict=True)
                ),
            ]
        )
    return header, body


def main() -> None:
    from rich.console import Console

    from run import show

    sizes = SIZES_QUICK if "--quick" in sys.argv else SIZES
    header, body = table_rows(run(sizes))
    show(Console(width=200), TITLE, header, body)


TITLE = "Exact LP vs the minimal direct HiGHS LP of the same problem (96 x 15 min, same run)"

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("anchor", "exact"):
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
    else:
        main()
