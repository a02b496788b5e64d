"""Grid events of a community (its operator posts them now; the OpenADR adapter will too):
a capacity limit, a price or an outage (:mod:`voltpool.api.outages`) over a window. Posting
one re-plans the community at once; the answer lists each event with the newest plan's
response (its highest import and export in the event's slots)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, status

from voltpool.api import audit
from voltpool.api.deps import Caller, Db, State
from voltpool.api.problems import invalid, not_found
from voltpool.api.routes.places import community_of_operator
from voltpool.api.routes.plans import latest_plan
from voltpool.api.schemas import GridEventIn, GridEventOut
from voltpool.api.store.tables import Community, GridEvent, Home, Plan

router = APIRouter(prefix="/v1/communities/{community_id}/grid-events", tags=["grid events"])
HORIZON_DAYS_MAX = 7


def _check(body: GridEventIn, now: datetime) -> None:
    if body.end <= body.start:
        raise invalid("body.end", "must be after start")
    if body.end <= now:
        raise invalid("body.end", "must be in the future")
    if body.end - body.start > timedelta(days=HORIZON_DAYS_MAX):
        raise invalid("body.end", f"must be at most {HORIZON_DAYS_MAX} days after start")
    if body.kind == "capacity" and body.import_limit_kw is None and body.export_limit_kw is None:
        raise invalid("body.import_limit_kw", "a capacity event needs an import or export limit")
    if body.kind == "price" and body.price_per_kwh is None:
        raise invalid("body.price_per_kwh", "a price event needs its price")
    for name in FIELDS_OF_OTHER_KINDS[body.kind]:
        if getattr(body, name) is not None:
            raise invalid(f"body.{name}", f"does not belong to a {body.kind} event")


FIELDS_OF_OTHER_KINDS = {
    "capacity": ("price_per_kwh", "home_ids"),
    "price": ("import_limit_kw", "export_limit_kw", "home_ids"),
    "outage": ("import_limit_kw", "export_limit_kw", "price_per_kwh"),
}


def _check_homes(db: Db, community: Community, home_ids: list[str] | None) -> None:
    """Every home an outage names is a home of the community, named once."""
    if home_ids is None:
        return
    known = set(db.scalars(sa.select(Home.id).where(Home.community_id == community.id)))
    for i, home_id in enumerate(home_ids):
        if home_id not in known:
            raise invalid(f"body.home_ids[{i}]", "is not a home of this community")
        if home_id in home_ids[:i]:
            raise invalid(f"body.home_ids[{i}]", "is named twice")


def _out(event: GridEvent, community: Community, plan: Plan | None) -> GridEventOut:
    zone = ZoneInfo(community.timezone)
    inside = []
    if plan is not None:
        for slot in plan.site.get("slots", []):
            start = datetime.fromisoformat(slot["start"])
            if event.start <= start < event.end:
                inside.append(slot["site_import_kw"])
    return GridEventOut(
        id=event.id,
        community_id=event.community_id,
        kind=event.kind,
        start=event.start,
        end=event.end,
        start_local=event.start.astimezone(zone).isoformat(timespec="minutes"),
        end_local=event.end.astimezone(zone).isoformat(timespec="minutes"),
        import_limit_kw=event.import_limit_kw,
        export_limit_kw=event.export_limit_kw,
        price_per_kwh=event.price_per_kwh,
        home_ids=event.home_ids,
        planned_max_import_kw=max(inside) if inside else None,
        planned_max_export_kw=max(-min(inside), 0.0) if inside else None,
        plan_id=None if plan is None or not inside else plan.id,
        created_at=event.created_at,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GridEventOut)
def post_event(
    community_id: str, body: GridEventIn, user: Caller, db: Db, state: State
) -> GridEventOut:
    """A capacity limit, a price or an outage for a window; the community is re-planned at
    once."""
    community = community_of_operator(db, user, community_id)
    _check(body, state.settings.clock.now())
    _check_homes(db, community, body.home_ids)
    event = GridEvent(community_id=community.id, created_by=user.id, **body.model_dump())
    db.add(event)
    db.flush()
    audit.record(db, user.id, "grid_event.create", event.id, kind=body.kind)
    db.commit()
    state.planner.notify(community.id, "grid event")  # type: ignore[attr-defined]
    return _out(event, community, None)


@router.get("", response_model=list[GridEventOut])
def list_events(community_id: str, user: Caller, db: Db, state: State) -> list[GridEventOut]:
    """Events not over yet, earliest first, with the newest plan's response to each."""
    community = community_of_operator(db, user, community_id)
    plan = latest_plan(db, community.id, Plan.site)
    events = db.scalars(
        sa.select(GridEvent)
        .where(GridEvent.community_id == community.id, GridEvent.end > state.settings.clock.now())
        .order_by(GridEvent.start)
    )
    return [_out(event, community, plan) for event in events]


@router.delete("/{event_id}", response_model=GridEventOut)
def end_event(community_id: str, event_id: str, user: Caller, db: Db, state: State) -> GridEventOut:
    """End an event now (the grid is back, the limit is lifted): one under way ends at the
    service's time, one not begun is withdrawn; either leaves the list. The community is
    re-planned at once."""
    community = community_of_operator(db, user, community_id)
    event = db.get(GridEvent, event_id)
    now = state.settings.clock.now()
    if event is None or event.community_id != community.id or event.end <= now:
        raise not_found("grid event (or it is over)")
    if event.start > now:
        db.delete(event)
        action = "grid_event.withdraw"
    else:
        event.end = now
        action = "grid_event.end"
    audit.record(db, user.id, action, event.id)
    db.commit()
    state.planner.notify(community.id, "grid event ended")  # type: ignore[attr-defined]
    return _out(event, community, None)
