"""OCPP charging stations of a community, registered by its operator (:mod:`voltpool.ocpp`).

A station logs in to the CSMS at ``ws://HOST:PORT/ocpp/{station id}`` with HTTP basic auth
(OCPP security profile 1, or 2 behind TLS): username = the station id, the password given
here (only its Argon2 hash is kept; ``BasicAuthPassword`` is 16-40 characters in OCPP 2.x).
A station serves one home and, when ``car_id`` is given, that car: the sessions it reports
are the car's plug-in sessions and the car's plan is the profile it gets.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import sqlalchemy as sa
from fastapi import APIRouter, status
from pydantic import BaseModel, Field, StringConstraints

from voltpool.api import audit
from voltpool.api.deps import Caller, Db, require_role
from voltpool.api.problems import ApiProblem, invalid
from voltpool.api.routes.places import community_of_operator
from voltpool.api.schemas import Strict
from voltpool.api.security import hash_password
from voltpool.api.store.tables import Car, Home, Station

router = APIRouter(prefix="/v1/communities", tags=["charging stations"])

StationId = Annotated[
    str, StringConstraints(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9._~:@!$&'()*+,;=-]+$")
]
"""OCPP's identity: at most 48 characters that need no escaping in a URL path segment."""


class StationIn(Strict):
    id: StationId
    password: Annotated[str, Field(min_length=16, max_length=40)]
    home_id: str
    car_id: str | None = None
    operation_mode: Literal["CentralSetpoint", "ExternalLimits"] = "CentralSetpoint"
    """OCPP 2.1 discharge: voltpool's power as a ``setpoint``, or ``limit`` and
    ``dischargeLimit`` within which the station's own controller decides."""
    dynamic_profile: bool = False
    """OCPP 2.1: one Dynamic profile whose value voltpool moves with ``UpdateDynamicSchedule``
    each slot (the station pulls it with ``PullDynamicScheduleUpdate`` too), instead of a new
    absolute profile per plan. Only for stations that support dynamic profiles."""


class StationOut(BaseModel):
    id: str
    community_id: str
    home_id: str
    car_id: str | None
    operation_mode: str
    dynamic_profile: bool
    path: str
    """The WebSocket path it connects to on the CSMS's port."""
    protocol: str | None
    vendor: str | None
    model: str | None
    booted_at: datetime | None
    last_seen: datetime | None
    created_at: datetime


def station_out(station: Station) -> StationOut:
    return StationOut(
        **{n: getattr(station, n) for n in StationOut.model_fields if n != "path"},
        path=f"/ocpp/{station.id}",
    )


@router.post(
    "/{community_id}/stations", status_code=status.HTTP_201_CREATED, response_model=StationOut
)
def register_station(community_id: str, body: StationIn, user: Caller, db: Db) -> StationOut:
    """Register a charging station of the community (its operator only)."""
    require_role(user, "operator", "admin")
    community = community_of_operator(db, user, community_id)
    home = db.get(Home, body.home_id)
    if home is None or home.community_id != community.id:
        raise invalid("body.home_id", "is not a home of this community")
    if body.car_id is not None:
        car = db.get(Car, body.car_id)
        if car is None or car.home_id != home.id:
            raise invalid("body.car_id", "is not a car of this home")
    if db.get(Station, body.id) is not None:
        raise ApiProblem(409, "a station with this id is registered already")
    station = Station(
        id=body.id,
        community_id=community.id,
        home_id=home.id,
        car_id=body.car_id,
        password_hash=hash_password(body.password),
        operation_mode=body.operation_mode,
        dynamic_profile=body.dynamic_profile,
        created_by=user.id,
    )
    db.add(station)
    audit.record(db, user.id, "station.create", station.id, home=home.id, car=body.car_id)
    db.commit()
    return station_out(station)


@router.get("/{community_id}/stations", response_model=list[StationOut])
def list_stations(community_id: str, user: Caller, db: Db) -> list[StationOut]:
    """The community's stations, what they said at their last boot and when they were last
    heard from (its operator only)."""
    community = community_of_operator(db, user, community_id)
    rows = db.scalars(
        sa.select(Station).where(Station.community_id == community.id).order_by(Station.id)
    )
    return [station_out(s) for s in rows]
