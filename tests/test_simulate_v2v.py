"""V2V in the simulator: matched, scheduled, metered and settled, conserving energy and credits."""

from __future__ import annotations

import numpy as np
import pytest

from test_simulate import small
from voltpool.errors import ProblemError
from voltpool.ledger import Ledger
from voltpool.scenario import scenario_from_dict
from voltpool.settlement import settle_simulation
from voltpool.simulate import build_world, simulate


def v2v_document(price: float = 20.0, max_price: float = 30.0, keep_above: float = 0.3) -> dict:
    events = [
        {
            "type": "v2v_offer",
            "id": f"offer-{car}",
            "at": "2024-01-15T00:00",
            "car": f"car-00{car}",
            "max_energy_kwh": 12.0,
            "start": "2024-01-15T00:00",
            "end": "2024-01-16T23:00",
            "keep_above_soc": keep_above,
            "price_credits_per_kwh": price,
        }
        for car in (1, 2, 3)
    ] + [
        {
            "type": "v2v_request",
            "id": f"request-{car}",
            "at": "2024-01-15T00:00",
            "car": f"car-00{car}",
            "energy_kwh": 8.0,
            "deadline": "2024-01-16T23:00",
            "max_price_credits_per_kwh": max_price,
        }
        for car in (4, 5, 6)
    ]
    document = small(events=events, policies=["smart", "v2g"])
    document["vehicles"]["bidirectional_share"] = 1.0
    document["vehicles"]["plugins_per_week"] = 7.0
    document["vehicles"]["soc_initial"] = 0.8
    return document


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    scenario = scenario_from_dict(v2v_document())
    world = build_world(scenario)
    result = simulate(scenario, world=world)
    folder = tmp_path_factory.mktemp("ledgers")
    return world, result, settle_simulation(result, world, folder), folder


def test_energy_moves_car_to_car_and_is_conserved(shared) -> None:
    world, result, _settled, _folder = shared
    run = result.runs["v2g"]
    log = run.v2v
    delivered = log[log["status"] == "delivered"]
    assert len(delivered) >= 1
    assert delivered["delivered_ac_kwh"].sum() > 1.0
    # the flows are part of the cars' own power: a giver discharges at least what it gives, a
    # receiver charges at least what it receives, slot by slot
    given, received = run.v2v_given_kw, run.v2v_received_kw
    assert (given <= np.maximum(-run.power_kw, 0.0) + 1e-9).all()
    assert (received <= np.maximum(run.power_kw, 0.0) + 1e-9).all()
    assert given.sum() == pytest.approx(received.sum())
    assert given.sum() * run.dt_h == pytest.approx(log["delivered_ac_kwh"].sum())
    # battery side: what left the givers minus the losses is what reached the receivers
    givers = np.array([world.vehicle_ids.index(c) for c in log["giver"]])
    receivers = np.array([world.vehicle_ids.index(c) for c in log["receiver"]])
    np.testing.assert_allclose(
        log["giver_battery_kwh"]
        * world.discharge_efficiency[givers]
        * world.charge_efficiency[receivers],
        log["receiver_battery_kwh"],
    )
    losses = log["giver_battery_kwh"] - log["receiver_battery_kwh"]
    assert (losses >= 0).all()


def test_one_way_charging_shares_nothing_and_says_why(shared) -> None:
    _world, result, _settled, _folder = shared
    smart = result.runs["smart"]
    assert smart.v2v.empty
    assert set(smart.v2v_unmatched) == {"request-4", "request-5", "request-6"}
    assert all("does not discharge" in why for why in smart.v2v_unmatched.values())


def test_credits_move_as_metered_and_the_ledger_balances(shared) -> None:
    _world, result, settled, folder = shared
    run = result.runs["v2g"]
    table, check = settled["v2g"]
    assert check.ok
    paid = round(run.v2v["credits"].sum() * 1000)
    assert table["v2v_earned"].sum() == table["v2v_paid"].sum() == paid
    with Ledger.open(f"sqlite:///{folder / 'ledger-v2g.sqlite'}") as ledger:
        for row in run.v2v.itertuples():
            hold = ledger.get_transfer(f"{row.agreement_id}.hold")
            assert hold.status == ("posted" if row.status == "delivered" else "voided")
        assert ledger.verify().ok
    # settling again books nothing new
    again = settle_simulation(result, _world, folder)
    assert again["v2g"][0]["v2v_earned"].sum() == paid


def test_the_pool_does_not_pay_for_energy_a_friend_paid_for(shared) -> None:
    _world, result, _settled, folder = shared
    run = result.runs["v2g"]
    assert not run.car_islanded.any()  # no outage here: every discharge not to a friend is V2G
    credited_wh = dict.fromkeys(run.home_ids, 0)
    with Ledger.open(f"sqlite:///{folder / 'ledger-v2g.sqlite'}") as ledger:
        for t in ledger.history("grid-energy", limit=10_000):
            if t.code == "v2g":
                credited_wh[t.credit_account.removesuffix(".energy")] += t.amount
    # V2G energy per car and slot: what left the charger less what went to a friend's car
    to_grid_wh = (np.maximum(-run.power_kw, 0.0) - run.v2v_given_slots_kw) * run.dt_h * 1000
    assert to_grid_wh.min() > -1e-6
    assert run.v2v_given_slots_kw.sum() * run.dt_h > 1.0  # V2V energy the pool must not pay
    # the meter reads each car and slot in whole Wh, rounded down: per household the credited
    # energy is the V2G energy less under 1 Wh per reading (and at most 1 mWh per reading more)
    for h, home in enumerate(run.home_ids):
        cars = run.vehicle_home == h
        energy_wh = to_grid_wh[cars].sum()
        readings = int((to_grid_wh[cars] > 0).sum())
        assert energy_wh - readings <= credited_wh[home] <= energy_wh + 1e-3 * readings, home


def test_a_request_priced_below_every_offer_is_explained() -> None:
    scenario = scenario_from_dict(v2v_document(price=25.0, max_price=10.0))
    run = simulate(scenario).runs["v2g"]
    assert run.v2v.empty
    assert all("above your maximum" in why for why in run.v2v_unmatched.values())


@pytest.mark.parametrize(
    ("change", "field_text"),
    [
        ({"car": "car-99"}, "is not a car id"),
        ({"price_credits_per_kwh": -1.0}, "price_credits_per_kwh"),
        ({"end": "2024-01-14T23:00"}, "end"),
    ],
)
def test_bad_v2v_events_are_named(change: dict, field_text: str) -> None:
    document = v2v_document()
    document["events"][0].update(change)
    with pytest.raises(ProblemError) as caught:
        scenario_from_dict(document)
    assert field_text in str(caught.value)


def test_offers_without_a_bidirectional_car_are_left_out_with_a_note() -> None:
    document = v2v_document()
    document["vehicles"]["bidirectional_share"] = 0.0
    world = build_world(scenario_from_dict(document))
    assert world.events.offers == ()
    assert len(world.events.requests) == 3
    for number in range(3):
        (note,) = [n for n in world.notes if n.startswith(f"events[{number}] (v2v_offer")]
        assert "has a one-way charger" in note and "it is left out" in note


def test_agreements_and_outages_are_written_with_the_time_series(shared, tmp_path) -> None:
    import pandas as pd

    from voltpool.report import write_timeseries

    _world, result, _settled, _folder = shared
    written = {p.name for p in write_timeseries(result, tmp_path)}
    assert "v2v_v2g.csv" in written and "v2v_smart.csv" not in written
    log = pd.read_csv(tmp_path / "v2v_v2g.csv")
    assert list(log["status"]) == list(result.runs["v2g"].v2v["status"])
