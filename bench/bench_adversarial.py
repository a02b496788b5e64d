"""Benchmark: adversarial problems for the exact scheduler, worst-case time and returned gap.

Sunny days (:func:`voltpool.example.sunny_surplus_problem`: hourly slots from 06:00, rooftop
solar far above a 10.6 kW export limit at midday, negative day-ahead prices, cars home all day,
some below their reserve), 50 and 100 cars, five seeds each, in two families:

- ``export limit``: as generated (the audit's worst case was 45 cars x 34 slots, 347 s);
- ``negative import``: the midday import price pushed 0.8/kWh below zero, where charging and
  discharging one car at once (burning energy as conversion loss) would earn money.

Each problem is solved with the default budget (``DEFAULT_TIME_BUDGET_S``) and with a tight
one (0.3 s, shorter than branch and bound needs): the table gives the worst time, how far a
run overshot its budget (the time HiGHS takes to stop), the largest proven gap returned and the
binaries the exact step needed. ``python bench/bench_adversarial.py`` prints it.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

from _isolated import run_isolated

SIZES = (50, 100)
SEEDS = range(5)
FAMILIES = ("export limit", "negative import")
TIGHT_BUDGET_S = 0.3


def adversarial(family: str, n_cars: int, seed: int):
    import numpy as np

    from voltpool.example import sunny_surplus_problem
    from voltpool.model import Tariff

    problem = sunny_surplus_problem(n_cars, seed)
    if family == "negative import":
        hours = np.arange(problem.n_slots)
        dip = 0.8 * np.exp(-0.5 * ((hours - 7.0) / 1.5) ** 2)
        tariff = problem.tariff
        problem = dataclasses.replace(
            problem,
            tariff=Tariff(tariff.import_price_per_kwh - dip, tariff.export_price_per_kwh - dip),
        )
    return problem


def measure(family: str, n_cars: int) -> dict[str, float | int | str]:
    from voltpool.errors import SolverError
    from voltpool.schedule import DEFAULT_TIME_BUDGET_S, schedule, verify

    worst_s = worst_over_s = worst_gap = 0.0
    binaries = optimal = verified = no_plan = 0
    tight_gap = tight_over_s = 0.0
    for seed in SEEDS:
        problem = adversarial(family, n_cars, seed)
        started = time.perf_counter()
        result = schedule(problem, "lp", time_limit_s=DEFAULT_TIME_BUDGET_S)
        elapsed = time.perf_counter() - started
        worst_s = max(worst_s, elapsed)
        worst_over_s = max(worst_over_s, elapsed - DEFAULT_TIME_BUDGET_S)
        worst_gap = max(worst_gap, result.solver.gap)
        optimal += result.solver.status == "optimal"
        verified += verify(problem, result).ok
        binaries = max(binaries, _binaries(result.solver.notes))
        started = time.perf_counter()
        try:
            tight = schedule(problem, "lp", time_limit_s=TIGHT_BUDGET_S)
            tight_gap = max(tight_gap, tight.solver.gap)
            verified += verify(problem, tight).ok
        except SolverError:
            no_plan += 1
            verified += 1  # no plan is an honest answer, not a broken one
        tight_over_s = max(tight_over_s, time.perf_counter() - started - TIGHT_BUDGET_S)
    return {
        "family": family,
        "cars": n_cars,
        "runs": len(SEEDS),
        "worst_s": worst_s,
        "worst_over_s": worst_over_s,
        "worst_gap": worst_gap,
        "optimal": optimal,
        "binaries": binaries,
        "tight_gap": tight_gap,
        "tight_over_s": tight_over_s,
        "tight_no_plan": no_plan,
        "verified": verified,
    }


def _binaries(notes: tuple[str, ...]) -> int:
    for note in notes:
        if "branch and bound on " in note:
            return int(note.split("branch and bound on ")[1].split()[0])
    return 0


def run() -> list[dict]:
    return [run_isolated(__file__, family, str(n)) for family in FAMILIES for n in SIZES]


def table_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "family",
        "cars x 34 h",
        "worst s (60 s budget)",
        "optimal",
        "largest gap",
        "most binaries",
        f"{TIGHT_BUDGET_S:g} s budget: overshoot s",
        "gap",
        "no plan",
        "plans verified",
    ]
    body = [
        [
            r["family"],
            f"{r['cars']}",
            f"{r['worst_s']:.2f}",
            f"{r['optimal']}/{r['runs']}",
            f"{r['worst_gap']:.2%}",
            f"{r['binaries']}",
            f"{max(r['tight_over_s'], 0.0):.3f}",
            f"{r['tight_gap']:.2%}",
            f"{r['tight_no_plan']}/{r['runs']}",
            f"{r['verified']}/{2 * r['runs']}",
        ]
        for r in results
    ]
    return header, body


if __name__ == "__main__":
    if len(sys.argv) > 2:
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
    else:
        for row in table_rows(run())[1]:
            print(" | ".join(row))
