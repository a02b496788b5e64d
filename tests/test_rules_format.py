"""The owner's rules in problem format v1 (schema, reader, writer, refusals with field paths)
and in ``voltpool plan`` (its rule options, its output, its saved problem)."""

from __future__ import annotations

import copy
import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from voltpool.cli import app as voltpool_app
from voltpool.cli.plan import plan_command
from voltpool.errors import ProblemError
from voltpool.example import example_problem
from voltpool.io import load_problem, problem_from_dict, problem_to_dict, schedule_from_dict
from voltpool.schedule import schedule, verify

runner = CliRunner()
plan_app = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)
plan_app.command()(plan_command)

README = Path(__file__).resolve().parents[1] / "README.md"
EVERY_RULE = {
    "v2g_floor_soc": 0.6,
    "v2g_max_kwh_per_day": 6.0,
    "discharge_hours": ["17:00-22:00", "23:30-01:00"],
    "no_discharge_hours": ["20:00-20:30"],
    "no_discharge_until": "2025-01-14T18:30:00Z",
    "max_cycles_per_week": 2.0,
    "v2g_kwh_today": 1.5,
    "v2g_kwh_past_days": [0.0, 4.0, 0.0, 0.0, 6.0, 2.5],
}
TIMED = {
    **problem_to_dict(example_problem(3, seed=1)),
    "start": "2025-01-14T18:00+01:00",
    "timezone": "Europe/Amsterdam",
}
# A costly winter evening (the 2022 energy crisis): V2G pays from 17:00
EVENING = ["--date", "2022-12-12", "--plugged", "17:00", "--leave", "07:30"]
EVENING += ["--soc-now", "80", "--prices", "day-ahead"]


def with_rules(rules: dict, car: int = 0, document: dict = TIMED) -> dict:
    document = copy.deepcopy(document)
    document["vehicles"][car]["rules"] = rules
    return document


def issues_of(document: dict) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(document)
    return [str(issue) for issue in caught.value.issues]


# --- problem format v1 ---------------------------------------------------------------------------


def test_a_problem_with_every_rule_round_trips() -> None:
    problem = problem_from_dict(with_rules(EVERY_RULE, car=1))
    rules = problem.fleet.rules
    assert rules is not None and rules.n_cars == 3
    assert rules.v2g_floor_soc.tolist() == [0.0, 0.6, 0.0]
    assert rules.discharge_hours[1] == ((17 * 60, 22 * 60), (23 * 60 + 30, 60))
    assert rules.no_discharge_until[1] == pd.Timestamp("2025-01-14T18:30Z")
    document = json.loads(json.dumps(problem_to_dict(problem)))
    assert "rules" not in document["vehicles"][0] and "rules" not in document["vehicles"][2]
    written = document["vehicles"][1]["rules"]
    assert {k: v for k, v in written.items() if k != "no_discharge_until"} == {
        k: v for k, v in EVERY_RULE.items() if k != "no_discharge_until"
    }
    assert pd.Timestamp(written["no_discharge_until"]) == pd.Timestamp("2025-01-14T18:30Z")
    again = problem_from_dict(document)
    assert again.fleet.rules is not None
    assert again.fleet.rules.to_record(1) == rules.to_record(1)
    assert problem_to_dict(again) == document


def test_a_problem_without_rules_writes_none() -> None:
    document = problem_to_dict(problem_from_dict(TIMED))
    assert all("rules" not in vehicle for vehicle in document["vehicles"])
    assert problem_from_dict(document).fleet.rules is None


def test_rules_round_trip_through_schedule_and_verify_files(tmp_path: Path) -> None:
    problem_path, plan_path = tmp_path / "problem.json", tmp_path / "schedule.json"
    problem_path.write_text(json.dumps(with_rules(EVERY_RULE)))
    result = runner.invoke(voltpool_app, ["schedule", str(problem_path), "-o", str(plan_path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(voltpool_app, ["verify", str(problem_path), str(plan_path)])
    assert result.exit_code == 0, result.output
    problem = load_problem(problem_path)
    assert problem.fleet.rules is not None
    assert problem.fleet.rules.to_record(0)["discharge_hours"] == EVERY_RULE["discharge_hours"]
    assert verify(problem, schedule_from_dict(problem, json.loads(plan_path.read_text()))).ok


@pytest.mark.parametrize(
    ("rules", "field", "rule"),
    [
        ({"discharge_hours": ["25:00-26:00"]}, "vehicles[0].rules.discharge_hours[0]", "HH:MM"),
        ({"no_discharge_hours": ["24:30-01:00"]}, "rules.no_discharge_hours[0]", "00:00-24:00"),
        ({"discharge_hours": "17:00-22:00"}, "vehicles[0].rules.discharge_hours", "array"),
        ({"v2g_max_kwh_per_day": -1}, "vehicles[0].rules.v2g_max_kwh_per_day", "minimum of 0"),
        ({"max_cycles_per_week": -0.5}, "vehicles[0].rules.max_cycles_per_week", "minimum"),
        ({"v2g_floor_soc": 1.5}, "vehicles[0].rules.v2g_floor_soc", "maximum of 1"),
        ({"v2g_kwh_today": -2}, "vehicles[0].rules.v2g_kwh_today", "minimum of 0"),
        ({"v2g_max_kwh_per_day": True}, "vehicles[0].rules.v2g_max_kwh_per_day", "number"),
        ({"floor": 0.6}, "vehicles[0].rules", "'floor' was unexpected"),
        ({"v2g_kwh_past_days": [1, 2]}, "vehicles[0].rules.v2g_kwh_past_days", "too short"),
        ({"v2g_kwh_past_days": [1] * 7}, "vehicles[0].rules.v2g_kwh_past_days", "too long"),
        (
            {"no_discharge_until": "2025-01-14T19:00"},
            "vehicles[0].rules.no_discharge_until",
            "has no UTC offset",
        ),
        (
            {"no_discharge_until": "tomorrow"},
            "vehicles[0].rules.no_discharge_until",
            "must be an RFC 3339 time",
        ),
        ({"no_discharge_until": ""}, "vehicles[0].rules.no_discharge_until", "RFC 3339"),
        (
            {"no_discharge_until": "Jan 15 2025 9pm +0100"},
            "vehicles[0].rules.no_discharge_until",
            "RFC 3339",
        ),
    ],
)
def test_a_bad_rule_is_refused_naming_its_field(rules: dict, field: str, rule: str) -> None:
    issues = issues_of(with_rules(rules))
    assert any(field in issue and rule in issue for issue in issues), issues


@pytest.mark.parametrize(
    "rules",
    [
        {"v2g_max_kwh_per_day": 6},
        {"discharge_hours": ["17:00-22:00"]},
        {"no_discharge_hours": ["17:00-22:00"]},
        {"no_discharge_until": "2025-01-14T19:00Z"},
        {"max_cycles_per_week": 1},
    ],
)
def test_clock_rules_without_a_start_are_refused(rules: dict) -> None:
    plain = {k: v for k, v in TIMED.items() if k not in ("start", "timezone")}
    issues = issues_of(with_rules(rules, car=2, document=plain))
    assert issues == [
        "vehicles[2].rules: speaks of local days or times of day: the problem needs a start"
    ], issues


def test_a_floor_needs_no_start() -> None:
    plain = {k: v for k, v in TIMED.items() if k not in ("start", "timezone")}
    problem = problem_from_dict(with_rules({"v2g_floor_soc": 0.5}, document=plain))
    assert problem.fleet.discharge_floor_soc[0] == max(0.5, problem.fleet.soc_min[0])


def test_every_problem_of_a_rules_block_is_listed_at_once() -> None:
    rules = {"discharge_hours": ["25:00-26:00", "7-9"], "no_discharge_until": "2025-01-14"}
    fields = [issue.split(":")[0] for issue in issues_of(with_rules(rules))]
    assert fields == [
        "vehicles[0].rules.discharge_hours[0]",
        "vehicles[0].rules.discharge_hours[1]",
        "vehicles[0].rules.no_discharge_until",
    ]


# --- voltpool plan -------------------------------------------------------------------------------


def run_plan(tmp_path: Path, *options: str):
    """``voltpool plan`` with ``-o plan.json --save-problem problem.json`` in ``tmp_path``."""
    plan, problem = tmp_path / "plan.json", tmp_path / "problem.json"
    result = runner.invoke(
        plan_app,
        [*options, "-o", str(plan), "--save-problem", str(problem)],
        catch_exceptions=False,
    )
    return result, plan, problem


def planned(plan_path: Path, problem_path: Path):
    """The saved problem and plan as ``voltpool verify`` reads them."""
    problem = load_problem(problem_path)
    return problem, schedule_from_dict(problem, json.loads(plan_path.read_text()))


def test_without_rules_the_evening_gives_energy_back_below_60_percent(tmp_path: Path) -> None:
    result, plan_path, problem_path = run_plan(tmp_path, *EVENING)
    assert result.exit_code == 0, result.output
    assert "Your rules" not in result.output
    problem, plan = planned(plan_path, problem_path)
    assert problem.fleet.rules is None
    assert plan.power_kw.min() < 0 and plan.soc[0].min() < 0.6 - 1e-3


def test_plan_with_a_v2g_floor_never_discharges_below_it(tmp_path: Path) -> None:
    result, plan_path, problem_path = run_plan(tmp_path, *EVENING, "--v2g-floor", "60")
    assert result.exit_code == 0, result.output
    assert "Your rules: V2G floor 60 %" in result.output
    assert "Held at 60 % from 21:00 (Mon 12 Dec): your V2G floor" in result.output
    problem, plan = planned(plan_path, problem_path)
    rules = problem.fleet.rules
    assert rules is not None and rules.v2g_floor_soc.tolist() == [0.6]
    assert verify(problem, plan).ok
    discharging = plan.power_kw[0] < -1e-9
    assert discharging.any()
    assert (plan.soc[0, 1:][discharging] >= 0.6 - 1e-6).all()  # after each discharging slot
    assert (plan.soc[0, :-1][discharging] >= 0.6 - 1e-6).all()
    assert plan.soc[0].min() >= 0.6 - 1e-6  # it arrived above the floor
    assert plan.soc[0, -1] >= 0.8 - 1e-6


def test_plan_with_every_rule_keeps_them_and_saves_them(tmp_path: Path) -> None:
    options = [
        *["--v2g-floor", "60", "--v2g-max-kwh-per-day", "6"],
        *["--discharge-hours", "17:00-19:00", "--discharge-hours", "20:00-22:00"],
        *["--max-cycles-per-week", "0.05"],
    ]
    result, plan_path, problem_path = run_plan(tmp_path, *EVENING, *options)
    assert result.exit_code == 0, result.output
    assert (
        "Your rules: V2G floor 60 %, at most 6 kWh a day, at most 0.05 cycles a week "
        "(3.85 kWh), 17:00-19:00, 20:00-22:00"
    ) in result.output
    problem, plan = planned(plan_path, problem_path)
    assert json.loads(problem_path.read_text())["vehicles"][0]["rules"] == {
        "v2g_floor_soc": 0.6,
        "v2g_max_kwh_per_day": 6.0,
        "max_cycles_per_week": 0.05,
        "discharge_hours": ["17:00-19:00", "20:00-22:00"],
    }
    assert verify(problem, plan).ok
    battery_kwh = -np.minimum(plan.power_kw[0], 0) * problem.dt_h / 0.9
    assert 0 < battery_kwh.sum() <= 0.05 * 77 + 1e-6
    local = pd.date_range(problem.start, periods=problem.n_slots, freq="15min")
    hour = local.tz_convert("Europe/Amsterdam").hour
    outside = ~(((hour >= 17) & (hour < 19)) | ((hour >= 20) & (hour < 22)))
    assert (battery_kwh[outside] == 0).all()


def test_plan_not_today_gives_no_energy_back(tmp_path: Path) -> None:
    result, plan_path, problem_path = run_plan(tmp_path, *EVENING, "--no-discharge")
    assert result.exit_code == 0, result.output
    assert "Your rules: no discharge tonight (not today)" in result.output
    assert "  discharge  " not in result.output  # no discharge block in the night's table
    problem, plan = planned(plan_path, problem_path)
    rules = problem.fleet.rules
    assert rules is not None and rules.no_discharge_until[0] == problem.start + pd.Timedelta(
        minutes=problem.slot_minutes * problem.n_slots
    )
    assert (plan.power_kw >= 0).all() and verify(problem, plan).ok
    assert plan.soc[0, -1] >= 0.8 - 1e-6


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        (["--discharge-hours", "25:00-26:00"], "--discharge-hours", "HH:MM-HH:MM"),
        (["--discharge-hours", "18:00-18:00"], "--discharge-hours", "non-empty window"),
        (["--v2g-floor", "120"], "--v2g-floor", "must be in 0..100"),
        (["--v2g-max-kwh-per-day", "-6"], "--v2g-max-kwh-per-day", "must be in 0..1000"),
        (["--max-cycles-per-week", "nan"], "--max-cycles-per-week", "not a number"),
    ],
)
def test_a_bad_rule_option_exits_2_naming_it(
    tmp_path: Path, options: list[str], field: str, rule: str
) -> None:
    result, plan_path, problem_path = run_plan(tmp_path, *EVENING, *options)
    assert result.exit_code == 2, result.output
    assert field in result.output and rule in result.output, result.output
    assert not plan_path.exists() and not problem_path.exists()


def test_the_readme_rules_example_prints_what_the_readme_says() -> None:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Your rules for your car", 1)[1].split("\n## ", 1)[0]
    command = section.split("```bash\n", 1)[1].split("```", 1)[0].strip()
    words = shlex.split(command)
    assert words[:2] == ["voltpool", "plan"]
    result = runner.invoke(voltpool_app, words[1:])
    assert result.exit_code == 0, result.output
    for quoted in (
        "Your rules: V2G floor 60 %, at most 6 kWh a day, 17:00-22:00",
        "your daily V2G cap of 6 kWh was reached",
    ):
        assert quoted in section.replace("\n", " ") and quoted in result.output
    assert "17:00-21:00 (Mon 12 Dec)               discharge" in result.output
    assert " 5.4 kWh" in result.output


def test_loose_rules_change_nothing() -> None:
    """Caps no plan reaches: the same plan as without them."""
    problem = problem_from_dict(TIMED)
    loose = problem_from_dict(with_rules({"v2g_max_kwh_per_day": 1e6, "max_cycles_per_week": 1000}))
    assert schedule(loose, "lp").objective == pytest.approx(
        schedule(problem, "lp").objective, abs=1e-6
    )
