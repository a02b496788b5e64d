"""An owner's cars: the car and its charger, the owner's rules, plug-in sessions.

Every change that moves the plan (plug-in, new departure or target, unplug, new rules or
levels) asks the live planner to re-plan the car's community at once.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, status

from voltpool.api import audit
from voltpool.api.deps import Caller, Db, State, require_role
from voltpool.api.problems import ApiProblem, invalid, not_found
from voltpool.api.routes.places import own_home
from voltpool.api.schemas import (
    CarIn,
    CarOut,
    CarPatch,
    RulesIn,
    SessionIn,
    SessionOut,
    SessionPatch,
)
from voltpool.api.store.tables import Car, Community, Home, PlugSession, User
from voltpool.errors import ProblemError
from voltpool.model.rules import OwnerRules
from voltpool.service.tonight import reference_defaults

router = APIRouter(prefix="/v1/cars", tags=["cars"])


def own_car(db: Db, user: User, car_id: str) -> Car:
    car = db.get(Car, car_id)
    if car is None or car.owner_id != user.id:
        raise not_found("car")
    return car


def rules_block(rules: RulesIn) -> dict:
    """The rules as problem format v1's ``vehicles[].rules`` block (checked by the core's
    reader, whose messages name ``body.rules.<key>``)."""
    block = rules.model_dump(mode="json", exclude_none=True)
    for empty in ("discharge_hours", "no_discharge_hours"):
        if not block.get(empty):
            block.pop(empty, None)
    try:
        OwnerRules.from_records([block], prefix="car")
    except ProblemError as error:
        errors = [
            {"field": issue.field.replace("car[0].rules", "body.rules"), "rule": issue.rule}
            for issue in error.issues
        ]
        raise ApiProblem(422, errors[0]["field"] + ": " + errors[0]["rule"], errors) from None
    return block


def _check_levels(soc_min: float, soc_target: float, soc_max: float) -> None:
    if soc_min > soc_max:
        raise invalid("body.soc_min", f"must be at most soc_max ({soc_max:g})")
    if not soc_min <= soc_target <= soc_max:
        raise invalid(
            "body.soc_target", f"must be between soc_min ({soc_min:g}) and soc_max ({soc_max:g})"
        )


def open_session(db: Db, car: Car) -> PlugSession | None:
    return db.scalar(
        sa.select(PlugSession).where(PlugSession.car_id == car.id, PlugSession.ended_at.is_(None))
    )


def car_out(db: Db, car: Car) -> CarOut:
    return CarOut(
        **{name: getattr(car, name) for name in CarOut.model_fields if hasattr(car, name)}
        | {"rules": RulesIn(**car.rules), "plugged_in": open_session(db, car) is not None}
    )


def _community_of(db: Db, car: Car) -> Community:
    home = db.get(Home, car.home_id)
    assert home is not None
    community = db.get(Community, home.community_id)
    assert community is not None
    return community


def _replan(state: State, db: Db, car: Car, reason: str) -> None:
    state.planner.notify(_community_of(db, car).id, reason)  # type: ignore[attr-defined]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CarOut)
def add_car(body: CarIn, user: Caller, db: Db) -> CarOut:
    require_role(user, "owner")
    own_home(db, user, body.home_id)
    _check_levels(body.soc_min, body.soc_target, body.soc_max)
    values = body.model_dump(exclude={"rules"})
    if values["wear_per_kwh"] is None:
        values["wear_per_kwh"] = reference_defaults().wear_per_kwh
    car = Car(owner_id=user.id, rules=rules_block(body.rules), **values)
    db.add(car)
    db.flush()
    audit.record(db, user.id, "car.create", car.id)
    db.commit()
    return car_out(db, car)


@router.get("", response_model=list[CarOut])
def list_cars(user: Caller, db: Db) -> list[CarOut]:
    cars = db.scalars(sa.select(Car).where(Car.owner_id == user.id).order_by(Car.name))
    return [car_out(db, car) for car in cars]


@router.get("/{car_id}", response_model=CarOut)
def get_car(car_id: str, user: Caller, db: Db) -> CarOut:
    return car_out(db, own_car(db, user, car_id))


@router.patch("/{car_id}", response_model=CarOut)
def change_car(car_id: str, body: CarPatch, user: Caller, db: Db, state: State) -> CarOut:
    car = own_car(db, user, car_id)
    changes = body.model_dump(exclude_none=True)
    merged = {name: changes.get(name, getattr(car, name)) for name in ("soc_min", "soc_max")}
    _check_levels(merged["soc_min"], changes.get("soc_target", car.soc_target), merged["soc_max"])
    for name, value in changes.items():
        setattr(car, name, value)
    audit.record(
        db, user.id, "car.change", car.id, **body.model_dump(mode="json", exclude_none=True)
    )
    db.commit()
    _replan(state, db, car, "car changed")
    return car_out(db, car)


@router.get("/{car_id}/rules", response_model=RulesIn)
def get_rules(car_id: str, user: Caller, db: Db) -> RulesIn:
    return RulesIn(**own_car(db, user, car_id).rules)


@router.put("/{car_id}/rules", response_model=RulesIn)
def set_rules(car_id: str, body: RulesIn, user: Caller, db: Db, state: State) -> RulesIn:
    """Replace the owner's rules; they take effect at the re-plan this starts."""
    car = own_car(db, user, car_id)
    car.rules = rules_block(body)
    audit.record(db, user.id, "car.rules", car.id, rules=car.rules)
    db.commit()
    _replan(state, db, car, "rules changed")
    return RulesIn(**car.rules)


def session_out(db: Db, car: Car, plug: PlugSession) -> SessionOut:
    zone = ZoneInfo(_community_of(db, car).timezone)
    return SessionOut(
        id=plug.id,
        car_id=plug.car_id,
        arrival=plug.arrival,
        departure=plug.departure,
        departure_local=plug.departure.astimezone(zone).isoformat(timespec="minutes"),
        soc_arrival=plug.soc_arrival,
        soc_target=plug.soc_target,
        charge_now=plug.charge_now,
        max_charge_kw=plug.max_charge_kw,
        max_discharge_kw=plug.max_discharge_kw,
        ended_at=plug.ended_at,
    )


@router.post("/{car_id}/sessions", status_code=status.HTTP_201_CREATED, response_model=SessionOut)
def plug_in(car_id: str, body: SessionIn, user: Caller, db: Db, state: State) -> SessionOut:
    """The car is plugged in (now, or at ``arrival``) until ``departure``."""
    car = own_car(db, user, car_id)
    if open_session(db, car) is not None:
        raise ApiProblem(409, "the car is plugged in already: change or end that session")
    now = state.settings.clock.now()
    arrival = body.arrival or now
    if body.departure <= max(arrival, now):
        raise invalid("body.departure", "must be in the future and after the arrival")
    target = car.soc_target if body.soc_target is None else body.soc_target
    _check_levels(car.soc_min, target, car.soc_max)
    if body.soc_now is not None:
        car.soc_now = body.soc_now
    plug = PlugSession(
        car_id=car.id,
        arrival=arrival,
        departure=body.departure,
        soc_arrival=car.soc_now,
        soc_target=target,
        max_charge_kw=body.max_charge_kw,
        max_discharge_kw=body.max_discharge_kw,
    )
    db.add(plug)
    db.flush()
    audit.record(db, user.id, "session.start", plug.id, car=car.id)
    db.commit()
    _replan(state, db, car, "plug-in")
    return session_out(db, car, plug)


def _current(db: Db, car: Car) -> PlugSession:
    plug = open_session(db, car)
    if plug is None:
        raise not_found("plug-in session (the car is not plugged in)")
    return plug


@router.get("/{car_id}/sessions/current", response_model=SessionOut)
def current_session(car_id: str, user: Caller, db: Db) -> SessionOut:
    car = own_car(db, user, car_id)
    return session_out(db, car, _current(db, car))


@router.patch("/{car_id}/sessions/current", response_model=SessionOut)
def change_session(
    car_id: str, body: SessionPatch, user: Caller, db: Db, state: State
) -> SessionOut:
    """A new departure or target for tonight, or "charge now" on or off; the plan follows
    at once."""
    car = own_car(db, user, car_id)
    plug = _current(db, car)
    if body.departure is not None:
        if body.departure <= state.settings.clock.now():
            raise invalid("body.departure", "must be in the future")
        plug.departure = body.departure
    if body.soc_target is not None:
        _check_levels(car.soc_min, body.soc_target, car.soc_max)
        plug.soc_target = body.soc_target
    if body.charge_now is not None:
        plug.charge_now = body.charge_now
    for limit in ("max_charge_kw", "max_discharge_kw"):
        if getattr(body, limit) is not None:
            setattr(plug, limit, getattr(body, limit))
    audit.record(db, user.id, "session.change", plug.id, **body.model_dump(mode="json"))
    db.commit()
    _replan(state, db, car, "session changed")
    return session_out(db, car, plug)


@router.delete("/{car_id}/sessions/current", response_model=SessionOut)
def unplug(car_id: str, user: Caller, db: Db, state: State) -> SessionOut:
    car = own_car(db, user, car_id)
    plug = _current(db, car)
    plug.ended_at = state.settings.clock.now()
    audit.record(db, user.id, "session.end", plug.id)
    db.commit()
    _replan(state, db, car, "unplugged")
    return session_out(db, car, plug)
