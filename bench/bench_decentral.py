"""Benchmark: exact LP vs the decentralized scheduler at 1,000 / 5,000 / 10,000 cars x 96 slots.

Each (method, size) runs in a fresh process so its peak resident memory is its own. The
decentralized scheduler runs to a certified gap of 0.1 % or its time budget, whichever comes
first; its row gives the gap it certified, the exact row its own objective. The exact LP is
skipped at 10,000 cars (it does not finish in minutes here). Usage:
``python bench/bench_decentral.py [--quick]`` (``--quick``: 1,000 cars only).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from _isolated import run_isolated

SIZES = [1000, 5000, 10000]
SIZES_QUICK = [1000]
EXACT_MAX = 5000
DECENTRAL_TIME_S = 30.0
"""The decentralized scheduler's budget per size. [s]"""


def measure(method: str, n_vehicles: int, seed: int = 1) -> dict[str, object]:
    from voltpool.example import example_problem
    from voltpool.schedule import decentral_plan, schedule, verify

    problem = example_problem(n_vehicles, seed=seed)
    started = time.perf_counter()
    if method == "exact":
        result = schedule(problem, "lp", time_limit_s=float("inf"))
        objective = result.solver.solver_objective
        gap = result.solver.gap
    else:
        planned = decentral_plan(problem, time_limit_s=DECENTRAL_TIME_S)
        result, objective, gap = (
            planned.schedule,
            planned.plan_objective,
            planned.schedule.solver.gap,
        )
    total_s = time.perf_counter() - started
    return {
        "method": method,
        "vehicles": n_vehicles,
        "total_s": total_s,
        "iterations": result.solver.iterations,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "objective": objective,
        "gap": gap,
        "verified": verify(problem, result, check_site_limits=True).ok,
    }


def run(sizes: list[int]) -> list[dict[str, object]]:
    rows = []
    for n_vehicles in sizes:
        for method in ("exact", "decentral"):
            if method == "exact" and n_vehicles > EXACT_MAX:
                continue
            rows.append(run_isolated(__file__, method, str(n_vehicles)))
    return rows


def table_rows(rows: list[dict[str, object]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "cars x 96",
        "method",
        "total s",
        "iterations",
        "peak MB",
        "objective",
        "gap",
        "verified",
    ]
    body = [
        [
            f"{int(r['vehicles']):,}",  # type: ignore[call-overload]
            str(r["method"]),
            f"{r['total_s']:.2f}",
            f"{r['iterations']:,}",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['objective']:,.2f}",
            f"{r['gap']:.3%}",
            "yes" if r["verified"] else "NO",
        ]
        for r in rows
    ]
    return header, body


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("exact", "decentral"):
        print(json.dumps(measure(sys.argv[1], int(sys.argv[2]))))
    else:
        header, body = table_rows(run(SIZES_QUICK if "--quick" in sys.argv else SIZES))
        print(" | ".join(header))
        for row in body:
            print(" | ".join(row))
