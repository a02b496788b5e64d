"""The verifier has teeth: each kind of tampering with a good schedule is caught."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from voltpool.example import example_problem
from voltpool.schedule import schedule, verify

PROBLEM = example_problem(8, seed=5)
GOOD = schedule(PROBLEM, "lp")


def tampered(**changes):
    return dataclasses.replace(GOOD, **changes)


def test_good_schedule_passes() -> None:
    report = verify(PROBLEM, GOOD)
    assert report.ok
    assert len(report.checked) == 12


def power_with(n: int, t: int, value: float) -> np.ndarray:
    power = GOOD.power_kw.copy()
    power[n, t] = value
    return power


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"power_kw": power_with(0, 0, 1.0)}, "unplugged_power"),
        ({"power_kw": power_with(0, 40, 50.0)}, "charge_limit"),
        ({"soc": GOOD.soc + 0.01}, "soc_consistency"),
        ({"site_net_load_kw": GOOD.site_net_load_kw + 1.0}, "site_balance"),
        ({"shortfall_kwh": GOOD.shortfall_kwh + 1.0}, "shortfall"),
        ({"objective_terms": {**GOOD.objective_terms, "energy_cost": 0.0}}, "objective"),
        ({"power_kw": GOOD.power_kw[:, :10]}, "shape"),
    ],
)
def test_tampering_is_caught(changes, rule: str) -> None:
    assert rule in verify(PROBLEM, tampered(**changes)).rules_broken()


def test_discharging_below_the_reserve_is_caught() -> None:
    fleet = PROBLEM.fleet
    n = int(np.argmax(fleet.max_discharge_kw))
    power = GOOD.power_kw.copy()
    window = slice(fleet.arrival_slot[n], fleet.departure_slot[n])
    power[n, window] = -fleet.max_discharge_kw[n]
    assert "soc_min" in verify(PROBLEM, tampered(power_kw=power)).rules_broken()
