"""Settling a simulation in the ledger: credits conserved, replays idempotent, verify passes."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import numpy as np
import pytest

from voltpool.credits import CreditPolicy
from voltpool.ledger import Ledger
from voltpool.scenario import scenario_from_dict
from voltpool.settlement import POOL, settle_run, settlement_context
from voltpool.simulate import build_world
from voltpool.simulate.engine import run_policy
from voltpool.simulate.policies import make_policy


@pytest.fixture(scope="module")
def simulated():
    text = resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
    document = copy.deepcopy(tomllib.loads(text))
    document.update(days=2, policies=["v2g"], events=[])
    document["homes"]["count"] = 10
    document["vehicles"]["count"] = 8
    document["vehicles"]["bidirectional_share"] = 1.0
    document["transformer"]["import_limit_kw"] = 60.0
    world = build_world(scenario_from_dict(document))
    return world, run_policy(world, make_policy("v2g", world))


def test_settlement_conserves_credits_and_replays(simulated, ledger_url) -> None:
    world, run = simulated
    ledger = Ledger.open(ledger_url)
    try:
        policy = CreditPolicy()
        table = settle_run(run, settlement_context(world), ledger, policy)
        assert ledger.verify().ok
        # double entry: what households hold plus the fees is what the pool gave out
        held = table["balance"].sum() + ledger.balance("fees").net
        assert held == -ledger.balance(POOL).net
        # every posted credit is explained by metered V2G energy, slot by slot, rounded down
        given_wh = np.floor(np.maximum(-run.power_kw, 0) * run.dt_h * 1000).astype(int)
        assert table["earned"].sum() <= given_wh.sum() * policy.v2g_credits_per_kwh * 2
        assert (table["earned"].sum() > 0) == (given_wh.sum() > 0)
        again = settle_run(run, settlement_context(world), ledger, policy)
        assert again.equals(table)
        assert ledger.verify().ok
    finally:
        ledger.close()
