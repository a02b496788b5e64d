"""``GET /v1/homes/{home_id}/backup``: how long can my cars power my house if the grid went
down now? The V2H outage planner of :mod:`voltpool.backup` (a tiered MILP) on the home: its
house load on the H25 standard profile scaled to the home's average load, split over its
circuits (:mod:`voltpool.api.circuits`; none given: the whole house keeps running or goes
dark), its cars plugged in now at their state of charge, each down to its driving reserve at
most. Circuits are shed in their order (the least important first) when the cars cannot carry
them all."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import sqlalchemy as sa
from fastapi import APIRouter, Query

from voltpool.api.circuits import to_circuits
from voltpool.api.deps import Caller, Db, State
from voltpool.api.routes.places import own_home
from voltpool.api.schemas import BackupCar, BackupCircuit, BackupOut
from voltpool.api.store.tables import Car, Community, PlugSession
from voltpool.backup.home import Car as BackupCarSpec
from voltpool.backup.home import Home as BackupHome
from voltpool.backup.home import House, Window, plan_home_outage
from voltpool.backup.outage import OutagePlan

router = APIRouter(prefix="/v1", tags=["backup"])
SLOT = timedelta(minutes=15)
HOURS_PER_YEAR = 8760


@router.get("/homes/{home_id}/backup", response_model=BackupOut)
def backup(
    home_id: str,
    user: Caller,
    db: Db,
    state: State,
    hours: Annotated[float, Query(ge=0.25, le=72, multiple_of=0.25)] = 24.0,
) -> BackupOut:
    """The outage plan from now for ``hours``: how long the house keeps running, what each
    plugged-in car gives, and when it reaches its reserve."""
    home = own_home(db, user, home_id)
    community = db.get(Community, home.community_id)
    assert community is not None
    zone = ZoneInfo(community.timezone)
    plugged = list(
        db.scalars(
            sa.select(Car)
            .join(PlugSession, PlugSession.car_id == Car.id)
            .where(Car.home_id == home.id, PlugSession.ended_at.is_(None))
            .order_by(Car.name)
        )
    )
    start = pd.Timestamp(state.settings.clock.now()).floor(SLOT)
    spec = BackupHome(
        name=home.name,
        breaker_kw=home.breaker_kw,
        house=House(annual_kwh=home.house_load_kw * HOURS_PER_YEAR),
        circuits=to_circuits(home.circuits),
        timezone=community.timezone,
        outage=Window(start, start + pd.Timedelta(hours=hours)),
        cars=tuple(
            BackupCarSpec(
                name=car.id,
                capacity_kwh=car.capacity_kwh,
                soc=car.soc_now,
                max_discharge_kw=car.max_discharge_kw,
                max_charge_kw=car.max_charge_kw,
                discharge_efficiency=car.discharge_efficiency,
                charge_efficiency=car.charge_efficiency,
                soc_min=min(car.soc_min, car.soc_now),
            )
            for car in plugged
        ),
    )
    case = plan_home_outage(spec)
    plan = case.plan
    stops = plan.reserve_stop_slot
    cars = []
    for n, car in enumerate(plugged):
        stop = int(stops[n])
        reaches = None
        if 0 < stop < plan.energy_kwh.shape[1] - 1:
            reaches = (start + stop * SLOT).tz_convert(zone).isoformat(timespec="minutes")
        cars.append(
            BackupCar(
                car_id=car.id,
                name=car.name,
                soc_now=car.soc_now,
                reserve_soc=car.soc_min,
                energy_above_reserve_kwh=float(plan.energy_kwh[n, 0] - plan.reserve_kwh[n]),
                reaches_reserve_local=reaches,
            )
        )
    return BackupOut(
        circuits=_circuits(plan, start, zone),
        home_id=home.id,
        start=start.to_pydatetime(),
        start_local=start.tz_convert(zone).isoformat(timespec="minutes"),
        hours_planned=hours,
        hours_full_house=plan.hours_full,
        served_kwh=plan.served_kwh,
        unserved_kwh=plan.unserved_kwh,
        house_load_kw_average=float(plan.load_kw.mean()),
        cars=cars,
        status=plan.solver.status,
    )


def _circuits(plan: OutagePlan, start: pd.Timestamp, zone: ZoneInfo) -> list[BackupCircuit]:
    """Each circuit's hours on, when it is first shed and the energy it gets and misses; the
    shed order counts tiers from the first shed (:func:`voltpool.backup.outage.circuit_tiers`)."""
    tiers = plan.tier
    out = []
    for c, name in enumerate(plan.circuit_names):
        off = np.flatnonzero(~plan.on[c])
        out.append(
            BackupCircuit(
                name=name,
                critical=bool(plan.critical[c]),
                priority=int(plan.priority[c]),
                shed_order=int(tiers.max() - tiers[c] + 1),
                hours_on=float(plan.on[c].sum() * plan.dt_h),
                shed_from_local=None
                if not off.size
                else (start + int(off[0]) * SLOT).tz_convert(zone).isoformat(timespec="minutes"),
                served_kwh=float(plan.served_circuit_kw[c].sum() * plan.dt_h),
                unserved_kwh=float(plan.shed_circuit_kw[c].sum() * plan.dt_h),
            )
        )
    return out
