"""The demo's simulated chargers: what real chargers and drivers will do, on the demo clock.

At every slot boundary of the site's clock the driver, for each slot that ended:

1. gives every plugged-in car the power the plan in force commanded for that slot
   (:func:`voltpool.api.history.plan_in_force`, the car's ``view["slots"][k]["power_kw"]``):
   ``soc_now += p * h * eta_charge / capacity`` when charging,
   ``soc_now += p * h / eta_discharge / capacity`` when discharging, clipped to [0, 1];
   a car at a home an outage cuts off powers the house instead, by the home's V2H backup
   plan made at the slot's start (:func:`voltpool.api.outages.home_backup`, its first slot);

then, at the clock's time,

2. unplugs every car whose departure has passed, through the API's own unplug
   (:func:`voltpool.api.routes.cars.unplug`), and takes its next trip's driving energy off
   ``soc_now`` (a car that would arrive below :data:`DRIVING_FLOOR_SOC` topped up on the way,
   as the simulator's drivers do); plugs in every car the scenario has arriving, through the
   API's plug-in (:func:`voltpool.api.routes.cars.plug_in`), with its arrival, departure and
   the car's target;
3. asks the live planner to re-plan the community.

The scenario's plug-in sessions (:class:`DemoSchedule`) repeat every scenario period (a
week for the built-in neighbourhood), so the demo runs for as long as the server does. All
database work runs in a worker thread; the event loop only sleeps until the next boundary.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from voltpool.api.demo import DemoSeed
from voltpool.api.deps import AppState
from voltpool.api.history import plan_in_force
from voltpool.api.outages import (
    home_backup,
    outage_hours,
    outage_of,
    outages_in_force,
    plugged_stays,
)
from voltpool.api.routes import cars as car_routes
from voltpool.api.schemas import SessionIn
from voltpool.api.store.tables import Car, CarPlan, Community, Home, PlugSession, User
from voltpool.simulate.world import World

log = logging.getLogger("voltpool.demo")
DRIVING_FLOOR_SOC = 0.05
"""A car never comes home below this SoC: the driver charged on the way (the simulator's
``voltpool.simulate.engine.DRIVING_FLOOR_SOC``)."""
MAX_SLOTS_PER_STEP = 96
"""At most this many ended slots are applied at one step (a clock that jumped)."""
SAME_ARRIVAL = timedelta(seconds=1)


@dataclass(frozen=True)
class Visit:
    """One stay of a car at home: plugged in from ``arrival`` to ``departure`` (UTC) after a
    trip that used ``trip_kwh`` (battery side)."""

    car: int
    arrival: datetime
    departure: datetime
    trip_kwh: float


class DemoSchedule:
    """The scenario world's plug-in sessions, repeated every scenario period.

    Sessions are taken from the scenario's own period (the world's history day and horizon
    are left out) and shifted by whole periods, so a week-long scenario repeats its weeks."""

    def __init__(self, world: World) -> None:
        scenario = world.scenario
        self.origin: datetime = scenario.start_utc.to_pydatetime()
        self.period = timedelta(days=scenario.days)
        self.car_ids = world.vehicle_ids
        sessions = world.sessions
        inside = (sessions.arrival_slot >= world.first_slot) & (
            sessions.arrival_slot < world.end_slot
        )
        step = timedelta(minutes=scenario.slot_minutes)
        first = world.index[0].to_pydatetime()
        self._visits: list[list[tuple[timedelta, timedelta, float]]] = [
            [] for _ in world.vehicle_ids
        ]
        for car, arrive, leave, trip in zip(
            sessions.vehicle[inside],
            sessions.arrival_slot[inside],
            sessions.departure_slot[inside],
            sessions.trip_kwh[inside],
            strict=True,
        ):
            offset = first + int(arrive) * step - self.origin
            length = int(leave - arrive) * step
            self._visits[int(car)].append((offset, offset + length, float(trip)))
        for visits in self._visits:
            visits.sort()
        longest = max((b - a for v in self._visits for a, b, _ in v), default=timedelta(0))
        self._back = 1 + int(np.ceil(longest / self.period))
        """How many periods back a stay may have begun and still last."""

    def _cycle(self, at: datetime) -> int:
        return (at - self.origin) // self.period

    def visits(self, car: int, cycles: range) -> list[Visit]:
        """The car's stays in the given periods (0: the scenario's own), by arrival."""
        return [
            Visit(car, self.origin + k * self.period + a, self.origin + k * self.period + b, t)
            for k in cycles
            for a, b, t in self._visits[car]
        ]

    def present(self, car: int, now: datetime) -> Visit | None:
        """The stay the car is in at ``now`` (the latest begun one), None when it is away."""
        k = self._cycle(now)
        here = [v for v in self.visits(car, range(k - self._back, k + 1)) if v.arrival <= now]
        here = [v for v in here if now < v.departure]
        return here[-1] if here else None

    def next_trip_kwh(self, car: int, after: datetime) -> float:
        """The driving energy of the car's trip after ``after``: that of its next stay's
        arrival (0 for a car the scenario never brings home)."""
        k = self._cycle(after)
        for visit in self.visits(car, range(k, k + 2)):
            if visit.arrival > after:
                return visit.trip_kwh
        return 0.0


def slot_energy_kwh(power_kw: float, hours: float, car: Car) -> float:
    """What ``power_kw`` at the charger for ``hours`` puts into the battery (negative: takes
    out of it), by the car's charge or discharge efficiency."""
    if power_kw >= 0:
        return power_kw * hours * car.charge_efficiency
    return power_kw * hours / car.discharge_efficiency


def after_trip_soc(soc_now: float, trip_kwh: float, capacity_kwh: float) -> float:
    """The SoC a car comes home with after a trip of ``trip_kwh``."""
    return max(soc_now - trip_kwh / capacity_kwh, min(soc_now, DRIVING_FLOOR_SOC))


@dataclass(frozen=True)
class StepReport:
    """What one step did: the slots applied and the cars unplugged and plugged in."""

    slots: int
    unplugged: tuple[str, ...]
    plugged: tuple[str, ...]


class DemoDriver:
    """The simulated chargers of one seeded demo community (see the module docstring)."""

    def __init__(self, state: AppState, seed: DemoSeed, schedule: DemoSchedule) -> None:
        self._state = state
        self._seed = seed
        self._schedule = schedule
        self._clock = state.settings.clock
        self._slot = timedelta(minutes=state.settings.slot_minutes)
        self._row = {seed.car_ids[car_id]: n for n, car_id in enumerate(schedule.car_ids)}
        self._applied = self._floor(self._clock.now())
        """Slots before this one have been applied."""
        self._task: asyncio.Task[None] | None = None
        self.steps = 0
        """Steps finished (tests wait on it)."""
        self.slots_applied = 0

    @property
    def seed(self) -> DemoSeed:
        """The seeded community, accounts, homes and cars it drives."""
        return self._seed

    @property
    def schedule(self) -> DemoSchedule:
        """The scenario's stays it follows."""
        return self._schedule

    def _floor(self, at: datetime) -> datetime:
        return pd.Timestamp(at).floor(self._slot).to_pydatetime()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="voltpool-demo-chargers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _seconds_to_next_slot(self) -> float:
        now = self._clock.now()
        left = self._floor(now) + self._slot - now
        return max(0.01, self._clock.real_seconds(left))

    def _ended_slots(self) -> list[datetime]:
        current = self._floor(self._clock.now())
        ended = []
        at = self._applied
        while at < current:
            ended.append(at)
            at += self._slot
        self._applied = max(self._applied, current)
        return ended[-MAX_SLOTS_PER_STEP:]

    async def _run(self) -> None:
        try:
            await asyncio.to_thread(self.step, [])
        except Exception:
            log.exception("the demo's first plug-ins failed")
        while True:
            await asyncio.sleep(self._seconds_to_next_slot())
            ended = self._ended_slots()
            if not ended:
                continue
            try:
                await asyncio.to_thread(self.step, ended)
            except Exception:  # one bad step must not stop the demo
                log.exception("the demo's simulated chargers failed at %s", ended[-1])

    def step(self, ended: list[datetime]) -> StepReport:
        """Apply the ``ended`` slots, then follow the scenario's departures and arrivals at
        the clock's time, and ask for a re-plan (runs in a worker thread)."""
        for slot_start in ended:
            self.apply_slot(slot_start)
        now = self._clock.now()
        unplugged = self.unplug_departed(now)
        plugged = self.plug_in_arrived(now)
        self._state.planner.notify(self._seed.community_id, "demo: charger readings")  # type: ignore[attr-defined]
        self.steps += 1
        return StepReport(len(ended), tuple(unplugged), tuple(plugged))

    def apply_slot(self, slot_start: datetime) -> dict[str, float]:
        """Give each car plugged in during ``[slot_start, +slot)`` the power of the plan in
        force then (at a home cut off: its backup plan's); the energy each got into its
        battery, by car id. [kWh]"""
        minutes = int(self._slot.total_seconds() // 60)
        hours = self._slot.total_seconds() / 3600
        energy: dict[str, float] = {}
        with self._state.sessions() as db:
            islanded = self._islanded_power_kw(db, slot_start)
            for car, power_kw in islanded.items():
                energy[car.id] = self._give(car, power_kw, hours)
            plan = plan_in_force(db, self._seed.community_id, slot_start, minutes)
            rows = []
            if plan is not None:
                rows = db.execute(
                    sa.select(Car, CarPlan.view)
                    .join(CarPlan, CarPlan.car_id == Car.id)
                    .join(PlugSession, PlugSession.car_id == Car.id)
                    .where(
                        CarPlan.plan_id == plan.id,
                        PlugSession.ended_at.is_(None),
                        PlugSession.arrival < slot_start + self._slot,
                    )
                ).all()
                k = int((slot_start - plan.start) / self._slot)
            for car, view in rows:
                if car.id in energy:  # the house's, not the plan's, during an outage
                    continue
                slots = view.get("slots", [])
                power_kw = float(slots[k]["power_kw"]) if 0 <= k < len(slots) else 0.0
                energy[car.id] = self._give(car, power_kw, hours)
            db.commit()
        self.slots_applied += 1
        return energy

    @staticmethod
    def _give(car: Car, power_kw: float, hours: float) -> float:
        kwh = slot_energy_kwh(power_kw, hours, car)
        car.soc_now = min(1.0, max(0.0, car.soc_now + kwh / car.capacity_kwh))
        return kwh

    def _islanded_power_kw(self, db: Session, slot_start: datetime) -> dict[Car, float]:
        """The AC power (<= 0) each car plugged in at a home cut off during the slot gives the
        house: the first slot of the home's V2H backup plan for what is left of the outage."""
        community = db.get(Community, self._seed.community_id)
        assert community is not None
        outages = outages_in_force(db, community.id, slot_start)
        power: dict[Car, float] = {}
        if not outages:
            return power
        homes = db.scalars(sa.select(Home).where(Home.community_id == community.id)).all()
        for home in homes:
            outage = outage_of(outages, home.id)
            stays = [] if outage is None else plugged_stays(db, home)
            if not stays:
                continue
            hours = outage_hours(outage, slot_start)
            plan = home_backup(home, community, stays, slot_start, hours).plan
            cars = [car for car, _ in stays]
            power.update(zip(cars, plan.power_kw[:, 0].tolist(), strict=True))
        return power

    def unplug_departed(self, now: datetime) -> list[str]:
        """End every open session of the community whose departure has passed, as the
        owner's ``DELETE /v1/cars/{id}/sessions/current`` does, and drive the car away."""
        done = []
        with self._state.sessions() as db:
            rows = db.execute(
                sa.select(Car, PlugSession.departure)
                .join(Home, Home.id == Car.home_id)
                .join(PlugSession, PlugSession.car_id == Car.id)
                .where(
                    Home.community_id == self._seed.community_id,
                    PlugSession.ended_at.is_(None),
                    PlugSession.departure <= now,
                )
                .order_by(Car.id)
            ).all()
            for car, departure in rows:
                owner = db.get(User, car.owner_id)
                assert owner is not None
                car_routes.unplug(car.id, owner, db, self._state)
                row = self._row.get(car.id)
                trip = 0.0 if row is None else self._schedule.next_trip_kwh(row, departure)
                car.soc_now = after_trip_soc(car.soc_now, trip, car.capacity_kwh)
                db.commit()
                done.append(car.id)
        return done

    def plug_in_arrived(self, now: datetime) -> list[str]:
        """Plug in every car the scenario has at home at ``now`` that is not plugged in and
        whose stay has no session yet, as the owner's ``POST /v1/cars/{id}/sessions`` does."""
        done = []
        with self._state.sessions() as db:
            cars = db.scalars(
                sa.select(Car)
                .join(Home, Home.id == Car.home_id)
                .where(Home.community_id == self._seed.community_id)
                .order_by(Car.id)
            ).all()
            for car in cars:
                row = self._row.get(car.id)
                visit = None if row is None else self._schedule.present(row, now)
                if visit is None or car_routes.open_session(db, car) is not None:
                    continue
                seen = db.scalar(
                    sa.select(PlugSession.id).where(
                        PlugSession.car_id == car.id,
                        PlugSession.arrival > visit.arrival - SAME_ARRIVAL,
                        PlugSession.arrival < visit.arrival + SAME_ARRIVAL,
                    )
                )
                if seen is not None:  # this stay was plugged in already (and ended early)
                    continue
                owner = db.get(User, car.owner_id)
                assert owner is not None
                body = SessionIn(
                    arrival=visit.arrival, departure=visit.departure, soc_target=car.soc_target
                )
                car_routes.plug_in(car.id, body, owner, db, self._state)
                done.append(car.id)
        return done
