"""The V2G history the owner's rules count (:mod:`voltpool.model.rules`): the energy each car
gave per local day, battery side.

At every slot boundary the planner records the slot that just ended: the power the plan in
force during that slot commanded each car (the newest applied plan made before the slot ended
that covers it), discharge turned into energy out of the battery (``-p * dt / eta_d``), added
to the car's local day (:class:`~voltpool.api.store.tables.CarDay`). Each slot is recorded
once per community (:class:`~voltpool.api.store.tables.RecordedSlot`). These are commanded
values: when chargers report meter values (OCPP), those replace them. V2V giving counts as
V2G here, as the owner's rules say. The site's commanded import is kept per slot too: a
capacity tariff bills the month's highest (:func:`month_peak_kw`). So is each car's state of
charge, plugged in or not, and commanded power (:class:`~voltpool.api.store.tables.CarSlot`,
the last :data:`TRACE_DAYS` days): the trace its battery-health estimate ages.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from voltpool.api.store.tables import (
    Car,
    CarDay,
    CarPlan,
    CarSlot,
    Community,
    Home,
    Plan,
    PlugSession,
    RecordedSlot,
)
from voltpool.api.v2v import book_deliveries
from voltpool.model.rules import PAST_DAYS

TRACE_DAYS = 28
"""Days of each car's recorded state kept for its battery-health estimate."""


def plan_in_force(
    db: Session, community_id: str, slot_start: datetime, minutes: int
) -> Plan | None:
    """The plan the community followed in the slot ``[slot_start, +minutes)``: the newest
    applied plan made before the slot ended that starts at or before it (only its id,
    start and site view loaded); None when there is none."""
    return db.scalar(
        sa.select(Plan)
        .options(load_only(Plan.id, Plan.start, Plan.site))
        .where(
            Plan.community_id == community_id,
            Plan.applied.is_(True),
            Plan.created_at < slot_start + timedelta(minutes=minutes),
            Plan.start <= slot_start,
        )
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(1)
    )


def record_slot(db: Session, community: Community, slot_start: datetime, minutes: int) -> int:
    """Add the slot ``[slot_start, +minutes)``'s commanded V2G energy to each car's day and
    its V2V flows to the running agreements (:func:`voltpool.api.v2v.book_deliveries`); the
    number of cars that gave energy (0 when the slot was recorded already)."""
    step = timedelta(minutes=minutes)
    seen = db.get(RecordedSlot, (community.id, slot_start))
    if seen is not None:
        return 0
    recorded = RecordedSlot(community_id=community.id, slot_start=slot_start)
    db.add(recorded)
    plan = plan_in_force(db, community.id, slot_start, minutes)
    gave = 0
    commanded: dict[str, float] = {}
    if plan is not None:
        k = int((slot_start - plan.start) / step)
        site_slots = plan.site.get("slots", [])
        if k < len(site_slots):
            recorded.site_import_kw = site_slots[k]["site_import_kw"]
        day = slot_start.astimezone(ZoneInfo(community.timezone)).date().isoformat()
        rows = db.execute(
            sa.select(CarPlan, Car.discharge_efficiency)
            .join(Car, Car.id == CarPlan.car_id)
            .where(CarPlan.plan_id == plan.id)
        ).all()
        for car_plan, efficiency in rows:
            slots = car_plan.view["slots"]
            power_kw = slots[k]["power_kw"] if k < len(slots) else 0.0
            commanded[car_plan.car_id] = power_kw
            if power_kw >= 0:
                continue
            energy_kwh = -power_kw * step.total_seconds() / 3600 / efficiency
            total = db.get(CarDay, (car_plan.car_id, day))
            if total is None:
                db.add(CarDay(car_id=car_plan.car_id, day=day, v2g_kwh=energy_kwh))
            else:
                total.v2g_kwh += energy_kwh
            gave += 1
        book_deliveries(db, plan, k, step.total_seconds() / 3600)
    _record_cars(db, community, slot_start, commanded)
    db.commit()
    return gave


def _record_cars(
    db: Session, community: Community, slot_start: datetime, commanded: dict[str, float]
) -> None:
    """Every car of the community at the end of the slot (:class:`CarSlot`): its state of
    charge, plugged in or not, and the power commanded (0 when none); rows older than
    :data:`TRACE_DAYS` go."""
    cars = db.execute(
        sa.select(Car.id, Car.soc_now, PlugSession.id)
        .join(Home, Home.id == Car.home_id)
        .outerjoin(PlugSession, (PlugSession.car_id == Car.id) & PlugSession.ended_at.is_(None))
        .where(Home.community_id == community.id)
    ).all()
    db.add_all(
        CarSlot(
            car_id=car_id,
            slot_start=slot_start,
            soc=soc,
            plugged=session_id is not None,
            power_kw=commanded.get(car_id, 0.0),
        )
        for car_id, soc, session_id in cars
    )
    ids = [car_id for car_id, _, _ in cars]
    if ids:
        db.execute(
            sa.delete(CarSlot).where(
                CarSlot.car_id.in_(ids), CarSlot.slot_start < slot_start - timedelta(TRACE_DAYS)
            )
        )


def month_peak_kw(db: Session, community: Community, now: datetime) -> float:
    """The highest site import recorded in the community's local calendar month of ``now``
    so far (0 when none): what a capacity tariff already bills this month. [kW]"""
    zone = ZoneInfo(community.timezone)
    month_start = now.astimezone(zone).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    peak = db.scalar(
        sa.select(sa.func.max(RecordedSlot.site_import_kw)).where(
            RecordedSlot.community_id == community.id,
            RecordedSlot.slot_start >= month_start,
            RecordedSlot.slot_start < now,
        )
    )
    return max(0.0, float(peak or 0.0))


def history_kwh(db: Session, car_ids: list[str], today: date) -> np.ndarray:
    """``[N, 7]``: each car's V2G energy on the six local days before ``today`` (oldest
    first) and today so far, as the controller's ``Observation.v2g_kwh_history`` wants. [kWh]"""
    days = [(today - timedelta(days=PAST_DAYS - i)).isoformat() for i in range(PAST_DAYS + 1)]
    column = {day: i for i, day in enumerate(days)}
    row = {car_id: i for i, car_id in enumerate(car_ids)}
    history = np.zeros((len(car_ids), PAST_DAYS + 1))
    if car_ids:
        found = db.scalars(
            sa.select(CarDay).where(CarDay.car_id.in_(car_ids), CarDay.day.in_(days))
        )
        for entry in found:
            history[row[entry.car_id], column[entry.day]] = entry.v2g_kwh
    return history
