"""The simulator: physics enforced, energy conserved at every step, replayable, and V2G pays."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import numpy as np
import pytest

from voltpool.errors import ProblemError
from voltpool.scenario import load_scenario, scenario_from_dict
from voltpool.simulate import build_world, simulate
from voltpool.simulate.forecast import price_known_until

DEFAULT = tomllib.loads(
    resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
)


def changed(document: dict, **changes) -> dict:
    """A copy of ``document`` with ``section__key`` (or a top-level ``key``) set."""
    document = copy.deepcopy(document)
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            document[section][name] = value
        else:
            document[section] = value
    return document


def small(**changes) -> dict:
    document = changed(DEFAULT, days=2, seed=3, events=[])
    document["homes"]["count"] = 8
    document["vehicles"]["count"] = 6
    document["transformer"]["import_limit_kw"] = 60.0
    return changed(document, **changes)


@pytest.fixture(scope="module")
def small_result():
    return simulate(scenario_from_dict(small()))


def test_energy_is_conserved_per_car_and_slot(small_result) -> None:
    for run in small_result.runs.values():
        charge = np.maximum(run.power_kw, 0.0)
        discharge = np.maximum(-run.power_kw, 0.0)
        expected = (
            run.dt_h
            * (
                run.charge_efficiency[:, None] * charge
                - discharge / run.discharge_efficiency[:, None]
            )
            - run.driving_kwh
            + run.public_charging_kwh
        )
        stored = np.diff(run.soc, axis=1) * run.capacity_kwh[:, None]
        np.testing.assert_allclose(stored, expected, atol=1e-9, err_msg=run.policy)
        np.testing.assert_allclose(
            run.site_net_load_kw, run.home_load_kw.sum(axis=0) + run.power_kw.sum(axis=0)
        )


def test_physics_is_enforced(small_result) -> None:
    scenario = scenario_from_dict(small())
    vehicles = scenario.vehicles
    for run in small_result.runs.values():
        assert run.soc.max() <= vehicles.soc_max + 1e-9
        assert not np.any(run.power_kw[~run.plugged])
        discharging = run.power_kw < 0
        assert np.all(run.soc[:, 1:][discharging] >= vehicles.soc_min - 1e-9)
        net = run.site_net_load_kw
        assert np.all(net <= run.import_limit_kw + 1e-6), run.policy
    assert not np.any(small_result.runs["smart"].power_kw < 0)
    assert not np.any(small_result.runs["uncontrolled"].power_kw < 0)


def test_same_seed_same_result(small_result) -> None:
    again = simulate(scenario_from_dict(small()))
    for name, run in small_result.runs.items():
        np.testing.assert_array_equal(run.power_kw, again.runs[name].power_kw)
        np.testing.assert_array_equal(run.soc, again.runs[name].soc)


def test_reachable_targets_are_met(small_result) -> None:
    for run in small_result.runs.values():
        departures = run.departures
        assert departures.vehicle.size > 0
        met = departures.shortfall_kwh < 1e-3
        assert np.all(met[departures.reachable]), run.policy


def test_transformer_cap_is_enforced_on_uncontrolled_charging() -> None:
    result = simulate(
        scenario_from_dict(
            small(
                transformer__import_limit_kw=12.0,
                vehicles__plugins_per_week=7.0,
                policies=["uncontrolled"],
            )
        )
    )
    run = result.runs["uncontrolled"]
    assert run.site_net_load_kw.max() <= 12.0 + 1e-6
    assert run.curtailed_kwh > 0


def test_prices_are_known_only_once_published() -> None:
    world = build_world(scenario_from_dict(small()))
    known = price_known_until(world)
    local = world.index.tz_convert(world.scenario.timezone)
    for t in (world.first_slot + 4 * 10, world.first_slot + 4 * 14):  # 10:00 and 14:00 local
        end_local = world.index[known[t]].tz_convert(world.scenario.timezone)
        days_ahead = (end_local.normalize() - local[t].normalize()).days
        assert end_local.hour == 0
        assert days_ahead == (1 if local[t].hour < 13 else 2)


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"vehicles__count": -1}, "vehicles.count", "greater than or equal to 1"),
        ({"vehicles__soc_target": 0.95}, "vehicles", "soc_target (0.95) must be <= soc_max (0.9)"),
        ({"vehicles__cout": 3}, "vehicles.cout", "unknown key"),
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        (
            {"policies": ["v2g", "magic"]},
            "policies[1]",
            "'uncontrolled', 'smart', 'v2g' or 'v2g-wear'",
        ),
        ({"planning__replan": "daily"}, "planning.replan", "'hourly' or 'events'"),
        (
            {
                "events": [
                    {
                        "type": "import_limit",
                        "start": "2024-01-16T20:00",
                        "end": "2024-01-16T17:00",
                        "import_limit_kw": 10,
                    }
                ]
            },
            "events[0]",
            "end (2024-01-16 17:00:00) must be after start",
        ),
        ({"transformer": {}}, "transformer.import_limit_kw", "is required"),
    ],
)
def test_bad_scenario_names_the_key(changes, field: str, rule: str) -> None:
    with pytest.raises(ProblemError) as caught:
        scenario_from_dict(small(**changes))
    assert any(i.field == field and rule in i.rule for i in caught.value.issues), (
        caught.value.issues
    )


def test_transformer_too_small_for_the_homes_says_so() -> None:
    with pytest.raises(ProblemError, match="below the homes' own load") as caught:
        build_world(scenario_from_dict(small(transformer__import_limit_kw=2.0)))
    assert caught.value.issues[0].field == "transformer.import_limit_kw"


@pytest.fixture(scope="module")
def default_result():
    return simulate(load_scenario("neighbourhood"))


def test_v2g_beats_uncontrolled_on_the_default_scenario(default_result) -> None:
    runs = default_result.runs

    def total_cost(run) -> float:
        net = run.site_net_load_kw
        energy = (
            run.dt_h
            * (
                run.import_price_per_kwh * np.maximum(net, 0)
                - run.export_price_per_kwh * np.maximum(-net, 0)
            ).sum()
        )
        wear = run.dt_h * (run.wear_cost_per_kwh[:, None] * np.maximum(-run.power_kw, 0)).sum()
        peak = 0.0 if run.peak_billing is None else float(run.peak_billing.bill(net).sum())
        return float(energy + peak + wear)

    v2g, uncontrolled = runs["v2g"], runs["uncontrolled"]
    assert v2g.site_net_load_kw.max() < uncontrolled.site_net_load_kw.max()
    assert total_cost(v2g) < total_cost(uncontrolled)
    assert np.maximum(-v2g.power_kw, 0).sum() > 0
    # The planners respect the congestion event; the blind baseline is curtailed by it.
    assert np.all(v2g.site_net_load_kw <= v2g.import_limit_kw + 1e-6)
    assert uncontrolled.curtailed_kwh > 0
    for run in (runs["smart"], v2g):
        departures = run.departures
        assert np.all(departures.shortfall_kwh[departures.reachable] < 1e-3), run.policy


def test_fallback_mode_follows_the_safe_plan_and_says_why(monkeypatch) -> None:
    """A service that cannot trust a plan keeps charging within the limit, never discharges
    below a reserve, and records every plan it refused."""
    import voltpool.control.controller as controller_module
    from voltpool.schedule.verify import Verification, Violation

    def rejecting(problem, schedule, check_site_limits=True):
        return Verification(violations=[Violation("soc_min", "vehicle 'x'", "falls too low")])

    monkeypatch.setattr(controller_module, "verify", rejecting)
    document = small(policies=["v2g"])
    result = simulate(scenario_from_dict(document), on_invalid_plan="fallback")
    run = result.runs["v2g"]
    assert run.planner_notes and all("followed the safe plan" in n for n in run.planner_notes)
    # every re-plan with a car on the grid was refused (re-plans with none solve nothing)
    assert 0 < len(run.planner_notes) <= len(run.solver_time_s)
    assert (run.power_kw >= -1e-9).all()  # charge only
    assert (run.site_net_load_kw <= run.import_limit_kw + 1e-6).all()
