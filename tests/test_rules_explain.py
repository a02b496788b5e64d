"""Every effect of an owner's rule is said in words: the floor that held a car, the daily or
weekly cap that stopped it, the hours or the "not today" switch that kept it idle where
discharging would have paid; a rule that costs nothing is not blamed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from voltpool.io import problem_from_dict, problem_to_dict, schedule_from_dict, schedule_to_dict
from voltpool.model import Fleet, Problem, Site, Tariff
from voltpool.schedule import schedule, verify

T = 96
START = pd.Timestamp("2024-01-15T00:00", tz="Europe/Amsterdam").to_pydatetime()
CAR = {
    "id": "car",
    "capacity_kwh": 60.0,
    "soc_initial": 0.8,
    "soc_min": 0.2,
    "soc_max": 0.9,
    "soc_target": 0.8,
    "arrival_slot": 0,
    "departure_slot": T,
    "max_charge_kw": 11.0,
    "max_discharge_kw": 11.0,
    "charge_efficiency": 0.9,
    "discharge_efficiency": 0.9,
}


def problem(rules: dict | None, peak: slice = slice(68, 88)) -> Problem:
    """One car plugged in all Monday, prices 0.10 and 0.40 EUR/kWh from 17:00 to 22:00."""
    price = np.full(T, 0.10)
    price[peak] = 0.40
    record = dict(CAR, **({"rules": rules} if rules else {}))
    return Problem(
        Fleet.from_records([record]),
        Site(np.full(T, 0.5), 50.0, 50.0),
        Tariff(price, 0.9 * price),
        15,
        10.0,
        start=START,
        timezone="Europe/Amsterdam",
    )


def notes(rules: dict | None, **changes) -> list[str]:
    planned = problem(rules, **changes)
    result = schedule(planned, "lp")
    assert verify(planned, result).ok
    return result.rule_notes


@pytest.mark.parametrize(
    ("rules", "said"),
    [
        ({"v2g_max_kwh_per_day": 6}, "your daily V2G cap of 6 kWh was reached"),
        ({"v2g_max_kwh_per_day": 6, "v2g_kwh_today": 7}, "no discharge on Mon 15 Jan: your daily"),
        ({"v2g_floor_soc": 0.6}, "car held at 60 % from"),
        (
            {"discharge_hours": ["20:00-22:00"]},
            "car: no discharge 17:00-20:00 (Mon 15 Jan): outside your discharge hours 20:00-22:00",
        ),
        (
            {"no_discharge_hours": ["17:00-19:00"]},
            "no discharge 17:00-19:00 (Mon 15 Jan): your no-",
        ),
        ({"no_discharge_until": "2024-01-15T21:00:00+01:00"}, "your 'not today' switch"),
        (
            {"max_cycles_per_week": 0.5, "v2g_kwh_past_days": [5, 5, 5, 5, 5, 0]},
            "your weekly V2G limit of 0.5 cycles (30 kWh) was reached",
        ),
    ],
)
def test_each_rule_that_shaped_the_plan_is_said(rules: dict, said: str) -> None:
    found = notes(rules)
    assert len(found) == 1 and said in found[0], found


def test_a_rule_that_costs_nothing_is_not_blamed() -> None:
    assert notes(None) == []
    # discharging is forbidden only where it would not pay (the cheap hours)
    assert notes({"no_discharge_hours": ["00:00-06:00"]}) == []
    assert notes({"v2g_floor_soc": 0.1}) == []  # below the reserve: the reserve decides


def test_the_notes_travel_with_the_schedule_file() -> None:
    planned = problem({"v2g_max_kwh_per_day": 6})
    result = schedule(planned, "lp")
    read = schedule_from_dict(
        problem_from_dict(problem_to_dict(planned)), schedule_to_dict(planned, result)
    )
    assert read.rule_notes == result.rule_notes != []
