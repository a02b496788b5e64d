"""Battery health: ``GET /v1/cars/{car_id}/health`` (its owner) and
``GET /v1/communities/{community_id}/health`` (its operator: the fleet counted, no car named),
from each car's recorded trace (:mod:`voltpool.api.health`)."""

from __future__ import annotations

from threading import Lock

import numpy as np
import sqlalchemy as sa
from fastapi import APIRouter

from voltpool.api.deps import Caller, Db, State
from voltpool.api.health import (
    MIN_RECORDED_H,
    Battery,
    CarHealth,
    Outlook,
    car_health,
    fleet_health,
    read_trace,
)
from voltpool.api.routes.cars import own_car
from voltpool.api.routes.places import community_of_operator
from voltpool.api.schemas import CarHealthOut, FleetHealthOut, HealthHorizon
from voltpool.api.store.tables import Car, CarSlot, Home
from voltpool.battery.valuation import DEFAULT_VALUATION

router = APIRouter(prefix="/v1", tags=["battery health"])
ASSUMPTIONS = (
    "The recorded days stand for the battery's whole life, before voltpool and after.",
    "Without V2G: the same stays, charging in the same hours up to the level the car left with.",
    "One cell temperature all year; commanded power until the charger reports meter values.",
)
FLEET_CACHE_MAX = 64


def _horizon(health: CarHealth, outlook: Outlook, capacity_kwh: float) -> HealthHorizon:
    return HealthHorizon(
        years=outlook.years,
        capacity_pct=100 * float(outlook.capacity[0]),
        capacity_pct_without_v2g=100 * float(outlook.capacity[1]),
        fade_calendar_pct=100 * float(outlook.loss_calendar[0]),
        fade_cycling_pct=100 * float(outlook.loss_cycling[0]),
        v2g_kwh=health.v2g_kwh_over(outlook.years),
        v2g_cost_eur=health.v2g_cost_eur(outlook, capacity_kwh),
    )


@router.get("/cars/{car_id}/health", response_model=CarHealthOut)
def car_battery(car_id: str, user: Caller, db: Db, state: State) -> CarHealthOut:
    """Fade so far and at the warranty's end, calendar and cycling, with the V2G recorded and
    without it, and what V2G costs per kWh given back."""
    car = own_car(db, user, car_id)
    now = state.settings.clock.now()
    trace = read_trace(db, car.id, now, state.settings.slot_minutes)
    battery = Battery.default()
    hours = 0.0 if trace is None else trace.hours
    base = {
        "car_id": car.id,
        "chemistry": car.chemistry,
        "capacity_kwh": car.capacity_kwh,
        "recorded_hours": hours,
        "hours_needed": MIN_RECORDED_H,
        "recorded_from": None if trace is None else trace.start,
        "battery_since": car.battery_since,
        "temperature_c": battery.temperature_c,
        "warranty_years": battery.warranty_years,
        "end_of_life_pct": 100 * battery.end_of_life_capacity,
        "pack_value_per_kwh": battery.pack_value_per_kwh,
        "valuation": DEFAULT_VALUATION,
        "assumptions": list(ASSUMPTIONS),
    }
    if trace is None or hours < MIN_RECORDED_H:
        return CarHealthOut(
            **base,
            status="collecting",
            v2g_kwh_recorded=0.0,
            age_years=0.0,
            so_far=None,
            projected=None,
            v2g_cost_eur_per_kwh=None,
            warnings=[],
        )
    health = car_health(car, trace, now, battery)
    projected = _horizon(health, health.projected, car.capacity_kwh)
    return CarHealthOut(
        **base,
        status="estimated",
        v2g_kwh_recorded=health.v2g_kwh_recorded,
        age_years=health.age_years,
        so_far=_horizon(health, health.so_far, car.capacity_kwh),
        projected=projected,
        v2g_cost_eur_per_kwh=projected.v2g_cost_eur / projected.v2g_kwh
        if projected.v2g_kwh > 1e-6
        else None,
        warnings=list(health.warnings),
    )


class FleetCache:
    """The newest fleet answer per community and last recorded slot: the cell models run
    once per slot, not once per fetch (about 2 s for 40 cars on this machine)."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._answers: dict[tuple[str, object], FleetHealthOut] = {}

    def get(self, key: tuple[str, object]) -> FleetHealthOut | None:
        with self._lock:
            return self._answers.get(key)

    def keep(self, key: tuple[str, object], answer: FleetHealthOut) -> None:
        with self._lock:
            if len(self._answers) >= FLEET_CACHE_MAX:
                self._answers.pop(next(iter(self._answers)))
            self._answers[key] = answer


FLEET = FleetCache()


@router.get("/communities/{community_id}/health", response_model=FleetHealthOut)
def fleet_battery(community_id: str, user: Caller, db: Db, state: State) -> FleetHealthOut:
    """The community's batteries now and at the warranty's end, with V2G and without."""
    community = community_of_operator(db, user, community_id)
    cars = list(
        db.scalars(
            sa.select(Car)
            .join(Home, Home.id == Car.home_id)
            .where(Home.community_id == community.id)
            .order_by(Car.id)
        )
    )
    newest = db.scalar(
        sa.select(sa.func.max(CarSlot.slot_start)).where(CarSlot.car_id.in_([c.id for c in cars]))
    )
    key = (community.id, newest)
    cached = FLEET.get(key)
    if cached is not None:
        return cached
    now = state.settings.clock.now()
    battery = Battery.default()
    traced = []
    for car in cars:
        trace = read_trace(db, car.id, now, state.settings.slot_minutes)
        if trace is not None and trace.hours >= MIN_RECORDED_H:
            traced.append((car, trace))
    found = fleet_health(traced, now, battery)
    eol = battery.end_of_life_capacity
    now_pct = np.array([100 * f.capacity_now for f in found])
    end_pct = np.array([100 * f.capacity_at_warranty for f in found])
    without_pct = np.array([100 * f.capacity_at_warranty_without_v2g for f in found])
    cost = float(sum(f.v2g_cost_eur for f in found))
    given = float(sum(f.v2g_kwh_to_warranty for f in found))
    answer = FleetHealthOut(
        community_id=community.id,
        cars=len(cars),
        cars_estimated=len(found),
        capacity_now_pct_mean=float(now_pct.mean()) if found else None,
        capacity_at_warranty_pct_mean=float(end_pct.mean()) if found else None,
        capacity_at_warranty_pct_min=float(end_pct.min()) if found else None,
        capacity_at_warranty_pct_without_v2g_mean=float(without_pct.mean()) if found else None,
        cars_below_end_of_life=int((end_pct < 100 * eol).sum()),
        end_of_life_pct=100 * eol,
        v2g_cost_eur_total=cost,
        v2g_kwh_to_warranty_total=given,
        v2g_cost_eur_per_kwh=cost / given if given > 1e-6 else None,
        warranty_years=battery.warranty_years,
    )
    FLEET.keep(key, answer)
    return answer
