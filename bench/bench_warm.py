"""Benchmark: a re-plan after a small change, warm-started from the previous plan's basis,
against a cold solve of the same problem, side by side in one run.

The example neighbourhood (``voltpool example-problem``, 96 x 15 min) is solved once cold;
then each kind of small change an event brings (one car's departure moved, one car's state
of charge or target changed, a price changed, a site limit changed) is applied to it and the
changed problem solved twice: cold, and with ``warm_start=`` the first solve's basis
(HiGHS ``setBasis``, dual simplex, no presolve). ``cold s`` / ``warm s`` are the wall-clock
time of :func:`voltpool.schedule.schedule` (build, solve, read-out); the objective difference
is relative. ``horizon +15 min`` / ``+60 min`` are the rolling-horizon cases: the
controller's next re-plan one slot later (the live planner's slot tick) or four (the
simulator's periodic re-plan), the cars' windows and the forecast moved, warm-started from
the shifted basis (``Basis.shifted``).

``python bench/bench_warm.py [--quick]`` prints the table (1,000 cars; 200 with ``--quick``);
from ``bench/run.py``: ``header, body = bench_warm.table_rows(bench_warm.run(quick))``.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable

from _isolated import run_isolated

SIZES = (1000,)
SIZES_QUICK = (200,)


def changes() -> dict[str, Callable]:
    """Each kind of small change, as ``change(problem) -> problem``."""
    import numpy as np

    def fleet(problem, **fields):
        return dataclasses.replace(problem, fleet=dataclasses.replace(problem.fleet, **fields))

    def car(problem) -> int:  # a car that stays long and may go to 100 %
        f = problem.fleet
        stays = (f.departure_slot - f.arrival_slot >= 20) & (f.soc_max >= 1.0)
        return int(np.flatnonzero(stays)[len(f.ids) // 3])

    def departure_earlier(problem):  # the driver leaves at 01:30 instead of about 07:30
        departure = problem.fleet.departure_slot.copy()
        departure[car(problem)] -= 24
        return fleet(problem, departure_slot=departure)

    def departure_later(problem):  # the earliest leaver stays an hour longer
        departure = problem.fleet.departure_slot.copy()
        departure[int(np.argmin(departure))] += 4
        return fleet(problem, departure_slot=departure)

    def soc(problem):
        soc_initial = problem.fleet.soc_initial.copy()
        soc_initial[car(problem)] += 0.1
        return fleet(problem, soc_initial=soc_initial)

    def target(problem):
        soc_target = problem.fleet.soc_target.copy()
        soc_target[car(problem)] = 0.95
        return fleet(problem, soc_target=soc_target)

    def price(problem):
        tariff = problem.tariff
        prices = tariff.import_price_per_kwh.copy()
        prices[70] *= 1.2  # a night slot
        return dataclasses.replace(
            problem, tariff=dataclasses.replace(tariff, import_price_per_kwh=prices)
        )

    def site_limit(problem):  # a congestion event: 10 % less import over 2 h of the night
        site = problem.site
        limit = site.import_limit_slots_kw.copy()
        limit[56:64] *= 0.9
        return dataclasses.replace(problem, site=dataclasses.replace(site, import_limit_kw=limit))

    return {
        "departure 6 h earlier": departure_earlier,
        "departure 1 h later": departure_later,
        "soc +10 % (one car)": soc,
        "target 95 % (one car)": target,
        "price +20 % (one slot)": price,
        "import limit -10 % (2 h)": site_limit,
    }


def _timed(problem, **options):
    from voltpool.schedule import schedule

    started = time.perf_counter()
    result = schedule(problem, "lp", time_limit_s=float("inf"), **options)
    return result, time.perf_counter() - started


def measure(n_cars: int) -> dict:
    from voltpool.example import example_problem
    from voltpool.schedule import verify

    problem = example_problem(n_cars, seed=1)
    first, first_s = _timed(problem)
    basis = first.solver.basis
    rows = []
    for name, change in changes().items():
        changed = change(problem)
        cold, cold_s = _timed(changed, solver="simplex")
        warm, warm_s = _timed(changed, warm_start=basis)
        assert verify(changed, warm).ok and verify(changed, cold).ok
        rows.append(_row(name, cold, cold_s, warm, warm_s, first))
    rows += [_horizon_row(problem, slots) for slots in (1, 4)]
    return {"cars": n_cars, "first_s": first_s, "rows": rows}


def _row(name: str, cold, cold_s: float, warm, warm_s: float, before) -> dict:
    c, w = cold.solver.solver_objective, warm.solver.solver_objective
    b = before.solver.solver_objective
    return {
        "objective_change": (c - b) / max(1.0, abs(b)),
        "change": name,
        "cold_s": cold_s,
        "cold_iterations": cold.solver.iterations,
        "warm_s": warm_s,
        "warm_iterations": warm.solver.iterations,
        "start": warm.solver.start,
        "relative_difference": abs(w - c) / max(1.0, abs(c)),
    }


def _horizon_row(problem, slots: int) -> dict:
    """The controller's next re-plan ``slots`` on (the live planner's slot tick: 1; the
    simulator's periodic re-plan: 4), cold against warm from the first plan's basis shifted
    by ``slots``."""
    import numpy as np

    from voltpool.control import CarTable, Controller, Observation, PlanningConfig, ProblemForecast
    from voltpool.schedule import verify

    fleet = problem.fleet
    horizon = problem.n_slots
    cars = CarTable.from_fleet(fleet)
    controller = Controller(cars, ProblemForecast(problem), PlanningConfig(horizon_slots=horizon))
    on_grid = np.ones(fleet.n_vehicles, dtype=bool)
    t0 = int(fleet.arrival_slot.max())  # every car home
    first = controller.plan(
        Observation(t0, fleet.energy_initial_kwh, on_grid, fleet.departure_slot)
    )
    assert first.schedule is not None and first.basis is not None
    energy = first.schedule.soc[:, slots] * fleet.capacity_kwh  # the plan followed so far
    later = Observation(t0 + slots, energy, on_grid, fleet.departure_slot)
    started = time.perf_counter()
    cold = controller.plan(later)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    warm = controller.plan(later, warm_start=first.basis.shifted(slots))
    warm_s = time.perf_counter() - started
    assert cold.schedule is not None and warm.schedule is not None
    assert warm.problem is not None and verify(warm.problem, warm.schedule).ok
    return _row(
        f"horizon +{slots * 15} min (controller)",
        cold.schedule,
        cold_s,
        warm.schedule,
        warm_s,
        first.schedule,
    )


def run(quick: bool = False) -> list[dict]:
    return [run_isolated(__file__, str(n)) for n in (SIZES_QUICK if quick else SIZES)]


def table_rows(results: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "cars x 96",
        "change",
        "plan cost moved",
        "cold s",
        "cold iter.",
        "warm s",
        "warm iter.",
        "start",
        "speed-up",
        "objective diff. (rel.)",
    ]
    body = []
    for result in results:
        for r in result["rows"]:
            body.append(
                [
                    f"{result['cars']:,}",
                    r["change"],
                    f"{r['objective_change']:+.2e}",
                    f"{r['cold_s']:.2f}",
                    f"{r['cold_iterations']:,}",
                    f"{r['warm_s']:.2f}",
                    f"{r['warm_iterations']:,}",
                    r["start"],
                    f"{r['cold_s'] / r['warm_s']:.1f}x",
                    f"{r['relative_difference']:.1e}",
                ]
            )
    return header, body


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1].isdigit():
        print(json.dumps(measure(int(sys.argv[1]))))
    else:
        header, body = table_rows(run("--quick" in sys.argv))
        print(" | ".join(header))
        for row in body:
            print(" | ".join(row))
