"""The service layer called directly (no command line): what it returns is what it wrote, and
bad input raises ProblemError naming the field with nothing written."""

from __future__ import annotations

import json
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from voltpool.errors import ProblemError
from voltpool.service import backup, sharing, simulation
from voltpool.service.simulation import Simulated, Started
from voltpool.simulate.metrics import compare

NEIGHBOURHOOD = tomllib.loads(
    resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
)


def toml_value(value: object) -> str:
    """A TOML value: a bool, number, string, array or inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(document: dict[str, object]) -> str:
    """A scenario document as TOML: top-level keys first, then one table per section."""
    lines = [f"{k} = {toml_value(v)}" for k, v in document.items() if not isinstance(v, dict)]
    for key, section in document.items():
        if isinstance(section, dict):
            lines += ["", f"[{key}]", *(f"{k} = {toml_value(v)}" for k, v in section.items())]
    return "\n".join(lines) + "\n"


def small_scenario(folder: Path, **vehicles: object) -> Path:
    """Two days, 8 homes and 6 bidirectional cars plugged in every day, no events, two
    policies; ``vehicles`` overrides keys."""
    document = {
        **NEIGHBOURHOOD,
        "days": 2,
        "seed": 3,
        "events": [],
        "policies": ["uncontrolled", "v2g"],
        "homes": {**NEIGHBOURHOOD["homes"], "count": 8},
        "vehicles": {
            **NEIGHBOURHOOD["vehicles"],
            "count": 6,
            "bidirectional_share": 1.0,
            "plugins_per_week": 7.0,
            "soc_initial": 0.8,
            **vehicles,
        },
        "transformer": {**NEIGHBOURHOOD["transformer"], "import_limit_kw": 60.0},
    }
    path = folder / "small.toml"
    path.write_text(toml_text(document))
    return path


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("simulation")
    events: list[Started | Simulated] = []
    outcome = simulation.run(small_scenario(folder), folder / "out", progress=events.append)
    return outcome, events, folder


def test_simulation_reports_its_steps_in_order(simulated) -> None:
    outcome, events, _folder = simulated
    steps = [e.step for e in events if isinstance(e, Started)]
    assert steps == ["data", "simulate", "health", "ledger", "report"]
    assert next(e for e in events if isinstance(e, Started) and e.step == "simulate").world
    days: dict[str, int] = {}
    for event in events:
        if isinstance(event, Simulated):
            days[event.policy] = days.get(event.policy, 0) + event.days
    assert days == {"uncontrolled": 2, "v2g": 2}
    assert outcome.notes == tuple(outcome.world.notes)


def test_simulation_outcome_matches_the_files_it_wrote(simulated) -> None:
    outcome, _events, folder = simulated
    out = folder / "out"
    assert outcome.output_dir == out
    assert outcome.scenario.name == "neighbourhood" and outcome.scenario.days == 2
    header, copied = outcome.scenario_file.read_text().split("\n", 1)
    assert header.startswith("# voltpool ") and copied == (folder / "small.toml").read_text()
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["generator"].startswith("voltpool ") and manifest["seed"] == 3
    assert set(manifest["files"]) == {p.name for p in out.iterdir()} - {"run.json"}
    assert all(path.is_file() and path.parent == out for path in outcome.timeseries)

    metrics = pd.read_csv(out / "metrics.csv", index_col=0)
    expected = compare(outcome.result)
    assert list(metrics.columns) == list(outcome.result.runs) == ["uncontrolled", "v2g"]
    for policy in metrics.columns:
        np.testing.assert_allclose(
            metrics[policy].astype(float), expected[policy].astype(float), rtol=1e-9
        )
    for policy, run in outcome.result.runs.items():
        site = pd.read_csv(out / f"timeseries_{policy}.csv")
        np.testing.assert_allclose(site["site_net_load_kw"], run.site_net_load_kw, atol=1e-9)

    cars = pd.read_csv(outcome.cars_file)
    assert list(cars["vehicle_id"]) == list(outcome.world.vehicle_ids)
    health = pd.read_csv(outcome.health_file)
    per_car = outcome.health.per_car()
    assert len(health) == len(per_car)
    np.testing.assert_allclose(
        health.select_dtypes("number"), per_car.select_dtypes("number"), rtol=1e-9
    )

    assert list(outcome.settled) == ["v2g"]
    table, check = outcome.settled["v2g"]
    assert check.ok and (out / "ledger-v2g.sqlite").is_file()
    assert table["earned"].sum() > 0
    assert outcome.report == out / "report.html" and outcome.report.stat().st_size > 0


def test_simulation_bad_input_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ProblemError) as raised:
        simulation.run(small_scenario(tmp_path, count=-1), out)
    assert "vehicles.count" in [issue.field for issue in raised.value.issues]
    with pytest.raises(ProblemError) as raised:
        simulation.run("no-such-scenario", out)
    assert "SCENARIO" in str(raised.value)
    assert not out.exists()


def test_sharing_runs_the_builtin_circle_and_replays(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/ledger.sqlite"
    checked = sharing.check("friends")
    assert len(checked.circle.members) == 6

    outcome = sharing.run("friends", db)
    assert outcome.ledger.ok
    accepted = [a for a in outcome.acceptances if a.accepted]
    assert len(outcome.acceptances) == len(outcome.matches) > len(accepted) > 0  # frank refused
    assert [s.match for s in outcome.settlements] == [a.match for a in accepted]
    assert outcome.explanations["alice"][0].startswith("you gave 13.0 kWh to bob")
    assert outcome.balances["bob"].credits.net == 400_000 - 326_075
    assert sum(b.credits.net for b in outcome.balances.values()) == 850_000

    again = sharing.run("friends", db)
    assert not any(s.created for s in again.settlements)
    assert again.balances == outcome.balances


def test_sharing_bad_input_opens_no_ledger(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with pytest.raises(ProblemError) as raised:
        sharing.run("friends", f"sqlite:///{path}", pd.Timestamp("2025-01-16T12:00"))
    assert "is in the past" in str(raised.value)
    assert not path.exists()


def test_backup_outage_on_the_builtin_home() -> None:
    outcome = backup.outage("home")
    plan = outcome.case.plan
    assert outcome.home.name == "home"
    assert plan.hours_full == plan.n_slots * plan.dt_h == 6.0  # the cars carry the whole outage
    assert outcome.return_slots[-1] == plan.n_slots
    assert backup.outage("home", grid_returns=["19:00", "21:30"]).return_slots == (8, 18)


def test_backup_bad_input_names_the_field() -> None:
    with pytest.raises(ProblemError) as raised:
        backup.outage("home", grid_returns=["25:00", "19:10"])
    assert [issue.field for issue in raised.value.issues] == ["--grid-returns"] * 2
    with pytest.raises(ProblemError) as raised:
        backup.outage("home", hours=0.1)
    assert raised.value.issues[0].field == "--hours"


def test_backup_overload_keeps_the_house_under_its_limit() -> None:
    outcome = backup.overload("home")
    plan = outcome.case.plan
    assert plan.excess_kwh <= plan.excess_without_cars_kwh
    assert outcome.away == ()


def test_scheduling_plans_verifies_and_compares_with_the_baseline() -> None:
    from voltpool.example import example_problem
    from voltpool.io import schedule_to_dict
    from voltpool.service import scheduling

    problem = example_problem(12, seed=3)
    outcome = scheduling.plan(problem)
    assert outcome.verification.ok
    assert [s.method for s in outcome.shown] == ["uncontrolled", "lp"]
    assert outcome.result.objective <= outcome.baseline.objective + 1e-6
    assert scheduling.check(problem, schedule_to_dict(problem, outcome.result)).ok
    only = scheduling.plan(problem, "uncontrolled")
    assert only.baseline is None and [s.method for s in only.shown] == ["uncontrolled"]
