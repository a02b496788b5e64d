"""Outages and "charge now" in the live service: a home the grid cuts off leaves the
community's plan and runs on its cars (the backup answer covers what is left of the outage);
a car on "charge now" charges at full power to its target and gives nothing back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api_server import LiveServer, User, live_server, neighbours, wait_for
from voltpool.api.charge_now import charge_now_goal, earliest_full_slot

ZONE = "Europe/Amsterdam"


@pytest.fixture
def server(ledger_url: str):
    with live_server(ledger_url, tick=False) as running:
        yield running


def _plugged_car(owner: User, community_id: str, hours: float = 12, **car: object) -> dict:
    home = owner.client.post(
        "/v1/homes", json={"name": "home", "community_id": community_id, "house_load_kw": 0.5}
    )
    assert home.status_code == 201, home.text
    body = {"name": "car", "home_id": home.json()["id"], "capacity_kwh": 60.0, **car}
    added = owner.client.post("/v1/cars", json=body)
    assert added.status_code == 201, added.text
    leave = (datetime.now(UTC) + timedelta(hours=hours)).isoformat()
    car_id = added.json()["id"]
    plugged = owner.client.post(f"/v1/cars/{car_id}/sessions", json={"departure": leave})
    assert plugged.status_code == 201, plugged.text
    return added.json()


def _site_plan(operator: User, community: str, reason: str, cars: int) -> dict:
    def fresh() -> dict | None:
        plan = operator.client.get(f"/v1/communities/{community}/plan")
        if plan.status_code != 200:
            return None
        body = plan.json()
        return body if body["reason"] == reason and body["cars_planned"] == cars else None

    return wait_for(fresh)


def test_an_outage_islands_the_homes_it_names_and_the_backup_covers_what_is_left(
    server: LiveServer,
) -> None:
    operator, ann, bob, community = neighbours(server)
    ann_car = _plugged_car(ann, community, soc_now=0.6, soc_min=0.2, max_discharge_kw=7.4)
    bob_car = _plugged_car(bob, community, soc_now=0.6, soc_min=0.2, max_discharge_kw=7.4)
    _site_plan(operator, community, "plug-in", 2)
    start = datetime.now(UTC) - timedelta(minutes=5)
    end = start + timedelta(hours=3)
    window = {"start": start.isoformat(), "end": end.isoformat()}
    posted = operator.client.post(
        f"/v1/communities/{community}/grid-events",
        json={"kind": "outage", "home_ids": [ann_car["home_id"]], **window},
    )
    assert posted.status_code == 201, posted.text
    assert posted.json()["home_ids"] == [ann_car["home_id"]]

    planned = _site_plan(operator, community, "grid event", 1)  # bob's car only
    # ann's home takes nothing from the feeder while it lasts: the base load drops
    inside = [s for s in planned["slots"] if datetime.fromisoformat(s["start"]) < end]
    after = [s for s in planned["slots"] if datetime.fromisoformat(s["start"]) >= end]
    homes_kw = [s["site_import_kw"] - s["cars_kw"] for s in (inside[1], after[0])]
    assert homes_kw == pytest.approx([0.5, 1.0])

    (home,) = ann.client.get("/v1/homes").json()
    assert home["outage"]["event_id"] == posted.json()["id"]
    assert home["outage"]["end_local"].startswith(end.astimezone().strftime("%Y"))
    assert bob.client.get("/v1/homes").json()[0]["outage"] is None
    no_plan = ann.client.get(f"/v1/cars/{ann_car['id']}/plan")
    assert no_plan.status_code == 404 and "power cut" in no_plan.json()["detail"]
    assert bob.client.get(f"/v1/cars/{bob_car['id']}/plan").status_code == 200

    backup = ann.client.get(f"/v1/homes/{ann_car['home_id']}/backup").json()
    assert backup["outage"]["event_id"] == posted.json()["id"]
    left_h = (end - datetime.fromisoformat(backup["start"])).total_seconds() / 3600
    assert backup["hours_planned"] == pytest.approx(left_h, abs=0.25)
    assert backup["hours_planned"] < 24
    # 24 kWh above the reserve carry a 0.5 kW house through three hours
    assert backup["hours_full_house"] == pytest.approx(backup["hours_planned"])
    assert bob.client.get(f"/v1/homes/{bob_car['home_id']}/backup").json()["outage"] is None

    # the grid is back early: the operator ends the outage and ann's car is planned again
    url = f"/v1/communities/{community}/grid-events/{posted.json()['id']}"
    assert bob.client.delete(url).status_code == 404  # the operator's
    ended = operator.client.delete(url)
    assert ended.status_code == 200, ended.text
    assert datetime.fromisoformat(ended.json()["end"]) < end
    _site_plan(operator, community, "grid event ended", 2)
    assert ann.client.get("/v1/homes").json()[0]["outage"] is None
    assert ann.client.get(f"/v1/cars/{ann_car['id']}/plan").status_code == 200
    assert operator.client.get(f"/v1/communities/{community}/grid-events").json() == []
    assert operator.client.delete(url).status_code == 404  # over already


def test_an_outage_event_names_only_the_communitys_homes_and_no_limits(
    server: LiveServer,
) -> None:
    operator, ann, _bob, community = neighbours(server)
    other = operator.client.post("/v1/communities", json={"name": "Elders", "timezone": ZONE})
    elsewhere = _plugged_car(ann, other.json()["id"])
    start = datetime.now(UTC)
    window = {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()}
    url = f"/v1/communities/{community}/grid-events"
    cases = [
        ({"home_ids": [elsewhere["home_id"]]}, "body.home_ids[0]", "not a home of this community"),
        ({"import_limit_kw": 3.0}, "body.import_limit_kw", "does not belong to a outage event"),
        ({"price_per_kwh": 0.3}, "body.price_per_kwh", "does not belong"),
        ({"home_ids": []}, "body.home_ids", ""),
    ]
    for extra, field, words in cases:
        answer = operator.client.post(url, json={"kind": "outage", **window, **extra})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"][0]["field"] == field
        assert words in answer.json()["detail"]
    capacity = operator.client.post(
        url, json={"kind": "capacity", "import_limit_kw": 3.0, "home_ids": ["x"], **window}
    )
    assert capacity.json()["errors"][0]["field"] == "body.home_ids"
    assert operator.client.get(url).json() == []  # nothing was written
    assert ann.client.post(url, json={"kind": "outage", **window}).status_code == 404


def test_charge_now_charges_at_full_power_to_the_target_and_never_discharges(
    server: LiveServer,
) -> None:
    operator, ann, _bob, community = neighbours(server)
    car = _plugged_car(
        ann,
        community,
        hours=14,
        soc_now=0.3,
        soc_target=0.7,
        max_charge_kw=11.0,
        max_discharge_kw=11.0,
        charge_efficiency=0.9,
    )
    _site_plan(operator, community, "plug-in", 1)
    url = f"/v1/cars/{car['id']}/sessions/current"
    switched = ann.client.patch(url, json={"charge_now": True})
    assert switched.status_code == 200 and switched.json()["charge_now"] is True
    _site_plan(operator, community, "session changed", 1)
    plan = ann.client.get(f"/v1/cars/{car['id']}/plan").json()
    needed = earliest_full_slot(0.3, 0.7, 60.0, 11.0, 0.9, 0.25)
    assert needed == 10  # 24 kWh at 9.9 kWh/h into the battery: 2.42 h
    power = [s["power_kw"] for s in plan["slots"]]
    # every whole slot before the target at full power; the last part is planned when only
    # it is left
    assert power == pytest.approx([11.0] * (needed - 1))
    assert plan["slots"][-1]["soc_end"] == pytest.approx(0.3 + 9 * 2.475 / 60)
    assert plan["discharges"] == [] and min(power) >= -1e-9
    assert plan["charge_now"] is True
    assert plan["shortfall_kwh"] == pytest.approx(0.0, abs=1e-6)
    assert ann.client.get(url).json()["charge_now"] is True
    off = ann.client.patch(url, json={"charge_now": False})
    assert off.status_code == 200 and off.json()["charge_now"] is False
    bad = ann.client.patch(url, json={"charge_now": "soon"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.charge_now"


@pytest.mark.parametrize(
    ("soc", "target", "slots"),
    [(0.7, 0.7, 0), (0.8, 0.7, 0), (0.3, 0.7, 10), (0.3, 0.3 + 2.475 / 60, 1), (0.0, 1.0, 25)],
)
def test_charge_now_needs_the_fewest_whole_slots_at_full_power(
    soc: float, target: float, slots: int
) -> None:
    # 11 kW x 0.9 x 0.25 h = 2.475 kWh into the battery per slot
    assert earliest_full_slot(soc, target, 60.0, 11.0, 0.9, 0.25) == slots
    assert earliest_full_slot(soc, target, 60.0, 0.0, 0.9, 0.25) == 0


def test_charge_now_plans_the_whole_slots_at_full_power_then_the_last_part() -> None:
    assert charge_now_goal(0.3, 0.7, 60.0, 11.0, 0.9, 0.25) == (9, pytest.approx(0.67125))
    assert charge_now_goal(0.69, 0.7, 60.0, 11.0, 0.9, 0.25) == (1, 0.7)  # the last part
    assert charge_now_goal(0.8, 0.7, 60.0, 11.0, 0.9, 0.25) == (1, 0.7)  # there already
