"""The owner's rules in the exact LP: hand-computed plans per rule, random fleets with random
rules against an independent MILP (tests/reference.py) and a slot-by-slot recomputation here,
loose rules that change nothing, and bad input named by its field path."""

from __future__ import annotations

import dataclasses
import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

from helpers import VEHICLE_DEFAULTS
from reference import reference_optimum
from strategies import ruled_problems
from test_lp_exact import assert_optimal
from voltpool.errors import ProblemError
from voltpool.model import Fleet, Problem, Site, Tariff
from voltpool.model.rules import OwnerRules
from voltpool.schedule import schedule, verify
from voltpool.schedule.result import Schedule

ZONE = "Europe/Amsterdam"
CAR = {"capacity_kwh": 20.0, "soc_initial": 1.0, "soc_target": 0.0, "max_charge_kw": 0.0}
"""A full 20 kWh car that need not keep anything: it gives what pays, within its rules."""


def ruled(
    vehicles: list[dict],
    price: list[float],
    start: str = "2024-01-15T16:00:00+01:00",
    slot_minutes: int = 60,
    zone: str = ZONE,
) -> Problem:
    """One site, no base load, import = export price, placed at ``start`` in ``zone``."""
    n_slots = len(price)
    records = [
        {"id": f"v{i}", **VEHICLE_DEFAULTS, "departure_slot": n_slots, **v}
        for i, v in enumerate(vehicles)
    ]
    prices = np.asarray(price, dtype=float)
    return Problem(
        fleet=Fleet.from_records(records),
        site=Site(np.zeros(n_slots), math.inf, math.inf),
        tariff=Tariff(prices, prices.copy()),
        slot_minutes=slot_minutes,
        start=pd.Timestamp(start).to_pydatetime(),
        timezone=zone,
    )


def planned(problem: Problem) -> Schedule:
    """The LP's plan, verified and equal to the reference optimum."""
    result = schedule(problem, "lp")
    assert_optimal(problem, result)
    return result


def without_rules(problem: Problem) -> Problem:
    return dataclasses.replace(problem, fleet=dataclasses.replace(problem.fleet, rules=None))


# ---- hand-computed plans, one rule at a time -------------------------------------------------


def test_daily_cap_counts_the_battery_side_and_todays_history_per_local_day() -> None:
    # 22:00-02:00 local: two local days. Cap 5 kWh a day from the cells, 2 given today, 90 %
    # discharge efficiency: today 3 kWh leave the cells = 2.7 kWh AC at 0.5; tomorrow 5 kWh =
    # 4.5 kWh AC, 4 kW at 0.5 and 0.5 kW at 0.4. Cost -(1.35 + 2.0 + 0.2) = -3.55.
    problem = ruled(
        [
            {
                **CAR,
                "discharge_efficiency": 0.9,
                "rules": {"v2g_max_kwh_per_day": 5.0, "v2g_kwh_today": 2.0},
            }
        ],
        price=[0.5, 0.4, 0.5, 0.4],
        start="2024-01-15T22:00:00+01:00",
    )
    result = planned(problem)
    np.testing.assert_allclose(result.power_kw, [[-2.7, 0.0, -4.0, -0.5]], atol=1e-7)
    assert result.objective == pytest.approx(-3.55)
    assert schedule(without_rules(problem), "lp").objective == pytest.approx(-7.2)


def test_a_daily_cap_already_used_up_gives_nothing_that_day_and_no_error() -> None:
    # 7 kWh given today against a cap of 6: nothing today; tomorrow 6 kWh from the cells.
    problem = ruled(
        [
            {
                **CAR,
                "discharge_efficiency": 0.9,
                "rules": {"v2g_max_kwh_per_day": 6.0, "v2g_kwh_today": 7.0},
            }
        ],
        price=[0.5, 0.4, 0.5, 0.4],
        start="2024-01-15T22:00:00+01:00",
    )
    result = planned(problem)
    assert result.status == "optimal"
    np.testing.assert_allclose(result.power_kw, [[0.0, 0.0, -4.0, -1.4]], atol=1e-7)
    assert result.objective == pytest.approx(-2.56)
    assert any("already used" in note for note in result.rule_notes)


def test_v2g_floor_holds() -> None:
    # 10 kWh at 80 %, floor 50 %: 3 kWh to give, all at the dearer hour.
    car = {"soc_initial": 0.8, "soc_target": 0.0, "max_charge_kw": 0.0}
    problem = ruled([{**car, "rules": {"v2g_floor_soc": 0.5}}], price=[0.5, 0.4])
    result = planned(problem)
    np.testing.assert_allclose(result.power_kw, [[-3.0, 0.0]], atol=1e-7)
    np.testing.assert_allclose(result.soc[0], [0.8, 0.5, 0.5], atol=1e-7)
    assert result.objective == pytest.approx(-1.5)
    assert any("V2G floor" in note for note in result.rule_notes)


def test_a_floor_is_a_floor_for_a_car_that_arrives_below_it() -> None:
    # 30 % on arrival, floor 50 %: charge 4 kWh at 0.1 to 70 %, give 2 back at 0.5 (the LP alone
    # would give 4 and end at the arrival level; the reserve's binaries stop it): -0.6.
    problem = ruled(
        [{"soc_initial": 0.3, "soc_target": 0.3, "rules": {"v2g_floor_soc": 0.5}}],
        price=[0.1, 0.5],
    )
    result = planned(problem)
    np.testing.assert_allclose(result.power_kw, [[4.0, -2.0]], atol=1e-7)
    assert result.objective == pytest.approx(-0.6)


@pytest.mark.parametrize(
    ("rules", "power_kw", "soc_end"),
    [
        # a floor above the target: the car gives only down to its floor, target met
        ({"v2g_floor_soc": 0.7}, [-1.0, 0.0], 0.7),
        # a floor above soc_max: never discharged; it still charges to its target
        ({"v2g_floor_soc": 1.0}, [0.0, 1.0], 0.9),
    ],
)
def test_a_floor_above_the_target_or_soc_max_still_gets_a_plan(
    rules: dict, power_kw: list[float], soc_end: float
) -> None:
    car = {"soc_initial": 0.8, "soc_max": 0.9, "soc_target": 0.6 if soc_end < 0.9 else 0.9}
    problem = ruled([{**car, "rules": rules}], price=[0.5, 0.4])
    result = planned(problem)
    assert result.status == "optimal"
    np.testing.assert_allclose(result.power_kw, [power_kw], atol=1e-7)
    assert result.soc[0, -1] == pytest.approx(soc_end)
    assert result.shortfall_kwh[0] == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize(
    ("rules", "start", "price", "power_kw"),
    [
        # allowed 17:00-19:00 only
        ({"discharge_hours": ["17:00-19:00"]}, "16:00", [0.6, 0.5, 0.5, 0.6], [0, -4, -4, 0]),
        # a slot is allowed when it *starts* in the window: 17:00-18:00 starts before 17:30
        ({"discharge_hours": ["17:30-19:00"]}, "16:00", [0.6, 0.5, 0.5, 0.6], [0, 0, -4, 0]),
        # forbidden over midnight, 23:00-01:00
        ({"no_discharge_hours": ["23:00-01:00"]}, "22:00", [0.5, 0.6, 0.6, 0.5], [-4, 0, 0, -4]),
        # "not today" until 18:00 local, written in UTC
        ({"no_discharge_until": "2024-01-15T17:00:00Z"}, "16:00", [0.6] * 4, [0, 0, -4, -4]),
    ],
)
def test_hours_and_not_today(rules: dict, start: str, price: list, power_kw: list) -> None:
    problem = ruled([{**CAR, "rules": rules}], price=price, start=f"2024-01-15T{start}:00+01:00")
    result = planned(problem)
    np.testing.assert_allclose(result.power_kw, [power_kw], atol=1e-7)


def test_hours_on_the_dst_day_are_local_hours() -> None:
    # 2024-03-31 in Amsterdam: 00:00, 01:00, then 03:00 (02:00 does not exist), 04:00.
    problem = ruled(
        [{**CAR, "rules": {"discharge_hours": ["03:00-04:00"]}}],
        price=[0.5] * 4,
        start="2024-03-31T00:00:00+01:00",
    )
    result = planned(problem)
    np.testing.assert_allclose(result.power_kw, [[0, 0, -4, 0]], atol=1e-7)


def test_weekly_cycles_count_the_history_of_the_rolling_week() -> None:
    # One cycle (10 kWh) a week; 2, 2, 2 kWh six, five and four days ago, 1 today: 3 kWh left
    # today. Tomorrow's week drops the day six days ago: 10 - (2 + 2 + 1 + 3) = 2 kWh more.
    problem = ruled(
        [
            {
                "soc_initial": 1.0,
                "soc_target": 0.0,
                "max_charge_kw": 0.0,
                "rules": {
                    "max_cycles_per_week": 1.0,
                    "v2g_kwh_past_days": [2, 2, 2, 0, 0, 0],
                    "v2g_kwh_today": 1.0,
                },
            }
        ],
        price=[0.6, 0.6, 0.5, 0.5],
        start="2024-01-15T22:00:00+01:00",
    )
    result = planned(problem)
    given_kwh = -result.power_kw[0]
    assert given_kwh[:2].sum() == pytest.approx(3.0)
    assert given_kwh[2:].sum() == pytest.approx(2.0)
    assert result.objective == pytest.approx(-2.8)


def test_the_verifier_names_each_broken_rule() -> None:
    problem = ruled(
        [
            {
                **CAR,
                "rules": {
                    "v2g_floor_soc": 0.9,
                    "v2g_max_kwh_per_day": 1.0,
                    "discharge_hours": ["17:00-18:00"],
                    "no_discharge_hours": ["16:00-17:00"],
                    "no_discharge_until": "2024-01-15T17:00:00+01:00",
                    "max_cycles_per_week": 0.05,
                },
            }
        ],
        price=[0.5, 0.5],
    )
    plan = schedule(without_rules(problem), "lp")  # gives 4 kW in both hours
    report = verify(problem, plan)
    assert report.rules_broken() == {
        "reserve",
        "owner_rules.discharge_hours",
        "owner_rules.no_discharge_hours",
        "owner_rules.no_discharge_until",
        "owner_rules.daily_cap",
        "owner_rules.weekly_cycles",
    }
    reserve = next(v for v in report.violations if v.rule == "reserve")
    assert "V2G floor 0.9" in reserve.detail
    assert set(report.checked) >= report.rules_broken()
    free = verify(without_rules(problem), plan)
    assert free.ok
    assert not any(rule.startswith("owner_rules") for rule in free.checked)


# ---- random fleets, random rules -------------------------------------------------------------


def recomputed_breaks(problem: Problem, power_kw: np.ndarray) -> list[str]:
    """Every rule broken, recomputed here slot by slot with the standard library's clock."""
    fleet, rules = problem.fleet, problem.fleet.rules
    assert rules is not None and problem.start is not None
    zone = ZoneInfo(problem.timezone)
    start = problem.start if isinstance(problem.start, datetime) else problem.start.to_pydatetime()
    slot = timedelta(minutes=problem.slot_minutes)
    starts = [start + k * slot for k in range(problem.n_slots)]
    local = [s.astimezone(zone) for s in starts]
    day = [(lt.date() - local[0].date()).days for lt in local]
    broken = []
    for n in range(fleet.n_vehicles):
        cap = float(fleet.capacity_kwh[n])
        tol = 1e-6 * cap
        energy = float(fleet.soc_initial[n]) * cap
        floor = max(float(fleet.soc_min[n]), float(rules.v2g_floor_soc[n])) * cap
        given_by_day: dict[int, float] = {}
        for t in range(problem.n_slots):
            p = float(power_kw[n, t])
            out = -p * problem.dt_h / float(fleet.discharge_efficiency[n]) if p < 0 else 0.0
            energy += p * problem.dt_h * float(fleet.charge_efficiency[n]) if p > 0 else -out
            given_by_day[day[t]] = given_by_day.get(day[t], 0.0) + out
            if p >= -1e-6:
                continue
            minute = local[t].hour * 60 + local[t].minute

            def inside(windows: tuple, minute: int = minute) -> bool:
                return any(
                    (a <= minute < b) if a < b else (minute >= a or minute < b) for a, b in windows
                )

            if rules.discharge_hours[n] and not inside(rules.discharge_hours[n]):
                broken.append(f"{n} hours {t}")
            if inside(rules.no_discharge_hours[n]):
                broken.append(f"{n} forbidden {t}")
            until = rules.no_discharge_until[n]
            if until is not None and starts[t] < until:
                broken.append(f"{n} until {t}")
            if energy < floor - tol:
                broken.append(f"{n} floor {t}")
        history = {0: float(rules.v2g_kwh_today[n])}
        history.update({-a: float(rules.v2g_kwh_past_days[n][6 - a]) for a in range(1, 7)})
        allowance = float(rules.max_cycles_per_week[n]) * cap
        for d, kwh in given_by_day.items():
            daily = float(rules.v2g_max_kwh_per_day[n]) - (history[0] if d == 0 else 0.0)
            if kwh > max(daily, 0.0) + tol:
                broken.append(f"{n} daily {d}")
            before = sum(v for h, v in history.items() if h >= d - 6)
            week = sum(v for h, v in given_by_day.items() if d - 6 <= h <= d)
            if week > max(allowance - before, 0.0) + tol:
                broken.append(f"{n} weekly {d}")
    return broken


@settings(derandomize=True, max_examples=300, deadline=None)
@given(ruled_problems())
def test_random_rules_are_kept_and_the_plan_is_optimal(problem: Problem) -> None:
    result = schedule(problem, "lp")
    report = verify(problem, result)
    assert report.ok, [str(v) for v in report.violations]
    assert "owner_rules.daily_cap" in report.checked
    assert recomputed_breaks(problem, result.power_kw) == []
    reference = reference_optimum(problem)
    assert reference.feasible
    assert result.status == "optimal"
    assert result.solver.solver_objective == pytest.approx(reference.objective, rel=1e-6, abs=1e-6)


LOOSE = {
    "v2g_floor_soc": 0.0,
    "v2g_max_kwh_per_day": 1e6,
    "max_cycles_per_week": 1e4,
    "discharge_hours": ["00:00-24:00"],
    "no_discharge_until": "2000-01-01T00:00:00Z",
    "v2g_kwh_today": 5.0,
    "v2g_kwh_past_days": [10, 10, 10, 10, 10, 10],
}


@settings(derandomize=True, max_examples=40, deadline=None)
@given(ruled_problems())
def test_loose_rules_change_nothing(problem: Problem) -> None:
    free = without_rules(problem)
    loose = OwnerRules.from_records([LOOSE] * problem.n_vehicles)
    bound = dataclasses.replace(problem, fleet=dataclasses.replace(problem.fleet, rules=loose))
    plain, ruled_plan = schedule(free, "lp"), schedule(bound, "lp")
    assert verify(bound, ruled_plan).ok
    assert ruled_plan.objective == pytest.approx(plain.objective, rel=1e-9, abs=1e-9)
    np.testing.assert_allclose(ruled_plan.power_kw, plain.power_kw, atol=1e-6)
    assert ruled_plan.rule_notes == []


# ---- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "field"),
    [
        (
            {"discharge_hours": ["17:00-22:00", "25:00-03:00"]},
            "vehicles[1].rules.discharge_hours[1]",
        ),
        ({"no_discharge_hours": ["17:00-17:00"]}, "vehicles[1].rules.no_discharge_hours[0]"),
        ({"discharge_hours": []}, "vehicles[1].rules.discharge_hours"),
        ({"no_discharge_until": "2024-01-15T21:00"}, "vehicles[1].rules.no_discharge_until"),
        ({"no_discharge_until": "tomorrow"}, "vehicles[1].rules.no_discharge_until"),
        ({"v2g_kwh_past_days": [1, 2, 3]}, "vehicles[1].rules.v2g_kwh_past_days"),
        ({"v2g_max_kwh_per_day": "6"}, "vehicles[1].rules.v2g_max_kwh_per_day"),
        ({"v2g_floor_soc": 1.5}, "vehicles[1].rules.v2g_floor_soc"),
        ({"max_cycles_per_week": -1}, "vehicles[1].rules.max_cycles_per_week"),
        ({"v2g_kwh_today": -2}, "vehicles[1].rules.v2g_kwh_today"),
        ({"colour": "red"}, "vehicles[1].rules.colour"),
    ],
)
def test_bad_rules_name_their_field_path(block: dict, field: str) -> None:
    with pytest.raises(ProblemError) as error:
        OwnerRules.from_records([{"v2g_floor_soc": 0.3}, block])
    assert field in [issue.field for issue in error.value.issues]


def test_clock_rules_need_the_problems_start() -> None:
    problem = ruled([CAR, {**CAR, "rules": {"discharge_hours": ["17:00-22:00"]}}], price=[0.5])
    with pytest.raises(ProblemError) as error:
        dataclasses.replace(problem, start=None)
    assert [issue.field for issue in error.value.issues] == ["vehicles[1].rules"]
    # a floor speaks of no clock: fine without a start
    floor_only = ruled([{**CAR, "rules": {"v2g_floor_soc": 0.5}}], price=[0.5, 0.4])
    result = planned(dataclasses.replace(floor_only, start=None))
    np.testing.assert_allclose(result.power_kw, [[-4.0, -4.0]], atol=1e-7)
