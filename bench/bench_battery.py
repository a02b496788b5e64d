"""Benchmark: battery health (capacity fade) for a mixed fleet, 15-minute SoC over a year.

voltpool's vectorized ageing engine (:func:`voltpool.battery.fade_by_chemistry`) on N car-years
of varied driving + V2G profiles, mixed NMC/LFP/NCA, each size in a fresh process (its own peak
memory); the issue's goal is 1,000 car-years in under 60 s. For comparison, NREL BLAST-Lite's own
``simulate_battery_life`` time per vehicle-year, measured in ``.venv-blast`` (made by
``scripts/make_blast_env.sh``) through ``tests/blast_reference/reference.py --timing``.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _isolated import run_isolated

ROOT = Path(__file__).resolve().parents[1]
BLAST_PYTHON = ROOT / ".venv-blast" / "bin" / "python"
REFERENCE_SCRIPT = ROOT / "tests" / "blast_reference" / "reference.py"
GOAL_S = {1000: 60.0}
"""Issue #4: a health report for 1,000 car-years in under 60 s."""
DT_S = 900.0
DAYS = 365


def fleet_profiles(n_vehicles: int, seed: int = 1) -> dict[str, np.ndarray]:
    """One year of 15-minute SoC for ``n_vehicles`` varied commuters, some doing evening V2G.

    Per car: top SoC 0.7-1.0, commute 10-40 % (scaled 0-1.5x day by day; parked days), departure
    06:30-09:00; half the cars discharge 10-40 % for V2G from 18:00 at 10 %/h; charging from
    22:00 at 10 %/h back to the top. Cell temperature: 15 +/- 8 °C seasonal.
    """
    rng = np.random.default_rng(seed)
    steps = DAYS * 96
    time_s = np.arange(steps) * DT_S
    hour = (time_s / 3600.0) % 24.0
    day = (time_s // 86_400).astype(int)
    top = rng.uniform(0.7, 1.0, n_vehicles)
    commute = rng.uniform(0.1, 0.4, n_vehicles)
    leave = rng.uniform(6.5, 9.0, n_vehicles)
    v2g = np.where(rng.random(n_vehicles) < 0.5, rng.uniform(0.1, 0.4, n_vehicles), 0.0)
    daily_scale = rng.uniform(0.0, 1.5, (n_vehicles, DAYS))
    daily_scale[rng.random((n_vehicles, DAYS)) < 0.15] = 0.0  # parked days
    soc = np.empty((n_vehicles, steps))
    for i in range(n_vehicles):
        low = max(top[i] - commute[i] - v2g[i], 0.02)
        dis_end = 18.0 + (top[i] - commute[i] - low) / 0.1
        charge_end = 22.0 + (top[i] - low) / 0.1
        knots = [
            (leave[i], top[i]),
            (leave[i] + 0.75, top[i] - commute[i] / 2),
            (17.25, top[i] - commute[i] / 2),
            (18.0, top[i] - commute[i]),
            (dis_end, low),
            (22.0, low),
        ]
        if charge_end <= 24.0:
            knots = [(0.0, top[i]), *knots, (charge_end, top[i]), (24.0, top[i])]
        else:
            midnight = low + 0.2
            knots = [(0.0, midnight), (charge_end - 24.0, top[i]), *knots, (24.0, midnight)]
        hours, values = zip(*sorted(set(knots)), strict=True)
        base = np.interp(hour, hours, values)
        soc[i] = np.clip(top[i] - daily_scale[i, day] * (top[i] - base), 0.0, 1.0)
    temperature_c = 15.0 - 8.0 * np.cos(2 * np.pi * (time_s / 86_400 - 15) / 365)
    chemistry = rng.choice(np.array(["nmc", "lfp", "nca"]), n_vehicles, p=[0.6, 0.3, 0.1])
    return {"time_s": time_s, "soc": soc, "temperature_c": temperature_c, "chemistry": chemistry}


def measure(n_vehicles: int, seed: int = 1) -> dict:
    from voltpool.battery import fade_by_chemistry

    fleet = fleet_profiles(n_vehicles, seed)
    started = time.perf_counter()
    result = fade_by_chemistry(
        fleet["chemistry"], fleet["time_s"], fleet["soc"], fleet["temperature_c"]
    )
    total_s = time.perf_counter() - started
    assert np.all(np.isfinite(result.capacity_remaining))
    return {
        "engine": "voltpool",
        "cell": "mixed NMC/LFP/NCA",
        "car_years": n_vehicles,
        "total_s": total_s,
        "ms_per_car_year": 1000 * total_s / n_vehicles,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "mean_capacity": float(result.capacity_remaining.mean()),
    }


def blast_lite_timing(repeats: int = 5) -> list[dict]:
    """BLAST-Lite seconds per vehicle-year for each of the three cells (empty if not installed)."""
    if not BLAST_PYTHON.exists():
        return []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "timing.json"
        subprocess.run(
            [str(BLAST_PYTHON), str(REFERENCE_SCRIPT), str(out), "--timing", str(repeats)],
            check=True,
            capture_output=True,
        )
        timing = json.loads(out.read_text())["timing"]
    return [
        {
            "engine": "BLAST-Lite 1.1.1",
            "cell": name,
            "car_years": repeats,
            "total_s": value["seconds_per_vehicle_year"] * repeats,
            "ms_per_car_year": 1000 * value["seconds_per_vehicle_year"],
            "peak_rss_mb": None,
            "mean_capacity": None,
        }
        for name, value in timing.items()
    ]


def run(sizes: list[int] | None = None, blast_repeats: int = 5) -> list[dict]:
    rows = []
    for n_vehicles in sizes or [100, 1000]:
        rows.append(run_isolated(__file__, str(n_vehicles)))
    return rows + blast_lite_timing(blast_repeats)


def table_rows(rows: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = [
        "engine",
        "cell",
        "car-years",
        "total s",
        "ms / car-year",
        "goal s",
        "peak MB",
        "mean capacity",
    ]
    body = []
    for r in rows:
        goal = GOAL_S.get(int(r["car_years"])) if r["engine"] == "voltpool" else None
        body.append(
            [
                str(r["engine"]),
                str(r["cell"]),
                f"{int(r['car_years']):,}",
                f"{r['total_s']:.2f}",
                f"{r['ms_per_car_year']:.1f}",
                f"{goal:.0f}" if goal else "-",
                f"{r['peak_rss_mb']:.0f}" if r["peak_rss_mb"] is not None else "-",
                f"{r['mean_capacity']:.4f}" if r["mean_capacity"] is not None else "-",
            ]
        )
    return header, body


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]))))
