"""V2V over the API (real HTTP, SQLite and PostgreSQL), on the service's manual clock: Ann
offers kWh to Bob, Bob asks; the matcher agrees them at once and holds the estimate from Bob's
credits; the live planner plans the transfer in both cars' plans; slot by slot the commanded
flow is booked, and when the window ends the hold is posted for what was delivered. A cancel
voids what was not delivered; bad requests name their field; strangers see nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api_server import LiveServer, User, live_server, wait_for
from voltpool.api.clock import ManualClock

ZONE = "Europe/Amsterdam"
START = datetime(2026, 12, 2, 16, 2, tzinfo=UTC)  # 17:02 local
SLOT = timedelta(minutes=15)
PRICE = 0.25


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START, poll_s=0.01)


@pytest.fixture
def server(ledger_url: str, clock: ManualClock):
    with live_server(ledger_url, clock=clock, plan_time_budget_s=10) as running:
        yield running


def _community(server: LiveServer) -> str:
    operator = server.register("op@example.org", role="operator")
    answer = operator.client.post("/v1/communities", json={"name": "Zonnewijk", "timezone": ZONE})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _operator(server: LiveServer) -> User:
    return server.log_in("op@example.org")


def _plugged_car(owner: User, community: str, now: datetime, soc_now: float) -> str:
    home = owner.client.post("/v1/homes", json={"name": "home", "community_id": community})
    assert home.status_code == 201, home.text
    car = owner.client.post(
        "/v1/cars",
        json={
            "name": "car",
            "home_id": home.json()["id"],
            "capacity_kwh": 60.0,
            "soc_now": soc_now,
            "soc_target": 0.5,
        },
    )
    assert car.status_code == 201, car.text
    leave = (now + timedelta(hours=8)).isoformat()
    plugged = owner.client.post(f"/v1/cars/{car.json()['id']}/sessions", json={"departure": leave})
    assert plugged.status_code == 201, plugged.text
    return car.json()["id"]


def _credits(user: User) -> dict:
    return user.client.get("/v1/credits").json()


def _friends(server: LiveServer, clock: ManualClock) -> tuple[User, User, str, str]:
    community = _community(server)
    ann = server.register("ann@example.org")
    bob = server.register("bob@example.org")
    ann_car = _plugged_car(ann, community, clock.now(), soc_now=0.9)
    bob_car = _plugged_car(bob, community, clock.now(), soc_now=0.2)
    grant = server.admin().client.post(
        "/v1/credits/grants",
        json={"to_email": bob.email, "amount_credits": 20},
        headers={"Idempotency-Key": "welcome-bob"},
    )
    assert grant.status_code == 201, grant.text
    return ann, bob, ann_car, bob_car


def _agree(clock: ManualClock, ann: User, bob: User, ann_car: str, bob_car: str) -> dict:
    offer = ann.client.post(
        "/v1/v2v/offers",
        json={
            "car_id": ann_car,
            "energy_kwh": 10.0,
            "end": (clock.now() + timedelta(hours=6)).isoformat(),
            "price_credits_per_kwh": PRICE,
            "keep_above_soc": 0.4,
            "consent": [bob.email],
        },
    )
    assert offer.status_code == 201, offer.text
    assert offer.json()["agreements"] == [] and offer.json()["remaining_kwh"] == 10.0
    seen = bob.client.get("/v1/v2v/offers").json()
    assert [o["id"] for o in seen] == [offer.json()["id"]] and not seen[0]["mine"]
    request = bob.client.post(
        "/v1/v2v/requests",
        json={
            "car_id": bob_car,
            "energy_kwh": 6.0,
            "deadline": (clock.now() + timedelta(hours=2)).isoformat(),
            "max_price_credits_per_kwh": 0.3,
        },
    )
    assert request.status_code == 201, request.text
    (agreement,) = request.json()["agreements"]
    assert request.json()["remaining_kwh"] == pytest.approx(0.0, abs=0.01)  # whole Wh
    return agreement


def test_an_agreement_is_held_planned_delivered_and_settled_at_the_end_of_its_window(
    server: LiveServer, clock: ManualClock
) -> None:
    ann, bob, ann_car, bob_car = _friends(server, clock)
    agreement = _agree(clock, ann, bob, ann_car, bob_car)
    assert agreement["giver_email"] == ann.email and agreement["status"] == "running"
    assert agreement["receiver_battery_kwh"] == pytest.approx(6.0, abs=0.01)
    assert datetime.fromisoformat(agreement["start"]) >= clock.now()
    estimate = agreement["estimate_credits"]
    assert estimate == pytest.approx(agreement["ac_kwh"] * PRICE, abs=0.002)
    assert _credits(bob)["pending_out_credits"] == pytest.approx(estimate)
    assert _credits(bob)["available_credits"] == pytest.approx(20 - estimate)

    def planned(user: User, car: str) -> dict | None:
        answer = user.client.get(f"/v1/cars/{car}/plan")
        plan = answer.json() if answer.status_code == 200 else None
        return plan if plan and plan["transfers"] else None

    bobs_plan = wait_for(lambda: planned(bob, bob_car))
    anns_plan = wait_for(lambda: planned(ann, ann_car))
    assert bobs_plan["transfers"][0]["id"] == agreement["id"]
    assert bobs_plan["transfers"][0]["role"] == "receives"
    assert anns_plan["transfers"][0]["role"] == "gives"
    assert bobs_plan["transfers"][0]["shortfall_kwh"] == pytest.approx(0.0, abs=1e-6)
    flows = bobs_plan["transfers"][0]["transfer_kw"]
    assert sum(flows) * 0.25 == pytest.approx(agreement["ac_kwh"], abs=1e-4)

    end = datetime.fromisoformat(agreement["end"])

    def plans_made() -> int:
        return server.client().get("/healthz").json()["plans_made"]

    while clock.now() < end + SLOT:  # slot by slot; each tick books the slot that ended
        before = plans_made()
        clock.advance(SLOT)
        # the tick books the slot, then re-plans the plugged-in cars: the next slot only after
        # (a clock faster than the tick would book a slot with a plan since superseded)
        wait_for(
            lambda before=before: (
                plans_made() > before
                or ann.client.get(f"/v1/v2v/agreements/{agreement['id']}").json()["status"]
                == "settled"
            ),
            timeout_s=60,
        )
    settled = wait_for(
        lambda: (
            (a := bob.client.get(f"/v1/v2v/agreements/{agreement['id']}").json())["status"]
            == "settled"
            and a
        ),
        timeout_s=60,
    )
    assert settled["delivered_ac_kwh"] == pytest.approx(agreement["ac_kwh"], abs=1e-3)
    paid = settled["paid_credits"]
    assert 0 < paid <= estimate
    assert paid == pytest.approx(settled["delivered_ac_kwh"] * PRICE, abs=0.002)
    bobs, anns = _credits(bob), _credits(ann)
    assert bobs["pending_out_credits"] == 0
    assert bobs["balance_credits"] == pytest.approx(20 - paid)
    assert anns["balance_credits"] == pytest.approx(paid)  # conserved: Bob's loss, Ann's gain
    assert bob.client.get("/v1/v2v/requests").json()[0]["status"] == "expired"
    operator = _operator(server)
    community = operator.client.get("/v1/communities").json()[0]["id"]
    flows = operator.client.get(f"/v1/v2v/communities/{community}/agreements").json()
    assert [(a["id"], a["paid_credits"]) for a in flows] == [(agreement["id"], paid)]


def test_a_cancelled_agreement_releases_the_hold_and_strangers_see_nothing(
    server: LiveServer, clock: ManualClock
) -> None:
    ann, bob, ann_car, bob_car = _friends(server, clock)
    agreement = _agree(clock, ann, bob, ann_car, bob_car)
    eve = server.register("eve@example.org")
    assert eve.client.get(f"/v1/v2v/agreements/{agreement['id']}").status_code == 404
    assert eve.client.post(f"/v1/v2v/agreements/{agreement['id']}/cancel").status_code == 404
    assert eve.client.get("/v1/v2v/offers").json() == []  # not her community, not for her
    cancelled = ann.client.post(f"/v1/v2v/agreements/{agreement['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled" and cancelled.json()["paid_credits"] == 0
    assert _credits(bob)["available_credits"] == pytest.approx(20.0)
    assert _credits(bob)["pending_out_credits"] == 0
    again = bob.client.post(f"/v1/v2v/agreements/{agreement['id']}/cancel")
    assert again.status_code == 409


def test_bad_requests_and_offers_name_their_field(server: LiveServer, clock: ManualClock) -> None:
    ann, bob, ann_car, bob_car = _friends(server, clock)
    later = (clock.now() + timedelta(hours=3)).isoformat()

    def refused(user: User, path: str, body: dict) -> list[str]:
        answer = user.client.post(path, json=body)
        assert answer.status_code in (404, 422), answer.text
        return [e["field"] for e in answer.json().get("errors", [])] or [str(answer.status_code)]

    request = {"car_id": bob_car, "energy_kwh": 6.0, "deadline": later}
    assert refused(bob, "/v1/v2v/requests", {**request, "energy_kwh": 200.0}) == ["body.energy_kwh"]
    past = (clock.now() - timedelta(hours=1)).isoformat()
    assert refused(bob, "/v1/v2v/requests", {**request, "deadline": past}) == ["body.deadline"]
    assert refused(ann, "/v1/v2v/requests", request) == ["404"]  # Bob's car
    offer = {"car_id": ann_car, "energy_kwh": 5.0, "end": later, "consent": "community"}
    assert refused(ann, "/v1/v2v/offers", {**offer, "keep_above_soc": 0.95}) == [
        "body.keep_above_soc"
    ]
    assert refused(ann, "/v1/v2v/offers", {**offer, "consent": ["nobody@example.org"]}) == [
        "body.consent[0]"
    ]
    assert refused(ann, "/v1/v2v/offers", {**offer, "price_credits_per_kwh": -1}) == [
        "body.price_credits_per_kwh"
    ]
    given = ann.client.post("/v1/v2v/offers", json=offer)
    assert given.status_code == 201 and given.json()["agreements"] == []  # nobody asks yet
    anns_request = {**request, "car_id": ann_car, "energy_kwh": 3.0}
    assert refused(ann, "/v1/v2v/requests", anns_request) == ["body.car_id"]  # gives, receives
    withdrawn = ann.client.delete(f"/v1/v2v/offers/{given.json()['id']}")
    assert withdrawn.json()["status"] == "withdrawn"
    asked = ann.client.post("/v1/v2v/requests", json=anns_request)
    assert asked.status_code == 201, asked.text
