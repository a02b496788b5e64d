"""The policies in worker processes: the same runs bit for bit, progress in the caller, errors
raised in the caller."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from test_simulate import small
from voltpool.battery.health import health_from_runs
from voltpool.scenario import scenario_from_dict
from voltpool.simulate import auto_workers, build_world, simulate
from voltpool.simulate.parallel import PARALLEL_MIN_VEHICLE_SLOTS, run_policies

FIELDS = ("power_kw", "soc", "site_net_load_kw", "plugged")


def test_worker_processes_give_the_same_runs_and_report_progress() -> None:
    scenario = scenario_from_dict(small(policies=["uncontrolled", "smart", "v2g"]))
    world = build_world(scenario)
    alone = simulate(scenario, world=world)
    days: list[tuple[str, int]] = []
    side_by_side = simulate(
        scenario, world=world, workers=2, progress=lambda name, k: days.append((name, k))
    )
    assert list(side_by_side.runs) == list(alone.runs)
    for name, run in alone.runs.items():
        other = side_by_side.runs[name]
        for field in FIELDS:
            assert np.array_equal(getattr(run, field), getattr(other, field)), (name, field)
        assert run.planner_notes == other.planner_notes
    for name in scenario.policies:
        assert sum(k for n, k in days if n == name) == scenario.days, name


def test_an_error_in_a_worker_is_raised_in_the_caller() -> None:
    world = build_world(scenario_from_dict(small(policies=["smart", "v2g"])))
    with pytest.raises(ValueError, match="policies: 'nonsense' must be one of"):
        run_policies(world, ["smart", "nonsense"], workers=2)


def test_small_runs_stay_in_the_calling_process() -> None:
    world = build_world(scenario_from_dict(small(policies=["smart", "v2g"])))
    planned = world.n_vehicles * (world.end_slot - world.first_slot) * 2
    assert planned < PARALLEL_MIN_VEHICLE_SLOTS
    assert auto_workers(world, ["smart", "v2g"]) == 1
    assert auto_workers(world, ["v2g"]) == 1


def test_runs_aged_in_their_workers_give_the_health_report_of_the_caller() -> None:
    """``health=True``: each run carries its cars' ageing, computed where the policy ran; the
    report from those is the report of the caller ageing every run itself."""
    scenario = scenario_from_dict(small(policies=["smart", "v2g"]))
    world = build_world(scenario)
    aged = simulate(scenario, world=world, workers=2, health=True)
    plain = simulate(scenario, world=world)
    assert all(run.health is not None for run in aged.runs.values())
    assert all(run.health is None for run in plain.runs.values())
    from_workers = health_from_runs(aged.runs, world.chemistry, scenario.battery)
    here = health_from_runs(plain.runs, world.chemistry, scenario.battery)
    pd.testing.assert_frame_equal(from_workers.per_car(), here.per_car())
    assert from_workers.per_car()["fade_cycling_pct"].gt(0).any()  # the cars aged
