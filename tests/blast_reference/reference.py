"""Run NREL BLAST-Lite on the test profiles and write its results as JSON.

Runs ONLY in the BLAST-Lite environment (``scripts/make_blast_env.sh`` makes ``.venv-blast``
with blast-lite 1.1.1, which pins numpy < 2):

    .venv-blast/bin/python tests/blast_reference/reference.py OUT.json [options]

Options:
    --cells A,B,...   BLAST-Lite class names (default: the three cells voltpool implements)
    --stress          also run ``battery_profiles.stress_profiles()``
    --timing N        instead of the profiles, time N fresh one-year runs of ``driving_v2g`` per
                      cell and report seconds per vehicle-year

Output: ``{"blast_lite_version", "numpy_version", "results": {class: {profile: {...}}}}`` with,
per run, final relative capacity ``q``, its calendar and cycling parts as BLAST-Lite defines
them (``q_t = 1 - qLoss_t``, ``q_EFC = 1 - qLoss_EFC``), the simulated days and equivalent full
cycles, the whole (t_days, q) trajectory and the run time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import battery_profiles

DEFAULT_CELLS = (
    "Nmc622_Gr_DENSO50Ah_Battery",
    "Lfp_Gr_250AhPrismatic",
    "Nca_Gr_Panasonic3Ah_Battery",
)


def _cell_class(name: str):
    import blast.models

    return getattr(blast.models, name)


def run_one(name: str, profile: dict[str, np.ndarray]) -> dict:
    cell = _cell_class(name)()
    inputs = {
        "Time_s": np.asarray(profile["time_s"], dtype=float),
        "SOC": np.asarray(profile["soc"], dtype=float),
        "Temperature_C": np.asarray(profile["temperature_c"], dtype=float),
    }
    started = time.perf_counter()
    cell.simulate_battery_life(inputs)
    runtime_s = time.perf_counter() - started
    states = cell.states
    loss_t = float(np.asarray(states["qLoss_t"])[-1])
    loss_efc = float(np.asarray(states["qLoss_EFC"])[-1])
    return {
        "q": float(cell.outputs["q"][-1]),
        "q_t": float(cell.outputs["q_t"][-1]),
        "q_EFC": float(cell.outputs["q_EFC"][-1]),
        "qLoss_t": loss_t,
        "qLoss_EFC": loss_efc,
        "t_days": float(cell.stressors["t_days"][-1]),
        "efc": float(cell.stressors["efc"][-1]),
        "trajectory_t_days": [float(x) for x in cell.stressors["t_days"]],
        "trajectory_q": [float(x) for x in cell.outputs["q"]],
        "runtime_s": runtime_s,
    }


def timing(cells: list[str], repeats: int) -> dict:
    profile = battery_profiles.standard_profiles()["driving_v2g"]
    out = {}
    for name in cells:
        run_one(name, profile)  # warm up imports and caches
        started = time.perf_counter()
        for _ in range(repeats):
            run_one(name, profile)
        out[name] = {"seconds_per_vehicle_year": (time.perf_counter() - started) / repeats}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--cells", default=",".join(DEFAULT_CELLS))
    parser.add_argument("--stress", action="store_true")
    parser.add_argument("--timing", type=int, default=0)
    args = parser.parse_args(argv)
    cells = [c for c in args.cells.split(",") if c]

    payload: dict = {
        "blast_lite_version": version("blast-lite"),
        "numpy_version": np.__version__,
    }
    if args.timing:
        payload["timing"] = timing(cells, args.timing)
    else:
        profiles = dict(battery_profiles.standard_profiles())
        if args.stress:
            profiles.update(battery_profiles.stress_profiles())
        payload["results"] = {
            name: {p: run_one(name, prof) for p, prof in profiles.items()} for name in cells
        }
    args.out.write_text(json.dumps(payload))


if __name__ == "__main__":
    main()
