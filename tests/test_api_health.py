"""Battery health in the service: each car's recorded trace aged with and without its V2G.
The projection equals the simulator's health report on the same two traces; the counterfactual
keeps every stay's departure level and is the trace itself when nothing was given back; a car
with less than a day recorded is still collecting; the operator sees the fleet counted."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api_server import LiveServer, User, live_server
from voltpool.api.health import Battery, Trace, car_health, fleet_health, without_v2g
from voltpool.api.store.schema import open_engine, sessions
from voltpool.api.store.tables import CarSlot
from voltpool.battery.health import health_report

DT_H = 0.25
SLOTS_PER_DAY = 96
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)


def _car(**values: object) -> SimpleNamespace:
    car = {
        "id": "c1",
        "capacity_kwh": 60.0,
        "charge_efficiency": 0.9,
        "discharge_efficiency": 0.9,
        "chemistry": "nmc",
        "battery_since": date(2024, 12, 3),
        "created_at": NOW,
    }
    return SimpleNamespace(**(car | values))


def daily_trace(days: int, v2g_kw: float, car: SimpleNamespace) -> Trace:
    """Home 18:00-07:00; V2G at ``v2g_kw`` 18:00-20:00, charging 7 kW from 01:00 until the
    car is back at 80 %; a trip of 12 kWh at 07:00."""
    soc = []
    plugged = []
    power = []
    level = 0.8
    for k in range(days * SLOTS_PER_DAY):
        hour = (k % SLOTS_PER_DAY) * DT_H
        home = hour >= 18 or hour < 7
        if hour == 7:
            level -= 12 / car.capacity_kwh
        kw = 0.0
        if home and 18 <= hour < 20:
            kw = -v2g_kw
        elif home and 1 <= hour < 7 and level < 0.8 - 1e-9:
            kw = min(7.0, (0.8 - level) * car.capacity_kwh / car.charge_efficiency / DT_H)
        energy = kw * DT_H * (car.charge_efficiency if kw > 0 else 1 / car.discharge_efficiency)
        level += energy / car.capacity_kwh
        soc.append(level)
        plugged.append(home)
        power.append(kw)
    return Trace(
        NOW - timedelta(days=days), DT_H, np.array(soc), np.array(plugged), np.array(power)
    )


def test_the_projection_equals_the_simulators_health_report_on_the_same_traces() -> None:
    car = _car()
    trace = daily_trace(7, 5.0, car)
    battery = Battery.default()
    health = car_health(car, trace, NOW, battery)
    start = trace.start_soc(car)
    counterfactual = np.r_[start, without_v2g(trace, car)]
    report = health_report(
        {"v2g": np.r_[start, trace.soc][None, :], "smart": counterfactual[None, :]},
        {"v2g": [health.v2g_kwh_recorded], "smart": [0.0]},
        DT_H,
        ("c1",),
        np.array(["nmc"]),
        np.array([60.0]),
        battery,
    )
    row = report.per_car().set_index("policy").loc["v2g"]
    assert 100 * health.projected.capacity[0] == pytest.approx(row["capacity_at_warranty_pct"])
    smart = report.policies["smart"].capacity_at_warranty[0]
    assert health.projected.capacity[1] == pytest.approx(smart)
    cost = health.v2g_cost_eur(health.projected, 60.0)
    assert cost == pytest.approx(row["extra_fade_eur"], rel=1e-9)
    per_kwh = cost / health.v2g_kwh_over(battery.warranty_years)
    assert per_kwh == pytest.approx(row["extra_fade_eur_per_v2g_kwh"], rel=1e-9)
    assert 0.001 < per_kwh < 0.2  # a cent or a few per kWh: NMC at 120 EUR/kWh of pack
    # two years in service: less fade so far than at the end of an 8-year warranty
    assert health.age_years == pytest.approx(2.0, abs=0.01)
    assert health.projected.capacity[0] < health.so_far.capacity[0] < 1.0


def test_without_v2g_the_counterfactual_is_the_trace_and_costs_nothing() -> None:
    car = _car()
    trace = daily_trace(3, 0.0, car)
    assert np.array_equal(without_v2g(trace, car), trace.soc)
    health = car_health(car, trace, NOW, Battery.default())
    assert health.v2g_kwh_recorded == 0.0
    assert health.v2g_cost_eur(health.projected, 60.0) == 0.0


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.floats(0.0, 7.0), st.integers(1, 4), st.floats(0.8, 0.98))
def test_the_counterfactual_keeps_what_was_given_and_leaves_at_the_same_level(
    v2g_kw: float, days: int, eta: float
) -> None:
    car = _car(discharge_efficiency=eta)
    trace = daily_trace(days, v2g_kw, car)
    counterfactual = without_v2g(trace, car)
    assert ((counterfactual >= 0) & (counterfactual <= 1)).all()
    leaving = np.flatnonzero(trace.plugged[:-1] & ~trace.plugged[1:])
    # every stay ends where it ended with V2G (the car was charged back to 80 % both ways)
    assert counterfactual[leaving] == pytest.approx(trace.soc[leaving], abs=1e-9)
    # during the evening's V2G the counterfactual keeps exactly what was given
    evening = trace.power_kw < 0
    given_kwh = np.cumsum(np.where(evening, -trace.power_kw * DT_H / eta, 0.0))
    first = np.flatnonzero(evening)[:8] if evening.any() else np.array([], dtype=int)
    kept = counterfactual[first] - trace.soc[first]
    assert kept == pytest.approx(given_kwh[first] / car.capacity_kwh, abs=1e-9)


def test_the_fleet_pass_agrees_with_each_cars_own_estimate() -> None:
    cars = [_car(id="a"), _car(id="b", chemistry="lfp", battery_since=date(2026, 1, 1))]
    traces = [daily_trace(4, 6.0, cars[0]), daily_trace(4, 3.0, cars[1])]
    battery = Battery.default()
    fleet = fleet_health(list(zip(cars, traces, strict=True)), NOW, battery)
    for car, trace, found in zip(cars, traces, fleet, strict=True):
        own = car_health(car, trace, NOW, battery)
        # daily capacities are interpolated between the model's steps: close, not equal
        assert found.capacity_at_warranty == pytest.approx(own.projected.capacity[0], abs=2e-3)
        assert found.capacity_now == pytest.approx(own.so_far.capacity[0], abs=2e-3)
        assert found.v2g_cost_eur == pytest.approx(own.v2g_cost_eur(own.projected, 60.0), rel=0.1)


@pytest.fixture
def server(ledger_url: str):
    with live_server(ledger_url, tick=False) as running:
        yield running


def _record(server: LiveServer, car_id: str, trace: Trace) -> None:
    engine = open_engine(server.settings.db)
    try:
        with sessions(engine)() as db:
            db.add_all(
                CarSlot(
                    car_id=car_id,
                    slot_start=trace.start + k * timedelta(hours=DT_H),
                    soc=float(trace.soc[k]),
                    plugged=bool(trace.plugged[k]),
                    power_kw=float(trace.power_kw[k]),
                )
                for k in range(trace.soc.size)
            )
            db.commit()
    finally:
        engine.dispose()


def test_the_owner_and_the_operator_read_battery_health_over_http(server: LiveServer) -> None:
    operator = server.register("op@example.org", role="operator")
    ann: User = server.register("ann@example.org")
    community = operator.client.post("/v1/communities", json={"name": "w"}).json()["id"]
    home = ann.client.post("/v1/homes", json={"name": "h", "community_id": community}).json()
    body = {"name": "c", "home_id": home["id"], "capacity_kwh": 60, "battery_since": "2024-12-01"}
    car = ann.client.post("/v1/cars", json=body).json()
    assert car["battery_since"] == "2024-12-01"
    future = ann.client.patch(f"/v1/cars/{car['id']}", json={"battery_since": "2999-01-01"})
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "body.battery_since"

    fresh = ann.client.get(f"/v1/cars/{car['id']}/health").json()
    assert fresh["status"] == "collecting" and fresh["projected"] is None
    shape = _car(charge_efficiency=0.92, discharge_efficiency=0.92)
    now = datetime.now(UTC)
    trace = daily_trace(2, 5.0, shape)
    _record(
        server,
        car["id"],
        Trace(now - timedelta(days=2), DT_H, trace.soc, trace.plugged, trace.power_kw),
    )
    answer = ann.client.get(f"/v1/cars/{car['id']}/health")
    assert answer.status_code == 200, answer.text
    health = answer.json()
    assert health["status"] == "estimated"
    assert health["recorded_hours"] == pytest.approx(48.0)
    assert health["v2g_kwh_recorded"] == pytest.approx(20.0)  # 5 kW for 2 h on 2 evenings
    projected, so_far = health["projected"], health["so_far"]
    assert projected["capacity_pct"] < projected["capacity_pct_without_v2g"] < 100
    assert so_far["years"] == pytest.approx(2.0, abs=0.02) and projected["years"] == 8.0
    assert projected["capacity_pct"] < so_far["capacity_pct"]
    assert so_far["fade_calendar_pct"] > 0 and so_far["fade_cycling_pct"] > 0
    assert projected["v2g_kwh"] == pytest.approx(10.0 * 365 * 8)
    assert health["v2g_cost_eur_per_kwh"] == pytest.approx(
        projected["v2g_cost_eur"] / projected["v2g_kwh"]
    )
    bob = server.register("bob@example.org")
    assert bob.client.get(f"/v1/cars/{car['id']}/health").status_code == 404

    fleet = operator.client.get(f"/v1/communities/{community}/health").json()
    assert fleet["cars"] == 1 and fleet["cars_estimated"] == 1
    assert fleet["capacity_at_warranty_pct_mean"] == pytest.approx(
        projected["capacity_pct"], abs=0.2
    )
    assert fleet["v2g_kwh_to_warranty_total"] == pytest.approx(projected["v2g_kwh"])
    assert "c" not in [v for v in fleet.values() if isinstance(v, str)]  # no car named
    assert ann.client.get(f"/v1/communities/{community}/health").status_code == 404
