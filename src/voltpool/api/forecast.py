"""What a community expects over the next slots: its homes' own load, its tariff's prices and
its feeder limits, as the controller's :class:`~voltpool.control.ForecastSource`.

Day-ahead prices are the shipped ENTSO-E Netherlands prices
(:func:`voltpool.data.prices.day_ahead_price_per_kwh`). For times after the shipped data the
price of the same slot a whole number of 52-week years earlier stands in (same weekday, same
season): voltpool fetches nothing at run time, and the grid-signals adapter (OpenADR 3,
published day-ahead prices) replaces this source when it lands. The homes' load is flat at
their ``house_load_kw`` (no meters yet). Grid events (:class:`EventWindow`) lower the limits
or set the price in their slots.
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
class EventWindow:
    """A grid event as the forecast applies it (:class:`voltpool.api.store.tables.GridEvent`):
    ``[start, end)`` UTC; a limit caps the site (the lower one wins), a price replaces the
    import price (the export price is capped at it), an outage takes the load of the homes
    it cuts off (``house_load_off_kw``) off the feeder. An event that covers part of a slot
    (one posted now, mid-slot) caps all of it, since a slot's power is held for the whole
    slot; its price and load count by the share of the slot it covers."""

    start: pd.Timestamp
    end: pd.Timestamp
    import_limit_kw: float | None = None
    export_limit_kw: float | None = None
    price_per_kwh: float | None = None
    house_load_off_kw: float = 0.0


def _share_covered(
    slot_start: pd.DatetimeIndex, slot_length: pd.Timedelta, event: EventWindow
) -> np.ndarray:
    """The share of each slot ``[start, start + slot_length)`` that ``event`` covers (0 to 1)."""
    first = np.maximum(slot_start, event.start)
    last = np.minimum(slot_start + slot_length, event.end)
    covered = (last - first) / slot_length
    return np.clip(np.asarray(covered, dtype=float), 0.0, 1.0)


@dataclass(frozen=True)
class CommunityForecast:
    clock: SlotGrid
    prices: RetailTariff
    house_load_kw: float
    import_limit_kw: float
    export_limit_kw: float
    events: tuple[EventWindow, ...] = ()

    def forecast(self, t: int, horizon_slots: int) -> Forecast:
        start, end = self.clock.time(t), self.clock.time(t + horizon_slots)
        step = f"{self.clock.slot_minutes}min"
        slot_start = pd.date_range(start, periods=horizon_slots, freq=step)
        day_ahead = None
        if self.prices.needs_day_ahead:
            back = stand_in_offset(start, end)
            day_ahead = day_ahead_price_per_kwh(start - back, end - back, freq=step).to_numpy()
        slots = self.prices.prices(horizon_slots, day_ahead, slot_start)
        buy = slots.import_price_per_kwh.copy()
        sell = slots.export_price_per_kwh.copy()
        base_kw = np.full(horizon_slots, self.house_load_kw)
        import_kw = np.full(horizon_slots, self.import_limit_kw)
        export_kw = np.full(horizon_slots, self.export_limit_kw)
        slot_length = pd.Timedelta(step)
        for event in self.events:
            share = _share_covered(slot_start, slot_length, event)
            touched = share > 0.0
            if event.import_limit_kw is not None:
                import_kw[touched] = np.minimum(import_kw[touched], event.import_limit_kw)
            if event.export_limit_kw is not None:
                export_kw[touched] = np.minimum(export_kw[touched], event.export_limit_kw)
            if event.price_per_kwh is not None:
                capped_sell = np.minimum(sell, event.price_per_kwh)
                buy = (1.0 - share) * buy + share * event.price_per_kwh
                sell = (1.0 - share) * sell + share * capped_sell
            base_kw = np.maximum(base_kw - share * event.house_load_off_kw, 0.0)
        return Forecast(
            base_load_kw=base_kw,
            import_price_per_kwh=buy,
            export_price_per_kwh=sell,
            import_limit_kw=import_kw,
            export_limit_kw=export_kw,
        )
