"""V2V between friends: rules, matching, scheduling, two-phase settlement and explanations."""

from __future__ import annotations

import itertools
import tempfile
import tomllib
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sharing_helpers import NOW, at, everything, make_circle, member_balances, open_ledger
from voltpool.credits import CreditPolicy
from voltpool.errors import ProblemError
from voltpool.files.circle import circle_from_dict, circle_text, load_circle
from voltpool.ledger import Conflict
from voltpool.model import DEFAULT_CHARGE_EFFICIENCY, DEFAULT_DISCHARGE_EFFICIENCY, SlotGrid
from voltpool.settlement import cancel, open_accounts, open_pending, settle
from voltpool.sharing import (
    Circle,
    Metered,
    Offer,
    Request,
    explain,
    format_credits,
    match,
    plan_transfers,
    to_millicredits,
    unmatched,
    v2v_millicredits,
)

CREDIT = 1000  # milli-credits


def two_friends(**car_b: object) -> Circle:
    """alice (giver, 80 %) and bob (receiver, 20 %) at one site; both start with credits."""
    return make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8},
            {"id": "b-ev", "owner": "bob", "soc": 0.2} | car_b,
        ],
        credits={"alice": 100 * CREDIT, "bob": 500 * CREDIT},
    )


def ask(energy_kwh: float = 10.0, **kw: object) -> Request:
    return Request(
        **(
            {
                "id": "r1",
                "member": "bob",
                "car": "b-ev",
                "energy_kwh": energy_kwh,
                "deadline": at(10),
            }
            | kw
        )
    )


def give(energy_kwh: float = 20.0, **kw: object) -> Offer:
    return Offer(
        **(
            {
                "id": "o1",
                "member": "alice",
                "car": "a-ev",
                "energy_kwh": energy_kwh,
                "end": at(10),
                "price_credits_per_kwh": 25,
            }
            | kw
        )
    )


def issue_fields(error: pytest.ExceptionInfo[ProblemError]) -> set[str]:
    return {issue.field for issue in error.value.issues}


# ---------------------------------------------------------------------------- prices, credits


def test_prices_convert_exactly_to_millicredits() -> None:
    assert to_millicredits(25) == 25_000
    assert to_millicredits(22.5) == 22_500
    assert to_millicredits(0.1) == 100
    assert to_millicredits("19.125") == 19_125
    assert to_millicredits(Decimal("0.001")) == 1
    assert to_millicredits(1.0001) is None
    assert to_millicredits("abc") is None
    assert to_millicredits(True) is None
    assert to_millicredits(float("nan")) is None


@given(
    delivered=st.integers(0, 50_000),
    extra=st.integers(0, 10_000),
    credits=st.integers(0, 200),
    losses=st.sampled_from(["giver", "receiver", "split"]),
)
def test_millicredit_prices_agree_with_the_policy(
    delivered: int, extra: int, credits: int, losses: str
) -> None:
    policy = CreditPolicy(v2v_losses=losses)  # type: ignore[arg-type]
    given_wh = delivered + extra
    expected = policy.v2v_millicredits(delivered, given_wh, credits)
    assert v2v_millicredits(policy, delivered, given_wh, credits * 1000) == expected


def test_format_credits() -> None:
    assert format_credits(270_000) == "270"
    assert format_credits(22_500) == "22.5"
    assert format_credits(125, sign=True) == "+0.125"
    assert format_credits(-270_000, sign=True) == "\u2212270"


# ---------------------------------------------------------------------------- bad input


def test_each_bad_request_and_offer_is_named_and_nothing_is_booked(tmp_path) -> None:
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8},
            {"id": "b-ev", "owner": "bob", "soc": 0.2},
            {"id": "low-ev", "owner": "carol", "soc": 0.15, "soc_min": 0.3},
            {"id": "one-way", "owner": "dave", "soc": 0.9, "max_discharge_kw": 0.0},
        ],
        credits={"bob": 500 * CREDIT},
    )
    requests = [
        ask(deadline=NOW - pd.Timedelta(hours=1)),  # window in the past
        ask(id="r2", member="zoe"),  # unknown member
        ask(id="r3", max_price_credits_per_kwh=-1),  # price below zero
        ask(id="r4", energy_kwh=0),  # energy <= 0
        ask(id="r5", car="a-ev"),  # not bob's car
        ask(id="r6", earliest_start=at(5), deadline=at(4)),  # ends before it starts
    ]
    offers = [
        give(keep_above_soc=0.9),  # keep-above above the current SoC
        give(id="o2", member="carol", car="low-ev"),  # reserve above the current SoC
        give(id="o3", consent=["bob", "zoe"]),  # unknown friend
        give(id="o4", price_credits_per_kwh=-5),  # price below zero
        give(id="o5", member="dave", car="one-way"),  # one-way charger
        give(id="o6", price_credits_per_kwh="1.0005"),  # more than 3 decimals
        give(id="o7", consent=["alice"]),  # to themself
    ]
    with tempfile.TemporaryDirectory() as folder:
        ledger = open_ledger(folder)
        open_accounts(ledger, circle)
        before = everything(ledger, circle)
        with pytest.raises(ProblemError) as error:
            match(requests, offers, circle, NOW)
        assert everything(ledger, circle) == before
        ledger.close()
    fields = issue_fields(error)
    assert {
        "requests[0].deadline",
        "requests[1].member",
        "requests[2].max_price_credits_per_kwh",
        "requests[3].energy_kwh",
        "requests[4].car",
        "requests[5].deadline",
        "offers[0].keep_above_soc",
        "offers[1].car",
        "offers[2].consent[1]",
        "offers[3].price_credits_per_kwh",
        "offers[4].car",
        "offers[5].price_credits_per_kwh",
        "offers[6].consent[0]",
    } <= fields
    rules = {issue.field: issue.rule for issue in error.value.issues}
    assert "in the past" in rules["requests[0].deadline"]
    assert "below the car's current SoC" in rules["offers[0].keep_above_soc"]
    assert "reserve" in rules["offers[1].car"]
    assert "unknown friend" in rules["offers[2].consent[1]"]
    assert "below zero" in rules["offers[3].price_credits_per_kwh"]
    assert "one-way charger" in rules["offers[4].car"]


def test_a_request_that_does_not_fit_and_duplicate_ids_are_errors() -> None:
    circle = two_friends()
    with pytest.raises(ProblemError) as error:
        match([ask(60.0), ask(5.0)], [give()], circle, NOW)
    fields = issue_fields(error)
    assert "requests[0].energy_kwh" in fields  # 60 kWh into a 60 kWh car at 20 %
    assert "requests[1].id" in fields


# ---------------------------------------------------------------------------- matching


def test_direct_and_grid_modes_are_labelled() -> None:
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8, "site": "home-a"},
            {"id": "b-ev", "owner": "bob", "soc": 0.2, "site": "home-a"},
            {"id": "c-ev", "owner": "carol", "soc": 0.2, "site": "home-b"},
        ]
    )
    requests = [ask(5.0), ask(5.0, id="r2", member="carol", car="c-ev")]
    matches = match(requests, [give()], circle, NOW)
    modes = {m.receiver: (m.mode, m.site) for m in matches}
    assert modes == {"bob": ("direct", "home-a"), "carol": ("grid", "home-a -> home-b")}


def test_energy_goes_through_the_losses_honestly() -> None:
    (m,) = match([ask(9.2)], [give()], two_friends(), NOW)
    assert m.receiver_battery_kwh == pytest.approx(9.2, abs=1e-3)
    assert m.ac_kwh == pytest.approx(9.2 / 0.92, abs=1e-3)
    assert m.giver_battery_kwh == pytest.approx(m.ac_kwh / 0.9)
    assert m.losses_kwh == pytest.approx(m.giver_battery_kwh - m.receiver_battery_kwh)
    delivered, given_wh = m.planned_wh
    assert m.estimate_millicredits == CreditPolicy().v2v_millicredits(delivered, given_wh, 25)


def test_the_cheaper_offer_wins_and_nobody_gives_to_themself() -> None:
    offers = [
        give(id="dear", price_credits_per_kwh=30),
        give(id="cheap", member="carol", car="c-ev", price_credits_per_kwh=20),
        give(id="mine", member="bob", car="b-ev", end=at(1)),
    ]
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8},
            {"id": "b-ev", "owner": "bob", "soc": 0.5},
            {"id": "c-ev", "owner": "carol", "soc": 0.8},
        ]
    )
    matches = match([ask(8.0, earliest_start=at(2))], offers, circle, NOW)
    assert [m.offer_id for m in matches] == ["cheap"]
    assert all(m.giver != m.receiver for m in matches)
    # more than the cheap offer holds: the rest comes from the dearer one
    matches = match([ask(25.0, earliest_start=at(2))], offers[:2], circle, NOW)
    by_offer = {m.offer_id: m for m in matches}
    assert by_offer["cheap"].giver_battery_kwh == pytest.approx(20.0, abs=2e-3)
    assert sum(m.receiver_battery_kwh for m in matches) == pytest.approx(25.0, abs=2e-3)


def test_consent_price_and_windows_are_respected() -> None:
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8},
            {"id": "b-ev", "owner": "bob", "soc": 0.2},
            {"id": "c-ev", "owner": "carol", "soc": 0.2},
        ]
    )
    requests = [ask(5.0), ask(5.0, id="r2", member="carol", car="c-ev")]
    only_carol = match(requests, [give(consent=["carol"])], circle, NOW)
    assert [m.receiver for m in only_carol] == ["carol"]
    too_dear = [ask(5.0, max_price_credits_per_kwh=24.999)]
    assert match(too_dear, [give()], circle, NOW) == []
    assert match([ask(5.0, max_price_credits_per_kwh=25)], [give()], circle, NOW)
    late = [ask(5.0, earliest_start=at(6), deadline=at(9))]
    assert match(late, [give(end=at(5))], circle, NOW) == []
    why = unmatched(late, [give(end=at(5))], circle, NOW, [])
    assert "do not overlap" in why["r1"]


def test_reserve_and_keep_above_limit_what_is_given() -> None:
    circle = two_friends()
    # alice: 60 kWh at 80 %, reserve 20 %, keep above 70 % -> 6 kWh out of the battery
    (m,) = match([ask(30.0)], [give(keep_above_soc=0.7)], circle, NOW)
    assert m.giver_battery_kwh == pytest.approx(6.0, abs=2e-3)
    assert m.giver_floor_kwh == pytest.approx(42.0)
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8, "soc_min": 0.75},
            {"id": "b-ev", "owner": "bob", "soc": 0.2},
        ]
    )
    (m,) = match([ask(30.0)], [give(keep_above_soc=0.1)], circle, NOW)
    assert m.giver_battery_kwh == pytest.approx(3.0, abs=2e-3)  # the reserve wins


def test_unplugged_and_time_limits_are_explained() -> None:
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8, "site": ""},
            {"id": "b-ev", "owner": "bob", "soc": 0.2},
        ]
    )
    assert match([ask(5.0)], [give()], circle, NOW) == []
    assert "not plugged in" in unmatched([ask(5.0)], [give()], circle, NOW, [])["r1"]


# ---------------------------------------------------------------------------- settlement


def book_and_plan(circle, requests, offers, ledger, policy=None):
    matches = match(requests, offers, circle, NOW, policy)
    open_accounts(ledger, circle)
    acceptances = open_pending(ledger, matches)
    accepted = [a.match for a in acceptances if a.accepted]
    return acceptances, accepted


def test_happy_path_posts_metered_credits_and_replays_as_a_no_op(tmp_path) -> None:
    circle = two_friends()
    ledger = open_ledger(tmp_path)
    _acc, accepted = book_and_plan(circle, [ask(9.2)], [give()], ledger)
    before = member_balances(ledger, circle)
    plan = plan_transfers(circle, accepted)
    results = settle(ledger, accepted, plan.metered())
    (s,) = results
    assert s.status == "posted" and s.created
    assert s.millicredits == CreditPolicy().v2v_millicredits(s.delivered_wh, s.given_wh, 25)
    after = member_balances(ledger, circle)
    assert after["alice"] - before["alice"] == s.millicredits
    assert after["bob"] - before["bob"] == -s.millicredits
    assert ledger.verify().ok
    state = everything(ledger, circle)
    again = settle(ledger, accepted, plan.metered())
    assert not any(r.created for r in again)
    assert open_pending(ledger, accepted)[0].status == "exists"
    assert everything(ledger, circle) == state
    other = plan.metered()
    other = Metered(other.delivered_wh - 1, other.given_wh, other.received_wh)
    with pytest.raises(Conflict):  # settled before with other meter values: refused
        settle(ledger, accepted, other)
    assert everything(ledger, circle) == state
    lines = explain(circle, results, plan=plan)
    assert lines["alice"][0].startswith("you gave 10.0 kWh to bob")
    assert "11.1 kWh left your battery, +250 credits" in lines["alice"][0]
    assert lines["bob"][0].startswith("you received 9.2 kWh into your battery from alice")
    assert "(10.0 kWh delivered at the charger" in lines["bob"][0]
    assert lines["bob"][0].endswith("\u2212250 credits")
    ledger.close()


def test_giver_leaving_before_the_window_voids_and_moves_no_credits(tmp_path) -> None:
    circle = two_friends()
    ledger = open_ledger(tmp_path)
    _acc, accepted = book_and_plan(circle, [ask(9.2, earliest_start=at(4))], [give()], ledger)
    start = everything(ledger, circle)
    # alice drives off at NOW + 3 h, before the window opens
    gone = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8, "plugged_until": at(3)},
            {"id": "b-ev", "owner": "bob", "soc": 0.2},
        ],
        credits={"alice": 100 * CREDIT, "bob": 500 * CREDIT},
    )
    plan = plan_transfers(gone, accepted)
    assert plan.delivered_kwh[0] == 0.0
    assert "never plugged in together" in plan.reasons[0]
    (s,) = settle(ledger, accepted, plan.metered())
    assert s.status == "voided" and s.millicredits == 0
    state, count = everything(ledger, circle)
    for account, balance in state.items():
        assert balance.net == start[0][account].net
        assert balance.debits_pending == 0 and balance.credits_pending == 0
    assert ledger.verify().ok
    assert settle(ledger, accepted, plan.metered())[0].created is False
    assert everything(ledger, circle) == (state, count)
    lines = explain(circle, [s], plan=plan)
    assert "did not happen" in lines["bob"][0] and "released" in lines["bob"][0]
    ledger.close()


def test_cancelled_transfer_is_voided_once(tmp_path) -> None:
    circle = two_friends()
    ledger = open_ledger(tmp_path)
    _acc, accepted = book_and_plan(circle, [ask(9.2)], [give()], ledger)
    held = ledger.balance("bob.credits")
    assert held.debits_pending == accepted[0].estimate_millicredits
    (s,) = cancel(ledger, accepted)
    assert s.status == "voided" and s.created
    assert ledger.balance("bob.credits").available == 500 * CREDIT
    state = everything(ledger, circle)
    assert cancel(ledger, accepted)[0].created is False
    assert everything(ledger, circle) == state
    assert ledger.verify().ok
    ledger.close()


def test_receiver_who_cannot_cover_the_estimate_is_refused_with_nothing_written(
    tmp_path,
) -> None:
    circle = make_circle(
        [
            {"id": "a-ev", "owner": "alice", "soc": 0.8},
            {"id": "b-ev", "owner": "bob", "soc": 0.2},
        ],
        credits={"bob": 10 * CREDIT},
    )
    ledger = open_ledger(tmp_path)
    open_accounts(ledger, circle)
    matches = match([ask(9.2)], [give()], circle, NOW)
    state = everything(ledger, circle)
    (a,) = open_pending(ledger, matches)
    assert a.status == "refused" and "10 credits available" in a.reason
    assert everything(ledger, circle) == state
    assert ledger.rejection(f"{matches[0].key}.hold") is None  # the id is not burnt
    assert settle(ledger, matches, Metered.nothing(1))[0].status == "not_booked"
    assert everything(ledger, circle) == state
    # once bob has the credits, the same match is accepted
    ledger.transfer("top-up", "c.pool", "bob.credits", 500 * CREDIT, "credit", "grant")
    assert open_pending(ledger, matches)[0].status == "reserved"
    ledger.close()


def test_free_sharing_records_energy_only(tmp_path) -> None:
    circle = two_friends()
    ledger = open_ledger(tmp_path)
    _acc, accepted = book_and_plan(circle, [ask(4.6)], [give(price_credits_per_kwh=0)], ledger)
    before = member_balances(ledger, circle)
    plan = plan_transfers(circle, accepted)
    (s,) = settle(ledger, accepted, plan.metered())
    assert s.status == "free" and s.millicredits == 0 and s.delivered_wh == 5000
    assert member_balances(ledger, circle) == before
    assert ledger.balance("alice.v2v-energy").net == 5000
    assert ledger.balance("bob.v2v-energy").net == -5000
    ledger.close()


def test_shipped_example_matches_direct_and_through_the_grid(tmp_path) -> None:
    loaded = load_circle()
    matches = match(loaded.requests, loaded.offers, loaded.circle, loaded.now, loaded.policy)
    pairs = {(m.request_id, m.offer_id): m for m in matches}
    bob = pairs["bob-commute", "alice-tonight"]
    assert bob.mode == "direct" and bob.receiver_battery_kwh == pytest.approx(12.0, abs=1e-3)
    dave = pairs["dave-work", "carol-evening"]  # carol's consent names only dave
    assert dave.mode == "grid" and dave.price_millicredits_per_kwh == 22_500
    assert ("bob-commute", "carol-evening") not in pairs


# ---------------------------------------------------------------------------- conservation

_counter = itertools.count()


@settings(max_examples=25)
@given(
    capacity=st.lists(st.floats(30.0, 100.0), min_size=3, max_size=3),
    eta_c=st.lists(st.floats(0.8, 1.0), min_size=3, max_size=3),
    eta_d=st.lists(st.floats(0.8, 1.0), min_size=3, max_size=3),
    giver_soc=st.floats(0.5, 0.95),
    receiver_soc=st.lists(st.floats(0.05, 0.4), min_size=2, max_size=2),
    wanted=st.lists(st.floats(0.5, 18.0), min_size=2, max_size=2),  # fits: 30 kWh x (1 - 0.4)
    offered=st.floats(1.0, 40.0),
    keep=st.floats(0.0, 0.45),
    price=st.integers(0, 40_000),
    same_site=st.booleans(),
    hours=st.floats(1.0, 8.0),
    losses=st.sampled_from(["giver", "receiver", "split"]),
)
def test_energy_and_credits_are_conserved(
    capacity,
    eta_c,
    eta_d,
    giver_soc,
    receiver_soc,
    wanted,
    offered,
    keep,
    price,
    same_site,
    hours,
    losses,
) -> None:
    policy = CreditPolicy(v2v_losses=losses)
    circle = make_circle(
        [
            {
                "id": "g",
                "owner": "alice",
                "soc": giver_soc,
                "soc_min": 0.1,
                "capacity_kwh": capacity[0],
                "charge_efficiency": eta_c[0],
                "discharge_efficiency": eta_d[0],
            },
            {
                "id": "r1",
                "owner": "bob",
                "soc": receiver_soc[0],
                "max_charge_kw": 7.4,
                "capacity_kwh": capacity[1],
                "charge_efficiency": eta_c[1],
                "discharge_efficiency": eta_d[1],
            },
            {
                "id": "r2",
                "owner": "carol",
                "soc": receiver_soc[1],
                "capacity_kwh": capacity[2],
                "charge_efficiency": eta_c[2],
                "discharge_efficiency": eta_d[2],
                "site": "home-a" if same_site else "home-b",
            },
        ],
        credits={"alice": 0, "bob": 2_000 * CREDIT, "carol": 2_000 * CREDIT},
        circle_id=f"c{next(_counter)}",
    )
    requests = [
        Request("q1", "bob", "r1", wanted[0], at(hours)),
        Request("q2", "carol", "r2", wanted[1], at(10)),
    ]
    offers = [Offer("o", "alice", "g", offered, at(10), None, keep, Decimal(price) / 1000)]
    with tempfile.TemporaryDirectory() as folder:
        ledger = open_ledger(folder)
        _acc, accepted = book_and_plan(circle, requests, offers, ledger, policy)
        total_before = sum(member_balances(ledger, circle).values())
        plan = plan_transfers(circle, accepted)
        metered = plan.metered()
        results = settle(ledger, accepted, metered, policy)
        report = ledger.verify()
        balances = member_balances(ledger, circle)
        ledger.close()
    assert report.ok, report.problems
    assert sum(balances.values()) == total_before  # credits only move between members
    earned = 0
    for k, s in enumerate(results):
        assert s.millicredits == min(
            v2v_millicredits(
                policy,
                int(metered.delivered_wh[k]),
                int(metered.given_wh[k]),
                s.match.price_millicredits_per_kwh,
            ),
            s.match.estimate_millicredits,
        )
        assert s.delivered_wh <= round(s.match.ac_kwh * 1000)
        earned += s.millicredits
    assert balances["alice"] == earned
    for planned in plan.problems:
        problem, result = planned.problem, planned.schedule
        fleet, transfers = problem.fleet, problem.transfers
        assert planned.verification.ok
        stored = result.soc * fleet.capacity_kwh[:, None]
        lost = stored[:, 0] - stored[:, -1]  # per car: what its battery gave (negative: got)
        moved = result.transferred_kwh
        giver_out = np.zeros(fleet.n_vehicles)
        receiver_in = np.zeros(fleet.n_vehicles)
        np.add.at(giver_out, transfers.giver, moved / fleet.discharge_efficiency[transfers.giver])
        np.add.at(
            receiver_in, transfers.receiver, moved * fleet.charge_efficiency[transfers.receiver]
        )
        losses_kwh = giver_out.sum() - receiver_in.sum()
        # the giver's battery loss minus the conversion losses is the receivers' gain
        assert lost[lost > 0].sum() - losses_kwh == pytest.approx(-lost[lost < 0].sum(), abs=1e-5)
        np.testing.assert_allclose(np.maximum(lost, 0), giver_out, atol=1e-5)
        np.testing.assert_allclose(np.maximum(-lost, 0), receiver_in, atol=1e-5)
        # the receivers never get more than they asked for, the giver never goes below its floor
        floor = max(0.1, keep) * fleet.capacity_kwh[0]
        assert stored[0].min() >= min(floor, stored[0, 0]) - 1e-5


def test_circle_files_name_unknown_keys_and_references() -> None:
    document = tomllib.loads(circle_text("friends")[0])
    document["plugged"][1]["site"] = "moon-base"
    document["plugged"][2]["car"] = "alice-ev"  # already plugged in by plugged[0]
    document["cars"][0]["owner"] = "mallory"
    document["members"][1]["starting_credits"] = -3
    with pytest.raises(ProblemError) as error:
        circle_from_dict(document)
    assert {
        "plugged[1].site",
        "plugged[2].car",
        "cars[0].owner",
        "members[1].starting_credits",
    } <= issue_fields(error)
    document = tomllib.loads(circle_text("friends")[0])
    document["sites"][0]["import_limit"] = 3
    with pytest.raises(ProblemError) as error:
        circle_from_dict(document)
    assert issue_fields(error) == {"sites[0].import_limit"}


def test_old_car_keys_are_unknown_and_name_their_new_name() -> None:
    document = tomllib.loads(circle_text("friends")[0])
    document["cars"][0]["reserve_soc"] = document["cars"][0].pop("soc_min")
    document["cars"][1]["max_soc"] = 0.9
    with pytest.raises(ProblemError) as error:
        circle_from_dict(document)
    rules = {issue.field: issue.rule for issue in error.value.issues}
    assert set(rules) == {"cars[0].reserve_soc", "cars[1].max_soc"}
    assert rules["cars[0].reserve_soc"].startswith("unknown key (check its spelling")
    assert rules["cars[0].reserve_soc"].endswith("renamed to soc_min")
    assert rules["cars[1].max_soc"].endswith("renamed to soc_max")


def test_a_car_left_to_the_defaults_gets_the_problem_formats_efficiencies() -> None:
    document = tomllib.loads(circle_text("friends")[0])
    for key in ("soc_min", "charge_efficiency", "discharge_efficiency"):
        document["cars"][0].pop(key)
    cars = circle_from_dict(document).circle.cars
    assert cars.charge_efficiency[0] == DEFAULT_CHARGE_EFFICIENCY
    assert cars.discharge_efficiency[0] == DEFAULT_DISCHARGE_EFFICIENCY
    assert (cars.soc_min[0], cars.soc_max[0]) == (0.2, 1.0)


@pytest.mark.parametrize("slot_minutes", [30, 60])
def test_sharing_runs_on_longer_slots(slot_minutes: int) -> None:
    circle = two_friends()
    now = NOW + pd.Timedelta(minutes=10)  # slot 0 starts at the next whole slot
    (m,) = match([ask(9.2)], [give()], circle, now, slot_minutes=slot_minutes)
    assert m.grid == SlotGrid.at(now, slot_minutes=slot_minutes)
    assert m.grid.origin == NOW.tz_convert("UTC") + pd.Timedelta(minutes=slot_minutes)
    assert m.end_slot == m.grid.end_slot(at(10))
    plan = plan_transfers(circle, [m])
    assert plan.grid == m.grid and plan.problems[0].problem.slot_minutes == slot_minutes
    assert plan.transfer_kw.shape == (1, m.end_slot)
    assert plan.delivered_kwh[0] == pytest.approx(m.ac_kwh, abs=1e-6)
    assert unmatched([ask(9.2)], [give()], circle, now, [m], slot_minutes=slot_minutes) == {}
