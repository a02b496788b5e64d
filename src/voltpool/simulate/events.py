"""Scenario events on the simulator's slot grid: import limits (congestion), outages (V2H) and
V2V offers and requests.

Times in a scenario are local wall-clock times; here they become slot indices of the world's
extended grid (a slot starting at or after the time; an event ending mid-slot ends with that
slot). Car and home names become indices.

Every event is fitted to the world that was drawn, each change with a note (``World.notes``)
rather than an error, so that a scenario still runs when its counts, seed or period change:

- The period: an event lying wholly outside the simulated period ``[start, start + days)``
  is left out; one partly outside is clipped to it (an outage's ``expected_end``, what the
  households plan for, is kept).
- Outage homes: a listed home the neighbourhood does not have is left out, and the outage
  too when none of its homes is left.
- V2V cars: the car must exist and be plugged in at some time in the event's window (from
  its posting, or an offer's start if later, to its end or deadline), and an offer's car
  (the giver) must have a bidirectional charger. Otherwise, and for ``car = "auto"``, the
  event moves to the car that does, plugged in longest in the window and used by no other
  V2V event, the first id on a tie (so the same scenario and seed give the same car); with
  no such car it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from voltpool.scenario import Scenario
from voltpool.scenario.model import (
    AUTO_CAR,
    Event,
    ImportLimitEvent,
    OutageEvent,
    V2VOfferEvent,
    V2VRequestEvent,
    id_number,
)

if TYPE_CHECKING:
    from voltpool.simulate.world import Sessions

NAMES_SHOWN = 5
"""Ids a note lists before it only counts the rest."""


@dataclass(frozen=True)
class ImportLimit:
    """The transformer may import at most ``import_limit_kw`` for slots
    ``start_slot <= t < end_slot`` (a congestion event)."""

    start_slot: int
    end_slot: int
    import_limit_kw: float


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
    import_limits: tuple[ImportLimit, ...] = ()

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


def _listed(names: list[str]) -> str:
    """``a, b, c`` (the first :data:`NAMES_SHOWN`, then how many more)."""
    shown = ", ".join(names[:NAMES_SHOWN])
    more = len(names) - NAMES_SHOWN
    return f"{shown} and {more} more" if more > 0 else shown


def _acting(event: Event, slots: dict[str, int]) -> tuple[int, int]:
    """The slots ``begin <= t < stop`` in which the event acts (its ``begins`` all passed)."""
    return max(slots[key] for key in event.begins), slots[event.ends]


class _Fitting:
    """Fits a scenario's events to the simulated period and the drawn world, noting changes."""

    def __init__(self, scenario: Scenario, index: pd.DatetimeIndex) -> None:
        self.scenario = scenario
        self.index = index
        self.first_slot = int(index.searchsorted(scenario.start_utc))
        self.end_slot = self.first_slot + scenario.n_slots
        self.notes: list[str] = []

    def local(self, stamp: pd.Timestamp) -> str:
        """``stamp`` in the scenario's zone (``2024-01-16 18:00``)."""
        return f"{stamp.tz_convert(self.scenario.timezone):%Y-%m-%d %H:%M}"

    def time(self, slot: int) -> str:
        """The local start of ``slot``."""
        return self.local(self.index[0] + slot * pd.Timedelta(minutes=self.scenario.slot_minutes))

    def span(self, start_slot: int, end_slot: int) -> str:
        return f"{self.time(start_slot)} .. {self.time(end_slot)}"

    def name(self, number: int, event: Event) -> str:
        """``events[3] (v2v_offer offer-ana)``: how a note names an event."""
        label = getattr(event, "id", "")
        return f"events[{number}] ({event.type}{' ' + label if label else ''})"

    def window(self, number: int, event: Event) -> dict[str, int] | None:
        """The slots of the event's times, clipped to the period; None if it lies outside."""
        stamps = {
            key: self.scenario.event_time_utc(getattr(event, key))
            for key in (*event.begins, event.ends)
        }
        slots = {key: slot_of(self.scenario, self.index, stamp) for key, stamp in stamps.items()}
        begin, stop = _acting(event, slots)
        earliest = min(slots[key] for key in event.begins)
        opens = min(stamps[key] for key in event.begins)
        own = f"{self.local(opens)} .. {self.local(stamps[event.ends])}"
        period = f"the simulated period {self.span(self.first_slot, self.end_slot)}"
        if stop <= self.first_slot or begin >= self.end_slot:
            self.notes.append(
                f"{self.name(number, event)}, {own}, lies wholly outside {period}: it is left out"
            )
            return None
        if earliest < self.first_slot or stop > self.end_slot:
            slots = {key: min(max(s, self.first_slot), self.end_slot) for key, s in slots.items()}
            inside = self.span(*_acting(event, slots))
            self.notes.append(
                f"{self.name(number, event)}, {own}, lies partly outside {period}: "
                f"only {inside} is simulated"
            )
        return slots

    def listed_homes(self, number: int, event: OutageEvent, names: list[str]) -> np.ndarray:
        """The outage's listed homes that exist, with a note for those that do not."""
        count = self.scenario.homes.count
        numbers = {name: id_number("home", name) or 0 for name in names}
        missing = sorted(name for name, n in numbers.items() if n > count)
        homes = np.array(sorted({n - 1 for n in numbers.values() if n <= count}), dtype=np.int64)
        if missing:
            lacking = (
                f"{self.name(number, event)}: {len(missing)} of its {len(numbers)} homes "
                f"({_listed(missing)}) do not exist (homes.count = {count})"
            )
            self.notes.append(
                f"{lacking}; the outage cuts off the other {homes.size}"
                if homes.size
                else f"{lacking}: it is left out"
            )
        return homes

    def v2v_cars(
        self,
        events: list[tuple[int, V2VOfferEvent | V2VRequestEvent, dict[str, int]]],
        max_discharge_kw: np.ndarray,
        sessions: Sessions,
    ) -> list[int | None]:
        """The car of each V2V event (None: left out): the named car if it can do what the
        event needs, else the suitable car plugged in longest in the window that no other V2V
        event uses (the first id on a tie), with a note."""
        n_vehicles = len(max_discharge_kw)
        fits = []
        for _number, event, slots in events:
            plugged_slots = sessions.plugged_slots(n_vehicles, *_acting(event, slots))
            suitable = plugged_slots > 0
            if isinstance(event, V2VOfferEvent):
                suitable &= max_discharge_kw > 0
            number = id_number("car", event.car)
            named = None if number is None else number - 1
            kept = named is not None and named < n_vehicles and bool(suitable[named])
            fits.append((named, kept, plugged_slots, suitable))
        used = np.zeros(n_vehicles, dtype=bool)
        used[[named for named, kept, _, _ in fits if kept]] = True
        chosen: list[int | None] = []
        for (number, event, slots), (named, kept, plugged_slots, suitable) in zip(
            events, fits, strict=True
        ):
            car = named if kept else None
            if not kept:
                free_slots = np.where(suitable & ~used, plugged_slots, 0.0)
                car = self._retarget(number, event, slots, named, free_slots, max_discharge_kw)
                if car is not None:
                    used[car] = True
            chosen.append(car)
        return chosen

    def _retarget(
        self,
        number: int,
        event: V2VOfferEvent | V2VRequestEvent,
        slots: dict[str, int],
        named: int | None,
        free_slots: np.ndarray,
        max_discharge_kw: np.ndarray,
    ) -> int | None:
        """The car with the most ``free_slots`` (plugged-in slots of the suitable cars no other
        event uses) for an event whose ``named`` car (None: ``auto``) does not fit, with a
        note saying why."""
        window = self.span(*_acting(event, slots))
        giver = isinstance(event, V2VOfferEvent)
        need = "bidirectional car plugged in" if giver else "car plugged in"
        if named is None:
            why = f'car = "{AUTO_CAR}"'
        elif named >= len(max_discharge_kw):
            why = f"{event.car} does not exist (vehicles.count = {len(max_discharge_kw)})"
        elif giver and max_discharge_kw[named] <= 0:
            why = f"{event.car} has a one-way charger (it cannot give)"
        else:
            why = f"{event.car} is not plugged in at any time in {window}"
        car = int(np.argmax(free_slots))
        if free_slots[car] <= 0:
            self.notes.append(
                f"{self.name(number, event)}: {why}, and there is no {need} at any time in "
                f"{window} that another V2V event does not use: it is left out"
            )
            return None
        hours = free_slots[car] * self.scenario.slot_minutes / 60.0
        self.notes.append(
            f"{self.name(number, event)}: {why}; it goes to {self.scenario.vehicle_ids[car]}, "
            f"the {need} longest in {window} ({hours:g} h) of those no other V2V event uses"
        )
        return car


def grid_events(
    scenario: Scenario,
    index: pd.DatetimeIndex,
    rng: np.random.Generator,
    max_discharge_kw: np.ndarray,
    sessions: Sessions,
) -> tuple[GridEvents, tuple[str, ...]]:
    """Convert the scenario's events, fitted to the period and the drawn cars (a home share
    is drawn with ``rng``), and the notes saying what was clipped, re-targeted or left out."""
    fitting = _Fitting(scenario, index)
    limits, outages = [], []
    v2v: list[tuple[int, V2VOfferEvent | V2VRequestEvent, dict[str, int]]] = []
    for number, event in enumerate(scenario.events):
        drawn = None
        if isinstance(event, OutageEvent) and event.home_share is not None:
            # drawn even for an outage left out: the period does not move the others' homes
            count = round(event.home_share * scenario.homes.count)
            drawn = np.sort(rng.choice(scenario.homes.count, count, replace=False))
        slots = fitting.window(number, event)
        if slots is None:
            continue
        if isinstance(event, ImportLimitEvent):
            limits.append(ImportLimit(slots["start"], slots["end"], event.import_limit_kw))
        elif isinstance(event, OutageEvent):
            homes = (
                drawn
                if drawn is not None
                else fitting.listed_homes(number, event, event.homes or [])
            )
            if homes.size:
                start = slots["start"]
                expected = slot_of(scenario, index, event.expected_end or event.end)
                outages.append(
                    Outage(homes.astype(np.int64), start, slots["end"], max(expected, start + 1))
                )
        else:
            v2v.append((number, event, slots))
    cars = fitting.v2v_cars(v2v, max_discharge_kw, sessions)
    offers = tuple(
        Offer(
            e.id,
            car,
            slots["at"],
            slots["start"],
            slots["end"],
            e.max_energy_kwh,
            e.keep_above_soc,
            e.price_credits_per_kwh,
        )
        for (_number, e, slots), car in zip(v2v, cars, strict=True)
        if isinstance(e, V2VOfferEvent) and car is not None
    )
    requests = tuple(
        Request(
            e.id,
            car,
            slots["at"],
            slots["deadline"],
            e.energy_kwh,
            e.max_price_credits_per_kwh,
        )
        for (_number, e, slots), car in zip(v2v, cars, strict=True)
        if isinstance(e, V2VRequestEvent) and car is not None
    )
    events = GridEvents(tuple(outages), offers, requests, tuple(limits))
    return events, tuple(fitting.notes)
