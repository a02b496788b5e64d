"""Outages in the simulator: islanded homes run on their cars, energy balances at every step."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from test_simulate import small
from voltpool.errors import ProblemError
from voltpool.scenario import scenario_from_dict
from voltpool.simulate import PolicyRun, build_world, simulate
from voltpool.simulate.metrics import policy_metrics


def outage_document(
    start: str = "2024-01-15T17:00",
    end: str = "2024-01-15T21:00",
    expected_end: str | None = None,
    policies: tuple[str, ...] = ("smart", "v2g"),
    seed: int = 3,
    min_range_km: float = 50.0,
) -> dict:
    event = {"type": "outage", "start": start, "end": end, "home_share": 1.0}
    if expected_end:
        event["expected_end"] = expected_end
    document = small(events=[event], policies=list(policies))
    document.update(seed=seed, days=1)
    document["vehicles"]["bidirectional_share"] = 1.0
    document["vehicles"]["plugins_per_week"] = 7.0
    document["backup"] = {"min_range_km": min_range_km}
    return document


def island_balance(run: PolicyRun) -> tuple[np.ndarray, np.ndarray]:
    """Per home and slot: load - served - shed, and served - cars' AC discharge (both ~0)."""
    islanded_car = run.car_islanded
    discharge = np.where(islanded_car, np.maximum(-run.power_kw, 0.0), 0.0)
    served_by_cars = np.zeros_like(run.home_load_kw)
    np.add.at(served_by_cars, run.vehicle_home, discharge)
    shed = run.home_shed_kw
    served = np.where(run.islanded, run.home_load_kw - shed, 0.0)
    return np.where(run.islanded, run.home_load_kw - served - shed, 0.0), served - served_by_cars


@pytest.fixture(scope="module")
def outage_result():
    scenario = scenario_from_dict(outage_document())
    world = build_world(scenario)
    return world, simulate(scenario, world=world)


def test_islanded_homes_balance_and_cars_keep_their_reserve(outage_result) -> None:
    world, result = outage_result
    first = world.first_slot
    for run in result.runs.values():
        unbalanced, not_from_cars = island_balance(run)
        np.testing.assert_allclose(unbalanced, 0.0, atol=1e-9)
        np.testing.assert_allclose(not_from_cars, 0.0, atol=1e-9)
        assert (run.home_shed_kw[~run.islanded] == 0).all()
        # never charged while cut off, never below the driving reserve because of the outage
        assert (run.power_kw[run.car_islanded] <= 1e-12).all()
        stored = run.soc[:, 1:] * run.capacity_kwh[:, None]
        before = run.soc[:, :-1] * run.capacity_kwh[:, None]
        reserve = world.backup_reserve_kwh[:, None]
        gave = run.car_islanded & (run.power_kw < 0)
        assert (stored[gave] >= np.minimum(reserve, before)[gave] - 1e-9).all()
        assert run.islanded.sum() == world.home_islanded[:, first : first + 96].sum()


def test_v2h_keeps_homes_powered_that_one_way_charging_cannot(outage_result) -> None:
    _world, result = outage_result
    smart = policy_metrics(result.runs["smart"])
    v2g = policy_metrics(result.runs["v2g"])
    assert smart["outage_home_h"] == v2g["outage_home_h"] == pytest.approx(8 * 4.0)
    assert smart["outage_covered_h"] == 0.0
    assert smart["v2h_backup_kwh"] == 0.0
    assert v2g["outage_critical_covered_h"] > 0.0
    assert v2g["v2h_backup_kwh"] > 0.0
    assert v2g["outage_unserved_kwh"] < smart["outage_unserved_kwh"]
    # V2H is not V2G: it earns no export revenue
    assert result.runs["v2g"].site_net_load_kw.min() > -1e3


def test_grid_coming_back_early_ends_the_backup() -> None:
    scenario = scenario_from_dict(
        outage_document(end="2024-01-15T18:00", expected_end="2024-01-15T23:00", policies=("v2g",))
    )
    run = simulate(scenario).runs["v2g"]
    after = np.asarray(run.index.tz_convert("Europe/Amsterdam").hour >= 18)
    assert not run.islanded[:, after].any()
    assert not run.car_islanded[:, after].any()


def test_outage_events_are_validated() -> None:
    bad = [
        {"type": "outage", "start": "2024-01-15T17:00", "end": "2024-01-15T16:00", "homes": []},
        {"type": "outage", "start": "2024-01-15T17:00", "end": "2024-01-15T18:00"},
        {
            "type": "outage",
            "start": "2024-01-15T17:00",
            "end": "2024-01-15T18:00",
            "homes": ["home-001", "house-9"],
        },
    ]
    for event in bad:
        with pytest.raises(ProblemError) as caught:
            scenario_from_dict(small(events=[event]))
        assert caught.value.issues[0].field.startswith("events[0]")
    assert caught.value.issues[0].field == "events[0].homes[1]"
    assert "'house-9' is not a home id" in caught.value.issues[0].rule


@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    start_hour=st.integers(0, 17),
    hours=st.integers(1, 6),
    min_range_km=st.floats(0.0, 300.0),
)
def test_random_outages_balance_at_every_step(
    seed: int, start_hour: int, hours: int, min_range_km: float
) -> None:
    document = outage_document(
        start=f"2024-01-15T{start_hour:02d}:00",
        end=f"2024-01-15T{start_hour + hours:02d}:00",
        policies=("v2g",),
        seed=seed,
        min_range_km=min_range_km,
    )
    scenario = scenario_from_dict(document)
    world = build_world(scenario)
    run = simulate(scenario, world=world).runs["v2g"]
    unbalanced, not_from_cars = island_balance(run)
    np.testing.assert_allclose(unbalanced, 0.0, atol=1e-9)
    np.testing.assert_allclose(not_from_cars, 0.0, atol=1e-9)
    stored = run.soc[:, 1:] * run.capacity_kwh[:, None]
    before = run.soc[:, :-1] * run.capacity_kwh[:, None]
    gave = run.car_islanded & (run.power_kw < 0)
    reserve = np.minimum(world.backup_reserve_kwh[:, None], before)
    assert (stored[gave] >= reserve[gave] - 1e-9).all()


def test_outage_table_names_the_homes_and_is_written(outage_result, tmp_path) -> None:
    from voltpool.report import write_timeseries
    from voltpool.report.events import outage_table

    _world, result = outage_result
    table = outage_table(result.runs["v2g"])
    assert len(table) == 8
    assert (table["cut_off_h"] == 4.0).all()
    assert table["powered_h"].le(table["critical_powered_h"]).all()
    assert table["v2h_kwh"].sum() == pytest.approx(
        policy_metrics(result.runs["v2g"])["v2h_backup_kwh"]
    )
    written = {p.name for p in write_timeseries(result, tmp_path)}
    assert {"outages_smart.csv", "outages_v2g.csv"} <= written
