"""Communities (a feeder's homes, its limit and tariff; made by an operator) and homes (an
owner's, each in one community, with its circuits for backup)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from fastapi import APIRouter, status

from voltpool.api import audit
from voltpool.api.circuits import checked
from voltpool.api.deps import Caller, Db, State, require_role
from voltpool.api.outages import home_outage
from voltpool.api.problems import invalid, not_found
from voltpool.api.schemas import Circuits, CommunityIn, CommunityOut, HomeIn, HomeOut, OutageOut
from voltpool.api.store.tables import Community, Home, User
from voltpool.model.tariffs import tariff_presets

router = APIRouter(prefix="/v1", tags=["communities and homes"])


def _check_community(body: CommunityIn) -> None:
    try:
        ZoneInfo(body.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise invalid("body.timezone", f"{body.timezone!r} is not an IANA time zone") from None
    presets = tariff_presets()
    if body.tariff not in presets:
        raise invalid("body.tariff", f"must be one of {', '.join(sorted(presets))}")


@router.post("/communities", status_code=status.HTTP_201_CREATED, response_model=CommunityOut)
def create_community(body: CommunityIn, user: Caller, db: Db) -> Community:
    """A community with its feeder limit and tariff; the caller (an operator) runs it."""
    require_role(user, "operator", "admin")
    _check_community(body)
    community = Community(operator_id=user.id, **body.model_dump())
    db.add(community)
    db.flush()
    audit.record(db, user.id, "community.create", community.id)
    db.commit()
    return community


@router.get("/communities", response_model=list[CommunityOut])
def list_communities(user: Caller, db: Db) -> list[Community]:
    """Every community one may join a home to (names, zones, tariffs and limits are public)."""
    return list(db.scalars(sa.select(Community).order_by(Community.name)))


def community_of_operator(db: Db, user: User, community_id: str) -> Community:
    """The community if the caller runs it (or is an admin); else 404."""
    community = db.get(Community, community_id)
    if community is None or (user.role != "admin" and community.operator_id != user.id):
        raise not_found("community")
    return community


@router.get("/communities/{community_id}", response_model=CommunityOut)
def get_community(community_id: str, user: Caller, db: Db) -> Community:
    community = db.get(Community, community_id)
    if community is None:
        raise not_found("community")
    return community


@router.post("/homes", status_code=status.HTTP_201_CREATED, response_model=HomeOut)
def create_home(body: HomeIn, user: Caller, db: Db) -> Home:
    require_role(user, "owner")
    if db.get(Community, body.community_id) is None:
        raise invalid("body.community_id", "is not a community")
    values = body.model_dump(mode="json", exclude={"circuits"})
    circuits = checked([c.model_dump(mode="json", exclude_none=True) for c in body.circuits])
    home = Home(owner_id=user.id, **values, circuits=circuits)
    db.add(home)
    db.flush()
    audit.record(db, user.id, "home.create", home.id)
    db.commit()
    return home


def home_out(db: Db, home: Home, now: datetime) -> HomeOut:
    """The home as the API shows it, with the outage it is islanded in at ``now`` if any."""
    out = HomeOut.model_validate(home, from_attributes=True)
    event = home_outage(db, home, now)
    if event is not None:
        community = db.get(Community, home.community_id)
        assert community is not None
        zone = ZoneInfo(community.timezone)
        out.outage = OutageOut(
            event_id=event.id,
            start=event.start,
            end=event.end,
            start_local=event.start.astimezone(zone).isoformat(timespec="minutes"),
            end_local=event.end.astimezone(zone).isoformat(timespec="minutes"),
        )
    return out


@router.get("/homes", response_model=list[HomeOut])
def list_homes(user: Caller, db: Db, state: State) -> list[HomeOut]:
    """The caller's homes, each with the outage it is in now (if any)."""
    now = state.settings.clock.now()
    homes = db.scalars(sa.select(Home).where(Home.owner_id == user.id).order_by(Home.name))
    return [home_out(db, home, now) for home in homes]


def own_home(db: Db, user: User, home_id: str) -> Home:
    home = db.get(Home, home_id)
    if home is None or home.owner_id != user.id:
        raise not_found("home")
    return home


@router.get("/homes/{home_id}", response_model=HomeOut)
def get_home(home_id: str, user: Caller, db: Db, state: State) -> HomeOut:
    return home_out(db, own_home(db, user, home_id), state.settings.clock.now())


@router.put("/homes/{home_id}/circuits", response_model=HomeOut)
def set_circuits(home_id: str, body: Circuits, user: Caller, db: Db) -> Home:
    """Replace the home's circuits for backup (``[]``: the whole house, one critical
    circuit); the next backup answer sheds them in their order."""
    home = own_home(db, user, home_id)
    home.circuits = checked([c.model_dump(mode="json", exclude_none=True) for c in body])
    audit.record(db, user.id, "home.circuits", home.id, circuits=home.circuits)
    db.commit()
    return home
