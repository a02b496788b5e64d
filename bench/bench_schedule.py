"""Benchmark: exact LP build + solve time and peak memory for N cars x 96 slots.

Each size runs in a fresh process so its peak resident memory is its own. ``solve_s`` is
HiGHS's own run time on the model (a direct HiGHS call); ``overhead_s`` is everything voltpool
adds around it (building the sparse matrix, reading the solution, SoC and costs).
"""

from __future__ import annotations

import json
import resource
import sys
import time

from _isolated import run_isolated

ANCHOR_S = {1000: 4.8, 5000: 41.0}
"""Anchors (README, "Benchmarks", column "anchor s"): a directly built fleet LP solved by
HiGHS 1.16 (IPM) on this machine, 4.8 s for 1,000 cars and 41.0 s for 5,000 (x 96 slots)."""


def measure(n_vehicles: int, seed: int = 1) -> dict[str, float]:
    from voltpool.example import example_problem
    from voltpool.schedule import schedule, verify

    problem = example_problem(n_vehicles, seed=seed)
    baseline = schedule(problem, "uncontrolled")
    started = time.perf_counter()
    result = schedule(problem, "lp", time_limit_s=float("inf"))  # the anchor has none
    total_s = time.perf_counter() - started
    assert verify(problem, result, check_site_limits=True).ok
    return {
        "vehicles": n_vehicles,
        "algorithm": result.solver.name.rsplit("-", 1)[-1],
        "build_s": result.solver.build_time_s,
        "solve_s": result.solver.solve_time_s,
        "total_s": total_s,
        "overhead_s": total_s - result.solver.solve_time_s,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "lp_objective": result.objective,
        "uncontrolled_objective": baseline.objective,
        "lp_peak_kw": result.peak_kw,
        "uncontrolled_peak_kw": baseline.peak_kw,
        "v2g_kwh": result.discharged_kwh,
    }


def run(sizes: list[int]) -> list[dict[str, float]]:
    rows = []
    for n_vehicles in sizes:
        rows.append(run_isolated(__file__, str(n_vehicles)))
    return rows


def table_rows(rows: list[dict[str, float]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "cars x 96",
        "HiGHS",
        "build s",
        "solve s (HiGHS)",
        "total s",
        "anchor s",
        "peak MB",
        "LP cost",
        "uncontrolled cost",
        "peak kW LP / unc.",
        "V2G kWh",
    ]
    body = []
    for r in rows:
        anchor = ANCHOR_S.get(int(r["vehicles"]))
        body.append(
            [
                f"{int(r['vehicles']):,}",
                str(r["algorithm"]),
                f"{r['build_s']:.2f}",
                f"{r['solve_s']:.2f}",
                f"{r['total_s']:.2f}",
                f"{anchor:.1f}" if anchor else "-",
                f"{r['peak_rss_mb']:.0f}",
                f"{r['lp_objective']:,.0f}",
                f"{r['uncontrolled_objective']:,.0f}",
                f"{r['lp_peak_kw']:,.0f} / {r['uncontrolled_peak_kw']:,.0f}",
                f"{r['v2g_kwh']:,.0f}",
            ]
        )
    return header, body


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
