"""What a community expects over the next slots: its homes' own load, its tariff's prices and
its feeder limits, as the controller's :class:`~voltpool.control.ForecastSource`.

Day-ahead prices are the shipped ENTSO-E Netherlands prices
(:func:`voltpool.data.prices.day_ahead_price_per_kwh`). For times after the shipped data the
price of the same slot a whole number of 52-week years earlier stands in (same weekday, same
season): voltpool fetches nothing at run time, and the grid-signals adapter (OpenADR 3,
published day-ahead prices) replaces this source when it lands. The homes' load is flat at
their ``house_load_kw`` (no meters yet).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from voltpool.control import Forecast
from voltpool.data.prices import day_ahead_price_per_kwh, price_coverage
from voltpool.model import SlotGrid
from voltpool.model.tariffs import RetailTariff

STAND_IN_STEP = pd.Timedelta(weeks=52)


def stand_in_offset(start: pd.Timestamp, end: pd.Timestamp) -> pd.Timedelta:
    """How far back (whole 52-week steps) ``[start, end)`` moves to lie in the shipped
    prices (zero when it lies there already)."""
    _first, last = price_coverage()
    if end <= last:
        return pd.Timedelta(0)
    return STAND_IN_STEP * math.ceil((end - last) / STAND_IN_STEP)


@dataclass(frozen=True)
class CommunityForecast:
    clock: SlotGrid
    prices: RetailTariff
    house_load_kw: float
    import_limit_kw: float
    export_limit_kw: float

    def forecast(self, t: int, horizon_slots: int) -> Forecast:
        start, end = self.clock.time(t), self.clock.time(t + horizon_slots)
        step = f"{self.clock.slot_minutes}min"
        slot_start = pd.date_range(start, periods=horizon_slots, freq=step)
        day_ahead = None
        if self.prices.needs_day_ahead:
            back = stand_in_offset(start, end)
            day_ahead = day_ahead_price_per_kwh(start - back, end - back, freq=step).to_numpy()
        slots = self.prices.prices(horizon_slots, day_ahead, slot_start)
        return Forecast(
            base_load_kw=np.full(horizon_slots, self.house_load_kw),
            import_price_per_kwh=slots.import_price_per_kwh,
            export_price_per_kwh=slots.export_price_per_kwh,
            import_limit_kw=np.full(horizon_slots, self.import_limit_kw),
            export_limit_kw=np.full(horizon_slots, self.export_limit_kw),
        )
