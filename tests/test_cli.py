"""The command line: happy paths write verified files; bad input exits 2 and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
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


# --- the input gate at every entry point (issue 11: the audit's findings, one test each) --------


def builtin(package: str, name: str) -> str:
    from importlib import resources

    return resources.files(package).joinpath(f"builtin/{name}.toml").read_text(encoding="utf-8")


def file_commands(tmp_path: Path) -> dict[str, tuple[Path, list[str]]]:
    """Every command that reads a file: the file it reads and its arguments."""
    problem = make_problem(tmp_path, vehicles=2)
    schedule = tmp_path / "schedule.json"
    assert runner.invoke(app, ["schedule", str(problem), "-o", str(schedule)]).exit_code == 0
    toml = tmp_path / "input.toml"
    out = tmp_path / "out"
    return {
        "schedule": (problem, ["schedule", str(problem), "-o", str(out / "s.json")]),
        "verify problem": (problem, ["verify", str(problem), str(schedule)]),
        "verify schedule": (schedule, ["verify", str(problem), str(schedule)]),
        "scenario show": (toml, ["scenario", "show", str(toml)]),
        "simulate": (toml, ["simulate", str(toml), "-o", str(out)]),
        "share check": (toml, ["share", "check", str(toml)]),
        "share run": (toml, ["share", "run", str(toml), f"--db=sqlite:///{tmp_path / 'l.sqlite'}"]),
        "backup": (toml, ["backup", "run", str(toml), "-o", str(out / "b.html")]),
        "backup show": (toml, ["backup", "show", str(toml)]),
    }


@pytest.mark.parametrize(
    ("content", "rule"),
    [
        (b"\xff\xfe{\x00}\x00", "is UTF-16 text"),
        (b'name = "\xe9t\xe9"\n', "is not UTF-8 text (byte 0xe9 at offset 8)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "is not UTF-8 text (byte 0x89 at offset 0)"),
        (b'{"a": 1}\x00', "is not text (a NUL byte"),
    ],
)
def test_a_file_that_is_not_utf8_text_exits_2_in_every_command(
    tmp_path: Path, content: bytes, rule: str
) -> None:
    for name, (path, args) in file_commands(tmp_path).items():
        original = path.read_bytes() if path.exists() else b""
        path.write_bytes(content)
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (name, result.output)
        assert rule in result.output, (name, result.output)
        assert not (tmp_path / "out").exists(), name
        path.write_bytes(original)


@pytest.mark.parametrize("kind", ["json", "toml"])
def test_deep_nesting_and_long_integers_exit_2(tmp_path: Path, kind: str) -> None:
    path = tmp_path / f"input.{kind}"
    command = (
        ["schedule", str(path), "-o", str(tmp_path / "s.json")]
        if kind == "json"
        else ["scenario", "show", str(path)]
    )
    deep, long_int = (
        ("[" * 100_000, '{"slot_minutes": ' + "9" * 5000 + "}")
        if kind == "json"
        else ("a = " + "[" * 100_000, "days = " + "9" * 5000)
    )
    for text, rule in ((deep, "deeper than 64 levels"), (long_int, "more than 18 digits")):
        path.write_text(text)
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert rule in result.output or "digits; at most 18" in result.output, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ("solver", [], "solver"),
        ("vehicles", {"id": "x"}, "vehicles"),
        ("objective_terms", [1], "objective_terms"),
        ("site_net_load_kw", "NaN", "site_net_load_kw[0]"),
        ("soc", "NaN", "vehicles[0].soc[1]"),
        ("shortfall_kwh", "Infinity", "vehicles[1].shortfall_kwh"),
        ("power_kw", "short", "vehicles[0].power_kw"),
    ],
)
def test_verify_names_what_is_wrong_in_the_schedule(
    tmp_path: Path, where: str, value: object, field: str
) -> None:
    """A list for an object, NaN or Infinity anywhere, a wrong length: exit 2 naming the field
    (NaN used to pass every rule: no comparison with NaN is ever true)."""
    problem = make_problem(tmp_path, vehicles=2)
    schedule = tmp_path / "schedule.json"
    runner.invoke(app, ["schedule", str(problem), "-o", str(schedule)])
    document = json.loads(schedule.read_text())
    if where in ("soc", "power_kw", "shortfall_kwh"):
        vehicle = document["vehicles"][1 if where == "shortfall_kwh" else 0]
        if value == "short":
            vehicle[where] = vehicle[where][:-1]
        elif where == "soc":
            vehicle[where][1] = value
        else:
            vehicle[where] = value
    elif where == "site_net_load_kw":
        document[where][0] = value
    else:
        document[where] = value
    text = json.dumps(document).replace('"NaN"', "NaN").replace('"Infinity"', "Infinity")
    schedule.write_text(text)
    result = runner.invoke(app, ["verify", str(problem), str(schedule)])
    assert result.exit_code == 2, result.output
    assert f"  - {field}: " in result.output
    assert "all hold" not in result.output


def test_schedule_to_an_existing_folder_exits_2_before_solving(tmp_path: Path) -> None:
    problem = make_problem(tmp_path, vehicles=2)
    folder = tmp_path / "out"
    folder.mkdir()
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(folder)])
    assert result.exit_code == 2, result.output
    assert "  - --output: " in result.output and "is a folder" in result.output
    assert "Scheduling" not in result.output and list(folder.iterdir()) == []


def test_simulate_into_a_place_that_cannot_be_written_exits_2_at_once(tmp_path: Path) -> None:
    import time

    start = time.monotonic()
    result = runner.invoke(app, ["simulate", "neighbourhood", "-o", "/proc/voltpool-out"])
    assert result.exit_code == 2, result.output
    assert "  - --output: cannot write in /proc" in result.output
    assert time.monotonic() - start < 5


def test_a_10_mb_vehicle_id_is_refused_quickly_and_quoted_briefly(tmp_path: Path) -> None:
    import time

    problem = make_problem(tmp_path, vehicles=2)
    document = json.loads(problem.read_text())
    document["vehicles"][0]["id"] = "x" * 10_000_000
    problem.write_text(json.dumps(document))
    start = time.monotonic()
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2, result.output
    assert "  - vehicles[0].id: " in result.output and "(10,000,000 chars)" in result.output
    assert len(result.output) < 1000 and time.monotonic() - start < 10
    circle = tmp_path / "circle.toml"
    circle.write_text(
        builtin("voltpool.sharing", "friends").replace('"alice"', '"' + "a" * 10**7 + '"', 1)
    )
    result = runner.invoke(app, ["share", "check", str(circle)])
    assert result.exit_code == 2 and "members[0].id" in result.output
    assert len(result.output) < 1000


def test_a_base_load_of_1e308_is_refused_naming_the_field(tmp_path: Path) -> None:
    problem = make_problem(tmp_path, vehicles=2)
    document = json.loads(problem.read_text())
    document["site"]["base_load_kw"][3] = 1e308
    problem.write_text(json.dumps(document))
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2, result.output
    assert "  - site.base_load_kw[3]: 1e+308 is beyond ±1e+06" in result.output


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("annual_kwh = 3000 ", "annual_kwh = inf ", "homes.annual_kwh"),
        ("import_limit_kw = 250.0", "import_limit_kw = nan", "transformer.import_limit_kw"),
        ("seed = 42", "seed = -1", "seed"),
        ("count = 40", "count = 0", "vehicles.count"),
    ],
)
def test_scenario_values_that_would_break_the_simulation_are_refused(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    text = builtin("voltpool.scenario", "neighbourhood")
    assert old in text
    scenario = tmp_path / "bad.toml"
    scenario.write_text(text.replace(old, new, 1))
    result = runner.invoke(app, ["simulate", str(scenario), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert f"  - {field}: " in result.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["schedule", "PROBLEM", "-o", "OUT", "--time-limit-s", "nan"],
        ["schedule", "PROBLEM", "-o", "OUT", "--time-limit-s", "1_000"],
        ["example-problem", "-n", "5_000", "-o", "OUT"],
        ["example-problem", "-n", "99999999999", "-o", "OUT"],
        ["example-problem", "-n", "2", "--seed", "-1", "-o", "OUT"],
        ["backup", "run", "--hours", "inf", "-o", "OUT"],
        ["battery", "calibrate", "--cell", "lfp", "--pack-value", "1e308"],
        ["battery", "calibrate", "--cell", "lfp", "--pack-value", "100", "--segments", "1e1"],
    ],
)
def test_numeric_options_take_plain_finite_decimal_numbers(tmp_path: Path, args: list[str]) -> None:
    problem = make_problem(tmp_path, vehicles=2)
    out = tmp_path / "out.file"
    args = [str(problem) if a == "PROBLEM" else str(out) if a == "OUT" else a for a in args]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error: command line" in result.output and "  - --" in result.output
    assert not out.exists()


def test_output_files_get_the_umask_mode_not_0600(tmp_path: Path) -> None:
    import os
    import stat

    old = os.umask(0o022)
    try:
        problem = make_problem(tmp_path, vehicles=2)
        schedule = tmp_path / "schedule.json"
        assert runner.invoke(app, ["schedule", str(problem), "-o", str(schedule)]).exit_code == 0
        picture = tmp_path / "plan.html"
        assert runner.invoke(app, ["backup", "run", "-o", str(picture)]).exit_code == 0
    finally:
        os.umask(old)
    for path in (problem, schedule, picture):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path


def test_a_refusal_lists_a_bounded_number_of_problems_quickly(tmp_path: Path) -> None:
    """50,000 bad values (found by the fuzz test) printed one line each took over 30 s."""
    import time

    scenario = tmp_path / "many.toml"
    text = builtin("voltpool.scenario", "neighbourhood")
    scenario.write_text(
        text.replace(
            'policies = ["uncontrolled", "smart", "v2g", "v2g-wear"]',
            "policies = [" + "0.0, " * 50_000 + "0.0]",
            1,
        )
    )
    start = time.monotonic()
    result = runner.invoke(app, ["scenario", "show", str(scenario)])
    assert result.exit_code == 2, result.output[-500:]
    assert "more problem(s), not listed" in result.output
    assert len(result.output.splitlines()) < 60 and time.monotonic() - start < 10


def test_a_path_that_is_not_text_is_refused_naming_the_option(tmp_path: Path) -> None:
    problem = make_problem(tmp_path, vehicles=2)
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(tmp_path / "s\udcff.json")])
    assert result.exit_code == 2, result.output
    assert "  - --output: " in result.output and "lone surrogate" in result.output
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(tmp_path / ("x" * 300))])
    assert result.exit_code == 2 and "longer than 255 bytes" in result.output


def test_a_battery_too_small_for_the_solver_is_refused(tmp_path: Path) -> None:
    """A 1e-9 kWh battery (found by the fuzz test) made the LP's plan fail the verifier."""
    problem = make_problem(tmp_path, vehicles=2)
    document = json.loads(problem.read_text())
    document["vehicles"][0]["capacity_kwh"] = 1e-9
    problem.write_text(json.dumps(document))
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(tmp_path / "s.json")])
    assert result.exit_code == 2, result.output
    assert "  - vehicles[0].capacity_kwh: 1e-09 is less than the minimum of 0.1" in result.output


@pytest.mark.parametrize("now", ["\u0663", "now", "0001-01-01T00:00", "2024-13-45"])
def test_share_now_takes_an_iso_time_only(tmp_path: Path, now: str) -> None:
    """Digits of another script read as the year 3 (found by the fuzz test), then broke inside."""
    ledger = tmp_path / "l.sqlite"
    result = runner.invoke(app, ["share", "run", f"--now={now}", f"--db=sqlite:///{ledger}"])
    assert result.exit_code == 2, result.output
    assert "  - --now: " in result.output and not ledger.exists()


def test_schedule_of_a_problem_with_a_start_speaks_local_time(tmp_path: Path) -> None:
    problem_path = make_problem(tmp_path)
    document = json.loads(problem_path.read_text())
    assert "start" not in document and document["generator"].startswith("voltpool ")
    plain = runner.invoke(app, ["schedule", str(problem_path), "-o", str(tmp_path / "a.json")])
    assert plain.exit_code == 0 and " slots " in plain.output
    document.update(start="2025-01-14T11:00:00Z", timezone="Europe/Amsterdam")
    problem_path.write_text(json.dumps(document))
    out = tmp_path / "schedule.json"
    result = runner.invoke(app, ["schedule", str(problem_path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the table title wraps
    assert "from 12:00 (Tue 14 Jan), Europe/Amsterdam" in said
    assert "discharge blocks" in said and " slots " not in said.replace("96 slots of", "")
    assert "Jan): gave" in said
    written = json.loads(out.read_text())
    assert written["start"] == "2025-01-14T11:00:00Z" and written["timezone"] == "Europe/Amsterdam"
    assert written["generator"].startswith("voltpool ")
    assert all(b["from_local"].endswith("+01:00") for b in written["discharge_blocks"])
    check = runner.invoke(app, ["verify", str(problem_path), str(out)])
    assert check.exit_code == 0 and "all hold" in check.output
