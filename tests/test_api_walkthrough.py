"""The walk-through of ``voltpool serve`` over real HTTP (uvicorn on loopback), on SQLite and
on PostgreSQL: two owners and an operator; a community, homes and cars with the owner's
rules; a plug-in and its plan in clock times keeping every rule; a new departure and the plan
following within one re-plan; credits sent to a friend, retried, refused beyond the balance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from api_server import LiveServer, User, live_server, neighbours, wait_for

ZONE = "Europe/Amsterdam"
FLOOR = 0.5


@pytest.fixture
def server(ledger_url: str):
    with live_server(ledger_url, tick=False) as running:
        yield running


def _car(owner: User, community_id: str, **car: object) -> str:
    home = owner.client.post("/v1/homes", json={"name": "home", "community_id": community_id})
    assert home.status_code == 201, home.text
    body = {"name": "car", "home_id": home.json()["id"], "capacity_kwh": 60.0, **car}
    answer = owner.client.post("/v1/cars", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _plan(owner: User, car_id: str, after: str | None = None) -> dict:
    def fresh() -> dict | None:
        answer = owner.client.get(f"/v1/cars/{car_id}/plan")
        if answer.status_code != 200:
            return None
        plan = answer.json()
        return plan if plan["plan_id"] != after else None

    return wait_for(fresh)


def test_an_owner_plugs_in_and_gets_a_plan_in_clock_time_that_keeps_the_rules(
    server: LiveServer,
) -> None:
    _operator, ann, _bob, community = neighbours(server, import_limit_kw=30.0)
    rules = {"v2g_floor_soc": FLOOR, "discharge_hours": ["17:00-22:00"]}
    car = _car(ann, community, soc_now=0.9, soc_min=0.2, soc_target=0.6, rules=rules)
    assert ann.client.get(f"/v1/cars/{car}/rules").json()["v2g_floor_soc"] == FLOOR
    leave = datetime.now(UTC) + timedelta(hours=20)
    plugged = ann.client.post(
        f"/v1/cars/{car}/sessions", json={"departure": leave.isoformat(), "soc_target": 0.6}
    )
    assert plugged.status_code == 201, plugged.text
    assert plugged.json()["departure_local"].endswith("+01:00")

    plan = _plan(ann, car)
    assert plan["status"] == "optimal"
    assert plan["reason"] == "plug-in"
    zone = ZoneInfo(ZONE)
    previous_soc = 0.9
    for slot in plan["slots"]:
        start = datetime.fromisoformat(slot["start"])
        local = datetime.fromisoformat(slot["start_local"])
        assert local == start and local.utcoffset() == start.astimezone(zone).utcoffset()
        if slot["power_kw"] < -1e-6:  # every discharge: in the allowed hours, above the floor
            assert 17 <= local.hour < 22, slot
            assert slot["soc_end"] >= FLOOR - 1e-6, slot
        previous_soc = slot["soc_end"]
    assert previous_soc >= 0.6 - 1e-6 or plan["shortfall_reason"]
    assert all(17 <= datetime.fromisoformat(d["from_local"]).hour < 22 for d in plan["discharges"])

    earlier = datetime.now(UTC) + timedelta(hours=10)
    changed = ann.client.patch(
        f"/v1/cars/{car}/sessions/current", json={"departure": earlier.isoformat()}
    )
    assert changed.status_code == 200, changed.text
    replanned = _plan(ann, car, after=plan["plan_id"])
    assert replanned["reason"] == "session changed"
    assert len(replanned["slots"]) < len(plan["slots"])
    assert datetime.fromisoformat(replanned["departure_local"]) <= earlier

    ended = ann.client.delete(f"/v1/cars/{car}/sessions/current")
    assert ended.status_code == 200 and ended.json()["ended_at"] is not None
    assert ann.client.get(f"/v1/cars/{car}/sessions/current").status_code == 404


def test_the_operator_sees_the_community_plan_against_its_limit(server: LiveServer) -> None:
    operator, ann, bob, community = neighbours(server, import_limit_kw=30.0)
    leave = (datetime.now(UTC) + timedelta(hours=12)).isoformat()
    for owner in (ann, bob):
        car = _car(owner, community, soc_now=0.2, soc_target=0.8)
        owner.client.post(f"/v1/cars/{car}/sessions", json={"departure": leave})

    def both_planned() -> dict | None:
        answer = operator.client.get(f"/v1/communities/{community}/plan")
        return (
            answer.json()
            if answer.status_code == 200 and answer.json()["cars_planned"] == 2
            else None
        )

    site = wait_for(both_planned)
    assert all(s["site_import_kw"] <= s["import_limit_kw"] + 1e-6 for s in site["slots"])
    assert sum(s["cars_kw"] for s in site["slots"]) > 0  # they charge
    assert ann.client.get(f"/v1/communities/{community}/plan").status_code == 404


def test_credits_move_to_a_friend_once_per_key_and_never_beyond_the_balance(
    server: LiveServer,
) -> None:
    _operator, ann, bob, _community = neighbours(server, import_limit_kw=30.0)
    admin = server.admin()
    grant = admin.client.post(
        "/v1/credits/grants",
        json={"to_email": ann.email, "amount_credits": 10},
        headers={"Idempotency-Key": "welcome-ann"},
    )
    assert grant.status_code == 201, grant.text
    send = {"to_email": bob.email, "amount_credits": 2.5, "memo": "thanks for the kWh"}
    first = ann.client.post("/v1/credits/transfers", json=send, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 201, first.text
    assert first.json()["balance_credits"] == 7.5
    again = ann.client.post("/v1/credits/transfers", json=send, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 200 and again.json()["status"] == "exists"
    assert ann.client.get("/v1/credits").json()["balance_credits"] == 7.5
    other = ann.client.post(
        "/v1/credits/transfers",
        json={**send, "amount_credits": 3},
        headers={"Idempotency-Key": "k1"},
    )
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "header.Idempotency-Key"
    too_much = ann.client.post(
        "/v1/credits/transfers",
        json={**send, "amount_credits": 100},
        headers={"Idempotency-Key": "k2"},
    )
    assert too_much.status_code == 409
    assert too_much.json()["errors"][0]["field"] == "body.amount_credits"
    bobs = bob.client.get("/v1/credits").json()
    assert bobs["balance_credits"] == 2.5
    assert bobs["moves"][0]["amount_credits"] == 2.5
    missing_key = ann.client.post("/v1/credits/transfers", json=send)
    assert missing_key.status_code == 422
    assert missing_key.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_the_backup_answer_says_how_long_the_plugged_in_car_powers_the_house(
    server: LiveServer,
) -> None:
    _operator, ann, _bob, community = neighbours(server, import_limit_kw=30.0)
    car = _car(ann, community, soc_now=0.25, soc_min=0.2, soc_target=0.5, max_discharge_kw=7.4)
    home = ann.client.get(f"/v1/cars/{car}").json()["home_id"]
    alone = ann.client.get(f"/v1/homes/{home}/backup", params={"hours": 12}).json()
    assert alone["cars"] == [] and alone["hours_full_house"] == 0.0  # no car plugged in: dark
    leave = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    ann.client.post(f"/v1/cars/{car}/sessions", json={"departure": leave})
    answer = ann.client.get(f"/v1/homes/{home}/backup", params={"hours": 24})
    assert answer.status_code == 200, answer.text
    backup = answer.json()
    (given,) = backup["cars"]
    above_reserve_kwh = 0.05 * 60.0
    assert given["energy_above_reserve_kwh"] == pytest.approx(above_reserve_kwh)
    # what the house got is what the car could give above its reserve, after conversion
    assert backup["served_kwh"] <= above_reserve_kwh * 0.92 + 1e-6
    assert 0 < backup["hours_full_house"] < 24  # on from now until the car has given its all
    left_kwh = above_reserve_kwh * 0.92 - backup["served_kwh"]  # too little for a quarter-hour
    assert given["reaches_reserve_local"] is not None or left_kwh < 0.25 * 0.5
    hours_at_average = above_reserve_kwh * 0.92 / backup["house_load_kw_average"]
    assert backup["hours_full_house"] <= hours_at_average * 2  # the profile varies, not tenfold
    bad = ann.client.get(f"/v1/homes/{home}/backup", params={"hours": 0.1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.hours"


def test_the_backup_answer_sheds_the_homes_least_important_circuits_first(
    server: LiveServer,
) -> None:
    _operator, ann, _bob, community = neighbours(server, import_limit_kw=30.0)
    car = _car(ann, community, soc_now=0.3, soc_min=0.2, max_discharge_kw=7.4)
    home = ann.client.get(f"/v1/cars/{car}").json()["home_id"]
    circuits = [
        {"name": "fridge", "share": 0.2, "critical": True},
        {"name": "heat pump", "share": 0.5, "priority": 0},
        {"name": "lights", "share": 0.3, "priority": 1},
    ]
    bad = ann.client.put(f"/v1/homes/{home}/circuits", json=[{**circuits[0], "share": 0.1}])
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.circuits[*].share"
    assert ann.client.get(f"/v1/homes/{home}").json()["circuits"] == []  # nothing half-written
    saved = ann.client.put(f"/v1/homes/{home}/circuits", json=circuits)
    assert saved.status_code == 200, saved.text
    assert [c["name"] for c in saved.json()["circuits"]] == ["fridge", "heat pump", "lights"]
    leave = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    ann.client.post(f"/v1/cars/{car}/sessions", json={"departure": leave})
    backup = ann.client.get(f"/v1/homes/{home}/backup", params={"hours": 24}).json()
    by_name = {c["name"]: c for c in backup["circuits"]}
    assert [by_name[n]["shed_order"] for n in ("heat pump", "lights", "fridge")] == [1, 2, 3]
    # 6 kWh above the reserve cannot carry the house for a day: the heat pump goes first
    assert by_name["heat pump"]["shed_from_local"] is not None
    hours_on = [by_name[n]["hours_on"] for n in ("heat pump", "lights", "fridge")]
    assert hours_on == sorted(hours_on) and hours_on[0] < hours_on[2]
    served = sum(c["served_kwh"] for c in backup["circuits"])
    assert served == pytest.approx(backup["served_kwh"], rel=1e-6)


def test_a_capacity_event_from_the_operator_is_kept_by_the_next_plan(server: LiveServer) -> None:
    operator, ann, bob, community = neighbours(server, import_limit_kw=30.0)
    leave = (datetime.now(UTC) + timedelta(hours=10)).isoformat()
    for owner in (ann, bob):  # two empty cars: 22 kW of charging if nothing holds them back
        car = _car(owner, community, soc_now=0.1, soc_target=0.9, max_charge_kw=11.0)
        owner.client.post(f"/v1/cars/{car}/sessions", json={"departure": leave})
    start = datetime.now(UTC)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=3)).isoformat()}
    event = operator.client.post(
        f"/v1/communities/{community}/grid-events",
        json={"kind": "capacity", "import_limit_kw": 5.0, **window},
    )
    assert event.status_code == 201, event.text

    def responded() -> dict | None:
        (listed,) = operator.client.get(f"/v1/communities/{community}/grid-events").json()
        plan = operator.client.get(f"/v1/communities/{community}/plan").json()
        fresh = plan.get("reason") == "grid event" and plan.get("cars_planned") == 2
        return listed if fresh and listed["plan_id"] == plan["plan_id"] else None

    listed = wait_for(responded)
    assert listed["planned_max_import_kw"] <= 5.0 + 1e-6
    site = operator.client.get(f"/v1/communities/{community}/plan").json()
    after = [
        s for s in site["slots"] if datetime.fromisoformat(s["start"]) >= start + timedelta(hours=3)
    ]
    assert max(s["site_import_kw"] for s in after) > 5.0  # the cars catch up after it
    wrong = operator.client.post(
        f"/v1/communities/{community}/grid-events",
        json={"kind": "price", "import_limit_kw": 3.0, **window},
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "body.price_per_kwh"
    backwards = operator.client.post(
        f"/v1/communities/{community}/grid-events",
        json={
            "kind": "capacity",
            "import_limit_kw": 3.0,
            "start": window["end"],
            "end": window["start"],
        },
    )
    assert backwards.status_code == 422 and backwards.json()["errors"][0]["field"] == "body.end"
    assert (
        ann.client.post(
            f"/v1/communities/{community}/grid-events",
            json={"kind": "capacity", "import_limit_kw": 1, **window},
        ).status_code
        == 404
    )


def test_a_stays_charger_limits_hold_in_its_plan_and_leave_the_car_as_it_was(
    server: LiveServer,
) -> None:
    """A session says what its station allows (OCPP does): the plan keeps to it, the car's
    own limits stay its owner's."""
    operator, ann, _bob, community = neighbours(server, import_limit_kw=30.0)
    car = _car(ann, community, soc_now=0.3, soc_target=0.9, max_charge_kw=11.0)
    leave = (datetime.now(UTC) + timedelta(hours=10)).isoformat()
    body = {"departure": leave, "max_charge_kw": 3.7, "max_discharge_kw": 0.0}
    plugged = ann.client.post(f"/v1/cars/{car}/sessions", json=body)
    assert plugged.status_code == 201, plugged.text
    assert (plugged.json()["max_charge_kw"], plugged.json()["max_discharge_kw"]) == (3.7, 0.0)
    plan = _plan(ann, car)
    power = [s["power_kw"] for s in plan["slots"]]
    assert max(power) == pytest.approx(3.7) and min(power) >= -1e-9
    assert ann.client.get(f"/v1/cars/{car}").json()["max_charge_kw"] == 11.0
    bad = ann.client.patch(f"/v1/cars/{car}/sessions/current", json={"max_charge_kw": -1})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.max_charge_kw"
    flex = operator.client.get(f"/v1/communities/{community}/flexibility").json()
    assert flex["down_kw"] == pytest.approx(max(power[0], 0.0))  # it cannot give back
