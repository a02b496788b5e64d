"""The simulator's forecast source: what a planner at slot t could know of the next slots.

Base load by persistence (the same slot a day earlier) or perfectly; day-ahead prices once
published (13:00 local for the next day), beyond that the latest published day repeated;
import and export limits as announced (congestion events are announced in advance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from voltpool.control import Forecast
from voltpool.simulate.world import World

PUBLICATION_HOUR_LOCAL = 13
"""Day-ahead results for tomorrow are public by about 12:45 local time (EPEX, SDAC)."""


def price_known_until(world: World) -> np.ndarray:
    """For every slot t: the first slot whose day-ahead price is not yet published at t."""
    local = world.index.tz_convert(world.scenario.timezone)
    next_midnight = local.normalize() + pd.Timedelta(days=1)
    after_auction = local.hour >= PUBLICATION_HOUR_LOCAL
    known_end = next_midnight + pd.to_timedelta(after_auction.astype(int), unit="D")
    step = pd.Timedelta(minutes=world.scenario.slot_minutes)
    return ((known_end.tz_convert("UTC") - world.index[0]) // step).to_numpy(np.int64)


class WorldForecast:
    """A :class:`~voltpool.control.ForecastSource` on the simulated world's slot grid."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.perfect = world.scenario.planning.forecast == "perfect"
        self.known_until = price_known_until(world)

    def forecast(self, t: int, horizon_slots: int) -> Forecast:
        world = self.world
        day = world.slots_per_day
        slots = np.arange(t, t + horizon_slots)
        if self.perfect:
            base = world.base_load_kw[slots]
            source = slots
        else:
            base = world.base_load_kw[slots - day]
            days_back = np.maximum(0, -((self.known_until[t] - slots - 1) // day))
            source = slots - day * days_back
        return Forecast(
            base_load_kw=base,
            import_price_per_kwh=world.import_price_per_kwh[source],
            export_price_per_kwh=world.export_price_per_kwh[source],
            import_limit_kw=world.import_limit_kw[slots],
            export_limit_kw=world.export_limit_kw[slots],
        )
