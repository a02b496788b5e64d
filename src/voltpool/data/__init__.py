"""Real data that works offline: prices, charging sessions, EV models and household load.

Every loader reads files shipped in ``voltpool/data/files/`` (see its ``README.md`` for sources,
licences and cleaning) or, for household load, tables shipped inside demandlib. Time series come
back on tz-aware UTC indexes; units are in the names.

- :func:`day_ahead_price_per_kwh`, :func:`day_ahead_prices`, :func:`price_coverage` - ENTSO-E
  Netherlands day-ahead prices, hourly 2015-01-01 .. 2025-01-07 (UTC).
- :func:`sample_sessions`, :func:`arrival_probability`, :func:`session_quantiles`,
  :func:`mean_by_arrival` - ElaadNL charging-session statistics.
- :func:`ev_models`, :func:`sample_models` - V2G-capable EV models (EV2Gym's 2024 list).
- :func:`household_load_kw` - BDEW H25 household profile via demandlib.
"""

from voltpool.data.elaad import (
    CATEGORIES,
    SessionSample,
    arrival_probability,
    mean_by_arrival,
    sample_sessions,
    session_quantiles,
)
from voltpool.data.ev_models import ev_models, sample_models
from voltpool.data.household import household_load_kw
from voltpool.data.prices import day_ahead_price_per_kwh, day_ahead_prices, price_coverage

__all__ = [
    "CATEGORIES",
    "SessionSample",
    "arrival_probability",
    "day_ahead_price_per_kwh",
    "day_ahead_prices",
    "ev_models",
    "household_load_kw",
    "mean_by_arrival",
    "price_coverage",
    "sample_models",
    "sample_sessions",
    "session_quantiles",
]
