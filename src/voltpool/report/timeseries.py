"""Time series and metrics of a simulation as CSV files (and Parquet when pyarrow is installed).

Files written into ``outdir``, one set per policy (``<policy>`` made file-name safe):

- ``timeseries_<policy>.csv``: one row per slot, index ``time_utc`` (slot start, ISO 8601 UTC);
  columns :data:`SITE_COLUMNS`.
- ``vehicles_<policy>.csv`` (``.csv.gz`` above :data:`GZIP_ROWS` rows): long format, one row per
  car and slot; columns :data:`VEHICLE_COLUMNS`.
- ``per_car_<policy>.csv``: :func:`~voltpool.simulate.metrics.per_car_table` against the first
  policy.
- ``metrics.csv``: :func:`~voltpool.simulate.metrics.compare` (metrics as rows, policies as
  columns).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pandas as pd

from voltpool.report.events import outage_table
from voltpool.simulate.metrics import compare, per_car_table
from voltpool.simulate.result import PolicyRun, SimulationResult

GZIP_ROWS = 20_000
"""Long-format vehicle files with more rows than this are gzip-compressed."""

SITE_COLUMNS: tuple[str, ...] = (
    "site_net_load_kw",
    "base_load_kw",
    "vehicle_power_kw",
    "import_price_per_kwh",
    "export_price_per_kwh",
    "import_limit_kw",
    "export_limit_kw",
)
VEHICLE_COLUMNS: tuple[str, ...] = (
    "time_utc",
    "vehicle_id",
    "home_id",
    "power_kw",
    "soc_start",
    "soc_end",
    "plugged",
    "driving_kwh",
    "public_charging_kwh",
)
_GZIP = {"method": "gzip", "mtime": 0, "compresslevel": 6}
"""mtime 0: the same run gives the same bytes; zlib's default level, not gzip's 9 (a year of ten
cars: 1.5 s less for a file 8 % larger)."""


def _iso_utc(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(index.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ"), dtype=object)


def site_timeseries(run: PolicyRun) -> pd.DataFrame:
    """One row per slot (index: slot start, tz-aware UTC), columns :data:`SITE_COLUMNS`."""
    frame = pd.DataFrame(
        {
            "site_net_load_kw": run.site_net_load_kw,
            "base_load_kw": run.base_load_kw,
            "vehicle_power_kw": run.power_kw.sum(axis=0),
            "import_price_per_kwh": run.import_price_per_kwh,
            "export_price_per_kwh": run.export_price_per_kwh,
            "import_limit_kw": run.import_limit_kw,
            "export_limit_kw": run.export_limit_kw,
        },
        index=pd.DatetimeIndex(run.index).tz_convert("UTC").rename("time_utc"),
    )
    return frame


def vehicle_timeseries(run: PolicyRun) -> pd.DataFrame:
    """Long format, one row per car and slot (car-major), columns :data:`VEHICLE_COLUMNS`.

    ``soc_start`` is the SoC at the start of the slot, ``soc_end`` at its end. [0..1]
    """
    n_vehicles, n_slots = run.power_kw.shape
    times = pd.DatetimeIndex(run.index).tz_convert("UTC")[np.tile(np.arange(n_slots), n_vehicles)]
    home_of_car = np.asarray(run.home_ids, dtype=object)[np.asarray(run.vehicle_home, np.intp)]
    return pd.DataFrame(
        {
            "time_utc": times,
            "vehicle_id": np.repeat(np.asarray(run.vehicle_ids, dtype=object), n_slots),
            "home_id": np.repeat(home_of_car, n_slots),
            "power_kw": run.power_kw.ravel(),
            "soc_start": run.soc[:, :-1].ravel(),
            "soc_end": run.soc[:, 1:].ravel(),
            "plugged": np.asarray(run.plugged, dtype=bool).ravel(),
            "driving_kwh": run.driving_kwh.ravel(),
            "public_charging_kwh": run.public_charging_kwh.ravel(),
        },
        columns=list(VEHICLE_COLUMNS),
    )


def policy_slugs(policies: list[str]) -> dict[str, str]:
    slugs = {p: re.sub(r"[^A-Za-z0-9_.-]+", "-", p).strip("-.") or "policy" for p in policies}
    if len(set(slugs.values())) != len(slugs):
        raise ValueError(f"policy names {policies} give clashing file names {list(slugs.values())}")
    return slugs


def write_timeseries(
    result: SimulationResult,
    outdir: str | Path,
    written: dict[str, list[Path]] | None = None,
) -> list[Path]:
    """Write every policy's time series, per-car table and ``metrics.csv``; returns the paths.

    With outages or V2V, also per policy ``outages_<policy>.csv`` (one row per cut-off home,
    :func:`~voltpool.report.events.outage_table`) and ``v2v_<policy>.csv`` (one row per
    agreement).

    CSV is always written; Parquet copies of the site and vehicle series too when ``pyarrow``
    can be imported. Times are ISO 8601 UTC (``...Z``) in CSV, tz-aware in Parquet.
    ``written``: the series files of policies a :class:`SeriesWriter` wrote already.
    """
    if not result.runs:
        raise ValueError("result.runs: empty; there is nothing to write")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = written or {}
    baseline = next(iter(result.runs.values()))
    paths: list[Path] = []
    for policy, slug in policy_slugs(list(result.runs)).items():
        run = result.runs[policy]
        paths += written[policy] if policy in written else write_series(run, slug, outdir)

        paths.append(outdir / f"per_car_{slug}.csv")
        per_car_table(run, baseline).to_csv(paths[-1])

        if run.v2v is not None and not run.v2v.empty:
            paths.append(outdir / f"v2v_{slug}.csv")
            run.v2v.to_csv(paths[-1], index=False)
        outages = outage_table(run)
        if not outages.empty:
            paths.append(outdir / f"outages_{slug}.csv")
            outages.to_csv(paths[-1])

    paths.append(outdir / "metrics.csv")
    compare(result).to_csv(paths[-1])
    return paths


def write_series(run: PolicyRun, slug: str, outdir: Path) -> list[Path]:
    """One policy's site and vehicle series (CSV, and Parquet with ``pyarrow``); the paths."""
    paths: list[Path] = []
    site = site_timeseries(run)
    site_csv = site.set_axis(pd.Index(_iso_utc(site.index), name="time_utc"))
    paths.append(outdir / f"timeseries_{slug}.csv")
    site_csv.to_csv(paths[-1])

    vehicles = vehicle_timeseries(run)
    large = len(vehicles) > GZIP_ROWS
    paths.append(outdir / f"vehicles_{slug}.csv{'.gz' if large else ''}")
    slot_times = _iso_utc(pd.DatetimeIndex(run.index))  # each slot's once, car after car
    vehicles.assign(time_utc=np.tile(slot_times, len(run.vehicle_ids))).to_csv(
        paths[-1], index=False, compression=_GZIP if large else None
    )
    if importlib.util.find_spec("pyarrow") is not None:
        paths.append(outdir / f"timeseries_{slug}.parquet")
        site.to_parquet(paths[-1])
        paths.append(outdir / f"vehicles_{slug}.parquet")
        vehicles.to_parquet(paths[-1], index=False)
    return paths


class SeriesWriter:
    """Writes each policy's series (:func:`write_series`) into ``outdir`` as soon as its run
    is back from the simulator (its ``on_run``), so that the first policies' files are written
    while the others still run; :func:`write_timeseries` with ``written`` does the rest."""

    def __init__(self, outdir: Path, policies: list[str]) -> None:
        self.outdir = Path(outdir)
        self.slugs = policy_slugs(policies)
        self.written: dict[str, list[Path]] = {}

    def __call__(self, policy: str, run: PolicyRun) -> None:
        self.outdir.mkdir(parents=True, exist_ok=True)
        self.written[policy] = write_series(run, self.slugs[policy], self.outdir)


__all__ = [
    "GZIP_ROWS",
    "SITE_COLUMNS",
    "VEHICLE_COLUMNS",
    "SeriesWriter",
    "site_timeseries",
    "vehicle_timeseries",
    "write_series",
    "write_timeseries",
]
