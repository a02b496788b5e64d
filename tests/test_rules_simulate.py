"""The owners' rules in the simulator: set per car or per group in a scenario's ``[[rules]]``,
kept in every re-plan over days (the engine carries the history the caps count), loose rules
change nothing, a car the scenario does not have is refused by name."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import numpy as np
import pytest

from voltpool.errors import ProblemError
from voltpool.report import write_html_report
from voltpool.scenario import scenario_from_dict
from voltpool.simulate import build_world, simulate
from voltpool.simulate.engine import RuleHistory
from voltpool.simulate.metrics import policy_metrics
from voltpool.simulate.policies import car_table, make_policy
from voltpool.simulate.rules_effect import rules_effect

BASE = tomllib.loads(
    resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
)
ZONE = "Europe/Amsterdam"


def scenario(rules: list[dict], days: int = 3):
    document = copy.deepcopy(BASE)
    document.update(days=days, seed=3, events=[], policies=["v2g"], rules=rules)
    document["homes"]["count"] = 12
    document["vehicles"].update(count=10, bidirectional_share=1.0)
    return scenario_from_dict(document)


def given_kwh(run) -> np.ndarray:
    """``[N, T]`` battery-side energy each car gave in each slot."""
    return np.maximum(-run.power_kw, 0.0) * run.dt_h / run.discharge_efficiency[:, None]


@pytest.fixture(scope="module")
def free():
    return simulate(scenario([])).runs["v2g"]


def test_a_daily_cap_holds_on_every_local_day_across_sessions(free) -> None:
    assert given_kwh(free).sum() > 5.0  # V2G happens without rules
    run = simulate(scenario([{"v2g_max_kwh_per_day": 2.5}])).runs["v2g"]
    day = run.index.tz_convert(ZONE).normalize()
    gave = given_kwh(run)
    for today in day.unique():
        assert gave[:, day == today].sum(axis=1).max() <= 2.5 + 1e-6
    assert gave.sum() > 2.5  # capped, not switched off


def test_hours_and_a_floor_for_one_car_hold_in_every_slot() -> None:
    rules = [
        {"discharge_hours": ["17:00-22:00"]},
        {"vehicles": ["car-002"], "v2g_floor_soc": 0.75, "no_discharge_hours": ["21:00-22:00"]},
    ]
    run = simulate(scenario(rules)).runs["v2g"]
    local = run.index.tz_convert(ZONE)
    gave = given_kwh(run)
    outside = (local.hour < 17) | (local.hour >= 22)
    assert gave[:, outside].sum() == 0.0
    assert gave[1, local.hour == 21].sum() == 0.0
    discharging = gave[1] > 1e-9
    assert (run.soc[1, 1:][discharging] >= 0.75 - 1e-6).all()


def test_loose_rules_change_nothing(free) -> None:
    loose = [
        {
            "v2g_floor_soc": 0.0,
            "v2g_max_kwh_per_day": 1e4,
            "max_cycles_per_week": 1e3,
            "discharge_hours": ["00:00-24:00"],
        }
    ]
    run = simulate(scenario(loose)).runs["v2g"]
    np.testing.assert_allclose(run.power_kw, free.power_kw, atol=1e-6)
    assert policy_metrics(run)["total_cost_eur"] == pytest.approx(
        policy_metrics(free)["total_cost_eur"], abs=1e-6
    )


def test_a_week_of_cycles_counts_the_days_before() -> None:
    # One tenth of a cycle a week: the cars give at most 10 % of their capacity in any 7 days.
    run = simulate(scenario([{"max_cycles_per_week": 0.1}], days=9)).runs["v2g"]
    day = run.index.tz_convert(ZONE).normalize()
    daily = np.array([given_kwh(run)[:, day == d].sum(axis=1) for d in day.unique()]).T
    weekly = np.array([daily[:, max(0, d - 6) : d + 1].sum(axis=1) for d in range(daily.shape[1])])
    limit_kwh = 0.1 * run.capacity_kwh[:, None] + 1e-6
    assert np.all(np.less_equal(weekly.T, limit_kwh))


def test_the_history_moves_on_at_local_midnight() -> None:
    world = build_world(scenario([{"v2g_max_kwh_per_day": 1.0}], days=9))
    history = RuleHistory(world)
    first = world.first_slot
    history.open_slot(first)
    history.record(np.array([-9.0] + [0.0] * 9), np.full(10, 0.9), 0.25)
    assert history.kwh[0, -1] == pytest.approx(2.5)
    history.open_slot(first + world.slots_per_day)  # the next local day
    assert history.kwh[0, -2] == pytest.approx(2.5) and history.kwh[0, -1] == 0.0
    history.open_slot(first + 9 * world.slots_per_day)  # more than a week later: all gone
    assert not history.kwh.any()


def test_rules_for_a_car_the_scenario_does_not_have_are_refused() -> None:
    with pytest.raises(ProblemError, match=r"rules\[0\]\.vehicles\[0\]: 'car-099' is not a car"):
        scenario([{"vehicles": ["car-099"], "v2g_floor_soc": 0.5}])
    with pytest.raises(ProblemError, match=r"discharge_hours\[0\]"):
        scenario([{"discharge_hours": ["17:00-25:00"]}])


def test_the_report_says_what_the_rules_cost_and_saved(tmp_path) -> None:
    ruled = scenario([{"v2g_max_kwh_per_day": 0.5, "discharge_hours": ["18:00-20:00"]}])
    world = build_world(ruled)
    result = simulate(ruled, world=world)
    effect = rules_effect(world, result)
    site = effect.site.loc["v2g"]
    assert site["v2g_kwh"] < site["v2g_kwh_without_rules"]
    free = effect.free_runs["v2g"]
    assert site["cost_eur_without_rules"] == pytest.approx(policy_metrics(free)["total_cost_eur"])
    cars = effect.cars.set_index("vehicle_id")
    np.testing.assert_allclose(
        cars["v2g_kwh"],
        result.runs["v2g"].dt_h * np.maximum(-result.runs["v2g"].power_kw, 0).sum(axis=1),
    )
    assert (cars["v2g_kwh"] < cars["v2g_kwh_without_rules"] - 1e-6).any()
    # what a car gives less can save cycling and cost calendar ageing (a higher SoC): the
    # report tells either, valued as the health report values capacity
    assert cars["battery_saved_kwh"].abs().sum() > 0
    ratio = (cars["battery_saved_eur"] / cars["battery_saved_kwh"]).dropna()
    np.testing.assert_allclose(ratio, ratio.iloc[0])
    page = write_html_report(result, tmp_path / "report.html", rules=effect).read_text()
    assert "The owners&#x27; rules" in page or "The owners' rules" in page
    assert rules_effect(build_world(scenario([])), simulate(scenario([]))) is None


def test_a_group_sets_its_cars_own_levels() -> None:
    groups = [{"vehicles": ["car-002"], "soc_min": 0.5, "soc_target": 0.6}]
    world = build_world(scenario(groups))
    table = car_table(world)
    assert (table.soc_min[1], table.soc_target[1]) == (0.5, 0.6)
    assert table.soc_min[0] == BASE["vehicles"]["soc_min"]
    assert world.backup_reserve_kwh[1] >= 0.5 * world.capacity_kwh[1] - 1e-9
    with pytest.raises(ProblemError, match=r"car-003 gets soc_min 0.95"):
        scenario([{"vehicles": ["car-003"], "soc_min": 0.95}])


def test_replanning_less_often_is_a_choice_within_the_horizon() -> None:
    every_four = scenario([])
    document = every_four.model_dump(mode="json")
    document["planning"].update(replan_every_hours=4)
    controller = make_policy("v2g", build_world(scenario_from_dict(document)))
    assert controller.config.replan_every_slots == 16
    document["planning"].update(replan_every_hours=12, horizon_hours=6)
    with pytest.raises(
        ProblemError, match=r"replan_every_hours \(12\) must be <= horizon_hours \(6\)"
    ):
        scenario_from_dict(document)
