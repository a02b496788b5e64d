"""Real time in problem format v1 (``start``, ``timezone``) and ``voltpool plan``: my car
tonight from plain options, in local time, verified independently."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from voltpool import GENERATOR
from voltpool.cli.plan import plan_command
from voltpool.errors import ProblemError
from voltpool.example import example_problem
from voltpool.io import load_problem, problem_from_dict, problem_to_dict, schedule_from_dict
from voltpool.schedule import schedule, verify
from voltpool.schedule.explain import moment, span

runner = CliRunner()
app = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)
app.command()(plan_command)

PLAIN = problem_to_dict(example_problem(3, seed=1))
TIMED = {**PLAIN, "start": "2025-01-14T18:00+01:00", "timezone": "Europe/Amsterdam"}
WINTER_NIGHT = ["--date", "2024-01-16", "--plugged", "18:00", "--leave", "07:30"]


def issues_of(document: dict) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        problem_from_dict(document)
    return [str(issue) for issue in caught.value.issues]


def test_a_problem_with_start_and_timezone_round_trips() -> None:
    problem = problem_from_dict(TIMED)
    assert problem.start == pd.Timestamp("2025-01-14T17:00Z")
    assert problem.timezone == "Europe/Amsterdam"
    document = json.loads(json.dumps(problem_to_dict(problem)))
    assert document["start"] == "2025-01-14T17:00:00Z"
    assert document["timezone"] == "Europe/Amsterdam"
    assert document["generator"] == GENERATOR
    again = problem_from_dict(document)
    assert again.start == problem.start and again.timezone == problem.timezone
    assert again.clock is not None and again.clock.time(4) == pd.Timestamp("2025-01-14T18:00Z")


def test_a_v1_file_without_them_loads_and_behaves_as_before() -> None:
    assert "start" not in PLAIN and "timezone" not in PLAIN
    problem = problem_from_dict(PLAIN)
    assert problem.start is None and problem.timezone == "UTC" and problem.clock is None
    again = problem_to_dict(problem)
    assert "start" not in again and "timezone" not in again
    assert span(problem, 23, 33) == "slots 23-32" and moment(problem, 5) == "slot 5"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"start": "2025-01-14T18:00:30+01:00"}, "start: 2025-01-14T18:00:30+01:00 must be on a"),
        ({"start": "2025-01-14T18:00"}, "start: 2025-01-14T18:00:00 has no UTC offset"),
        ({"start": "tonight"}, "start: 'tonight' is not an RFC 3339 date and time"),
        ({"start": "2025-13-14T18:00Z"}, "start: '2025-13-14T18:00Z' is not an RFC 3339"),
        ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA time zone"),
        ({"start": "2025-01-14T18:00Z", "slot_minutes": 7}, "slot_minutes: 7 must divide a day"),
    ],
)
def test_a_bad_start_or_timezone_is_named(changes: dict, expected: str) -> None:
    document = {**copy.deepcopy(PLAIN), **changes}
    assert any(issue.startswith(expected) for issue in issues_of(document)), issues_of(document)


def test_a_bad_start_is_reported_with_the_other_problems() -> None:
    document = copy.deepcopy({**PLAIN, "start": "soon", "timezone": "Nowhere"})
    document["vehicles"][0]["departure_slot"] = document["vehicles"][0]["arrival_slot"]
    fields = {issue.split(":")[0] for issue in issues_of(document)}
    assert {"start", "timezone"} <= fields and any("departure_slot" in f for f in fields)


def test_explanations_and_schedule_json_speak_clock_time() -> None:
    from voltpool.io import schedule_to_dict

    problem = problem_from_dict(TIMED)
    assert span(problem, 0, 9) == "18:00-20:15 (Tue 14 Jan)"
    assert span(problem, 20, 30) == "23:00-01:30 (Tue 14 Jan - Wed 15 Jan)"
    result = schedule(problem, "lp")
    document = schedule_to_dict(problem, result)
    assert document["start"] == "2025-01-14T17:00:00Z"
    assert document["timezone"] == "Europe/Amsterdam" and document["generator"] == GENERATOR
    assert document["discharge_blocks"], "the example night has V2G"
    block = document["discharge_blocks"][0]
    assert block["from_local"] == span_start(problem, block["start_slot"])
    assert block["to_local"].endswith("+01:00")
    assert document["vehicles"][0]["departure_local"].endswith("+01:00")
    assert verify(problem, schedule_from_dict(problem, document)).ok


def span_start(problem, slot: int) -> str:
    """The local RFC 3339 start of ``slot`` (independently of the code under test)."""
    return (
        (pd.Timestamp("2025-01-14T17:00Z") + pd.Timedelta(minutes=15 * slot))
        .tz_convert("Europe/Amsterdam")
        .isoformat()
    )


def run_plan(tmp_path: Path, *options: str):
    """``voltpool plan`` with ``-o plan.json --save-problem problem.json`` in ``tmp_path``."""
    plan, problem = tmp_path / "plan.json", tmp_path / "problem.json"
    result = runner.invoke(
        app, [*options, "-o", str(plan), "--save-problem", str(problem)], catch_exceptions=False
    )
    return result, plan, problem


def test_plan_on_day_ahead_prices_is_verified_on_time_and_cheaper(tmp_path: Path) -> None:
    result, plan_path, problem_path = run_plan(
        tmp_path, *WINTER_NIGHT, "--prices", "day-ahead", "--soc-now", "35", "--target", "80"
    )
    assert result.exit_code == 0, result.output
    output = result.output
    assert "plugged in 18:00 (Tue 16 Jan), leaving 07:30 (Wed 17 Jan)" in output
    assert "plan verified: all" in output and "rules hold" in output
    assert "slots" not in output and "ready" in output
    problem = load_problem(problem_path)
    assert problem.start == pd.Timestamp("2024-01-16T17:00Z") and problem.n_slots == 54
    assert problem.timezone == "Europe/Amsterdam"
    document = json.loads(plan_path.read_text())
    assert document["generator"] == GENERATOR and document["start"] == "2024-01-16T17:00:00Z"
    planned = schedule_from_dict(problem, document)
    assert verify(problem, planned).ok
    assert planned.soc[0, -1] >= 0.8 - 1e-6
    assert planned.objective <= schedule(problem, "uncontrolled").objective + 1e-6


def test_a_one_way_charger_on_a_flat_price_never_discharges(tmp_path: Path) -> None:
    result, plan_path, _ = run_plan(
        tmp_path, *WINTER_NIGHT, "--price-per-kwh", "0.30", "--discharge-kw", "0"
    )
    assert result.exit_code == 0, result.output
    assert "discharge" not in result.output and "one-way charger" in result.output
    power_kw = np.array(json.loads(plan_path.read_text())["vehicles"][0]["power_kw"])
    assert (power_kw >= 0).all() and power_kw.max() > 0


def test_too_little_time_gives_the_shortfall_and_its_reason(tmp_path: Path) -> None:
    result, _, _ = run_plan(
        tmp_path,
        *["--date", "2024-01-16", "--plugged", "06:00", "--leave", "07:30"],
        *["--soc-now", "10", "--target", "90"],
    )
    assert result.exit_code == 0, result.output
    assert "kWh short: plugged in too short or charger too slow" in result.output


def test_a_full_car_and_a_departure_before_the_plug_in_time_mean_tomorrow(
    tmp_path: Path,
) -> None:
    result, _, problem_path = run_plan(
        tmp_path,
        *["--date", "2024-01-16", "--plugged", "22:10", "--leave", "06:00"],
        *["--soc-now", "100"],
    )
    assert result.exit_code == 0, result.output
    assert "plugged in 22:15 (Tue 16 Jan), leaving 06:00 (Wed 17 Jan)" in result.output
    assert load_problem(problem_path).n_slots == 31


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        (["--date", "2030-01-16", "--prices", "day-ahead"], "--date", "2015-01-01 01:00"),
        (["--leave", "7h30"], "--leave", "is neither a time HH:MM"),
        (["--target", "10", "--reserve", "20"], "--target", "is below the reserve"),
        (["--capacity-kwh", "-77"], "--capacity-kwh", "must be in 0.1..1000"),
        (["--timezone", "Mars/Olympus"], "--timezone", "is not an IANA time zone"),
        (["--prices", "day-ahead", "--price-per-kwh", "0.3"], "--price-per-kwh", "flat"),
        (["--grid-fee-per-kwh", "0.1"], "--grid-fee-per-kwh", "day-ahead"),
        (["--export-price-per-kwh", "0.5"], "--export-price-per-kwh", "must be <="),
        (["--leave", "2024-01-19T07:30"], "--leave", "at most 48 h"),
        (["--leave", "2024-01-16T07:30"], "--leave", "is not after the plug-in"),
        (["--leave", "18:10"], "--leave", "before one whole 15-minute slot"),
        (["--breaker-kw", "0.3"], "--breaker-kw", "leaves nothing for the car"),
        (["--date", "2024-02-30"], "--date", "is not a date"),
    ],
)
def test_a_bad_option_exits_2_naming_it_and_writes_nothing(
    tmp_path: Path, options: list[str], field: str, rule: str
) -> None:
    given = dict(zip(WINTER_NIGHT[::2], WINTER_NIGHT[1::2], strict=True))
    given.update(dict(zip(options[::2], options[1::2], strict=True)))
    result, plan_path, problem_path = run_plan(tmp_path, *sum(given.items(), ()))
    assert result.exit_code == 2, result.output
    assert field in result.output and rule in result.output, result.output
    assert "nothing written" in result.output
    assert not plan_path.exists() and not problem_path.exists()


def test_a_local_time_the_clocks_skip_is_refused(tmp_path: Path) -> None:
    result, plan_path, _ = run_plan(tmp_path, "--date", "2024-03-31", "--plugged", "02:30")
    assert result.exit_code == 2 and "--plugged" in result.output
    assert "does not happen in Europe/Amsterdam" in result.output and not plan_path.exists()


def test_every_problem_of_the_options_is_listed_at_once(tmp_path: Path) -> None:
    result, _, _ = run_plan(
        tmp_path,
        *WINTER_NIGHT,
        *["--target", "10", "--grid-fee-per-kwh", "0.1", "--breaker-kw", "0.2"],
    )
    assert result.exit_code == 2 and "3 problem(s)" in result.output
