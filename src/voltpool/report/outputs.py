"""Read a ``voltpool simulate`` output folder back (``voltpool battery report``)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

from voltpool.battery.health import HealthReport, health_report
from voltpool.errors import FieldIssue, ProblemError
from voltpool.report.timeseries import policy_slugs
from voltpool.scenario import scenario_from_dict


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ProblemError(
            [
                FieldIssue(
                    "SIMULATION_OUTPUT",
                    f"{path.name} is missing in {path.parent} (run `voltpool "
                    "simulate -o DIR` first; the folder must hold its complete output)",
                )
            ]
        )
    return path


def _vehicles_file(folder: Path, slug: str) -> Path:
    for name in (f"vehicles_{slug}.parquet", f"vehicles_{slug}.csv.gz", f"vehicles_{slug}.csv"):
        if (folder / name).is_file():
            return folder / name
    return _need(folder / f"vehicles_{slug}.csv")


def health_from_output(folder: str | Path) -> HealthReport:
    """Battery health of every policy in a simulation output folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProblemError([FieldIssue("SIMULATION_OUTPUT", f"{folder} is not a folder")])
    scenario = scenario_from_dict(tomllib.loads(_need(folder / "scenario.toml").read_text()))
    cars = pd.read_csv(_need(folder / "cars.csv"))
    policies = list(pd.read_csv(_need(folder / "metrics.csv"), index_col=0).columns)
    order = {vehicle: n for n, vehicle in enumerate(cars["vehicle_id"])}
    soc_by_policy, v2g_by_policy = {}, {}
    dt_h = scenario.slot_minutes / 60.0
    for policy, slug in policy_slugs(policies).items():
        path = _vehicles_file(folder, slug)
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        frame = frame.sort_values(
            ["vehicle_id", "time_utc"], key=lambda c: c.map(order) if c.name == "vehicle_id" else c
        )
        n_cars = len(cars)
        start = frame["soc_start"].to_numpy().reshape(n_cars, -1)
        end = frame["soc_end"].to_numpy().reshape(n_cars, -1)
        soc_by_policy[policy] = np.concatenate([start, end[:, -1:]], axis=1)
        power = frame["power_kw"].to_numpy().reshape(n_cars, -1)
        v2g_by_policy[policy] = dt_h * np.maximum(-power, 0.0).sum(axis=1)
    return health_report(
        soc_by_policy,
        v2g_by_policy,
        dt_h,
        tuple(cars["vehicle_id"]),
        cars["chemistry"].to_numpy(str),
        cars["capacity_kwh"].to_numpy(float),
        scenario.battery,
    )
