"""Build the shipped data files from the raw EV2Gym 2.0.0 data folder.

The raw files come from the ``ev2gym`` 2.0.0 wheel (folder ``ev2gym/data/``)::

    pip download ev2gym==2.0.0 --no-deps -d /tmp/ev2gym
    cd /tmp/ev2gym && unzip -q ev2gym-2.0.0-py3-none-any.whl
    python -m voltpool.data.build /tmp/ev2gym/ev2gym/data

The command rewrites the files in ``voltpool/data/files/``; gzip output has a fixed mtime so a
rebuild from the same raw files is byte-identical. Nothing here runs at import time of
:mod:`voltpool.data`: the loaders only read the shipped files.

Day-ahead prices (``Netherlands_day-ahead-2015-2024.csv``)
-----------------------------------------------------------
The raw file has an ISO block (``2015-01-01 00:00:00`` .. ``2023-09-30 23:00:00`` UTC), then a row
with empty timestamps and price 0.0, then a ``dd/mm/yyyy HH:MM`` block that starts again at
``31/12/2022 23:00`` UTC and runs to ``07/01/2025 23:00`` UTC. The dd/mm block repeats
2023-01-01..2023-09-30 with identical prices and then continues with 15 months that the ISO
block does not have. :func:`clean_day_ahead_prices` therefore parses both formats explicitly,
drops the separator row, checks every ``Datetime (Local)`` against ``Europe/Amsterdam``,
deduplicates on the UTC timestamp (refusing conflicting duplicates), and fills single missing
hours by linear interpolation, flagged in the ``imputed`` column.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from voltpool.data._files import (
    ARRIVAL_FILE,
    BY_ARRIVAL_FILE,
    EV_MODELS_FILE,
    PRICES_FILE,
    QUANTILES_FILE,
)
from voltpool.errors import FieldIssue, ProblemError

LOCAL_TZ = "Europe/Amsterdam"
"""Time zone of the raw ``Datetime (Local)`` column and of the ElaadNL clock times."""

PRICE_COLUMNS = ("Datetime (UTC)", "Datetime (Local)", "Price (EUR/MWhe)")
_PRICE_FORMATS = ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y %H:%M")
_DUPLICATE_TOLERANCE_EUR_PER_MWH = 0.005

FILES_DIR = Path(__file__).with_name("files")

# ElaadNL labels the home category "private" in the distribution charts and "home" in the
# per-arrival-time charts; "work" and "workplace" are likewise one category.
_CATEGORY_NAMES = {"private": "home", "home": "home", "public": "public"}
_CATEGORY_NAMES |= {"workplace": "workplace", "work": "workplace"}


def _parse_times(text: pd.Series) -> pd.Series:
    """Parse naive timestamps written in either raw format; unparseable entries become NaT."""
    parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in _PRICE_FORMATS:
        attempt = pd.to_datetime(text, format=fmt, errors="coerce")
        parsed = parsed.fillna(attempt)
    return parsed


def _rows(mask: pd.Series, limit: int = 5) -> str:
    """Describe the first raw-file line numbers (1 = header) where ``mask`` is true."""
    lines = (np.flatnonzero(mask.to_numpy()) + 2).tolist()
    shown = ", ".join(str(n) for n in lines[:limit])
    return f"{len(lines)} row(s), file lines {shown}{', ...' if len(lines) > limit else ''}"


def clean_day_ahead_prices(raw_csv: str | Path, *, max_gap_h: int = 3) -> pd.DataFrame:
    """Clean EV2Gym's ENTSO-E Netherlands day-ahead price file into one hourly UTC series.

    Parameters
    ----------
    raw_csv : str or Path
        Raw CSV with columns ``Country``, ``Datetime (UTC)``, ``Datetime (Local)``,
        ``Price (EUR/MWhe)``; timestamps as ``yyyy-mm-dd HH:MM:SS`` or ``dd/mm/yyyy HH:MM``.
    max_gap_h : int, default 3
        Longest run of missing hours [h] that is filled by linear interpolation in time.

    Returns
    -------
    pandas.DataFrame
        Index ``time_utc`` (tz-aware UTC, hourly, unique, strictly increasing, no gaps: the
        start of each delivery hour); columns ``price_eur_per_mwh`` [EUR/MWh] (rounded to
        0.01) and ``imputed`` (bool, true where the hour was missing and interpolated).
        ``frame.attrs["cleaning"]`` counts what was done: ``rows_raw``, ``rows_blank``,
        ``rows_duplicate``, ``hours_imputed``, ``first_utc``, ``last_utc``.

    Raises
    ------
    ProblemError
        If a column is missing, a timestamp or price cannot be parsed, a local time does not
        match its UTC time in Europe/Amsterdam, duplicate hours disagree on the price, or a
        gap is longer than ``max_gap_h``. Nothing is silently dropped except the empty
        separator rows and exact duplicates.
    """
    raw = pd.read_csv(raw_csv, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in PRICE_COLUMNS if c not in raw.columns]
    if missing:
        raise ProblemError(
            [FieldIssue(f"raw_csv.columns[{c!r}]", "required column is missing") for c in missing]
        )
    utc_text = raw["Datetime (UTC)"].str.strip()
    local_text = raw["Datetime (Local)"].str.strip()
    blank = (utc_text == "") & (local_text == "")
    utc_naive = _parse_times(utc_text)
    local_naive = _parse_times(local_text)
    price = pd.to_numeric(raw["Price (EUR/MWhe)"].str.strip(), errors="coerce")

    issues = []
    bad_time = ~blank & (utc_naive.isna() | local_naive.isna())
    if bad_time.any():
        issues.append(
            FieldIssue(
                "raw_csv['Datetime (UTC)'/'Datetime (Local)']", f"unparseable in {_rows(bad_time)}"
            )
        )
    bad_price = ~blank & price.isna()
    if bad_price.any():
        issues.append(
            FieldIssue("raw_csv['Price (EUR/MWhe)']", f"not a number in {_rows(bad_price)}")
        )
    utc = utc_naive.dt.tz_localize("UTC")
    expected_local = utc.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    bad_local = ~blank & ~bad_time & (expected_local != local_naive)
    if bad_local.any():
        issues.append(
            FieldIssue(
                "raw_csv['Datetime (Local)']",
                f"does not equal Datetime (UTC) in {LOCAL_TZ} in {_rows(bad_local)}",
            )
        )
    if issues:
        raise ProblemError(issues)

    keep = ~blank
    frame = pd.DataFrame(
        {"price_eur_per_mwh": price[keep].to_numpy()},
        index=pd.DatetimeIndex(utc[keep], name="time_utc"),
    )
    if frame.empty:
        raise ProblemError([FieldIssue("raw_csv", "has no data rows")])
    by_hour = frame.groupby(level=0)["price_eur_per_mwh"]
    spread = by_hour.max() - by_hour.min()
    conflicts = spread[spread > _DUPLICATE_TOLERANCE_EUR_PER_MWH]
    if len(conflicts):
        shown = ", ".join(t.isoformat() for t in conflicts.index[:5])
        raise ProblemError(
            [
                FieldIssue(
                    "raw_csv['Price (EUR/MWhe)']",
                    f"{len(conflicts)} duplicated hour(s) with different prices: {shown}",
                )
            ]
        )
    duplicate = frame.index.duplicated(keep="first")
    frame = frame[~duplicate].sort_index()

    full_index = pd.date_range(frame.index[0], frame.index[-1], freq="1h", name="time_utc")
    frame = frame.reindex(full_index)
    gap = frame["price_eur_per_mwh"].isna()
    run_id = (~gap).cumsum()
    run_lengths = gap.groupby(run_id).transform("sum").where(gap, 0)
    too_long = run_lengths > max_gap_h
    if too_long.any():
        first_missing = frame.index[too_long.to_numpy()][0].isoformat()
        raise ProblemError(
            [
                FieldIssue(
                    "raw_csv['Datetime (UTC)']",
                    f"gap longer than max_gap_h={max_gap_h} h starting {first_missing}",
                )
            ]
        )
    frame["price_eur_per_mwh"] = frame["price_eur_per_mwh"].interpolate(method="time").round(2)
    frame["imputed"] = gap.to_numpy()
    frame.attrs["cleaning"] = {
        "rows_raw": len(raw),
        "rows_blank": int(blank.sum()),
        "rows_duplicate": int(duplicate.sum()),
        "hours_imputed": int(gap.sum()),
        "first_utc": frame.index[0].isoformat(),
        "last_utc": frame.index[-1].isoformat(),
    }
    return frame


def write_prices(frame: pd.DataFrame, path: Path) -> None:
    """Write a cleaned price frame as gzip CSV with ISO-8601 UTC timestamps (``...Z``)."""
    out = pd.DataFrame(
        {
            "time_utc": frame.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "price_eur_per_mwh": frame["price_eur_per_mwh"].map("{:.2f}".format),
            "imputed": frame["imputed"].astype(int),
        }
    )
    out.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})


def _read_elaad(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8-sig")


def build_arrival_probability(raw_dir: Path) -> pd.DataFrame:
    """Tidy ElaadNL arrival-time shares per 15-minute slot (raw values are percent).

    Returns
    -------
    pandas.DataFrame
        Columns ``day_type`` (weekday/weekend), ``category``, ``slot`` (0..95), ``time_local``
        (``HH:MM``, start of the slot) and ``probability`` (fraction; sums to 1 per group).
    """
    parts = []
    for day_type, name in (
        ("weekday", "distribution-of-arrival.csv"),
        ("weekend", "distribution-of-arrival-weekend.csv"),
    ):
        raw = _read_elaad(raw_dir / name)
        expected = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 15, 30, 45)]
        if raw["Arrival time"].tolist() != expected:
            raise ValueError(f"{name}: 'Arrival time' is not the 96 quarter hours in order")
        for raw_category in raw.columns[1:]:
            share = raw[raw_category].to_numpy(dtype=float)
            parts.append(
                pd.DataFrame(
                    {
                        "day_type": day_type,
                        "category": _CATEGORY_NAMES[raw_category],
                        "slot": np.arange(96),
                        "time_local": expected,
                        "probability": share / share.sum(),
                    }
                )
            )
    return pd.concat(parts, ignore_index=True)


def build_session_quantiles(raw_dir: Path) -> pd.DataFrame:
    """Turn ElaadNL's "percentage of charging events" curves into quantile tables.

    A raw row ``(p, v)`` means p % of sessions last (or need) at least v, so v is the
    ``1 - p/100`` quantile.

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``quantile`` (0..1 in steps of 0.01), ``connection_h`` [h] and
        ``energy_kwh`` [kWh], both non-decreasing in ``quantile`` per category.
    """
    connection = _read_elaad(raw_dir / "distribution-of-connection-time.csv")
    energy = _read_elaad(raw_dir / "distribution-of-energy-demand.csv")
    pct = "Percentage of charging events"
    if not connection[pct].equals(energy[pct]) or connection[pct].tolist() != list(range(101)):
        raise ValueError("connection/energy percentiles are not the same 0..100 grid")
    parts = []
    for raw_category in connection.columns[1:]:
        parts.append(
            pd.DataFrame(
                {
                    "category": _CATEGORY_NAMES[raw_category],
                    "quantile": (1.0 - connection[pct].to_numpy() / 100.0)[::-1].round(2),
                    "connection_h": connection[raw_category].to_numpy(dtype=float)[::-1],
                    "energy_kwh": energy[raw_category].to_numpy(dtype=float)[::-1].round(3),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def build_mean_by_arrival(raw_dir: Path) -> pd.DataFrame:
    """Tidy ElaadNL mean connection time and energy per half-hour of arrival.

    The raw rows are out of order (00:00, 05:00, 00:30, ...) and workplace has no value for
    arrivals 19:00..04:30; those rows are dropped.

    Returns
    -------
    pandas.DataFrame
        Columns ``category``, ``slot_30min`` (0..47), ``time_local`` (``HH:MM``),
        ``mean_connection_h`` [h] and ``mean_energy_kwh`` [kWh].
    """
    length = _read_elaad(raw_dir / "mean-session-length-per.csv").set_index("Arrival Time")
    demand = _read_elaad(raw_dir / "mean-demand-per-arrival.csv").set_index("Arrival Time")
    times = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    if sorted(length.index) != times or sorted(demand.index) != times:
        raise ValueError("mean-by-arrival files do not hold the 48 half hours")
    parts = []
    for raw_category in length.columns:
        part = pd.DataFrame(
            {
                "category": _CATEGORY_NAMES[raw_category],
                "slot_30min": np.arange(48),
                "time_local": times,
                "mean_connection_h": length.loc[times, raw_category].to_numpy(dtype=float),
                "mean_energy_kwh": demand.loc[times, raw_category].to_numpy(dtype=float).round(3),
            }
        )
        parts.append(part.dropna(subset=["mean_connection_h", "mean_energy_kwh"]))
    return pd.concat(parts, ignore_index=True)


def build_ev_models(raw_json: Path) -> pd.DataFrame:
    """Flatten EV2Gym's ``ev_specs_v2g_enabled2024.json`` into one row per model.

    ``charge_efficiency_ac_3ph_16a`` is the JSON's 3-phase AC charging efficiency at 16 A
    (about 11 kW), as a fraction. The JSON has no consumption figures.
    """
    specs = json.loads(Path(raw_json).read_text())
    rows = []
    for model, spec in specs.items():
        efficiency = dict(zip(spec["ch_current"], spec["3ph_ch_efficiency"], strict=True))
        rows.append(
            {
                "model": model,
                "registrations_nl": int(spec["number_of_registrations"]),
                "capacity_kwh": float(spec["battery_capacity"]),
                "max_ac_charge_kw": float(spec["max_ac_charge_power"]),
                "max_dc_charge_kw": float(spec["max_dc_charge_power"]),
                "avg_dc_charge_kw": float(spec["avg_dc_charge_power"]),
                "max_ac_discharge_kw": float(spec["max_ac_discharge_power"]),
                "max_dc_discharge_kw": float(spec["max_dc_discharge_power"]),
                "charge_efficiency_ac_3ph_16a": efficiency[16] / 100.0,
            }
        )
    return pd.DataFrame(rows)


def build_all(raw_dir: str | Path, out_dir: str | Path = FILES_DIR) -> dict[str, object]:
    """Rebuild every shipped file from the raw EV2Gym data folder; return the price report."""
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    prices = clean_day_ahead_prices(raw_dir / "Netherlands_day-ahead-2015-2024.csv")
    write_prices(prices, out_dir / PRICES_FILE)
    build_arrival_probability(raw_dir).to_csv(out_dir / ARRIVAL_FILE, index=False)
    build_session_quantiles(raw_dir).to_csv(out_dir / QUANTILES_FILE, index=False)
    build_mean_by_arrival(raw_dir).to_csv(out_dir / BY_ARRIVAL_FILE, index=False)
    build_ev_models(raw_dir / "ev_specs_v2g_enabled2024.json").to_csv(
        out_dir / EV_MODELS_FILE, index=False
    )
    return dict(prices.attrs["cleaning"])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m voltpool.data.build RAW_DIR [OUT_DIR]``."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not 1 <= len(args) <= 2:
        print(main.__doc__, file=sys.stderr)
        return 2
    report = build_all(*args)
    for key, value in report.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
