"""Read a ``voltpool simulate`` output folder back (``voltpool battery report``).

The folder is outside input like any other: ``scenario.toml`` passes the input gate
(:mod:`voltpool.gate`), every table must be readable, hold its columns and finite numbers, and
list the same cars in the same number of slots; each refusal names the file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from voltpool import gate
from voltpool.battery.health import HealthReport, health_report
from voltpool.errors import FieldIssue, ProblemError
from voltpool.report.timeseries import policy_slugs
from voltpool.scenario import scenario_from_dict

FOLDER = "SIMULATION_OUTPUT"
"""The argument a refusal is reported against."""
CAR_COLUMNS = ("vehicle_id", "chemistry", "capacity_kwh")
VEHICLE_COLUMNS = ("vehicle_id", "time_utc", "soc_start", "soc_end", "power_kw")


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ProblemError(
            [
                FieldIssue(
                    FOLDER,
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


def _table(path: Path, columns: tuple[str, ...], numbers: tuple[str, ...] = ()) -> pd.DataFrame:
    """A table of the folder with ``columns``, its ``numbers`` columns numeric and finite."""
    field = f"{FOLDER}/{path.name}"
    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except (ValueError, OSError) as error:  # not text, not CSV, not Parquet, unreadable
        rule = f"cannot be read as a table ({gate.printable(str(error), 200)})"
        raise ProblemError([FieldIssue(field, rule)]) from None
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ProblemError([FieldIssue(field, f"lacks the column(s) {', '.join(missing)}")])
    for column in numbers:
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise ProblemError([FieldIssue(f"{field}.{column}", "must hold finite numbers")])
        frame[column] = values
    return frame


def _by_car(frame: pd.DataFrame, vehicle_ids: pd.Series, field: str) -> pd.DataFrame:
    """The rows sorted car by car (in ``cars.csv``'s order), then by time; every car of
    ``cars.csv`` with the same number of rows, no other car."""
    counts = frame["vehicle_id"].astype(str).value_counts()
    wanted = vehicle_ids.astype(str)
    if set(counts.index) != set(wanted) or counts.nunique() != 1 or frame.empty:
        raise ProblemError(
            [FieldIssue(field, "must hold the same number of slots for each car of cars.csv")]
        )
    order = {vehicle: n for n, vehicle in enumerate(wanted)}
    return frame.sort_values(
        ["vehicle_id", "time_utc"],
        key=lambda c: c.astype(str).map(order) if c.name == "vehicle_id" else c.astype(str),
    )


def health_from_output(folder: str | Path) -> HealthReport:
    """Battery health of every policy in a simulation output folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ProblemError([FieldIssue(FOLDER, f"{folder} is not a folder")])
    scenario_path = _need(folder / "scenario.toml")
    text = gate.read_text(scenario_path, f"{FOLDER}/scenario.toml")
    scenario = scenario_from_dict(gate.load_toml(text, str(scenario_path)))
    cars = _table(_need(folder / "cars.csv"), CAR_COLUMNS, ("capacity_kwh",))
    if cars.empty or cars["vehicle_id"].astype(str).duplicated().any():
        raise ProblemError([FieldIssue(f"{FOLDER}/cars.csv", "must list each car once")])
    _need(folder / "metrics.csv")  # a complete output folder; its policies are the scenario's
    soc_by_policy, v2g_by_policy = {}, {}
    dt_h = scenario.slot_minutes / 60.0
    n_cars = len(cars)
    for policy, slug in policy_slugs(list(scenario.policies)).items():
        path = _vehicles_file(folder, slug)
        frame = _table(path, VEHICLE_COLUMNS, ("soc_start", "soc_end", "power_kw"))
        frame = _by_car(frame, cars["vehicle_id"], f"{FOLDER}/{path.name}")
        start = frame["soc_start"].to_numpy().reshape(n_cars, -1)
        end = frame["soc_end"].to_numpy().reshape(n_cars, -1)
        soc_by_policy[policy] = np.concatenate([start, end[:, -1:]], axis=1)
        power = frame["power_kw"].to_numpy().reshape(n_cars, -1)
        v2g_by_policy[policy] = dt_h * np.maximum(-power, 0.0).sum(axis=1)
    return health_report(
        soc_by_policy,
        v2g_by_policy,
        dt_h,
        tuple(cars["vehicle_id"].astype(str)),
        cars["chemistry"].to_numpy(str),
        cars["capacity_kwh"].to_numpy(float),
        scenario.battery,
    )
