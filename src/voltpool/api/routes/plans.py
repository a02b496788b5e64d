"""The current plan: of one car (its owner), of a whole community (its operator), in clock
times. The plan is the newest one the live planner stored that passed verification."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter

from voltpool.api.deps import Caller, Db
from voltpool.api.problems import ApiProblem
from voltpool.api.routes.cars import own_car
from voltpool.api.routes.places import community_of_operator
from voltpool.api.schemas import CarPlanOut, Discharge, PlanSlot, SitePlanOut, SiteSlot
from voltpool.api.store.tables import Car, Community, Home, Plan

router = APIRouter(prefix="/v1", tags=["plans"])


def latest_plan(db: Db, community_id: str) -> Plan | None:
    return db.scalar(
        sa.select(Plan)
        .where(Plan.community_id == community_id, Plan.applied.is_(True))
        .order_by(Plan.created_at.desc(), Plan.id.desc())
        .limit(1)
    )


def _times(plan: Plan, n_slots: int, zone: ZoneInfo) -> list[tuple[datetime, str]]:
    step = timedelta(minutes=int(plan.problem.get("slot_minutes", 15)))
    return [
        (start, start.astimezone(zone).isoformat(timespec="minutes"))
        for start in (plan.start + k * step for k in range(n_slots))
    ]


def _local(plan: Plan, slot: int, zone: ZoneInfo) -> str:
    step = timedelta(minutes=int(plan.problem.get("slot_minutes", 15)))
    return (plan.start + slot * step).astimezone(zone).isoformat(timespec="minutes")


@router.get("/cars/{car_id}/plan", response_model=CarPlanOut)
def car_plan(car_id: str, user: Caller, db: Db) -> CarPlanOut:
    """Power per slot, SoC, prices, each discharge with its worth against its wear, and the
    shortfall with its reason, for the owner's car."""
    car: Car = own_car(db, user, car_id)
    home = db.get(Home, car.home_id)
    assert home is not None
    community = db.get(Community, home.community_id)
    assert community is not None
    plan = latest_plan(db, community.id)
    vehicles: list[dict[str, Any]] = [] if plan is None else plan.schedule.get("vehicles", [])
    index = next((i for i, v in enumerate(vehicles) if v["id"] == car.id), None)
    if plan is None or index is None:
        raise ApiProblem(
            404, "no plan for this car yet: plug it in (its first plan follows within seconds)"
        )
    zone = ZoneInfo(community.timezone)
    vehicle = vehicles[index]
    tariff = plan.problem["tariff"]
    step = timedelta(minutes=int(plan.problem["slot_minutes"]))
    plugged = plan.problem["vehicles"][index]
    power = vehicle["power_kw"][: int(plugged["departure_slot"])]  # the slots it is plugged in
    slots = [
        PlanSlot(
            start=start,
            start_local=local,
            power_kw=power[k],
            soc_end=vehicle["soc"][k + 1],
            import_price_per_kwh=tariff["import_price_per_kwh"][k],
            export_price_per_kwh=tariff["export_price_per_kwh"][k],
        )
        for k, (start, local) in enumerate(_times(plan, len(power), zone))
    ]
    discharges = [
        Discharge(
            start=plan.start + block["start_slot"] * step,
            end=plan.start + block["end_slot"] * step,
            from_local=_local(plan, block["start_slot"], zone),
            to_local=_local(plan, block["end_slot"], zone),
            energy_kwh=block["energy_kwh"],
            worth_per_kwh=block["worth_per_kwh"],
            wear_per_kwh=block["wear_per_kwh"],
        )
        for block in plan.schedule.get("discharge_blocks", [])
        if block["vehicle_id"] == car.id
    ]
    target = plugged.get("soc_target", car.soc_target)
    return CarPlanOut(
        car_id=car.id,
        plan_id=plan.id,
        planned_at=plan.created_at,
        reason=plan.reason,
        timezone=community.timezone,
        status=plan.schedule.get("status", "unknown"),
        departure_local=vehicle.get("departure_local"),
        soc_target=target,
        shortfall_kwh=vehicle["shortfall_kwh"],
        shortfall_reason=vehicle.get("reason"),
        slots=slots,
        discharges=discharges,
        notes=[note for note in plan.schedule.get("rule_notes", []) if car.id in note],
    )


def _limit(values: list[Any] | None, k: int) -> float | None:
    if not values:
        return None
    value = values[k] if isinstance(values, list) else values
    return None if value is None or value == float("inf") else float(value)


@router.get("/communities/{community_id}/plan", response_model=SitePlanOut)
def community_plan(community_id: str, user: Caller, db: Db) -> SitePlanOut:
    """The community's planned import per slot against its limits (its operator only)."""
    community = community_of_operator(db, user, community_id)
    plan = latest_plan(db, community.id)
    if plan is None:
        raise ApiProblem(404, "no plan yet: no car of this community has been plugged in")
    zone = ZoneInfo(community.timezone)
    net = plan.schedule.get("site_net_load_kw", [])
    base = plan.problem.get("site", {}).get("base_load_kw", [])
    site = plan.problem.get("site", {})
    slots = [
        SiteSlot(
            start=start,
            start_local=local,
            site_import_kw=net[k],
            cars_kw=net[k] - (base[k] if isinstance(base, list) else base),
            import_limit_kw=_limit(site.get("import_limit_kw"), k),
            export_limit_kw=_limit(site.get("export_limit_kw"), k),
        )
        for k, (start, local) in enumerate(_times(plan, len(net), zone))
    ]
    return SitePlanOut(
        community_id=community.id,
        plan_id=plan.id,
        planned_at=plan.created_at,
        reason=plan.reason,
        applied=plan.applied,
        status=plan.schedule.get("status", "unknown"),
        cars_planned=len(plan.schedule.get("vehicles", [])),
        objective=float(plan.schedule.get("objective", 0.0)),
        solve_s=plan.solve_s,
        slots=slots,
        notes=list(plan.schedule.get("site_notes", [])) + plan.notes.get("controller", []),
    )
