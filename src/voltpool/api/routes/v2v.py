"""V2V between friends: requests ("12 kWh by 07:30"), offers ("up to 15 kWh tonight, to Ann
and Ben"), and the agreements matched from them (:mod:`voltpool.api.v2v`).

Every new request or offer is checked by the matcher's own rules (each broken one named as a
``body.*`` field) and matched at once with the community's open ones; each agreement's
estimate is held from the receiver's credits, the live planner plans it, and it settles on
the delivered energy when its window ends or either member cancels it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, status

from voltpool.api import audit
from voltpool.api.deps import Caller, Db, State, require_role
from voltpool.api.problems import ApiProblem, invalid, not_found
from voltpool.api.routes.cars import own_car
from voltpool.api.routes.places import community_of_operator
from voltpool.api.schemas import (
    AgreementOut,
    RefusedMatch,
    V2VOfferIn,
    V2VOfferOut,
    V2VRequestIn,
    V2VRequestOut,
)
from voltpool.api.store.tables import (
    Car,
    Community,
    Home,
    User,
    V2VAgreement,
    V2VOffer,
    V2VRequest,
    new_id,
)
from voltpool.api.v2v import (
    Round,
    as_offer,
    as_request,
    circle_of,
    match_round,
    remaining_kwh,
    settle_agreement,
)
from voltpool.api.wallets import to_credits
from voltpool.errors import ProblemError
from voltpool.sharing import resolve

router = APIRouter(prefix="/v1/v2v", tags=["v2v"])

RENAMED = {"car": "car_id", "member": "car_id"}


def _local(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


def _community(db: Db, car: Car) -> Community:
    community = db.scalar(
        sa.select(Community)
        .join(Home, Home.community_id == Community.id)
        .where(Home.id == car.home_id)
    )
    assert community is not None
    return community


def _check(
    db: Db, community: Community, now: datetime, slot_minutes: int, item: V2VRequest | V2VOffer
) -> None:
    """The matcher's rules for one new request or offer, as ``body.*`` fields."""
    circle = circle_of(db, community, now)
    is_request = isinstance(item, V2VRequest)
    try:
        if isinstance(item, V2VRequest):
            resolve(circle, [as_request(item, item.energy_kwh)], [], now, slot_minutes)
        else:
            resolve(circle, [], [as_offer(item, item.energy_kwh)], now, slot_minutes)
    except ProblemError as error:
        prefix = "requests[0]." if is_request else "offers[0]."
        errors = []
        for issue in error.issues:
            field = issue.field.removeprefix(prefix)
            head, _, tail = field.partition("[")
            field = RENAMED.get(head, head) + (f"[{tail}" if tail else "")
            errors.append({"field": f"body.{field}", "rule": issue.rule})
        raise ApiProblem(422, f"{errors[0]['field']}: {errors[0]['rule']}", errors) from None


def _no_overlap(
    db: Db,
    car: Car,
    other: type[V2VRequest] | type[V2VOffer],
    start: datetime | None,
    end: datetime,
    now: datetime,
) -> None:
    """A car gives or receives, not both at once: no open item of the ``other`` kind of the
    same car overlaps ``[start or now, end)``."""
    first, last, kind = (
        (V2VOffer.start, V2VOffer.end, "offers energy")
        if other is V2VOffer
        else (V2VRequest.earliest_start, V2VRequest.deadline, "asks for energy")
    )
    clash = db.scalar(
        sa.select(other.id).where(
            other.car_id == car.id,
            other.status == "open",
            last > (start or now),
            sa.func.coalesce(first, now) < end,
        )
    )
    if clash is not None:
        raise invalid(
            "body.car_id",
            f"the car also {kind} in an overlapping window ({clash}): a car gives or "
            "receives, not both at once",
        )


def agreement_out(db: Db, agreement: V2VAgreement, zone: str) -> AgreementOut:
    emails = dict(
        db.execute(
            sa.select(User.id, User.email).where(
                User.id.in_([agreement.giver_id, agreement.receiver_id])
            )
        ).all()
    )
    return AgreementOut(
        id=agreement.id,
        status=agreement.status,  # type: ignore[arg-type]
        request_id=agreement.request_id,
        offer_id=agreement.offer_id,
        giver_email=emails[agreement.giver_id],
        receiver_email=emails[agreement.receiver_id],
        giver_car_id=agreement.giver_car_id,
        receiver_car_id=agreement.receiver_car_id,
        mode=agreement.mode,
        start=agreement.start,
        end=agreement.end,
        start_local=_local(agreement.start, zone),
        end_local=_local(agreement.end, zone),
        ac_kwh=agreement.ac_kwh,
        giver_battery_kwh=agreement.giver_battery_kwh,
        receiver_battery_kwh=agreement.receiver_battery_kwh,
        price_credits_per_kwh=to_credits(agreement.price_millicredits_per_kwh),
        estimate_credits=to_credits(agreement.estimate_millicredits),
        delivered_ac_kwh=agreement.delivered_ac_kwh,
        paid_credits=None
        if agreement.paid_millicredits is None
        else to_credits(agreement.paid_millicredits),
        settled_at=agreement.settled_at,
    )


def _agreements(db: Db, column: object, item_id: str, user: User) -> list[V2VAgreement]:
    return list(
        db.scalars(
            sa.select(V2VAgreement)
            .where(
                column == item_id,
                sa.or_(V2VAgreement.giver_id == user.id, V2VAgreement.receiver_id == user.id),
            )
            .order_by(V2VAgreement.start, V2VAgreement.id)
        )
    )


def request_out(
    db: Db, item: V2VRequest, user: User, zone: str, done: Round | None = None
) -> V2VRequestOut:
    agreements = _agreements(db, V2VAgreement.request_id, item.id, user)
    refused = (
        []
        if done is None
        else [
            RefusedMatch(
                request_id=m.request_id,
                offer_id=m.offer_id,
                ac_kwh=m.ac_kwh,
                estimate_credits=to_credits(m.estimate_millicredits),
                reason=reason,
            )
            for m, reason in done.refused
            if m.request_id == item.id
        ]
    )
    return V2VRequestOut(
        id=item.id,
        car_id=item.car_id,
        status=item.status,  # type: ignore[arg-type]
        energy_kwh=item.energy_kwh,
        remaining_kwh=remaining_kwh(db, item),
        earliest_start=item.earliest_start,
        deadline=item.deadline,
        deadline_local=_local(item.deadline, zone),
        max_price_credits_per_kwh=None
        if item.max_price_millicredits_per_kwh is None
        else to_credits(item.max_price_millicredits_per_kwh),
        agreements=[agreement_out(db, a, zone) for a in agreements],
        refused=refused,
    )


def offer_out(db: Db, item: V2VOffer, user: User, zone: str) -> V2VOfferOut:
    owner = db.get(User, item.user_id)
    assert owner is not None
    consent: str | list[str] = "community"
    if item.consent is not None:
        consent = list(db.scalars(sa.select(User.email).where(User.id.in_(item.consent))))
    return V2VOfferOut(
        id=item.id,
        car_id=item.car_id if item.user_id == user.id else None,
        owner_email=owner.email,
        status=item.status,  # type: ignore[arg-type]
        energy_kwh=item.energy_kwh,
        remaining_kwh=remaining_kwh(db, item),
        start=item.start,
        end=item.end,
        end_local=_local(item.end, zone),
        keep_above_soc=item.keep_above_soc,
        price_credits_per_kwh=to_credits(item.price_millicredits_per_kwh),
        consent=consent,  # type: ignore[arg-type]
        mine=item.user_id == user.id,
        agreements=[
            agreement_out(db, a, zone)
            for a in _agreements(db, V2VAgreement.offer_id, item.id, user)
        ],
    )


def _match(state: State, db: Db, community: Community, now: datetime) -> Round:
    """Match the community now (after the new item was committed); re-plan if agreed."""
    db.commit()
    done = match_round(state.sessions, state.ledger, community.id, now, state.settings.slot_minutes)
    if done.agreements:
        state.planner.notify(community.id, "new V2V agreement")  # type: ignore[attr-defined]
    db.expire_all()
    return done


@router.post("/requests", status_code=status.HTTP_201_CREATED, response_model=V2VRequestOut)
def ask(body: V2VRequestIn, user: Caller, db: Db, state: State) -> V2VRequestOut:
    """Ask friends for energy into your car; matched at once with the open offers."""
    require_role(user, "owner")
    car = own_car(db, user, body.car_id)
    community = _community(db, car)
    now = state.settings.clock.now()
    item = V2VRequest(
        id=new_id(),
        community_id=community.id,
        user_id=user.id,
        car_id=car.id,
        energy_kwh=body.energy_kwh,
        earliest_start=body.earliest_start,
        deadline=body.deadline,
        max_price_millicredits_per_kwh=None
        if body.max_price_credits_per_kwh is None
        else round(body.max_price_credits_per_kwh * 1000),
    )
    _check(db, community, now, state.settings.slot_minutes, item)
    _no_overlap(db, car, V2VOffer, body.earliest_start, body.deadline, now)
    db.add(item)
    audit.record(db, user.id, "v2v.request", item.id, car=car.id, energy_kwh=body.energy_kwh)
    done = _match(state, db, community, now)
    return request_out(db, item, user, community.timezone, done)


@router.get("/requests", response_model=list[V2VRequestOut])
def my_requests(user: Caller, db: Db) -> list[V2VRequestOut]:
    """Your requests, newest first."""
    rows = db.execute(
        sa.select(V2VRequest, Community.timezone)
        .join(Community, Community.id == V2VRequest.community_id)
        .where(V2VRequest.user_id == user.id)
        .order_by(V2VRequest.created_at.desc())
        .limit(100)
    ).all()
    return [request_out(db, item, user, zone) for item, zone in rows]


@router.delete("/requests/{request_id}", response_model=V2VRequestOut)
def withdraw_request(request_id: str, user: Caller, db: Db) -> V2VRequestOut:
    """No more matches for this request (running agreements go on)."""
    item = db.get(V2VRequest, request_id)
    if item is None or item.user_id != user.id:
        raise not_found("request")
    if item.status == "open":
        item.status = "withdrawn"
        audit.record(db, user.id, "v2v.request.withdraw", item.id)
        db.commit()
    zone = db.get(Community, item.community_id).timezone  # type: ignore[union-attr]
    return request_out(db, item, user, zone)


def _consent_ids(db: Db, community: Community, user: User, emails: list[str]) -> list[str]:
    members = {
        email: user_id
        for user_id, email in db.execute(
            sa.select(User.id, User.email)
            .join(Home, Home.owner_id == User.id)
            .where(Home.community_id == community.id)
        ).all()
    }
    ids = []
    for k, email in enumerate(emails):
        if email not in members:
            raise invalid(f"body.consent[{k}]", "is not a member of your community")
        if members[email] == user.id:
            raise invalid(f"body.consent[{k}]", "is you: nobody gives to themself")
        ids.append(members[email])
    return sorted(set(ids))


@router.post("/offers", status_code=status.HTTP_201_CREATED, response_model=V2VOfferOut)
def offer(body: V2VOfferIn, user: Caller, db: Db, state: State) -> V2VOfferOut:
    """Offer energy out of your car to the community or to named friends; matched at once
    with the open requests. Until matched, the energy on offer is kept from V2G."""
    require_role(user, "owner")
    car = own_car(db, user, body.car_id)
    community = _community(db, car)
    now = state.settings.clock.now()
    consent = (
        None if body.consent == "community" else _consent_ids(db, community, user, body.consent)
    )
    item = V2VOffer(
        id=new_id(),
        community_id=community.id,
        user_id=user.id,
        car_id=car.id,
        energy_kwh=body.energy_kwh,
        start=body.start,
        end=body.end,
        keep_above_soc=body.keep_above_soc,
        price_millicredits_per_kwh=round(body.price_credits_per_kwh * 1000),
        consent=consent,
    )
    _check(db, community, now, state.settings.slot_minutes, item)
    _no_overlap(db, car, V2VRequest, body.start, body.end, now)
    db.add(item)
    audit.record(db, user.id, "v2v.offer", item.id, car=car.id, energy_kwh=body.energy_kwh)
    _match(state, db, community, now)
    return offer_out(db, item, user, community.timezone)


@router.get("/offers", response_model=list[V2VOfferOut])
def offers(user: Caller, db: Db, state: State) -> list[V2VOfferOut]:
    """Your offers, and the open offers in your communities that you may take from."""
    communities = sa.select(Home.community_id).where(Home.owner_id == user.id)
    rows = db.execute(
        sa.select(V2VOffer, Community.timezone)
        .join(Community, Community.id == V2VOffer.community_id)
        .where(
            sa.or_(
                V2VOffer.user_id == user.id,
                sa.and_(
                    V2VOffer.community_id.in_(communities),
                    V2VOffer.status == "open",
                    V2VOffer.end > state.settings.clock.now(),
                ),
            )
        )
        .order_by(V2VOffer.created_at.desc())
        .limit(200)
    ).all()
    return [
        offer_out(db, item, user, zone)
        for item, zone in rows
        if item.user_id == user.id or item.consent is None or user.id in item.consent
    ]


@router.delete("/offers/{offer_id}", response_model=V2VOfferOut)
def withdraw_offer(offer_id: str, user: Caller, db: Db, state: State) -> V2VOfferOut:
    """No more matches for this offer (running agreements go on); its energy is free for V2G
    again."""
    item = db.get(V2VOffer, offer_id)
    if item is None or item.user_id != user.id:
        raise not_found("offer")
    if item.status == "open":
        item.status = "withdrawn"
        audit.record(db, user.id, "v2v.offer.withdraw", item.id)
        db.commit()
        state.planner.notify(item.community_id, "V2V offer withdrawn")  # type: ignore[attr-defined]
    zone = db.get(Community, item.community_id).timezone  # type: ignore[union-attr]
    return offer_out(db, item, user, zone)


def _own_agreement(db: Db, user: User, agreement_id: str) -> V2VAgreement:
    agreement = db.get(V2VAgreement, agreement_id)
    if agreement is None or user.id not in (agreement.giver_id, agreement.receiver_id):
        raise not_found("agreement")
    return agreement


@router.get("/agreements", response_model=list[AgreementOut])
def my_agreements(user: Caller, db: Db) -> list[AgreementOut]:
    """The agreements you give or receive in, newest first."""
    rows = db.execute(
        sa.select(V2VAgreement, Community.timezone)
        .join(Community, Community.id == V2VAgreement.community_id)
        .where(sa.or_(V2VAgreement.giver_id == user.id, V2VAgreement.receiver_id == user.id))
        .order_by(V2VAgreement.created_at.desc())
        .limit(200)
    ).all()
    return [agreement_out(db, a, zone) for a, zone in rows]


@router.get("/agreements/{agreement_id}", response_model=AgreementOut)
def get_agreement(agreement_id: str, user: Caller, db: Db) -> AgreementOut:
    agreement = _own_agreement(db, user, agreement_id)
    zone = db.get(Community, agreement.community_id).timezone  # type: ignore[union-attr]
    return agreement_out(db, agreement, zone)


@router.post("/agreements/{agreement_id}/cancel", response_model=AgreementOut)
def cancel_agreement(agreement_id: str, user: Caller, db: Db, state: State) -> AgreementOut:
    """Stop a running agreement (either member): what was delivered so far is paid, the
    rest of the hold goes back to the receiver."""
    agreement = _own_agreement(db, user, agreement_id)
    if agreement.status != "running":
        raise ApiProblem(409, f"this agreement is {agreement.status} already")
    zone = db.get(Community, agreement.community_id).timezone  # type: ignore[union-attr]
    db.commit()
    done = settle_agreement(
        state.sessions,
        state.ledger,
        agreement_id,
        state.settings.clock.now(),
        state.settings.slot_minutes,
        outcome="cancelled",
    )
    if done is None:
        raise ApiProblem(409, "this agreement ended meanwhile")
    audit.record(db, user.id, "v2v.agreement.cancel", agreement_id)
    db.commit()
    state.planner.notify(done.community_id, "V2V agreement cancelled")  # type: ignore[attr-defined]
    db.expire_all()
    return agreement_out(db, _own_agreement(db, user, agreement_id), zone)


@router.get("/communities/{community_id}/agreements", response_model=list[AgreementOut])
def community_agreements(community_id: str, user: Caller, db: Db) -> list[AgreementOut]:
    """The community's V2V agreements, newest first (its operator): the credit flows
    between its members."""
    community = community_of_operator(db, user, community_id)
    agreements = db.scalars(
        sa.select(V2VAgreement)
        .where(V2VAgreement.community_id == community.id)
        .order_by(V2VAgreement.created_at.desc())
        .limit(500)
    )
    return [agreement_out(db, a, community.timezone) for a in agreements]
