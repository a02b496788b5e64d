"""ElaadNL charging-session statistics and a vectorized session sampler.

Source: ElaadNL open charging statistics (Dutch charge points), as published in EV2Gym 2.0.0.
Categories: ``home`` (ElaadNL "private"/"home"), ``public`` and ``workplace`` ("work").
Arrival times are local clock times (Europe/Amsterdam) in 15-minute slots of the day. The
connection-time and energy distributions are not split by weekday/weekend in the source; the
arrival distribution is, and has no workplace curve for weekends. See ``files/README.md``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from voltpool.data._files import ARRIVAL_FILE, BY_ARRIVAL_FILE, QUANTILES_FILE, read_csv
from voltpool.errors import FieldIssue, ProblemError

CATEGORIES = ("home", "public", "workplace")
SLOTS_PER_DAY = 96
"""Arrival slots are the 96 quarter hours of a local day: slot ``k`` starts at ``k * 15`` min."""


class SessionSample(NamedTuple):
    """``n`` sampled charging sessions as parallel arrays (struct of arrays).

    Attributes
    ----------
    arrival_slot : numpy.ndarray of int64
        Quarter hour of the local day in which the car arrives, 0..95.
    connection_h : numpy.ndarray of float
        Time plugged in [h], > 0 (almost surely) and at most 72.
    energy_kwh : numpy.ndarray of float
        Energy the session delivers/requests [kWh], >= 0 and at most ~100. Not checked against
        any car's capacity or power limit: that is the caller's job.
    """

    arrival_slot: np.ndarray
    connection_h: np.ndarray
    energy_kwh: np.ndarray


def _check_category(category: str, weekday: bool) -> None:
    if category not in CATEGORIES:
        raise ProblemError(
            [FieldIssue("category", f"must be one of {CATEGORIES}, got {category!r}")]
        )
    if category == "workplace" and not weekday:
        raise ProblemError(
            [FieldIssue("category", "ElaadNL has no weekend arrival data for 'workplace'")]
        )


@lru_cache(maxsize=1)
def _arrival_table() -> pd.DataFrame:
    return read_csv(ARRIVAL_FILE)


@lru_cache(maxsize=1)
def _quantile_table() -> pd.DataFrame:
    return read_csv(QUANTILES_FILE)


@lru_cache(maxsize=1)
def _by_arrival_table() -> pd.DataFrame:
    return read_csv(BY_ARRIVAL_FILE)


def arrival_probability(category: str = "home", *, weekday: bool = True) -> np.ndarray:
    """Probability that a session arrives in each quarter hour of the local day.

    Parameters
    ----------
    category : {"home", "public", "workplace"}, default "home"
    weekday : bool, default True
        Weekday (Mon-Fri) or weekend distribution.

    Returns
    -------
    numpy.ndarray
        Shape ``(96,)``, non-negative, sums to 1; entry ``k`` covers ``[k*15, (k+1)*15)`` min.
    """
    _check_category(category, weekday)
    table = _arrival_table()
    day_type = "weekday" if weekday else "weekend"
    rows = table[(table["day_type"] == day_type) & (table["category"] == category)]
    return rows.sort_values("slot")["probability"].to_numpy(dtype=float)


def session_quantiles(category: str = "home") -> pd.DataFrame:
    """Quantile functions of connection time and energy per session.

    Returns
    -------
    pandas.DataFrame
        101 rows: ``quantile`` (0, 0.01, ..., 1), ``connection_h`` [h] and ``energy_kwh`` [kWh],
        both non-decreasing. ElaadNL caps the curves at 72 h and ~100 kWh.
    """
    _check_category(category, True)
    table = _quantile_table()
    rows = table[table["category"] == category]
    return rows[["quantile", "connection_h", "energy_kwh"]].reset_index(drop=True)


def mean_by_arrival(category: str = "home") -> pd.DataFrame:
    """Mean connection time and energy per half hour of arrival (local time).

    Returns
    -------
    pandas.DataFrame
        48 rows, ``slot_30min`` 0..47, ``time_local``, ``mean_connection_h`` [h] and
        ``mean_energy_kwh`` [kWh]; NaN where the source has no value (workplace arrivals
        19:00-04:30).
    """
    _check_category(category, True)
    table = _by_arrival_table()
    rows = table[table["category"] == category].set_index("slot_30min")
    full = pd.DataFrame(index=pd.RangeIndex(48, name="slot_30min"))
    full["time_local"] = [f"{h:02d}:{m:02d}" for h in range(24) for m in (0, 30)]
    full["mean_connection_h"] = rows["mean_connection_h"]
    full["mean_energy_kwh"] = rows["mean_energy_kwh"]
    return full.reset_index()


def _integral(values: np.ndarray, grid: np.ndarray) -> float:
    """Trapezoidal integral (``np.trapezoid`` is numpy >= 2 only)."""
    return float(np.sum(np.diff(grid) * (values[1:] + values[:-1]) / 2.0))


@lru_cache(maxsize=len(CATEGORIES))
def _sampler_tables(
    category: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Quantile grid, quantile values and per-slot scale factors for ``category``."""
    q = session_quantiles(category)
    grid = q["quantile"].to_numpy()
    connection = q["connection_h"].to_numpy()
    energy = q["energy_kwh"].to_numpy()
    # Mean of the piecewise-linear quantile function = mean of the marginal draws.
    marginal_connection = _integral(connection, grid)
    marginal_energy = _integral(energy, grid)
    by = mean_by_arrival(category)
    slot_of_half_hour = np.arange(SLOTS_PER_DAY) // 2
    scale_connection = by["mean_connection_h"].to_numpy()[slot_of_half_hour] / marginal_connection
    scale_energy = by["mean_energy_kwh"].to_numpy()[slot_of_half_hour] / marginal_energy
    scale_connection = np.where(np.isnan(scale_connection), 1.0, scale_connection)
    scale_energy = np.where(np.isnan(scale_energy), 1.0, scale_energy)
    return grid, connection, energy, scale_connection, scale_energy


def sample_sessions(
    n: int,
    rng: np.random.Generator | int | None = None,
    *,
    weekday: bool = True,
    category: str = "home",
    conditional: bool = True,
) -> SessionSample:
    """Draw ``n`` independent charging sessions from the ElaadNL distributions.

    The arrival slot is drawn from :func:`arrival_probability`. Connection time and energy are
    drawn independently by inverse-transform sampling of :func:`session_quantiles` (linear
    between the 1 % points). With ``conditional=True`` each draw is then multiplied by
    ``mean_by_arrival(slot) / marginal_mean`` so that its mean matches ElaadNL's mean for that
    arrival half hour (e.g. home arrivals at 17:00 stay ~15 h, at 10:00 ~3.4 h) while keeping
    the shape of the marginal distribution; results are clipped to the table maxima (72 h,
    ~100 kWh). Without it, arrival, connection time and energy are independent, which
    misrepresents overnight plug-ins.

    Parameters
    ----------
    n : int
        Number of sessions, >= 0.
    rng : numpy.random.Generator or int or None
        Random generator, or a seed for :func:`numpy.random.default_rng`.
    weekday : bool, default True
        Use the weekday (Mon-Fri) or weekend arrival distribution.
    category : {"home", "public", "workplace"}, default "home"
    conditional : bool, default True
        Scale connection time and energy by the per-arrival-time means (see above).

    Returns
    -------
    SessionSample
        ``(arrival_slot, connection_h [h], energy_kwh [kWh])``, each of length ``n``.

    Examples
    --------
    >>> s = sample_sessions(1000, 42)
    >>> s.arrival_slot.shape, bool((s.connection_h <= 72).all())
    ((1000,), True)
    """
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0:
        raise ProblemError([FieldIssue("n", f"must be an integer >= 0, got {n!r}")])
    _check_category(category, weekday)
    generator = np.random.default_rng(rng)
    grid, connection_q, energy_q, scale_connection, scale_energy = _sampler_tables(category)
    probability = arrival_probability(category, weekday=weekday)
    arrival_slot = generator.choice(SLOTS_PER_DAY, size=int(n), p=probability).astype(np.int64)
    u = generator.random((2, int(n)))
    connection_h = np.interp(u[0], grid, connection_q)
    energy_kwh = np.interp(u[1], grid, energy_q)
    if conditional:
        connection_h = np.minimum(connection_h * scale_connection[arrival_slot], connection_q[-1])
        energy_kwh = np.minimum(energy_kwh * scale_energy[arrival_slot], energy_q[-1])
    return SessionSample(arrival_slot, connection_h, energy_kwh)
