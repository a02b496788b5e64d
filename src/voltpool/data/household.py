"""Household electricity load from the BDEW H25 standard load profile (via demandlib).

H25 is the 2025 revision of the German household standard load profile (BDEW, based on 2018
and 2019 metering data, with the "dynamisation" polynomial over the day of the year). demandlib
(MIT) ships the table, so nothing is downloaded. The profile is defined on local wall-clock
time; here it is evaluated in ``local_tz`` (default Europe/Amsterdam, which shares Germany's
clock) and returned on a UTC index.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd
from demandlib.bdew import H25

from voltpool.data._time import TimeLike, check_aligned, to_utc
from voltpool.errors import FieldIssue, ProblemError

SLOT = pd.Timedelta("15min")
DT_H = 0.25
"""Slot length [h] of the returned series."""


def _h25_kw(index: pd.DatetimeIndex, holidays: list[dt.date] | None) -> np.ndarray:
    """Raw H25 values [kW per 1 GWh/a] on a 15-minute local index with ``freq`` set."""
    with warnings.catch_warnings():
        # demandlib 0.2.2 uses pandas ``inplace=`` arguments that pandas >= 3 deprecates.
        warnings.filterwarnings("ignore", module="demandlib")
        return H25(index, holidays=holidays).to_numpy(dtype=float)


def household_load_kw(
    start: TimeLike,
    days: int,
    annual_kwh: float,
    *,
    holidays: Iterable[dt.date] | None = None,
    local_tz: str = "Europe/Amsterdam",
) -> pd.Series:
    """Household load following the BDEW H25 profile, at 15-minute resolution.

    The profile is scaled so that it integrates to exactly ``annual_kwh`` over each *local*
    calendar year (BDEW's own 1 GWh scaling gives 0.995-0.998 of that, depending on the
    year's weekdays and holidays).

    Parameters
    ----------
    start : str, datetime or pandas.Timestamp
        First slot; a naive value is read as UTC. Must lie on a 15-minute boundary.
    days : int
        Length of the series in days of 24 h (``96 * days`` slots), >= 1.
    annual_kwh : float
        Yearly consumption of the household [kWh/a], > 0.
    holidays : iterable of datetime.date, optional
        Dates evaluated as Sundays/holidays ("FT" day type). Default: none.
    local_tz : str, default "Europe/Amsterdam"
        Time zone whose wall clock the profile follows.

    Returns
    -------
    pandas.Series
        ``household_load_kw`` [kW], mean power in each slot, on a tz-aware UTC index with
        step 15 min; energy per slot is ``value * 0.25`` [kWh].

    Raises
    ------
    ProblemError
        If ``start`` is not an aligned timestamp, ``days`` is not a positive integer or
        ``annual_kwh`` is not positive and finite.

    Examples
    --------
    >>> load = household_load_kw("2025-01-01", days=1, annual_kwh=3500)
    >>> len(load), str(load.index.tz)
    (96, 'UTC')
    """
    start_utc = to_utc(start, "start")
    issues = []
    if isinstance(days, bool) or not isinstance(days, int | np.integer) or days < 1:
        issues.append(FieldIssue("days", f"must be an integer >= 1, got {days!r}"))
    if (
        isinstance(annual_kwh, bool)
        or not isinstance(annual_kwh, numbers.Real)
        or not math.isfinite(annual_kwh)
        or annual_kwh <= 0
    ):
        issues.append(FieldIssue("annual_kwh", f"must be a finite number > 0, got {annual_kwh!r}"))
    if issues:
        raise ProblemError(issues)
    check_aligned(start_utc, SLOT, "start")
    holiday_list = None if holidays is None else list(holidays)

    index_utc = pd.date_range(start_utc, periods=int(days) * 96, freq=SLOT, name="time_utc")
    index_local = index_utc.tz_convert(local_tz)
    first_year, last_year = index_local[0].year, index_local[-1].year
    years_local = pd.date_range(
        pd.Timestamp(first_year, 1, 1).tz_localize(local_tz),
        pd.Timestamp(last_year + 1, 1, 1).tz_localize(local_tz),
        freq=SLOT,
        inclusive="left",
    )
    raw = pd.Series(_h25_kw(years_local, holiday_list), index=years_local)
    energy_per_year_kwh = raw.groupby(years_local.year).transform("sum") * DT_H
    scaled = raw * (float(annual_kwh) / energy_per_year_kwh)
    values = scaled.reindex(index_local).to_numpy()
    return pd.Series(values, index=index_utc, name="household_load_kw")
