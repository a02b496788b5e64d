"""Benchmark: the exact LP with every owner's rule on every car against the same LP without rules.

One fresh process per size runs both on the same problem, one after the other (after a small
warm-up solve): ``voltpool.example.example_problem(N, seed=1)`` (96 quarter-hours from noon),
placed at 2024-01-15 12:00 Europe/Amsterdam so the horizon spans two local days. Each car gets a
V2G floor, a daily cap, discharge hours, forbidden hours, a "not today" time and a weekly cycle
limit with six days of history (:func:`every_rule`). The goal: at most 1.5x the time without.
The same run also times every rule but the V2G floor: the floor is the one rule that is not
convex for a car arriving below it (it may charge above it and give back only down to it), which
the exact step closes with lazy binaries and branch and bound (:mod:`voltpool.schedule.guards`).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import numpy as np
import pandas as pd

from _isolated import run_isolated

START = "2024-01-15T12:00:00+01:00"
ZONE = "Europe/Amsterdam"
GOAL_RATIO = 1.5


def every_rule(n_vehicles: int, seed: int = 2):
    """Every rule on every car, drawn per car so that they bind unevenly."""
    from voltpool.model.rules import OwnerRules

    rng = np.random.default_rng(seed)
    start = pd.Timestamp(START)
    blocks = []
    for _ in range(n_vehicles):
        until = start + pd.Timedelta(minutes=int(rng.integers(4 * 60, 8 * 60)))
        blocks.append(
            {
                "v2g_floor_soc": float(np.round(rng.uniform(0.3, 0.5), 2)),
                "v2g_max_kwh_per_day": float(np.round(rng.uniform(4.0, 15.0), 1)),
                "discharge_hours": ["16:00-23:00"]
                if rng.random() < 0.5
                else ["17:00-21:00", "06:00-09:00"],
                "no_discharge_hours": ["02:00-04:00"],
                "no_discharge_until": until.isoformat(),
                "max_cycles_per_week": float(np.round(rng.uniform(0.8, 2.0), 2)),
                "v2g_kwh_today": float(np.round(rng.uniform(0.0, 5.0), 1)),
                "v2g_kwh_past_days": [float(v) for v in np.round(rng.uniform(0, 12, 6), 1)],
            }
        )
    return OwnerRules.from_records(blocks)


def _timed(problem):
    from voltpool.schedule import schedule, verify

    started = time.perf_counter()
    result = schedule(problem, "lp", time_limit_s=float("inf"))
    total_s = time.perf_counter() - started
    started = time.perf_counter()
    report = verify(problem, result)
    verify_s = time.perf_counter() - started
    assert report.ok, [str(v) for v in report.violations[:5]]
    return result, total_s, verify_s


def measure(n_vehicles: int, seed: int = 1) -> dict[str, float]:
    from voltpool.example import example_problem
    from voltpool.schedule import build_lp

    problem = example_problem(n_vehicles, seed=seed)
    plain = dataclasses.replace(problem, start=pd.Timestamp(START).to_pydatetime(), timezone=ZONE)
    ruled = dataclasses.replace(
        plain, fleet=dataclasses.replace(plain.fleet, rules=every_rule(n_vehicles))
    )
    _timed(example_problem(20, seed=seed))  # warm-up: imports, HiGHS loaded
    plain_result, plain_s, plain_verify_s = _timed(plain)
    ruled_result, ruled_s, ruled_verify_s = _timed(ruled)
    # the V2G floor is the one non-convex rule (lazy binaries for cars arriving below it)
    floorless = dataclasses.replace(ruled.fleet.rules, v2g_floor_soc=np.zeros(n_vehicles))
    _, floorless_s, _ = _timed(
        dataclasses.replace(ruled, fleet=dataclasses.replace(ruled.fleet, rules=floorless))
    )
    rows_added = build_lp(ruled).row_lower.size - build_lp(plain).row_lower.size
    return {
        "vehicles": n_vehicles,
        "plain_build_s": plain_result.solver.build_time_s,
        "plain_solve_s": plain_result.solver.solve_time_s,
        "plain_total_s": plain_s,
        "ruled_build_s": ruled_result.solver.build_time_s,
        "ruled_solve_s": ruled_result.solver.solve_time_s,
        "ruled_total_s": ruled_s,
        "ratio": ruled_s / plain_s,
        "floorless_total_s": floorless_s,
        "below_floor_cars": int((ruled.fleet.discharge_floor_soc > ruled.fleet.soc_initial).sum()),
        "ruled_notes": "; ".join(ruled_result.solver.notes),
        "plain_verify_s": plain_verify_s,
        "ruled_verify_s": ruled_verify_s,
        "rows_added": rows_added,
        "plain_objective": plain_result.objective,
        "ruled_objective": ruled_result.objective,
        "plain_v2g_kwh": plain_result.discharged_kwh,
        "ruled_v2g_kwh": ruled_result.discharged_kwh,
        "ruled_status": ruled_result.status,
    }


def run(sizes: list[int]) -> list[dict[str, float]]:
    return [run_isolated(__file__, str(n_vehicles)) for n_vehicles in sizes]


def table_rows(rows: list[dict[str, float]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "cars x 96",
        "no rules: total s (solve)",
        "every rule: total s (solve)",
        "ratio (goal <= 1.5)",
        "all but the floor: total s (ratio)",
        "cars below their floor",
        "rows added",
        "verify s no rules / rules",
        "cost no rules / rules",
        "V2G kWh no rules / rules",
    ]
    body = []
    for r in rows:
        floorless_ratio = r["floorless_total_s"] / r["plain_total_s"]
        body.append(
            [
                f"{int(r['vehicles']):,}",
                f"{r['plain_total_s']:.2f} ({r['plain_solve_s']:.2f})",
                f"{r['ruled_total_s']:.2f} ({r['ruled_solve_s']:.2f})",
                f"{r['ratio']:.2f}x",
                f"{r['floorless_total_s']:.2f} ({floorless_ratio:.2f}x)",
                f"{int(r['below_floor_cars']):,}",
                f"{int(r['rows_added']):,}",
                f"{r['plain_verify_s']:.3f} / {r['ruled_verify_s']:.3f}",
                f"{r['plain_objective']:,.0f} / {r['ruled_objective']:,.0f}",
                f"{r['plain_v2g_kwh']:,.0f} / {r['ruled_v2g_kwh']:,.0f}",
            ]
        )
    return header, body


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
