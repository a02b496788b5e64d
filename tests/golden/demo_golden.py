"""The figures `make demo` prints, as one JSON document: the golden file's generator.

``python tests/golden/demo_golden.py OUT.json`` runs the built-in ``neighbourhood`` scenario
the way the demo does (every policy, battery health, settlement in a fresh ledger per policy,
outage and V2V lines) and writes every figure except solver timings. The stored
``demo_metrics.json`` was made by this script on the code before the controller was extracted
(main a8845c6); ``test_golden.py`` reruns it and compares.
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

TIMING_ROWS = ("solver_time_",)


def _number(value: float) -> float | None:
    value = float(value)
    return None if math.isnan(value) else value


def demo_figures() -> dict:
    from voltpool.battery.health import health_from_runs
    from voltpool.report.events import outage_summary, v2v_lines
    from voltpool.scenario import load_scenario
    from voltpool.settlement import settle_simulation
    from voltpool.simulate import build_world, simulate
    from voltpool.simulate.metrics import compare

    scenario = load_scenario("neighbourhood")
    world = build_world(scenario)
    result = simulate(scenario, world=world)
    metrics = compare(result)
    health = health_from_runs(result.runs, world.chemistry, scenario.battery)
    with tempfile.TemporaryDirectory() as folder:
        settled = settle_simulation(result, world, Path(folder))
    figures: dict = {"metrics": {}, "health": {}, "credits": {}, "outage": {}, "v2v": {}}
    for policy in metrics.columns:
        figures["metrics"][policy] = {
            key: _number(value)
            for key, value in metrics[policy].items()
            if not str(key).startswith(TIMING_ROWS)
        }
    summary = health.summary()
    for policy in summary.columns:
        figures["health"][policy] = {k: _number(v) for k, v in summary[policy].items()}
    for policy, (table, check) in settled.items():
        figures["credits"][policy] = {
            "verify_ok": bool(check.ok),
            "transfers": int(check.transfers),
            "households": {
                str(home): {c: int(row[c]) for c in table.columns} for home, row in table.iterrows()
            },
        }
    for policy, run in result.runs.items():
        figures["outage"][policy] = outage_summary(run)
        figures["v2v"][policy] = v2v_lines(run, scenario.timezone)
        figures.setdefault("power", {})[policy] = {
            "sum_kw": float(np.sum(run.power_kw)),
            "abs_sum_kw": float(np.sum(np.abs(run.power_kw))),
            "final_soc_sum": float(np.sum(run.soc[:, -1])),
        }
    return figures


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(json.dumps(demo_figures(), indent=1, sort_keys=True) + "\n")
