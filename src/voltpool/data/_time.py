"""Timestamp handling shared by the loaders: every edge is tz-aware UTC."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError

TimeLike = str | dt.datetime | dt.date | pd.Timestamp | np.datetime64
"""Anything :class:`pandas.Timestamp` accepts; naive values are taken as UTC."""


def to_utc(value: TimeLike, field: str) -> pd.Timestamp:
    """Convert ``value`` to a tz-aware UTC timestamp; a naive value is read as UTC.

    Raises
    ------
    ProblemError
        If ``value`` is not a timestamp, naming ``field``.
    """
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ProblemError([FieldIssue(field, f"must be a timestamp ({exc})")]) from None
    if pd.isna(stamp):
        raise ProblemError([FieldIssue(field, "must be a timestamp, got NaT")])
    if stamp.tzinfo is None:
        return stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC")


def check_aligned(stamp: pd.Timestamp, step: pd.Timedelta, field: str) -> None:
    """Raise unless ``stamp`` lies on a multiple of ``step`` since the epoch (UTC)."""
    if stamp != stamp.floor(step):
        raise ProblemError(
            [FieldIssue(field, f"must be aligned to {step} boundaries, got {stamp.isoformat()}")]
        )
