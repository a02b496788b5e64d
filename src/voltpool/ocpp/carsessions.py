"""What a station says about its car, turned into the car's plug-in session through the API's
own functions (:mod:`voltpool.api.routes.cars`, as the demo's chargers do), so a session a
charger opens is planned, audited and shown exactly like one an owner opens:

- a transaction starts (2.x ``TransactionEvent`` Started, 1.6 ``StartTransaction``) or the EV
  announces its needs, and the car has no open session: :func:`plug_in`, leaving at the
  announced ``departureTime`` (else after :data:`DEFAULT_STAY`), to the announced target
  (else the car's own), at the metered SoC if any;
- ``NotifyEVChargingNeeds`` on an open session: :func:`change_session` (departure, target
  and the stay's charger limits from ``v2xChargingParameters``: ``maxChargePower``,
  ``maxDischargePower``); a charge-only station (2.0.1, 1.6, or an EV without a bidirectional
  transfer mode) sets the stay's ``max_discharge_kw`` to 0, so the planner never counts on a
  discharge the station will not do. The limits belong to the session
  (:mod:`voltpool.api.limits`), not the car: its next stay at a two-way charger discharges;
- the transaction ends: :func:`unplug`.

Every function runs in a worker thread with its own database session and commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from voltpool.api.deps import AppState
from voltpool.api.problems import ApiProblem
from voltpool.api.routes import cars as car_routes
from voltpool.api.schemas import SessionIn, SessionPatch
from voltpool.api.store.tables import Car, PlugSession, User

log = logging.getLogger("voltpool.ocpp")
DEFAULT_STAY = timedelta(hours=12)
"""How long a car stays when its station does not say (no ``departureTime``)."""
MIN_STAY = timedelta(minutes=1)


@dataclass(frozen=True)
class Needs:
    """What the EV asked for (None: not said). Powers at the charger (AC side), kW."""

    departure: datetime | None = None
    soc_target: float | None = None
    soc_now: float | None = None
    max_charge_kw: float | None = None
    max_discharge_kw: float | None = None
    bidirectional: bool | None = None


def _owner(db: Session, car: Car) -> User:
    owner = db.get(User, car.owner_id)
    assert owner is not None
    return owner


def _target(car: Car, soc_target: float | None) -> float:
    """The announced target inside the car's own levels (the API refuses one outside)."""
    target = car.soc_target if soc_target is None else soc_target
    return min(max(target, car.soc_min), car.soc_max)


def _limits(needs: Needs, charge_only: bool) -> dict[str, float]:
    """The stay's charger limits the station and the EV said (kW, within the API's range)."""
    limits: dict[str, float] = {}
    if needs.max_charge_kw is not None and needs.max_charge_kw > 0:
        limits["max_charge_kw"] = round(min(needs.max_charge_kw, 500.0), 3)
    discharge = needs.max_discharge_kw
    if charge_only or needs.bidirectional is False:
        discharge = 0.0
    if discharge is not None:
        limits["max_discharge_kw"] = round(min(max(discharge, 0.0), 500.0), 3)
    return limits


def plugged_in(
    db: Session, state: AppState, car_id: str, now: datetime, needs: Needs, charge_only: bool
) -> str | None:
    """Open the car's session (or update the open one) with ``needs``; its id (None: the car
    is gone or the API refused, logged)."""
    car = db.get(Car, car_id)
    if car is None:
        return None
    owner = _owner(db, car)
    try:
        limits = _limits(needs, charge_only)
        if needs.soc_now is not None:
            car.soc_now = min(max(needs.soc_now, 0.0), 1.0)
            db.commit()
        plug = car_routes.open_session(db, car)
        departure = needs.departure
        if departure is not None and departure <= now + MIN_STAY:
            departure = None  # a departure in the past is not a departure
        if plug is None:
            body = SessionIn(
                departure=departure or now + DEFAULT_STAY,
                soc_target=_target(car, needs.soc_target),
                **limits,
            )
            return car_routes.plug_in(car.id, body, owner, db, state).id
        limits = {k: v for k, v in limits.items() if getattr(plug, k) != v}
        changed = SessionPatch(
            departure=departure,
            soc_target=None if needs.soc_target is None else _target(car, needs.soc_target),
            **limits,
        )
        if changed.departure is not None or changed.soc_target is not None or limits:
            car_routes.change_session(car.id, changed, owner, db, state)
        return plug.id
    except ApiProblem as problem:
        db.rollback()
        log.warning("car %s: the station's session was refused: %s", car_id, problem)
        return None


def unplugged(db: Session, state: AppState, car_id: str) -> None:
    """End the car's open session (if any) as the owner's unplug does."""
    car = db.get(Car, car_id)
    if car is None or car_routes.open_session(db, car) is None:
        return
    car_routes.unplug(car.id, _owner(db, car), db, state)


def metered_soc(db: Session, car_id: str, soc: float) -> None:
    """The car's state of charge as its station metered it (no re-plan: the slot tick and
    the next event plan from it)."""
    car = db.get(Car, car_id)
    if car is not None:
        car.soc_now = min(max(soc, 0.0), 1.0)


def open_session_id(db: Session, car_id: str) -> str | None:
    car = db.get(Car, car_id)
    plug: PlugSession | None = None if car is None else car_routes.open_session(db, car)
    return None if plug is None else plug.id
