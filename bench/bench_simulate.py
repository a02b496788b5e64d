"""Benchmark: the simulator on real data.

- one simulated year of 1,000 cars (1,500 homes) with the ``uncontrolled`` policy (goal < 60 s);
- one week of 100 cars (150 homes) with ``v2g`` (rolling-horizon exact LP; goal < 60 s);
- ``voltpool value`` on one tariff: the built-in ``owner-year`` street (10 cars) for a year,
  ``smart`` and ``v2g-wear``, end to end with the health report, the settlement and the HTML
  report (goal < 60 s).

Each case runs in a fresh process so its peak memory is its own.
"""

from __future__ import annotations

import copy
import json
import resource
import sys
import time
import tomllib
from importlib import resources

from _isolated import run_isolated

CASES = {
    "year-1000-uncontrolled": {"days": 365, "cars": 1000, "policy": "uncontrolled"},
    "week-100-v2g": {"days": 7, "cars": 100, "policy": "v2g"},
    "value-year-10-owner": {"days": 366, "cars": 10, "policy": "smart + v2g-wear"},
}
VALUE_TARIFF = "nl-dynamic-2024"
GOAL_S = 60.0


def scenario_document(days: int, cars: int, policy: str) -> dict:
    text = resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
    document = copy.deepcopy(tomllib.loads(text))
    document.update(
        name=f"bench-{cars}-{days}d", start="2023-01-02", days=days, policies=[policy], events=[]
    )
    document["homes"]["count"] = int(cars * 1.5)
    document["vehicles"]["count"] = cars
    document["transformer"]["import_limit_kw"] = 3.0 * cars + 2.0 * cars * 1.5
    document["transformer"]["export_limit_kw"] = 3.0 * cars + 2.0 * cars * 1.5
    return document


def measure_value() -> dict[str, float | str]:
    """A year of ``owner-year`` on one tariff, as ``voltpool value --tariff`` runs it."""
    import tempfile
    from pathlib import Path

    from voltpool.service import value

    spec = CASES["value-year-10-owner"]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        outcome = value.run("owner-year", [VALUE_TARIFF], Path(folder) / "value")
        plans = sum(
            len(run.solver_time_s) for run in outcome.tariffs[0].outcome.result.runs.values()
        )
    total_s = time.perf_counter() - started
    return {
        "case": "value-year-10-owner",
        "car_slots": spec["cars"] * spec["days"] * 96,
        "world_s": float("nan"),
        "simulate_s": float("nan"),
        "total_s": total_s,
        "plans": plans,
        "plan_mean_s": float("nan"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(case: str) -> dict[str, float | str]:
    import numpy as np

    if case == "value-year-10-owner":
        return measure_value()

    from voltpool.scenario import scenario_from_dict
    from voltpool.simulate import build_world
    from voltpool.simulate.engine import run_policy
    from voltpool.simulate.policies import make_policy

    spec = CASES[case]
    scenario = scenario_from_dict(scenario_document(spec["days"], spec["cars"], spec["policy"]))
    started = time.perf_counter()
    world = build_world(scenario)
    world_s = time.perf_counter() - started
    run = run_policy(world, make_policy(spec["policy"], world))
    total_s = time.perf_counter() - started
    return {
        "case": case,
        "car_slots": spec["cars"] * scenario.n_slots,
        "world_s": world_s,
        "simulate_s": total_s - world_s,
        "total_s": total_s,
        "plans": len(run.solver_time_s) if spec["policy"] != "uncontrolled" else 0,
        "plan_mean_s": float(np.mean(run.solver_time_s))
        if spec["policy"] != "uncontrolled"
        else 0.0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run() -> list[dict]:
    rows = []
    for case in CASES:
        rows.append(run_isolated(__file__, case))
    return rows


def table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "case",
        "car-slots",
        "data s",
        "simulate s",
        "total s",
        "goal s",
        "LP plans",
        "s per plan",
        "peak MB",
    ]
    body = [
        [
            str(r["case"]),
            f"{int(r['car_slots']):,}",
            _seconds(r["world_s"]),
            _seconds(r["simulate_s"]),
            f"{r['total_s']:.1f}",
            f"{GOAL_S:.0f}",
            str(r["plans"]) if r["plans"] else "-",
            f"{r['plan_mean_s']:.3f}"
            if r["plans"] and r["plan_mean_s"] == r["plan_mean_s"]
            else "-",
            f"{r['peak_rss_mb']:.0f}",
        ]
        for r in rows
    ]
    return header, body


def _seconds(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"  # NaN: not measured apart


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
