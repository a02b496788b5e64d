"""``GET /v1/homes/{home_id}/backup``: how long can my cars power my house if the grid went
down now, or, in an outage, for what is left of it? The V2H outage planner of
:mod:`voltpool.backup` (a tiered MILP) on the home and its cars plugged in now
(:func:`voltpool.api.outages.home_backup`). Circuits are shed in their order (the least
important first) when the cars cannot carry them all."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query

from voltpool.api.deps import Caller, Db, State
from voltpool.api.limits import limits_kw
from voltpool.api.outages import SLOT, home_backup, home_outage, outage_hours, plugged_stays
from voltpool.api.routes.places import home_out, own_home
from voltpool.api.schemas import BackupCar, BackupCircuit, BackupOut
from voltpool.api.store.tables import Community
from voltpool.backup.outage import OutagePlan

router = APIRouter(prefix="/v1", tags=["backup"])


@router.get("/homes/{home_id}/backup", response_model=BackupOut)
def backup(
    home_id: str,
    user: Caller,
    db: Db,
    state: State,
    hours: Annotated[float | None, Query(ge=0.25, le=72, multiple_of=0.25)] = None,
) -> BackupOut:
    """The outage plan from now for ``hours`` (default: what is left of the outage the home
    is in, else 24 h): how long the house keeps running, what each plugged-in car gives,
    and when it reaches its reserve."""
    home = own_home(db, user, home_id)
    community = db.get(Community, home.community_id)
    assert community is not None
    zone = ZoneInfo(community.timezone)
    now = state.settings.clock.now()
    start = pd.Timestamp(now).floor(SLOT)
    outage = home_outage(db, home, now)
    if hours is None:
        hours = 24.0 if outage is None else outage_hours(outage, start.to_pydatetime())
    stays = plugged_stays(db, home)
    plan = home_backup(home, community, stays, start.to_pydatetime(), hours).plan
    stops = plan.reserve_stop_slot
    cars = []
    for n, (car, plug) in enumerate(stays):
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
                max_discharge_kw=limits_kw(car, plug)[1],
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
        outage=home_out(db, home, now).outage,
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
