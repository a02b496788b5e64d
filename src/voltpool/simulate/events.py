"""Scenario events on the simulator's slot grid: outages (V2H) and V2V offers and requests.

Times in a scenario are local wall-clock times; here they become slot indices of the world's
extended grid (a slot starting at or after the time; an event ending mid-slot ends with that
slot). Car and home names become indices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError
from voltpool.scenario import Scenario
from voltpool.scenario.model import OutageEvent, V2VOfferEvent, V2VRequestEvent


@dataclass(frozen=True)
class Outage:
    """Homes cut off from the grid for slots ``start_slot <= t < end_slot``."""

    homes: np.ndarray
    start_slot: int
    end_slot: int
    expected_end_slot: int
    """Where the households' plan ends (the announced end): after ``end_slot`` the grid comes
    back early; before it, the plan is extended when it runs out."""


@dataclass(frozen=True)
class Offer:
    id: str
    vehicle: int
    posted_slot: int
    start_slot: int
    end_slot: int
    max_energy_kwh: float
    keep_above_soc: float
    price_credits_per_kwh: float
    event: int
    """Position in the scenario's ``events`` (for error messages)."""


@dataclass(frozen=True)
class Request:
    id: str
    vehicle: int
    posted_slot: int
    deadline_slot: int
    energy_kwh: float
    max_price_credits_per_kwh: float


@dataclass(frozen=True)
class GridEvents:
    outages: tuple[Outage, ...]
    offers: tuple[Offer, ...]
    requests: tuple[Request, ...]

    def islanded(self, n_homes: int, n_slots: int) -> np.ndarray:
        """``[H, T]`` true where a home is cut off from the grid."""
        mask = np.zeros((n_homes, n_slots), dtype=bool)
        for outage in self.outages:
            mask[np.ix_(outage.homes, np.arange(outage.start_slot, outage.end_slot))] = True
        return mask


def slot_of(scenario: Scenario, index: pd.DatetimeIndex, when: object) -> int:
    """First slot starting at or after ``when`` (local unless it carries a zone), clipped."""
    stamp = scenario.event_time_utc(when)  # type: ignore[arg-type]
    return int(np.clip(index.searchsorted(stamp), 0, len(index)))


def check_offers(events: GridEvents, max_discharge_kw: np.ndarray, names: tuple[str, ...]) -> None:
    """Refuse V2V offers from cars whose charger cannot discharge (one-way)."""
    issues = [
        FieldIssue(
            f"events[{offer.event}].car",
            f"{names[offer.vehicle]} has a one-way charger (max_discharge_kw = 0): it cannot give",
        )
        for offer in events.offers
        if max_discharge_kw[offer.vehicle] <= 0
    ]
    if issues:
        raise ProblemError(issues)


def grid_events(
    scenario: Scenario, index: pd.DatetimeIndex, rng: np.random.Generator
) -> GridEvents:
    """Convert the scenario's outage and V2V events (a home share is drawn with ``rng``)."""
    home = {name: n for n, name in enumerate(scenario.home_ids)}
    car = {name: n for n, name in enumerate(scenario.vehicle_ids)}
    outages = []
    for event in scenario.events_of(OutageEvent):
        if event.homes is not None:
            homes = np.array(sorted(home[name] for name in event.homes))
        else:
            count = round(float(event.home_share or 0.0) * scenario.homes.count)
            homes = np.sort(rng.choice(scenario.homes.count, count, replace=False))
        start, end = slot_of(scenario, index, event.start), slot_of(scenario, index, event.end)
        expected = slot_of(scenario, index, event.expected_end or event.end)
        outages.append(Outage(homes.astype(np.int64), start, end, max(expected, start + 1)))
    offers = tuple(
        Offer(
            e.id,
            car[e.car],
            slot_of(scenario, index, e.at),
            slot_of(scenario, index, e.start),
            slot_of(scenario, index, e.end),
            e.max_energy_kwh,
            e.keep_above_soc,
            e.price_credits_per_kwh,
            scenario.events.index(e),
        )
        for e in scenario.events_of(V2VOfferEvent)
    )
    requests = tuple(
        Request(
            e.id,
            car[e.car],
            slot_of(scenario, index, e.at),
            slot_of(scenario, index, e.deadline),
            e.energy_kwh,
            e.max_price_credits_per_kwh,
        )
        for e in scenario.events_of(V2VRequestEvent)
    )
    return GridEvents(tuple(outages), offers, requests)
