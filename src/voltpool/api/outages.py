"""Outages of the grid at a community's homes, and what the cars plugged in there do then.

An outage is a grid event of kind ``outage`` (:class:`~voltpool.api.store.tables.GridEvent`,
posted by the operator now, by the OpenADR adapter later) over ``[start, end)``, for some of
the community's homes or all of them. While it lasts, those homes are islanded, as in the
simulator (:mod:`voltpool.simulate.engine`): the cars plugged in there leave the community's
plan (``on_grid`` false for the controller) and the homes' own load leaves the feeder; each
home runs on its cars by the V2H backup planner of :mod:`voltpool.backup` (a tiered MILP),
each car down to its driving reserve at most, shedding the least important circuits first.
:func:`home_backup` makes that plan: the owner's backup screen shows it and the demo's
simulated chargers follow it (:mod:`voltpool.api.demo_driver`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from voltpool.api.circuits import to_circuits
from voltpool.api.limits import limits_kw
from voltpool.api.store.tables import Car, Community, GridEvent, Home, PlugSession
from voltpool.backup.home import Car as BackupCar
from voltpool.backup.home import Home as BackupHome
from voltpool.backup.home import House, OutageCase, Window, plan_home_outage

SLOT = timedelta(minutes=15)
HOURS_PER_YEAR = 8760
MAX_BACKUP_HOURS = 72.0
"""The longest outage window the backup planner plans at once."""


def outages_in_force(db: Session, community_id: str, now: datetime) -> list[GridEvent]:
    """The community's outages that have begun and not ended at ``now``."""
    return list(
        db.scalars(
            sa.select(GridEvent)
            .where(
                GridEvent.community_id == community_id,
                GridEvent.kind == "outage",
                GridEvent.start <= now,
                GridEvent.end > now,
            )
            .order_by(GridEvent.start)
        )
    )


def cuts_off(event: GridEvent, home_id: str) -> bool:
    """Whether the outage ``event`` cuts ``home_id`` off the grid."""
    return event.home_ids is None or home_id in event.home_ids


def outage_of(events: list[GridEvent], home_id: str) -> GridEvent | None:
    """Of the outages ``events``, the one ``home_id`` is in (the one ending last)."""
    mine = [e for e in events if cuts_off(e, home_id)]
    return max(mine, key=lambda e: e.end) if mine else None


def home_outage(db: Session, home: Home, now: datetime) -> GridEvent | None:
    """The outage the home is in at ``now``, None when on the grid."""
    return outage_of(outages_in_force(db, home.community_id, now), home.id)


def islanded_home_ids(
    db: Session, community_id: str, homes: tuple[Home, ...], now: datetime
) -> frozenset[str]:
    """The ids of ``homes`` an outage cuts off at ``now``."""
    events = outages_in_force(db, community_id, now)
    return frozenset(h.id for h in homes if any(cuts_off(e, h.id) for e in events))


def outage_hours(event: GridEvent, start: datetime) -> float:
    """The outage's hours left from slot ``start``, in whole slots (at least one)."""
    slots = -(-(event.end - start) // SLOT)
    return min(MAX_BACKUP_HOURS, max(1, slots) * SLOT.total_seconds() / 3600)


def plugged_stays(db: Session, home: Home) -> list[tuple[Car, PlugSession]]:
    """The home's cars plugged in now with their sessions, by name."""
    return [
        (car, plug)
        for car, plug in db.execute(
            sa.select(Car, PlugSession)
            .join(PlugSession, PlugSession.car_id == Car.id)
            .where(Car.home_id == home.id, PlugSession.ended_at.is_(None))
            .order_by(Car.name, Car.id)
        )
    ]


def home_backup(
    home: Home,
    community: Community,
    stays: list[tuple[Car, PlugSession]],
    start: datetime,
    hours: float,
) -> OutageCase:
    """The V2H plan of ``home`` cut off from slot ``start`` for ``hours``: its house load on
    the H25 standard profile scaled to its average load, split over its circuits (none
    given: the whole house keeps running or goes dark), the cars of ``stays`` at their state
    of charge, each down to its driving reserve at most, within what its stay's station allows
    (:func:`voltpool.backup.home.plan_home_outage`, :mod:`voltpool.api.limits`)."""
    begin = pd.Timestamp(start)
    spec = BackupHome(
        name=home.name,
        breaker_kw=home.breaker_kw,
        house=House(annual_kwh=home.house_load_kw * HOURS_PER_YEAR),
        circuits=to_circuits(home.circuits),
        timezone=community.timezone,
        outage=Window(begin, begin + pd.Timedelta(hours=hours)),
        cars=tuple(
            BackupCar(
                name=car.id,
                capacity_kwh=car.capacity_kwh,
                soc=car.soc_now,
                max_discharge_kw=limits_kw(car, plug)[1],
                max_charge_kw=limits_kw(car, plug)[0],
                discharge_efficiency=car.discharge_efficiency,
                charge_efficiency=car.charge_efficiency,
                soc_min=min(car.soc_min, car.soc_now),
            )
            for car, plug in stays
        ),
    )
    return plan_home_outage(spec)
