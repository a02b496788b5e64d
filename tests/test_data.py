"""Tests of the real-data layer ``voltpool.data``: cleaning, shipped files and loaders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voltpool.data import (
    CATEGORIES,
    arrival_probability,
    day_ahead_price_per_kwh,
    day_ahead_prices,
    ev_models,
    household_load_kw,
    mean_by_arrival,
    price_coverage,
    sample_models,
    sample_sessions,
    session_quantiles,
)
from voltpool.data.build import LOCAL_TZ, clean_day_ahead_prices
from voltpool.errors import ProblemError

HOUR = pd.Timedelta("1h")


def _steps(index: pd.DatetimeIndex) -> set[pd.Timedelta]:
    """Distinct steps between consecutive timestamps (independent of the index resolution)."""
    return set(index.to_series().diff().dropna().unique())


# --------------------------------------------------------------------------------------------
# Price cleaning on a small synthetic raw file that reproduces the defect
# --------------------------------------------------------------------------------------------


def _raw_rows(times_utc: pd.DatetimeIndex, prices: np.ndarray, dmy: bool) -> list[str]:
    fmt = "%d/%m/%Y %H:%M" if dmy else "%Y-%m-%d %H:%M:%S"
    local = times_utc.tz_convert(LOCAL_TZ)
    return [
        f"Netherlands,{u.strftime(fmt)},{loc.strftime(fmt)},{p}"
        for u, loc, p in zip(times_utc, local, prices, strict=True)
    ]


def _price(times_utc: pd.DatetimeIndex) -> np.ndarray:
    """Deterministic prices with two decimals, some negative."""
    hours = (times_utc - pd.Timestamp("2023-01-01", tz="UTC")) // HOUR
    return np.round(40.0 * np.sin(hours.to_numpy() / 5.0) + 10.0, 2)


def _write_raw(
    path: Path,
    *,
    drop_hour: pd.Timestamp | None = None,
    conflict: bool = False,
    swap_local: bool = False,
) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """ISO block, blank separator, then a dd/mm block that repeats and extends it.

    The ISO block crosses the spring DST change, the dd/mm block the autumn one is not needed:
    only that Local matches UTC in Europe/Amsterdam. Returns (iso_times, dmy_times).
    """
    iso = pd.date_range("2023-03-24 00:00", "2023-03-28 23:00", freq="1h", tz="UTC")
    dmy = pd.date_range("2023-03-26 00:00", "2023-03-31 23:00", freq="1h", tz="UTC")
    if drop_hour is not None:
        dmy = dmy[dmy != drop_hour]
    dmy_prices = _price(dmy)
    if conflict:
        dmy_prices = dmy_prices.copy()
        dmy_prices[0] += 1.0  # same hour as an ISO row, different price
    lines = ["Country,Datetime (UTC),Datetime (Local),Price (EUR/MWhe)"]
    lines += _raw_rows(iso, _price(iso), dmy=False)
    lines.append("Netherlands,,,0.0")
    dmy_lines = _raw_rows(dmy, dmy_prices, dmy=True)
    if swap_local:  # write one local time as mm/dd: must be caught, not mis-parsed
        country, utc_text, local_text, price = dmy_lines[-1].split(",")
        day, month, rest = local_text.split("/")
        dmy_lines[-1] = ",".join([country, utc_text, f"{month}/{day}/{rest}", price])
    lines += dmy_lines
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8-sig")
    return iso, dmy


def test_cleaning_removes_repeated_ddmm_block_and_keeps_new_hours(tmp_path: Path) -> None:
    missing = pd.Timestamp("2023-03-30 05:00", tz="UTC")
    raw = tmp_path / "raw.csv"
    iso, dmy = _write_raw(raw, drop_hour=missing)

    frame = clean_day_ahead_prices(raw)

    index = frame.index
    assert str(index.tz) == "UTC"
    assert index.is_unique and index.is_monotonic_increasing
    assert _steps(index) == {HOUR}
    assert index[0] == iso[0] and index[-1] == dmy[-1]
    assert len(frame) == (dmy[-1] - iso[0]) // HOUR + 1
    # Every raw price survives unchanged at its UTC hour.
    np.testing.assert_allclose(frame.loc[iso, "price_eur_per_mwh"], _price(iso))
    np.testing.assert_allclose(frame.loc[dmy, "price_eur_per_mwh"], _price(dmy))
    # The one missing hour is interpolated and flagged; nothing else is.
    assert frame.index[frame["imputed"]].tolist() == [missing]
    neighbours = frame.loc[[missing - HOUR, missing + HOUR], "price_eur_per_mwh"]
    assert frame.loc[missing, "price_eur_per_mwh"] == pytest.approx(neighbours.mean(), abs=0.006)
    report = frame.attrs["cleaning"]
    assert report["rows_blank"] == 1
    assert report["rows_duplicate"] == len(iso.intersection(dmy)) == 72
    assert report["hours_imputed"] == 1
    assert report["rows_raw"] == len(iso) + 1 + len(dmy)


def test_cleaning_refuses_conflicting_duplicates(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    _write_raw(raw, conflict=True)
    with pytest.raises(ProblemError, match="different prices"):
        clean_day_ahead_prices(raw)


def test_cleaning_checks_local_time_against_utc(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    _write_raw(raw, swap_local=True)
    with pytest.raises(ProblemError, match="Datetime \\(Local\\)"):
        clean_day_ahead_prices(raw)


def test_cleaning_refuses_long_gaps(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    _write_raw(raw, drop_hour=pd.Timestamp("2023-03-30 05:00", tz="UTC"))
    with pytest.raises(ProblemError, match="gap longer"):
        clean_day_ahead_prices(raw, max_gap_h=0)


def test_cleaning_names_missing_columns(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text("Country,Datetime (UTC),Price (EUR/MWhe)\nNetherlands,2023-01-01 00:00:00,1\n")
    with pytest.raises(ProblemError, match="Datetime \\(Local\\)"):
        clean_day_ahead_prices(raw)


# --------------------------------------------------------------------------------------------
# Shipped price series and its loader
# --------------------------------------------------------------------------------------------


def test_shipped_prices_are_hourly_unique_and_complete() -> None:
    prices = day_ahead_prices()
    index = prices.index
    assert str(index.tz) == "UTC"
    assert index.is_unique and index.is_monotonic_increasing
    assert _steps(index) == {HOUR}
    assert index[0] == pd.Timestamp("2015-01-01", tz="UTC")
    assert index[-1] == pd.Timestamp("2025-01-07 23:00", tz="UTC")
    assert not prices["price_eur_per_mwh"].isna().any()
    assert int(prices["imputed"].sum()) == 2
    # DST is handled: every complete local day has 23, 24 or 25 hours, the short/long ones only
    # on the last Sundays of March/October.
    local_days = index.tz_convert(LOCAL_TZ).normalize()
    hours_per_day = pd.Series(1, index=local_days).groupby(level=0).sum().iloc[1:-1]
    assert set(hours_per_day.unique()) == {23, 24, 25}
    odd = hours_per_day[hours_per_day != 24].index
    assert all(day.day_of_week == 6 and day.month in (3, 10) for day in odd)
    assert len(odd) == 2 * 10  # 2015..2024


def test_price_per_kwh_hourly_and_quarter_hourly() -> None:
    hourly = day_ahead_price_per_kwh("2024-06-01", "2024-06-02")
    assert hourly.name == "price_eur_per_kwh"
    assert len(hourly) == 24 and str(hourly.index.tz) == "UTC"
    raw = day_ahead_prices().loc["2024-06-01", "price_eur_per_mwh"]
    np.testing.assert_allclose(hourly.to_numpy(), raw.to_numpy() / 1000.0)

    quarter = day_ahead_price_per_kwh(
        pd.Timestamp("2024-06-01 02:00", tz=LOCAL_TZ), "2024-06-02", freq="15min"
    )
    assert quarter.index[0] == pd.Timestamp("2024-06-01 00:00", tz="UTC")
    assert len(quarter) == 96
    assert _steps(quarter.index) == {pd.Timedelta("15min")}
    np.testing.assert_allclose(quarter.to_numpy(), np.repeat(hourly.to_numpy(), 4))


def test_price_per_kwh_ends_at_coverage() -> None:
    first, end = price_coverage()
    tail = day_ahead_price_per_kwh(end - HOUR, end, freq="15min")
    assert len(tail) == 4 and not tail.isna().any()
    head = day_ahead_price_per_kwh(first, first + HOUR)
    assert head.iloc[0] == pytest.approx(34.94 / 1000.0)


@pytest.mark.parametrize(
    ("start", "end", "freq", "field"),
    [
        ("2014-12-31", "2015-01-02", "1h", "start/end"),
        ("2025-01-07", "2025-01-09", "1h", "start/end"),
        ("2024-06-02", "2024-06-01", "1h", "end"),
        ("2024-06-01 00:10", "2024-06-02", "15min", "start"),
        ("2024-06-01", "2024-06-02", "7min", "freq"),
        ("not a time", "2024-06-02", "1h", "start"),
    ],
)
def test_price_per_kwh_rejects_bad_input(start: str, end: str, freq: str, field: str) -> None:
    with pytest.raises(ProblemError) as info:
        day_ahead_price_per_kwh(start, end, freq=freq)
    assert any(issue.field == field for issue in info.value.issues)


# --------------------------------------------------------------------------------------------
# ElaadNL distributions and sampler
# --------------------------------------------------------------------------------------------

_COMBINATIONS = [(c, True) for c in CATEGORIES] + [("home", False), ("public", False)]


@pytest.mark.parametrize(("category", "weekday"), _COMBINATIONS)
def test_arrival_probability_is_a_distribution(category: str, weekday: bool) -> None:
    p = arrival_probability(category, weekday=weekday)
    assert p.shape == (96,)
    assert (p >= 0).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)


def test_workplace_has_no_weekend_and_unknown_category_is_named() -> None:
    with pytest.raises(ProblemError, match="weekend"):
        arrival_probability("workplace", weekday=False)
    with pytest.raises(ProblemError, match="category"):
        sample_sessions(10, 0, category="office")


@pytest.mark.parametrize("category", CATEGORIES)
def test_session_quantiles_are_monotone(category: str) -> None:
    q = session_quantiles(category)
    assert len(q) == 101
    assert q["quantile"].iloc[0] == 0.0 and q["quantile"].iloc[-1] == 1.0
    for column in ("quantile", "connection_h", "energy_kwh"):
        assert (np.diff(q[column].to_numpy()) >= 0).all(), column
    assert q["connection_h"].iloc[-1] == 72.0


def test_mean_by_arrival_has_48_half_hours() -> None:
    home = mean_by_arrival("home")
    assert len(home) == 48 and not home.isna().any().any()
    work = mean_by_arrival("workplace")
    assert work["mean_connection_h"].isna().sum() == 20  # 19:00 .. 04:30


def test_sampler_is_reproducible_and_in_range() -> None:
    a = sample_sessions(5000, np.random.default_rng(7))
    b = sample_sessions(5000, 7)
    c = sample_sessions(5000, 8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.connection_h, c.connection_h)
    assert a.arrival_slot.dtype == np.int64
    assert a.arrival_slot.min() >= 0 and a.arrival_slot.max() <= 95
    assert (a.connection_h > 0).all() and (a.connection_h <= 72.0).all()
    assert (a.energy_kwh >= 0).all() and (a.energy_kwh <= 99.9).all()
    empty = sample_sessions(0, 1)
    assert all(len(x) == 0 for x in empty)


def test_sampler_follows_the_distributions() -> None:
    n = 200_000
    s = sample_sessions(n, 3, weekday=False)
    # Arrival slots: total variation distance to the table is small for n = 2e5.
    freq = np.bincount(s.arrival_slot, minlength=96) / n
    assert 0.5 * np.abs(freq - arrival_probability("home", weekday=False)).sum() < 0.02
    # Conditional means follow ElaadNL's per-arrival means (home, arrivals 17:00-17:30: 14.9 h).
    at_17 = (s.arrival_slot // 2) == 34
    expected = mean_by_arrival("home")["mean_connection_h"].iloc[34]
    assert s.connection_h[at_17].mean() == pytest.approx(expected, rel=0.05)
    # Without conditioning the marginal quantiles are reproduced.
    m = sample_sessions(n, 3, conditional=False)
    q = session_quantiles("home")
    assert np.median(m.connection_h) == pytest.approx(q["connection_h"].iloc[50], rel=0.03)
    assert np.median(m.energy_kwh) == pytest.approx(q["energy_kwh"].iloc[50], rel=0.03)


@pytest.mark.parametrize("n", [-1, 2.5, True])
def test_sampler_rejects_bad_n(n: object) -> None:
    with pytest.raises(ProblemError, match="n"):
        sample_sessions(n, 0)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------
# EV models
# --------------------------------------------------------------------------------------------


def test_ev_models_have_positive_capacity_and_power() -> None:
    models = ev_models()
    assert len(models) == 8 and models["model"].is_unique
    power_columns = [c for c in models.columns if c.endswith("_kw")]
    assert len(power_columns) == 5
    assert (models["capacity_kwh"] > 0).all()
    assert (models[power_columns] > 0).all().all()
    assert models["charge_efficiency_ac_3ph_16a"].between(0.5, 1.0).all()
    assert (models["registrations_nl"] > 0).all()


def test_sample_models_is_reproducible_and_weighted() -> None:
    a = sample_models(20_000, 11)
    b = sample_models(20_000, np.random.default_rng(11))
    pd.testing.assert_frame_equal(a, b)
    assert list(a.columns) == list(ev_models().columns)
    models = ev_models()
    expected = models.set_index("model")["registrations_nl"]
    expected = expected / expected.sum()
    observed = a["model"].value_counts(normalize=True).reindex(expected.index, fill_value=0)
    assert np.abs(observed - expected).max() < 0.02
    uniform = sample_models(20_000, 11, weighted=False)["model"].value_counts(normalize=True)
    assert np.abs(uniform - 1 / 8).max() < 0.02


# --------------------------------------------------------------------------------------------
# Household load (demandlib H25)
# --------------------------------------------------------------------------------------------


def test_household_load_integrates_to_annual_kwh_over_a_local_year() -> None:
    start = pd.Timestamp("2025-01-01", tz=LOCAL_TZ)
    load = household_load_kw(start, 365, 2800.0)
    assert load.name == "household_load_kw"
    assert str(load.index.tz) == "UTC"
    assert len(load) == 365 * 96
    assert _steps(load.index) == {pd.Timedelta("15min")}
    assert load.index[0] == start.tz_convert("UTC")
    assert not load.isna().any() and (load > 0).all()
    # Scaling is exact per local calendar year: only float rounding remains.
    assert load.sum() * 0.25 == pytest.approx(2800.0, rel=1e-9)
    # Plausible shape: mean 2800/8760 kW, peak a few times the mean.
    assert load.mean() == pytest.approx(2800.0 / 8760.0, rel=1e-9)
    assert 1.5 < load.max() / load.mean() < 4.0


def test_household_load_for_a_utc_window() -> None:
    # 365 UTC days from 2025-01-01 00:00 UTC are the local year shifted by one hour, so the
    # energy differs from annual_kwh by at most one hour of load at each end (< 0.05 %).
    load = household_load_kw("2025-01-01", 365, 3500.0)
    assert load.index[0] == pd.Timestamp("2025-01-01", tz="UTC")
    assert load.sum() * 0.25 == pytest.approx(3500.0, rel=5e-4)


def test_household_load_across_dst_and_holidays() -> None:
    load = household_load_kw("2024-03-30", 3, 3000.0)  # spring DST on Sunday 2024-03-31
    assert len(load) == 3 * 96 and not load.isna().any()
    plain = household_load_kw("2024-12-24T23:00Z", 1, 3000.0)
    holiday = household_load_kw("2024-12-24T23:00Z", 1, 3000.0, holidays=[dt.date(2024, 12, 25)])
    assert not np.allclose(plain.to_numpy(), holiday.to_numpy())


@pytest.mark.parametrize(
    ("start", "days", "annual_kwh", "field"),
    [
        ("2025-01-01 00:05", 1, 3000.0, "start"),
        ("2025-01-01", 0, 3000.0, "days"),
        ("2025-01-01", 1, -1.0, "annual_kwh"),
        ("2025-01-01", 1, float("nan"), "annual_kwh"),
    ],
)
def test_household_load_rejects_bad_input(
    start: str, days: int, annual_kwh: float, field: str
) -> None:
    with pytest.raises(ProblemError) as info:
        household_load_kw(start, days, annual_kwh)
    assert any(issue.field == field for issue in info.value.issues)
