"""ENTSO-E day-ahead electricity prices for the Netherlands (hourly, 2015-01-01..2025-01-07 UTC).

Source: ENTSO-E Transparency Platform, as redistributed in EV2Gym 2.0.0; cleaned by
:func:`voltpool.data.build.clean_day_ahead_prices`. See ``files/README.md``.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from voltpool.data._files import PRICES_FILE, read_csv
from voltpool.data._time import TimeLike, check_aligned, to_utc
from voltpool.errors import FieldIssue, ProblemError

_HOUR = pd.Timedelta("1h")


@lru_cache(maxsize=1)
def _prices() -> pd.DataFrame:
    frame = read_csv(PRICES_FILE, dtype={"price_eur_per_mwh": float, "imputed": int})
    index = pd.DatetimeIndex(pd.to_datetime(frame["time_utc"], utc=True), name="time_utc")
    return pd.DataFrame(
        {
            "price_eur_per_mwh": frame["price_eur_per_mwh"].to_numpy(),
            "imputed": frame["imputed"].to_numpy().astype(bool),
        },
        index=index,
    )


def day_ahead_prices() -> pd.DataFrame:
    """Return the whole shipped hourly day-ahead price series.

    Returns
    -------
    pandas.DataFrame
        Index ``time_utc`` (tz-aware UTC, start of each delivery hour, hourly, no gaps);
        columns ``price_eur_per_mwh`` [EUR/MWh] and ``imputed`` (bool: hour missing in the
        source and linearly interpolated; 2 of 87,840 hours).
    """
    return _prices().copy()


def price_coverage() -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return ``(first, end)`` [UTC] of the shipped prices; ``end`` is exclusive."""
    index = _prices().index
    return index[0], index[-1] + _HOUR


def day_ahead_price_per_kwh(
    start: TimeLike, end: TimeLike, *, freq: str | pd.Timedelta = "1h"
) -> pd.Series:
    """Netherlands day-ahead price for the half-open interval ``[start, end)``.

    Parameters
    ----------
    start, end : str, datetime or pandas.Timestamp
        Interval bounds; naive values are read as UTC. Both must lie on ``freq`` boundaries
        and inside :func:`price_coverage`.
    freq : str or pandas.Timedelta, default "1h"
        Output step; must divide one hour (e.g. ``"15min"``). Each hourly price is
        forward-filled over the slots of its hour.

    Returns
    -------
    pandas.Series
        ``price_eur_per_kwh`` [EUR/kWh] on a tz-aware UTC index of step ``freq``. Prices can
        be negative.

    Raises
    ------
    ProblemError
        If a bound is not a timestamp, not aligned, outside the data, or ``end <= start``, or
        ``freq`` does not divide one hour.

    Examples
    --------
    >>> p = day_ahead_price_per_kwh("2024-06-01", "2024-06-02", freq="15min")
    >>> len(p)
    96
    """
    start_utc, end_utc = to_utc(start, "start"), to_utc(end, "end")
    try:
        step = pd.Timedelta(freq)
    except (TypeError, ValueError):
        raise ProblemError([FieldIssue("freq", f"must be a time step, got {freq!r}")]) from None
    if step <= pd.Timedelta(0) or _HOUR % step != pd.Timedelta(0):
        raise ProblemError([FieldIssue("freq", f"must divide one hour, got {step}")])
    check_aligned(start_utc, step, "start")
    check_aligned(end_utc, step, "end")
    first, last_end = price_coverage()
    issues = []
    if end_utc <= start_utc:
        issues.append(FieldIssue("end", f"must be after start ({start_utc.isoformat()})"))
    if start_utc < first or end_utc > last_end:
        issues.append(
            FieldIssue(
                "start/end",
                f"must lie within the shipped prices {first.isoformat()} .. {last_end.isoformat()}",
            )
        )
    if issues:
        raise ProblemError(issues)
    hourly = _prices()["price_eur_per_mwh"].loc[start_utc.floor(_HOUR) : end_utc - step]
    index = pd.date_range(start_utc, end_utc, freq=step, inclusive="left", name="time_utc")
    values = hourly.reindex(index, method="ffill").to_numpy() / 1000.0
    return pd.Series(values, index=index, name="price_eur_per_kwh")
