"""V2V between members of a community in the live service: requests and offers matched by
the one matcher, agreements held and settled in the ledger, planned by the live planner.

The community is one :class:`voltpool.sharing.Circle`: its members are the owners of its
homes, its cars every car of those homes, plugged in at their home for their open session
(:func:`circle_of`). Requests and offers are matched on what they still need or give
(:func:`match_round`, :func:`voltpool.sharing.matching.match_book`), on every new request or
offer and at every slot tick; each match the receiver's credits cover becomes an agreement
whose estimate is a pending transfer (:func:`voltpool.settlement.open_pending`). A pair of a
request and an offer is agreed once: its id is the match key, from which the ledger's ids
derive.

The live planner plans every running agreement as a transfer of the community's one LP
(:func:`planner_inputs`), and the energy on open offers is kept from V2G. At each slot
boundary the flow the plan in force commanded is added to the agreement's delivered energy
(:func:`book_deliveries`, with the V2G history of :mod:`voltpool.api.history`); when the window
ends, or either member cancels, the hold is posted for what was delivered, or voided when
nothing was (:func:`settle_agreement`, :func:`voltpool.settlement.settle`). Delivered energy
is the commanded flow until chargers report meter values (OCPP).

One ``voltpool serve`` process owns its communities: rounds and settlements of a community
run one at a time under its lock.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from voltpool.api.limits import limits_kw
from voltpool.api.store.tables import (
    Car,
    Community,
    Home,
    Plan,
    PlugSession,
    V2VAgreement,
    V2VOffer,
    V2VRequest,
)
from voltpool.api.wallets import open_wallet
from voltpool.control import V2VInputs
from voltpool.credits import MILLI, CreditPolicy
from voltpool.errors import ProblemError
from voltpool.ledger import Ledger
from voltpool.model import SlotGrid, Transfers
from voltpool.settlement import energy_account, open_pending, settle
from voltpool.sharing import Cars, Circle, Match, Metered, Offer, Request, Sites, resolve
from voltpool.sharing.matching import MIN_MATCH_KWH, match_book

POLICY = CreditPolicy()
"""How V2V credits are counted (losses borne by the giver, the default policy)."""

_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_locks_guard = threading.Lock()


def community_lock(community_id: str) -> threading.Lock:
    with _locks_guard:
        return _locks[community_id]


def circle_of(db: Session, community: Community, now: datetime) -> Circle:
    """The community as a circle at ``now`` (see the module docstring)."""
    homes = list(
        db.scalars(sa.select(Home).where(Home.community_id == community.id).order_by(Home.id))
    )
    cars = list(
        db.scalars(
            sa.select(Car)
            .join(Home, Car.home_id == Home.id)
            .where(Home.community_id == community.id)
            .order_by(Car.id)
        )
    )
    plugged = {
        s.car_id: s
        for s in db.scalars(
            sa.select(PlugSession).where(
                PlugSession.car_id.in_([c.id for c in cars]),
                PlugSession.ended_at.is_(None),
                PlugSession.departure > now,
            )
        )
    }
    members = sorted({h.owner_id for h in homes} | {c.owner_id for c in cars})
    sessions = [plugged.get(c.id) for c in cars]
    limits = [limits_kw(c, s) for c, s in zip(cars, sessions, strict=True)]
    fleet = Cars(
        ids=tuple(c.id for c in cars),
        owner=tuple(c.owner_id for c in cars),
        capacity_kwh=np.array([c.capacity_kwh for c in cars]),
        charge_efficiency=np.array([c.charge_efficiency for c in cars]),
        discharge_efficiency=np.array([c.discharge_efficiency for c in cars]),
        max_charge_kw=np.array([kw for kw, _ in limits]),
        max_discharge_kw=np.array([kw for _, kw in limits]),
        soc=np.array([min(max(c.soc_now, 0.0), c.soc_max) for c in cars]),
        soc_min=np.array([c.soc_min for c in cars]),
        soc_max=np.array([c.soc_max for c in cars]),
        site=tuple(c.home_id if s is not None else "" for c, s in zip(cars, sessions, strict=True)),
        plugged_from=pd.DatetimeIndex([None if s is None else s.arrival for s in sessions]),
        plugged_until=pd.DatetimeIndex([None if s is None else s.departure for s in sessions]),
        timezone=community.timezone,
    )
    sites = Sites(
        ids=tuple(h.id for h in homes),
        import_limit_kw=np.array([h.breaker_kw for h in homes]),
        export_limit_kw=np.array([h.breaker_kw for h in homes]),
        base_load_kw=np.array([h.house_load_kw for h in homes]),
    )
    return Circle(community.id, tuple(members), fleet, sites, timezone=community.timezone)


def credits_of(millicredits: int | None) -> Decimal | None:
    return None if millicredits is None else Decimal(millicredits) / MILLI


def _received_kwh(agreement: V2VAgreement) -> float:
    """Battery energy the agreement gives its request: all of it while it runs, what was
    delivered once it ended."""
    if agreement.status == "running":
        return agreement.receiver_battery_kwh
    return agreement.delivered_ac_kwh * agreement.receiver_battery_kwh / agreement.ac_kwh


def _given_kwh(agreement: V2VAgreement) -> float:
    if agreement.status == "running":
        return agreement.giver_battery_kwh
    return agreement.delivered_ac_kwh * agreement.giver_battery_kwh / agreement.ac_kwh


def remaining_kwh(db: Session, item: V2VRequest | V2VOffer) -> float:
    """What a request still asks for (battery side), or an offer still gives."""
    if isinstance(item, V2VRequest):
        column, taken = V2VAgreement.request_id, _received_kwh
    else:
        column, taken = V2VAgreement.offer_id, _given_kwh
    agreements = db.scalars(sa.select(V2VAgreement).where(column == item.id))
    return max(0.0, item.energy_kwh - sum(taken(a) for a in agreements))


def as_request(item: V2VRequest, energy_kwh: float) -> Request:
    return Request(
        id=item.id,
        member=item.user_id,
        car=item.car_id,
        energy_kwh=energy_kwh,
        deadline=item.deadline,
        earliest_start=item.earliest_start,
        max_price_credits_per_kwh=credits_of(item.max_price_millicredits_per_kwh),
    )


def as_offer(item: V2VOffer, energy_kwh: float) -> Offer:
    return Offer(
        id=item.id,
        member=item.user_id,
        car=item.car_id,
        energy_kwh=energy_kwh,
        end=item.end,
        start=item.start,
        keep_above_soc=item.keep_above_soc,
        price_credits_per_kwh=credits_of(item.price_millicredits_per_kwh) or 0,
        consent="circle" if item.consent is None else list(item.consent),
    )


def _usable(
    circle: Circle, requests: list[Request], offers: list[Offer], now: datetime, minutes: int
) -> tuple[list[Request], list[Offer]]:
    """The requests and offers that pass every rule on their own now (a car unplugged, a
    battery too full or too empty for now: they wait for a later round)."""

    def ok(requests: list[Request], offers: list[Offer]) -> bool:
        try:
            resolve(circle, requests, offers, now, minutes)
        except ProblemError:
            return False
        return True

    return [r for r in requests if ok([r], [])], [o for o in offers if ok([], [o])]


@dataclass(frozen=True)
class Round:
    """What one matching round agreed, and the matches the receivers' credits did not cover
    (with the ledger's reason)."""

    agreements: tuple[V2VAgreement, ...]
    refused: tuple[tuple[Match, str], ...]


def _agreement(match: Match) -> V2VAgreement:
    return V2VAgreement(
        id=match.key,
        community_id=match.circle,
        request_id=match.request_id,
        offer_id=match.offer_id,
        giver_id=match.giver,
        receiver_id=match.receiver,
        giver_car_id=match.giver_car,
        receiver_car_id=match.receiver_car,
        mode=match.mode,
        start=match.start.to_pydatetime(),
        end=match.end.to_pydatetime(),
        ac_kwh=match.ac_kwh,
        giver_battery_kwh=match.giver_battery_kwh,
        receiver_battery_kwh=match.receiver_battery_kwh,
        giver_floor_kwh=match.giver_floor_kwh,
        price_millicredits_per_kwh=match.price_millicredits_per_kwh,
        estimate_millicredits=match.estimate_millicredits,
    )


def _open_accounts(ledger: Ledger, members: set[str]) -> None:
    for member in sorted(members):
        open_wallet(ledger, member)
        ledger.create_account(
            energy_account(member), owner=member, kind="owner", unit="energy", allow_overdraft=True
        )


def match_round(
    sessions: sessionmaker[Session],
    ledger: Ledger,
    community_id: str,
    now: datetime,
    slot_minutes: int,
) -> Round:
    """Match the community's open requests and offers on what they still need and give; hold
    and store every match the receiver can pay for."""
    with community_lock(community_id):
        with sessions() as db:
            community = db.get(Community, community_id)
            if community is None:
                return Round((), ())
            open_requests = db.scalars(
                sa.select(V2VRequest).where(
                    V2VRequest.community_id == community_id,
                    V2VRequest.status == "open",
                    V2VRequest.deadline > now,
                )
            ).all()
            open_offers = db.scalars(
                sa.select(V2VOffer).where(
                    V2VOffer.community_id == community_id,
                    V2VOffer.status == "open",
                    V2VOffer.end > now,
                )
            ).all()
            if not open_requests or not open_offers:
                return Round((), ())
            circle = circle_of(db, community, now)
            wanted = [(r, remaining_kwh(db, r)) for r in open_requests]
            given = [(o, remaining_kwh(db, o)) for o in open_offers]
            agreed = set(
                db.scalars(
                    sa.select(V2VAgreement.id).where(V2VAgreement.community_id == community_id)
                )
            )
            db.commit()
        requests, offers = _usable(
            circle,
            [as_request(r, kwh) for r, kwh in wanted if kwh >= MIN_MATCH_KWH],
            [as_offer(o, kwh) for o, kwh in given if kwh >= MIN_MATCH_KWH],
            now,
            slot_minutes,
        )
        if not requests or not offers:
            return Round((), ())
        try:
            book = resolve(circle, requests, offers, now, slot_minutes)
        except ProblemError:  # two old items of one car overlap: refused when posted
            return Round((), ())
        matches = [m for m in match_book(circle, book, POLICY) if m.key not in agreed]
        if not matches:
            return Round((), ())
        _open_accounts(ledger, {m.giver for m in matches} | {m.receiver for m in matches})
        acceptances = open_pending(ledger, matches)
        rows = [_agreement(a.match) for a in acceptances if a.accepted]
        with sessions() as db:
            db.add_all(rows)
            db.commit()
        refused = tuple((a.match, a.reason) for a in acceptances if not a.accepted)
        return Round(tuple(rows), refused)


def book_deliveries(db: Session, plan: Plan, slot: int, hours: float) -> None:
    """Add slot ``slot`` of ``plan``'s transfer flows to the running agreements' delivered
    energy (never beyond what was agreed); the caller commits."""
    for flow in plan.site.get("transfers", []):
        powers = flow["transfer_kw"]
        power_kw = powers[slot] if slot < len(powers) else 0.0
        if power_kw <= 0:
            continue
        agreement = db.get(V2VAgreement, flow["id"])
        if agreement is None or agreement.status != "running":
            continue
        agreement.delivered_ac_kwh = min(
            agreement.ac_kwh, agreement.delivered_ac_kwh + power_kw * hours
        )


def _match_of(agreement: V2VAgreement, slot_minutes: int) -> Match:
    """The agreement as the match it was made from (what settlement needs)."""
    start, end = pd.Timestamp(agreement.start), pd.Timestamp(agreement.end)
    return Match(
        key=agreement.id,
        circle=agreement.community_id,
        request_id=agreement.request_id,
        offer_id=agreement.offer_id,
        giver=agreement.giver_id,
        receiver=agreement.receiver_id,
        giver_car=agreement.giver_car_id,
        receiver_car=agreement.receiver_car_id,
        mode=agreement.mode,  # type: ignore[arg-type]
        site="",
        start=start,
        end=end,
        start_slot=0,
        end_slot=int((end - start) / pd.Timedelta(minutes=slot_minutes)),
        ac_kwh=agreement.ac_kwh,
        giver_battery_kwh=agreement.giver_battery_kwh,
        receiver_battery_kwh=agreement.receiver_battery_kwh,
        price_millicredits_per_kwh=agreement.price_millicredits_per_kwh,
        estimate_millicredits=agreement.estimate_millicredits,
        giver_floor_kwh=agreement.giver_floor_kwh,
        grid=SlotGrid(start, slot_minutes),
    )


def settle_agreement(
    sessions: sessionmaker[Session],
    ledger: Ledger,
    agreement_id: str,
    now: datetime,
    slot_minutes: int,
    outcome: str = "settled",
) -> V2VAgreement | None:
    """Settle a running agreement on what was delivered (``outcome``: ``settled`` at the end
    of its window, ``cancelled`` by a member): the hold posted for the metered energy, or
    voided when nothing was delivered. The agreement as stored after; None when it was not
    running. Settling again after a crash books nothing twice (the ledger's ids are the
    match's)."""
    with sessions() as db:
        community_id = db.scalar(
            sa.select(V2VAgreement.community_id).where(V2VAgreement.id == agreement_id)
        )
        db.commit()
    if community_id is None:
        return None
    with community_lock(community_id):
        with sessions() as db:
            agreement = db.get(V2VAgreement, agreement_id)
            if agreement is None or agreement.status != "running":
                return None
            match = _match_of(agreement, slot_minutes)
            delivered = agreement.delivered_ac_kwh
            db.commit()
        metered = Metered.from_kwh(
            np.array([delivered]),
            np.array([delivered * match.giver_battery_kwh / match.ac_kwh]),
            np.array([delivered * match.receiver_battery_kwh / match.ac_kwh]),
        )
        _open_accounts(ledger, {match.giver, match.receiver})
        (result,) = settle(ledger, [match], metered, POLICY)
        with sessions() as db:
            agreement = db.get(V2VAgreement, agreement_id)
            assert agreement is not None
            agreement.status = outcome
            agreement.paid_millicredits = result.millicredits
            agreement.settled_at = now
            db.commit()
            return agreement


def tick(
    sessions: sessionmaker[Session], ledger: Ledger, now: datetime, slot_minutes: int
) -> set[str]:
    """At a slot boundary: settle the agreements whose window ended, expire the requests and
    offers whose window ended, match every community with open requests and offers. The
    communities whose agreements changed (to re-plan)."""
    with sessions() as db:
        due = db.scalars(
            sa.select(V2VAgreement.id).where(
                V2VAgreement.status == "running", V2VAgreement.end <= now
            )
        ).all()
        for table, end in ((V2VRequest, V2VRequest.deadline), (V2VOffer, V2VOffer.end)):
            db.execute(
                sa.update(table).where(table.status == "open", end <= now).values(status="expired")
            )
        asking = set(
            db.scalars(sa.select(V2VRequest.community_id).where(V2VRequest.status == "open"))
        )
        giving = set(db.scalars(sa.select(V2VOffer.community_id).where(V2VOffer.status == "open")))
        db.commit()
    changed: set[str] = set()
    for agreement_id in due:
        settled = settle_agreement(sessions, ledger, agreement_id, now, slot_minutes)
        if settled is not None:
            changed.add(settled.community_id)
    for community_id in sorted(asking & giving):
        if match_round(sessions, ledger, community_id, now, slot_minutes).agreements:
            changed.add(community_id)
    return changed


def planner_inputs(
    db: Session,
    community_id: str,
    cars: list[Car],
    now: datetime,
    origin: datetime,
    slot_minutes: int,
) -> V2VInputs | None:
    """What the community's plan from ``origin`` needs of V2V, for its plugged-in ``cars``
    (rows in that order): the running agreements between them as transfers (what is left to
    deliver, slots from ``origin``) and the energy their open offers keep from V2G."""
    row = {car.id: k for k, car in enumerate(cars)}
    running = [
        a
        for a in db.scalars(
            sa.select(V2VAgreement)
            .where(
                V2VAgreement.community_id == community_id,
                V2VAgreement.status == "running",
                V2VAgreement.end > now,
            )
            .order_by(V2VAgreement.id)
        )
        if a.giver_car_id in row and a.receiver_car_id in row
    ]
    offers = db.scalars(
        sa.select(V2VOffer).where(
            V2VOffer.community_id == community_id,
            V2VOffer.status == "open",
            V2VOffer.end > now,
            V2VOffer.car_id.in_(list(row)),
        )
    ).all()
    if not running and not offers:
        return None
    reserved = np.zeros(len(cars))
    for offer in offers:
        car = cars[row[offer.car_id]]
        floor = max(car.soc_min, offer.keep_above_soc) * car.capacity_kwh
        keep = min(car.soc_now * car.capacity_kwh, floor + remaining_kwh(db, offer))
        reserved[row[offer.car_id]] = max(reserved[row[offer.car_id]], keep)
    transfers = None
    if running:
        step = timedelta(minutes=slot_minutes)
        transfers = Transfers(
            ids=tuple(a.id for a in running),
            giver=[row[a.giver_car_id] for a in running],
            receiver=[row[a.receiver_car_id] for a in running],
            start_slot=[max(0, (a.start - origin) // step) for a in running],
            end_slot=[(a.end - origin) // step for a in running],
            energy_kwh=[max(0.0, a.ac_kwh - a.delivered_ac_kwh) for a in running],
            giver_floor_kwh=[a.giver_floor_kwh for a in running],
        )
    return V2VInputs(reserved, transfers)
