"""The current plan: of one car (its owner), of a whole community (its operator), in clock
times. The plan is the newest one the live planner stored that passed verification; its
views were computed when it was stored (:mod:`voltpool.api.plan_views`), so a fetch reads
one small row."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter
from sqlalchemy.orm import load_only

from voltpool.api.deps import Caller, Db, State
from voltpool.api.flexibility import CarNow, headroom
from voltpool.api.limits import limits_kw
from voltpool.api.outages import home_outage
from voltpool.api.problems import ApiProblem
from voltpool.api.routes.cars import own_car
from voltpool.api.routes.places import community_of_operator
from voltpool.api.schemas import CarPlanOut, FlexibilityOut, SitePlanOut
from voltpool.api.store.tables import Car, CarPlan, Community, Home, Plan, PlugSession

router = APIRouter(prefix="/v1", tags=["plans"])


def latest_plan(db: Db, community_id: str, *columns: object) -> Plan | None:
    """The newest applied plan of the community, loading only ``columns`` besides its id."""
    return db.scalar(
        sa.select(Plan)
        .options(load_only(Plan.id, Plan.created_at, Plan.reason, *columns))  # type: ignore[arg-type]
        .where(Plan.community_id == community_id, Plan.applied.is_(True))
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(1)
    )


@router.get("/cars/{car_id}/plan", response_model=CarPlanOut)
def car_plan(car_id: str, user: Caller, db: Db, state: State) -> CarPlanOut:
    """Power per slot, SoC, prices, each discharge with its worth against its wear, and the
    shortfall with its reason, for the owner's car."""
    car = own_car(db, user, car_id)
    community = db.scalar(
        sa.select(Community)
        .join(Home, Home.community_id == Community.id)
        .where(Home.id == car.home_id)
    )
    assert community is not None
    plan = latest_plan(db, community.id)
    view = None if plan is None else db.get(CarPlan, (plan.id, car.id))
    if plan is None or view is None:
        home = db.get(Home, car.home_id)
        assert home is not None
        if home_outage(db, home, state.settings.clock.now()) is not None:
            raise ApiProblem(
                404, "no grid plan during the power cut: the car powers the house (see backup)"
            )
        raise ApiProblem(
            404, "no plan for this car yet: plug it in (its first plan follows within seconds)"
        )
    return CarPlanOut(
        car_id=car.id,
        plan_id=plan.id,
        planned_at=plan.created_at,
        reason=plan.reason,
        timezone=community.timezone,
        **view.view,
    )


@router.get("/communities/{community_id}/plan", response_model=SitePlanOut)
def community_plan(community_id: str, user: Caller, db: Db) -> SitePlanOut:
    """The community's planned import per slot against its limits (its operator only)."""
    community = community_of_operator(db, user, community_id)
    plan = latest_plan(db, community.id, Plan.site, Plan.applied, Plan.solve_s, Plan.notes)
    if plan is None:
        raise ApiProblem(404, "no plan yet: no car of this community has been plugged in")
    site = plan.site
    return SitePlanOut(
        community_id=community.id,
        plan_id=plan.id,
        planned_at=plan.created_at,
        reason=plan.reason,
        applied=plan.applied,
        solve_s=plan.solve_s,
        **{**site, "notes": site["notes"] + plan.notes.get("controller", [])},
    )


@router.get("/communities/{community_id}/flexibility", response_model=FlexibilityOut)
def community_flexibility(community_id: str, user: Caller, db: Db, state: State) -> FlexibilityOut:
    """What the plugged-in cars could draw more (up) or less (down) now than planned, and the
    energy behind it (its operator only)."""
    community = community_of_operator(db, user, community_id)
    now = state.settings.clock.now()
    plan = latest_plan(db, community.id)
    stays = db.execute(
        sa.select(Car, PlugSession)
        .join(Home, Car.home_id == Home.id)
        .join(PlugSession, PlugSession.car_id == Car.id)
        .where(
            Home.community_id == community.id,
            PlugSession.ended_at.is_(None),
            PlugSession.departure > now,
        )
    ).all()
    rows = [car for car, _ in stays]
    views = {}
    if plan is not None and rows:  # one query for every car's view, not one per car
        views = {
            view.car_id: view.view
            for view in db.scalars(
                sa.select(CarPlan).where(
                    CarPlan.plan_id == plan.id, CarPlan.car_id.in_([car.id for car in rows])
                )
            )
        }
    cars = []
    for car, plug in stays:
        slots = views.get(car.id, {}).get("slots", [])
        charge_kw, discharge_kw = limits_kw(car, plug)
        rules = car.rules or {}
        until = rules.get("no_discharge_until")
        cars.append(
            CarNow(
                planned_kw=slots[0]["power_kw"] if slots else 0.0,
                max_charge_kw=charge_kw,
                max_discharge_kw=discharge_kw,
                capacity_kwh=car.capacity_kwh,
                soc_now=car.soc_now,
                soc_min=car.soc_min,
                soc_max=car.soc_max,
                v2g_floor_soc=float(rules.get("v2g_floor_soc") or 0.0),
                charge_efficiency=car.charge_efficiency,
                discharge_efficiency=car.discharge_efficiency,
                no_discharge_until=None if until is None else datetime.fromisoformat(until),
            )
        )
    found = headroom(cars, now)
    local = now.astimezone(ZoneInfo(community.timezone)).isoformat(timespec="minutes")
    return FlexibilityOut(
        community_id=community.id, at=now, at_local=local, **dataclasses.asdict(found)
    )
