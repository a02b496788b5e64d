"""The command line: happy paths write verified files; bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from voltpool.cli import app
from voltpool.io import load_problem, schedule_from_dict
from voltpool.schedule import verify

runner = CliRunner()


def make_problem(tmp_path: Path, vehicles: int = 12) -> Path:
    path = tmp_path / "problem.json"
    result = runner.invoke(
        app, ["example-problem", "--vehicles", str(vehicles), "--seed", "3", "-o", str(path)]
    )
    assert result.exit_code == 0, result.output
    return path


def test_schedule_writes_a_verified_schedule(tmp_path: Path) -> None:
    problem_path = make_problem(tmp_path)
    out = tmp_path / "schedule.json"
    result = runner.invoke(app, ["schedule", str(problem_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "V2G discharged" in result.output and "uncontrolled" in result.output
    document = json.loads(out.read_text())
    assert document["status"] == "optimal"
    assert set(document["objective_terms"]) >= {
        "energy_cost",
        "peak_cost",
        "degradation_cost",
        "unmet_penalty",
    }
    problem = load_problem(problem_path)
    assert len(document["vehicles"]) == problem.n_vehicles
    assert len(document["vehicles"][0]["soc"]) == problem.n_slots + 1
    assert verify(problem, schedule_from_dict(problem, document)).ok
    check = runner.invoke(app, ["verify", str(problem_path), str(out)])
    assert check.exit_code == 0 and "all hold" in check.output


def test_uncontrolled_method(tmp_path: Path) -> None:
    problem_path = make_problem(tmp_path)
    out = tmp_path / "baseline.json"
    result = runner.invoke(
        app, ["schedule", str(problem_path), "-o", str(out), "--method", "uncontrolled"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["method"] == "uncontrolled"
    check = runner.invoke(app, ["verify", str(problem_path), str(out)])
    assert check.exit_code == 1 and "import_limit" in check.output


def test_bad_problem_exits_2_names_the_field_and_writes_nothing(tmp_path: Path) -> None:
    problem_path = make_problem(tmp_path)
    document = json.loads(problem_path.read_text())
    document["vehicles"][2]["soc_target"] = 1.5
    document["vehicles"][4]["departure_slot"] = document["vehicles"][4]["arrival_slot"]
    problem_path.write_text(json.dumps(document))
    out = tmp_path / "schedule.json"
    result = runner.invoke(app, ["schedule", str(problem_path), "-o", str(out)])
    assert result.exit_code == 2
    assert "vehicles[2].soc_target" in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [problem_path]


def test_invalid_json_and_missing_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{ not json")
    result = runner.invoke(app, ["schedule", str(broken), "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2 and "is not valid JSON" in result.output
    result = runner.invoke(app, ["schedule", str(tmp_path / "nope.json"), "-o", "s.json"])
    assert result.exit_code == 2 and "not a readable file" in result.output


def test_demo_prints_comparison(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schedule-demo", "--vehicles", "20", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "V2G scheduling saves" in result.output
    assert (tmp_path / "schedule-lp.json").exists()


def test_shipped_schema_is_a_valid_json_schema() -> None:
    import jsonschema

    from voltpool.io import problem_schema

    jsonschema.Draft202012Validator.check_schema(problem_schema())


def test_a_plan_failing_the_independent_check_stops_the_simulation_cleanly(
    tmp_path: Path, monkeypatch
) -> None:
    """A verifier that finds a broken rule (a scheduler bug) ends in exit 1 and one message,
    not a traceback, and no report is written."""
    import tomllib
    from importlib import resources

    import voltpool.control.controller as controller_module
    from voltpool.schedule.verify import Verification, Violation

    def rejecting(problem, schedule, check_site_limits=True):
        return Verification(violations=[Violation("soc_min", "vehicle 'x'", "falls too low")])

    monkeypatch.setattr(controller_module, "verify", rejecting)
    text = resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
    document = tomllib.loads(text)
    scenario = tmp_path / "small.toml"
    scenario.write_text(
        text.replace(f"days = {document['days']}", "days = 1", 1).replace(
            'policies = ["uncontrolled", "smart", "v2g", "v2g-wear"]', 'policies = ["smart"]', 1
        )
    )
    out = tmp_path / "out"
    result = runner.invoke(app, ["simulate", str(scenario), "-o", str(out)])
    assert result.exit_code == 1, result.output
    assert "a plan failed the independent check" in result.output
    assert "soc_min" in result.output
    assert not (out / "report.html").exists()
