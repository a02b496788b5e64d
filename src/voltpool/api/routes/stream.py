"""``GET /v1/stream``: the live stream (server-sent events), as evcc's: first the caller's
whole state (``event: state``), then a change each time the planner stores a new plan for one
of the caller's communities (``event: plan``); a comment every 15 s keeps proxies from closing
it. An owner sees their cars (plugged in or not, this slot's power, the SoC it plans next,
any shortfall); an operator sees their communities' site load now and the cars planned.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from voltpool.api.deps import AppState, Caller, State
from voltpool.api.events import CLOSING
from voltpool.api.routes.plans import latest_plan
from voltpool.api.store.tables import Car, CarPlan, Community, Home, Plan, PlugSession, User

router = APIRouter(prefix="/v1", tags=["stream"])
PING_S = 15


def _communities(db: Session, user: User) -> list[str]:
    if user.role == "owner":
        query = sa.select(Home.community_id).where(Home.owner_id == user.id).distinct()
    elif user.role == "operator":
        query = sa.select(Community.id).where(Community.operator_id == user.id)
    else:
        query = sa.select(Community.id)
    return list(db.scalars(query))


def _car_now(view: dict[str, Any] | None) -> dict[str, Any] | None:
    if view is None or not view["slots"]:
        return None
    slot = view["slots"][0]
    return {
        "power_kw": slot["power_kw"],
        "soc_next": slot["soc_end"],
        "slot_start_local": slot["start_local"],
        "shortfall_kwh": view["shortfall_kwh"],
        "shortfall_reason": view["shortfall_reason"],
    }


def _owner_cars(db: Session, user: User, community_id: str | None) -> list[dict[str, Any]]:
    query = sa.select(Car, Home.community_id).join(Home, Car.home_id == Home.id)
    query = query.where(Car.owner_id == user.id)
    if community_id is not None:
        query = query.where(Home.community_id == community_id)
    cars = []
    for car, community in db.execute(query.order_by(Car.name)).all():
        plan = latest_plan(db, community)
        view = None if plan is None else db.get(CarPlan, (plan.id, car.id))
        plugged = db.scalar(
            sa.select(PlugSession.id).where(
                PlugSession.car_id == car.id, PlugSession.ended_at.is_(None)
            )
        )
        cars.append(
            {
                "car_id": car.id,
                "name": car.name,
                "plugged_in": plugged is not None,
                "soc_now": car.soc_now,
                "plan_id": None if view is None else plan.id,
                "now": _car_now(None if view is None else view.view),
            }
        )
    return cars


def _site_now(db: Session, community_id: str) -> dict[str, Any]:
    plan = latest_plan(db, community_id, Plan.site)
    slots = [] if plan is None else plan.site.get("slots", [])
    return {
        "community_id": community_id,
        "plan_id": None if plan is None else plan.id,
        "cars_planned": 0 if plan is None else plan.site.get("cars_planned", 0),
        "site_import_kw_now": slots[0]["site_import_kw"] if slots else None,
        "import_limit_kw": slots[0]["import_limit_kw"] if slots else None,
    }


def _state(state: AppState, user: User, community_id: str | None = None) -> dict[str, Any]:
    with state.read_sessions() as db:
        if user.role == "owner":
            return {"cars": _owner_cars(db, user, community_id)}
        ids = [community_id] if community_id else _communities(db, user)
        return {"communities": [_site_now(db, c) for c in ids]}


@router.get("/stream", response_class=EventSourceResponse)
async def stream(request: Request, user: Caller, state: State) -> EventSourceResponse:
    """Server-sent events: ``state`` once, then ``plan`` for every new plan of yours."""
    with state.read_sessions() as db:
        mine = set(_communities(db, user))

    async def events() -> AsyncIterator[dict[str, str]]:
        async with state.events.subscribe() as queue:
            whole = await run_in_threadpool(_state, state, user)
            yield {"event": "state", "data": json.dumps(whole)}
            while True:
                change = await queue.get()
                if change is CLOSING:
                    return
                if change.get("community_id") not in mine:
                    continue
                body = await run_in_threadpool(_state, state, user, change["community_id"])
                body |= {"plan_id": change["plan_id"], "reason": change["reason"]}
                yield {"event": "plan", "data": json.dumps(body)}

    return EventSourceResponse(events(), ping=PING_S)
