"""``voltpool serve --demo``: the built-in neighbourhood seeded once however often it is
seeded, its owners logging in over HTTP, and the simulated chargers on a hand-stepped clock:
a slot moves each plugged-in car's SoC by exactly what the plan in force commanded, and a
departure that passes unplugs the car and drives it away."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from voltpool.api.app import create_app, open_state
from voltpool.api.clock import ManualClock
from voltpool.api.demo import (
    DEFAULT_PASSWORD,
    OPERATOR_EMAIL,
    STARTING_CREDITS,
    DemoOptions,
    DemoSettings,
    demo_start,
    owner_email,
    seed_demo,
)
from voltpool.api.demo_driver import DemoDriver, after_trip_soc, slot_energy_kwh
from voltpool.api.deps import AppState
from voltpool.api.history import plan_in_force
from voltpool.api.outages import home_backup, plugged_stays
from voltpool.api.planner import replan
from voltpool.api.settings import ServeSettings
from voltpool.api.store.tables import Car, CarPlan, Community, Home, Plan, PlugSession, User
from voltpool.api.wallets import to_millicredits, wallet_id
from voltpool.cli import app as cli
from voltpool.scenario import load_scenario
from voltpool.simulate.world import build_world

SECRET = "a test secret of at least thirty-two bytes"
SLOT = timedelta(minutes=15)
T = TypeVar("T")


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("neighbourhood")


@pytest.fixture(scope="module")
def world(scenario):
    return build_world(scenario)


def wait_for(found: Callable[[], T | None], timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while (value := found()) is None or value is False:
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)
    return value


def _count(state: AppState, table: type) -> int:
    with state.sessions() as db:
        return db.scalar(sa.select(sa.func.count()).select_from(table))


def test_seeding_twice_creates_the_scenario_once(ledger_url: str, scenario, world) -> None:
    state = open_state(ServeSettings(db=ledger_url, secret=SECRET))
    try:
        first = seed_demo(state.sessions, state.ledger, scenario, world=world)
        again = seed_demo(state.sessions, state.ledger, scenario, world=world)
        assert first.created > 0 and again.created == 0
        assert again == replace(first, created=0)
        homes, cars = scenario.homes.count, scenario.vehicles.count
        assert len(first.home_ids) == len(first.owner_ids) == homes
        assert len(first.car_ids) == cars
        assert _count(state, User) == homes + 1
        assert _count(state, Community) == 1
        assert _count(state, Home) == homes
        assert _count(state, Car) == cars
        assert _count(state, PlugSession) == 0
        with state.sessions() as db:
            community = db.get(Community, first.community_id)
            assert community is not None
            assert community.timezone == scenario.timezone
            assert community.tariff == scenario.tariff.preset
            assert community.import_limit_kw == scenario.transformer.import_limit_kw
            car = db.get(Car, first.car_ids["car-001"])
            assert car is not None and car.capacity_kwh == world.capacity_kwh[0]
            assert car.max_discharge_kw == world.max_discharge_kw[0]
            home = db.get(Home, car.home_id)
            assert home is not None and home.name == world.home_ids[world.vehicle_home[0]]
            assert car.owner_id == home.owner_id == first.owner_ids[home.name]
        for user_id in first.owner_ids.values():  # granted once, not twice
            balance = state.ledger.balance(wallet_id(user_id))
            assert balance.net == to_millicredits(STARTING_CREDITS)
    finally:
        state.ledger.close()
        state.engine.dispose()


@pytest.fixture
def demo(ledger_url: str, scenario) -> Iterator[tuple[TestClient, ManualClock]]:
    """The demo app on a hand-stepped clock. The planner neither ticks nor re-plans on its
    own (the test re-plans where it wants one), so the plan in force is known exactly."""
    clock = ManualClock(demo_start(scenario), poll_s=0.005)
    settings = DemoSettings(
        db=ledger_url,
        secret=SECRET,
        clock=clock,
        tick=False,
        plan_on_events=False,
        plan_time_budget_s=10,
        demo=DemoOptions(),
    )
    with TestClient(create_app(settings)) as client:
        yield client, clock


def _driver(client: TestClient) -> DemoDriver:
    return client.app.state.demo  # type: ignore[attr-defined]


def _state(client: TestClient) -> AppState:
    return client.app.state.voltpool  # type: ignore[attr-defined]


def _step(client: TestClient, clock: ManualClock, span: timedelta) -> None:
    """Advance the clock and wait for the simulated chargers to follow."""
    driver = _driver(client)
    steps = driver.steps
    clock.advance(span)
    wait_for(lambda: driver.steps > steps)


def test_owners_log_in_to_their_seeded_cars_and_credits(demo) -> None:
    client, _clock = demo
    driver = _driver(client)
    home = next(iter(driver.seed.home_ids))
    with _state(client).sessions() as db:
        cars = db.scalars(sa.select(Car.id).where(Car.home_id == driver.seed.home_ids[home]))
        expected = sorted(cars)
    for email in (owner_email(home), OPERATOR_EMAIL):
        answer = client.post(
            "/v1/auth/token", data={"username": email, "password": DEFAULT_PASSWORD}
        )
        assert answer.status_code == 200, answer.text
        headers = {"Authorization": f"Bearer {answer.json()['access_token']}"}
        me = client.get("/v1/me", headers=headers).json()
        assert me["email"] == email
    owner = {"Authorization": f"Bearer {_token(client, owner_email(home))}"}
    assert sorted(c["id"] for c in client.get("/v1/cars", headers=owner).json()) == expected
    credits = client.get("/v1/credits", headers=owner).json()
    assert credits["balance_credits"] == STARTING_CREDITS
    wrong = client.post(
        "/v1/auth/token", data={"username": owner_email(home), "password": "not it at all"}
    )
    assert wrong.status_code == 401


def _token(client: TestClient, email: str) -> str:
    answer = client.post("/v1/auth/token", data={"username": email, "password": DEFAULT_PASSWORD})
    return answer.json()["access_token"]


def _plugged(state: AppState, community_id: str) -> dict[str, tuple[float, float, datetime]]:
    """Each plugged-in car's SoC, capacity and departure."""
    with state.sessions() as db:
        rows = db.execute(
            sa.select(Car, PlugSession.departure)
            .join(Home, Home.id == Car.home_id)
            .join(PlugSession, PlugSession.car_id == Car.id)
            .where(Home.community_id == community_id, PlugSession.ended_at.is_(None))
        ).all()
        return {car.id: (car.soc_now, car.capacity_kwh, leave) for car, leave in rows}


def _expected_soc(
    state: AppState, community_id: str, car_id: str, soc: float, slot: datetime
) -> tuple[float, float]:
    """The SoC after ``slot`` by the plan in force, and the power it commanded."""
    with state.sessions() as db:
        car = db.get(Car, car_id)
        plan = plan_in_force(db, community_id, slot, 15)
        assert car is not None and plan is not None
        view = db.get(CarPlan, (plan.id, car_id))
        slots = [] if view is None else view.view["slots"]
        k = int((slot - plan.start) / SLOT)
        power = 0.0
        if k < len(slots):
            assert slots[k]["start"] == slot.isoformat()
            power = slots[k]["power_kw"]
        energy = slot_energy_kwh(power, SLOT.total_seconds() / 3600, car)
        return min(1.0, max(0.0, soc + energy / car.capacity_kwh)), power


def test_a_slot_moves_each_plugged_car_by_its_plan_and_a_departure_unplugs(demo) -> None:
    client, clock = demo
    state, driver = _state(client), _driver(client)
    community = driver.seed.community_id
    wait_for(lambda: driver.steps >= 1)  # the cars at home at the start are plugged in
    assert _plugged(state, community), "some cars are home at the demo's start"
    moved = 0
    for _slot in range(4 * 12):  # slot by slot until the plans have moved some car
        before = _plugged(state, community)
        if before:
            assert replan(state.sessions, state.settings, community, "test").applied
        slot = clock.now()
        _step(client, clock, SLOT)
        after = _plugged(state, community)
        for car_id, (soc, _capacity, leave) in before.items():
            if leave <= clock.now():
                continue  # gone: checked below
            expected, power = _expected_soc(state, community, car_id, soc, slot)
            assert after[car_id][0] == pytest.approx(expected, abs=1e-9)
            moved += abs(power) > 1e-6
        if moved:
            break
    assert moved, "the plans move some car within 12 hours"

    # The first departure passes: that car is unplugged and comes home after its trip.
    leaving, (soc, capacity, departure) = min(after.items(), key=lambda item: item[1][2])
    assert replan(state.sessions, state.settings, community, "test").applied
    slot = clock.now()
    slots = []
    while slot + SLOT * len(slots) < departure:
        slots.append(slot + SLOT * len(slots))
    for start in slots:
        soc, _ = _expected_soc(state, community, leaving, soc, start)
    _step(client, clock, SLOT * len(slots))
    with state.sessions() as db:
        plug = db.scalar(
            sa.select(PlugSession).where(
                PlugSession.car_id == leaving, PlugSession.departure == departure
            )
        )
        car = db.get(Car, leaving)
        assert plug is not None and car is not None
        assert plug.ended_at == clock.now()
        row = list(driver.seed.car_ids.values()).index(leaving)
    trip = driver.schedule.next_trip_kwh(row, departure)
    assert trip > 0
    assert car.soc_now == pytest.approx(after_trip_soc(soc, trip, capacity), abs=1e-9)
    assert leaving not in _plugged(state, community)


def test_in_an_outage_the_cars_power_their_houses_by_the_backup_plan(demo) -> None:
    client, clock = demo
    state, driver = _state(client), _driver(client)
    community = driver.seed.community_id
    wait_for(lambda: driver.steps >= 1)
    before = _plugged(state, community)
    assert before, "some cars are home at the demo's start"
    operator = {"Authorization": f"Bearer {_token(client, OPERATOR_EMAIL)}"}
    slot = clock.now()
    outage = client.post(
        f"/v1/communities/{community}/grid-events",
        headers=operator,
        json={
            "kind": "outage",
            "start": slot.isoformat(),
            "end": (slot + timedelta(hours=2)).isoformat(),
        },
    )
    assert outage.status_code == 201, outage.text
    assert replan(state.sessions, state.settings, community, "test").applied
    expected: dict[str, float] = {}
    with state.sessions() as db:
        for home in db.scalars(sa.select(Home).where(Home.community_id == community)):
            stays = plugged_stays(db, home)
            cars = [car for car, _ in stays]
            if cars:
                case = home_backup(home, db.get(Community, community), stays, slot, 2.0)
                hours = SLOT.total_seconds() / 3600
                for n, car in enumerate(cars):
                    kwh = slot_energy_kwh(float(case.plan.power_kw[n, 0]), hours, car)
                    expected[car.id] = car.soc_now + kwh / car.capacity_kwh
    with state.sessions() as db:
        planned = db.scalar(sa.select(Plan).order_by(Plan.created_at.desc()).limit(1))
        assert planned is not None and planned.schedule == {}  # every home is cut off
    _step(client, clock, SLOT)
    after = _plugged(state, community)
    gave = 0
    for car_id, soc in expected.items():
        assert after[car_id][0] == pytest.approx(soc, abs=1e-9)
        assert after[car_id][0] <= before[car_id][0] + 1e-12  # no charging in an outage
        gave += after[car_id][0] < before[car_id][0] - 1e-9
    assert gave, "the plugged-in cars carry their houses"


def test_serve_help_shows_the_demo() -> None:
    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--demo", "--speed", "--demo-password"):
        assert option in result.output
