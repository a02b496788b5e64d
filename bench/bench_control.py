"""Benchmark: what the one controller adds to a plan (building the problem, verifying it).

One re-plan of the example neighbourhood (``voltpool example-problem``, 96 x 15 min) through
:class:`voltpool.control.Controller`, against the bare :func:`voltpool.schedule.schedule` call
on the same problem, in the same process: the controller's overhead is the car-table slicing,
the problem assembly and the independent verifier it runs before following a plan
("controller.step" re-solves the same problem end to end, a check that the two agree).

Each size runs in a fresh process; ``python bench/bench_control.py`` prints the table.
"""

from __future__ import annotations

import json
import sys
import time

from _isolated import run_isolated

SIZES = (100, 1000)


def measure(n_cars: int) -> dict[str, float | int]:
    import numpy as np

    from voltpool.control import (
        CarTable,
        Controller,
        Observation,
        PlanningConfig,
        ProblemForecast,
    )
    from voltpool.example import example_problem
    from voltpool.model import PeakBilling
    from voltpool.schedule import schedule, verify

    problem = example_problem(n_cars, seed=1)
    fleet = problem.fleet
    # every car plugged in from slot 0 with its own departure, as the controller sees a night
    plugged = np.ones(n_cars, dtype=bool)
    cars = CarTable.from_fleet(fleet)
    config = PlanningConfig(
        horizon_slots=problem.n_slots,
        unmet_penalty_per_kwh=problem.unmet_penalty_per_kwh,
        peak_billing=PeakBilling(np.array([0]), np.array([problem.tariff.peak_price_per_kw])),
    )
    controller = Controller(cars, ProblemForecast(problem), config)
    observed = Observation(
        t=0,
        energy_kwh=fleet.energy_initial_kwh,
        on_grid=plugged,
        departure_slot=fleet.departure_slot,
    )
    started = time.perf_counter()
    controlled = controller.problem(observed, np.flatnonzero(plugged), None)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    result = schedule(controlled, "lp")
    solve_s = time.perf_counter() - started
    started = time.perf_counter()
    check = verify(controlled, result, check_site_limits=False)
    verify_s = time.perf_counter() - started
    started = time.perf_counter()
    controller.step(observed)
    step_s = time.perf_counter() - started
    return {
        "cars": n_cars,
        "build_s": build_s,
        "solve_s": solve_s,
        "verify_s": verify_s,
        "step_s": step_s,
        "verified": int(check.ok),
    }


def run(sizes: tuple[int, ...] = SIZES) -> list[dict]:
    return [run_isolated(__file__, str(n)) for n in sizes]


def table_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "cars x 96",
        "problem build s",
        "schedule() s",
        "verify s",
        "controller.step s",
        "build + verify / schedule()",
        "plan verified",
    ]
    body = [
        [
            f"{r['cars']:,}",
            f"{r['build_s']:.3f}",
            f"{r['solve_s']:.2f}",
            f"{r['verify_s']:.3f}",
            f"{r['step_s']:.2f}",
            f"{(r['build_s'] + r['verify_s']) / r['solve_s']:.1%}",
            "yes" if r["verified"] else "NO",
        ]
        for r in results
    ]
    return header, body


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(measure(int(sys.argv[1]))))
    else:
        header, body = table_rows(run())
        print(" | ".join(header))
        for row in body:
            print(" | ".join(row))
