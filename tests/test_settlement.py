"""Settling a simulation in the ledger: credits exactly as the policy's rules say, slot by slot
(peak-hour and grid-event multipliers included), conserved, replays idempotent, verify passes."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from voltpool.credits import CreditPolicy, kwh_to_wh
from voltpool.ledger import Ledger
from voltpool.scenario import scenario_from_dict
from voltpool.settlement import POOL, settle_run, settlement_context
from voltpool.simulate import build_world
from voltpool.simulate.engine import run_policy
from voltpool.simulate.policies import make_policy

TIMEZONE = "Europe/Amsterdam"
START = "2024-01-15"
EVENTS = [("2024-01-15T19:00", "2024-01-15T20:00"), ("2024-01-16T22:00", "2024-01-16T23:00")]
"""Local times of two grid events: one in the evening peak, one after it."""
POLICIES = [
    CreditPolicy(),
    CreditPolicy(
        v2g_credits_per_kwh=15,
        peak_multiplier_pct=170,
        peak_hours_local=(18, 22),
        event_multiplier_pct=250,
        wear_compensation_credits_per_kwh=3,
        community_fee_pct=10,
    ),
]


@pytest.fixture(scope="module")
def simulated():
    text = resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
    document = copy.deepcopy(tomllib.loads(text))
    document.update(days=2, policies=["v2g"], start=START, timezone=TIMEZONE)
    document["events"] = [
        {"type": "import_limit", "start": start, "end": end, "import_limit_kw": 6.0}
        for start, end in EVENTS
    ]
    document["homes"]["count"] = 10
    document["vehicles"]["count"] = 8
    document["vehicles"]["bidirectional_share"] = 1.0
    document["transformer"]["import_limit_kw"] = 60.0
    world = build_world(scenario_from_dict(document))
    return world, run_policy(world, make_policy("v2g", world))


def peak_and_event(n_slots: int, policy: CreditPolicy) -> tuple[np.ndarray, np.ndarray]:
    """Which slots are in the policy's local peak hours, and which in a grid event."""
    local = pd.date_range(START, periods=n_slots, freq="15min", tz=TIMEZONE)
    start, end = policy.peak_hours_local
    peak = (local.hour >= start) & (local.hour < end)
    event = np.zeros(n_slots, dtype=bool)
    for first, stop in EVENTS:
        event |= (local >= pd.Timestamp(first, tz=TIMEZONE)) & (
            local < pd.Timestamp(stop, tz=TIMEZONE)
        )
    return np.asarray(peak), event


def expected_credits(run, policy: CreditPolicy) -> pd.DataFrame:
    """Per household, from the policy's documented rules alone: each slot's metered Wh earns
    ``v2g_credits_per_kwh`` per kWh times the larger of the peak multiplier (local peak hours)
    and the event multiplier (grid event), rounded down, plus the wear compensation; a session
    (one plug-in) earns the sum of its slots and pays ``community_fee_pct`` of it, rounded down.
    """
    n_cars, n_slots = run.power_kw.shape
    peak, event = peak_and_event(n_slots, policy)
    multiplier_pct = np.maximum(
        np.where(peak, policy.peak_multiplier_pct, 100),
        np.where(event, policy.event_multiplier_pct, 100),
    )
    given_wh = kwh_to_wh(np.maximum(-run.power_kw, 0.0) * run.dt_h)
    # milli-credits: Wh x credits/kWh = milli-credits
    slot_mc = given_wh * policy.v2g_credits_per_kwh * multiplier_pct // 100
    slot_mc += given_wh * policy.wear_compensation_credits_per_kwh
    earned = dict.fromkeys(run.home_ids, 0)
    fees = dict.fromkeys(run.home_ids, 0)
    for car in range(n_cars):
        home = run.home_ids[run.vehicle_home[car]]
        plugged = np.concatenate([[False], run.plugged[car], [False]]).astype(int)
        edges = np.flatnonzero(np.diff(plugged))
        for first, stop in zip(edges[::2], edges[1::2], strict=True):
            session = int(slot_mc[car, first:stop].sum())
            earned[home] += session
            fees[home] += session * policy.community_fee_pct // 100
    return pd.DataFrame({"earned": earned, "fees": fees})


@pytest.mark.parametrize("policy", POLICIES, ids=["default", "custom"])
def test_the_fixture_gives_energy_at_every_multiplier(simulated, policy: CreditPolicy) -> None:
    _world, run = simulated
    assert not run.car_islanded.any() and (run.v2v is None or run.v2v.empty)
    given_kwh = np.maximum(-run.power_kw, 0.0).sum(axis=0) * run.dt_h
    peak, event = peak_and_event(given_kwh.size, policy)
    for slots in (peak & event, peak & ~event, ~peak & event, ~peak & ~event):
        assert given_kwh[slots].sum() > 1.0


@pytest.mark.parametrize("policy", POLICIES, ids=["default", "custom"])
def test_settlement_books_the_rules_exactly_and_replays(
    simulated, ledger_url: str, policy: CreditPolicy
) -> None:
    world, run = simulated
    expected = expected_credits(run, policy)
    flat = (kwh_to_wh(np.maximum(-run.power_kw, 0.0) * run.dt_h)).sum() * (
        policy.v2g_credits_per_kwh + policy.wear_compensation_credits_per_kwh
    )
    assert expected["earned"].sum() > flat  # the multipliers matter in this run
    ledger = Ledger.open(ledger_url)
    try:
        table = settle_run(run, settlement_context(world), ledger, policy)
        assert ledger.verify().ok
        pd.testing.assert_series_equal(
            table["earned"], expected["earned"], check_names=False, check_index_type=False
        )
        pd.testing.assert_series_equal(
            table["fees"], expected["fees"], check_names=False, check_index_type=False
        )
        # double entry: what households hold plus the fees is what the pool gave out
        held = table["balance"].sum() + ledger.balance("fees").net
        assert held == -ledger.balance(POOL).net
        again = settle_run(run, settlement_context(world), ledger, policy)
        assert again.equals(table)
        assert ledger.verify().ok
    finally:
        ledger.close()
