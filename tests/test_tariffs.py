"""Tariffs as data (``voltpool.model.tariffs``, docs/tariffs.md): every preset's prices on a
known day against hand-computed values, export never above import on a year of real prices,
bad presets and overrides refused naming the field, and the presets selected in a scenario, a
problem file and ``voltpool plan``."""

from __future__ import annotations

import copy
import json
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from voltpool.cli.plan import plan_command
from voltpool.cli.tariff import tariff_app
from voltpool.data.prices import day_ahead_price_per_kwh
from voltpool.errors import ProblemError
from voltpool.example import example_problem
from voltpool.io import load_problem, problem_from_dict, problem_to_dict, schedule_from_dict
from voltpool.model import tariffs
from voltpool.model.tariffs import (
    DEFAULT_PRESET,
    billing_months,
    tariff_preset,
    tariff_presets,
    tariff_with,
)
from voltpool.scenario import load_scenario, scenario_from_dict, scenario_text
from voltpool.schedule import schedule, verify
from voltpool.simulate import build_world, simulate
from voltpool.simulate.metrics import policy_metrics
from voltpool.simulate.world import _prices

DOCS = Path(__file__).resolve().parents[1] / "docs" / "tariffs.md"
NEIGHBOURHOOD = tomllib.loads(
    resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
)
DAY = pd.date_range("2024-01-16T00:00Z", periods=96, freq="15min")
"""Tuesday 16 January 2024, UTC (London is on UTC in winter, Amsterdam one hour ahead)."""
DAY_AHEAD = day_ahead_price_per_kwh(DAY[0], DAY[-1] + DAY.freq, freq="15min").to_numpy()

NL_NET_METERING_PER_KWH = (0.13 + 0.1088) * 1.21  # supply + energy tax, 21 % VAT
BE_IMPORT_PER_KWH = (0.12 + 0.055 + 0.05) * 1.06  # energy + network + excise, 6 % VAT
BE_CAPACITY_PER_KW_MONTH = 3.75 * 1.06  # 45 EUR/kW/year, VAT on it too
UK_DAY_PER_KWH, UK_NIGHT_PER_KWH = 0.2381 * 1.05, 0.081 * 1.05  # 25 p and 8.5 p with 5 % VAT


def scenario_document(tariff: dict, **changes) -> dict:
    """A small scenario (2 days from 15 January 2024, 8 homes, 6 cars) with ``tariff``."""
    document = copy.deepcopy(NEIGHBOURHOOD)
    document.update({"days": 2, "seed": 3, "events": [], "tariff": tariff, **changes})
    document["homes"]["count"] = 8
    document["vehicles"]["count"] = 6
    document["transformer"]["import_limit_kw"] = 60.0
    return document


def issues(call) -> dict[str, str]:
    """The field -> rule of every issue ``call()`` is refused with."""
    with pytest.raises(ProblemError) as caught:
        call()
    return {issue.field: issue.rule for issue in caught.value.issues}


# --- the prices of each preset on a known day -------------------------------------------------


def test_the_default_preset_is_todays_tariff_to_the_bit() -> None:
    prices = tariff_preset(DEFAULT_PRESET).prices(96, DAY_AHEAD, DAY)
    assert np.array_equal(prices.import_price_per_kwh, DAY_AHEAD + 0.12)
    assert np.array_equal(prices.export_price_per_kwh, DAY_AHEAD)
    fee = tariff_with(DEFAULT_PRESET, {"export_fee_per_kwh": 0.01}).prices(96, DAY_AHEAD, DAY)
    assert np.array_equal(fee.export_price_per_kwh, DAY_AHEAD - 0.01)


def test_the_neighbourhood_world_is_priced_by_its_dynamic_tariff() -> None:
    scenario = load_scenario("neighbourhood")
    assert scenario.tariff.preset == "nl-dynamic-2024"
    assert scenario.tariff.peak_price_per_kw == 1.0
    world = build_world(scenario)
    day_ahead, _ = _prices(scenario, world.index)
    np.testing.assert_allclose(world.import_price_per_kwh, (day_ahead + 0.02 + 0.1088) * 1.21)
    assert np.array_equal(world.export_price_per_kwh, day_ahead)
    assert world.notes == ()


def test_a_scenario_without_a_preset_is_priced_as_before() -> None:
    document = tomllib.loads(scenario_text("neighbourhood")[0])
    document["tariff"] = {"network_fee_per_kwh": 0.12, "peak_price_per_kw": 1.0}
    scenario = scenario_from_dict(document)
    assert scenario.tariff.preset is None
    world = build_world(scenario)
    day_ahead, _ = _prices(scenario, world.index)
    assert np.array_equal(world.import_price_per_kwh, day_ahead + 0.12)
    assert np.array_equal(world.export_price_per_kwh, day_ahead - 0.0)


def test_net_metering_credits_an_export_at_the_full_import_price() -> None:
    prices = tariff_preset("nl-net-metering-2024").prices(96)
    np.testing.assert_allclose(prices.import_price_per_kwh, NL_NET_METERING_PER_KWH, rtol=1e-15)
    assert np.array_equal(prices.export_price_per_kwh, prices.import_price_per_kwh)
    assert not prices.export_capped.any()


def test_dynamic_prices_carry_markup_tax_and_vat_and_export_at_day_ahead() -> None:
    prices = tariff_preset("nl-dynamic-2024").prices(96, DAY_AHEAD, DAY)
    np.testing.assert_allclose(prices.import_price_per_kwh, (DAY_AHEAD + 0.02 + 0.1088) * 1.21)
    assert np.array_equal(prices.export_price_per_kwh, DAY_AHEAD)
    refund = tariff_with("nl-dynamic-2024", {"export_tax_refund": True}).prices(96, DAY_AHEAD)
    np.testing.assert_allclose(refund.export_price_per_kwh, DAY_AHEAD + 0.1088 * 1.21)


def test_the_flemish_capacity_tariff_bills_the_months_peak_above_its_minimum() -> None:
    flanders = tariff_preset("be-flanders-capacity-2024")
    prices = flanders.prices(96)
    np.testing.assert_allclose(prices.import_price_per_kwh, BE_IMPORT_PER_KWH)
    np.testing.assert_allclose(prices.export_price_per_kwh, 0.03)
    below = flanders.tariff(96, peak_baseline_kw=1.0)  # the month's peak so far: 1 kW
    assert below.peak_price_per_kw == pytest.approx(BE_CAPACITY_PER_KW_MONTH)
    assert below.peak_baseline_kw == 2.5  # the minimum billed
    assert flanders.tariff(96, peak_baseline_kw=4.2).peak_baseline_kw == 4.2
    assert billing_months(date(2024, 1, 15), 7) == pytest.approx(7 / 31)
    assert billing_months(date(2024, 2, 27), 5) == pytest.approx(3 / 29 + 2 / 31)  # leap year
    assert billing_months(date(2024, 1, 1), 366) == pytest.approx(12)


def test_a_simulated_week_pays_its_share_of_the_monthly_capacity_charge() -> None:
    week = build_world(
        scenario_from_dict(scenario_document({"preset": "be-flanders-capacity-2024"}, days=7))
    )
    assert week.peak_billing.start_slot.tolist() == [week.first_slot]
    assert week.peak_billing.price_per_kw == pytest.approx([BE_CAPACITY_PER_KW_MONTH * 7 / 31])
    assert week.peak_billing.min_kw == 2.5


def test_each_calendar_month_is_billed_on_its_own_peak() -> None:
    # 29 January - 2 February: three days of January, two of February, each month's peak
    # billed at its share of the monthly price; the planner's peak so far starts again on the
    # 1st (local midnight in Brussels).
    scenario = scenario_from_dict(
        scenario_document(
            {"preset": "be-flanders-capacity-2024"},
            start="2024-01-29",
            days=5,
            timezone="Europe/Brussels",
            policies=["smart"],
        )
    )
    world = build_world(scenario)
    billing = world.peak_billing
    february = world.index[billing.start_slot[1]]
    assert february == pd.Timestamp("2024-02-01 00:00", tz="Europe/Brussels")
    assert billing.price_per_kw == pytest.approx(
        [BE_CAPACITY_PER_KW_MONTH * 3 / 31, BE_CAPACITY_PER_KW_MONTH * 2 / 29]
    )
    run = simulate(scenario).runs["smart"]
    month = run.index.tz_convert("Europe/Brussels").month
    net = run.site_net_load_kw
    expected = sum(
        price * max(2.5, float(net[month == m].max()))
        for m, price in zip((1, 2), billing.price_per_kw, strict=True)
    )
    assert policy_metrics(run)["peak_cost_eur"] == pytest.approx(expected)


def test_uk_time_of_use_follows_london_time_and_the_flat_export_is_capped_at_night() -> None:
    prices = tariff_preset("uk-flat-export-2024").prices(96, slot_start_utc=DAY)
    night = (DAY.hour * 60 + DAY.minute >= 30) & (DAY.hour < 5) | (
        (DAY.hour == 5) & (DAY.minute < 30)
    )
    assert night.sum() == 20  # 00:30-05:30, five hours of quarter-hours
    np.testing.assert_allclose(prices.import_price_per_kwh[night], UK_NIGHT_PER_KWH)
    np.testing.assert_allclose(prices.import_price_per_kwh[~night], UK_DAY_PER_KWH)
    np.testing.assert_allclose(prices.export_price_per_kwh[~night], 0.15)
    np.testing.assert_allclose(prices.export_price_per_kwh[night], UK_NIGHT_PER_KWH)
    assert np.array_equal(prices.export_capped, night)
    summer = pd.date_range("2024-07-15T23:30Z", periods=4, freq="15min")  # 00:30 BST
    cheap = tariff_preset("uk-flat-export-2024").prices(4, slot_start_utc=summer)
    np.testing.assert_allclose(cheap.import_price_per_kwh, UK_NIGHT_PER_KWH)


@pytest.mark.parametrize("name", list(tariff_presets()))
def test_export_never_pays_more_than_import_over_a_year(name: str) -> None:
    year = pd.date_range("2024-01-01T00:00Z", "2025-01-01T00:00Z", freq="15min", inclusive="left")
    day_ahead = day_ahead_price_per_kwh(year[0], year[-1] + year.freq, freq="15min").to_numpy()
    tariff = tariff_preset(name)
    scheduled = tariff.tariff(len(year), day_ahead, year)
    assert (scheduled.export_price_per_kwh <= scheduled.import_price_per_kwh).all()
    assert scheduled.issues(len(year)) == []  # the LP's own check
    prices = tariff.prices(len(year), day_ahead, year)
    expected_capped = {"uk-flat-export-2024": 366 * 20}  # every night, 00:30-05:30
    assert prices.export_capped.sum() == expected_capped.get(name, 0)


def test_presets_are_documented_with_their_sources() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, tariff in tariff_presets().items():
        assert f"`{name}`" in text and f"``{name}``" in tariffs.__doc__
        assert tariff.source in text, name


# --- bad presets and overrides ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tariff", "field", "rule"),
    [
        ({"preset": "nl-2030"}, "tariff.preset", "is not a tariff preset"),
        ({"preset": "uk-flat-export-2024"}, "tariff.preset", "the simulator accounts in EUR"),
        (
            {"preset": "nl-net-metering-2024", "export_fee_per_kwh": 0.01},
            "tariff.export_fee_per_kwh",
            "applies only with export = 'day_ahead'",
        ),
        (
            {"preset": "nl-dynamic-2024", "energy_price_per_kwh": 0.2},
            "tariff.energy_price_per_kwh",
            "'nl-dynamic-2024' has energy = 'day_ahead'",
        ),
        (
            {"preset": "be-flanders-capacity-2024", "peak_price_per_kw": 1.0},
            "tariff.peak_price_per_kw",
            "has a capacity tariff",
        ),
        ({"capacity_min_kw": 2.5}, "tariff.capacity_min_kw", "only with capacity_price"),
        ({"preset": "nl-dynamic-2024", "vat_rate": 1.5}, "tariff.vat_rate", "must be below 1"),
        ({"network_fee_per_kwh": -0.1}, "tariff.network_fee_per_kwh", "must be >= 0"),
        ({"preset": "nl-dynamic-2024", "vat": 0.21}, "tariff.vat", "unknown key"),
    ],
)
def test_a_bad_tariff_in_a_scenario_names_the_key(tariff: dict, field: str, rule: str) -> None:
    found = issues(lambda: scenario_from_dict(scenario_document(tariff)))
    assert field in found and rule in found[field], found


def test_every_problem_of_a_tariff_section_is_listed_at_once() -> None:
    tariff = {"preset": "be-flanders-capacity-2024", "peak_price_per_kw": 1.0, "vat_rate": 2}
    found = issues(lambda: scenario_from_dict(scenario_document(tariff)))
    assert set(found) == {"tariff.peak_price_per_kw", "tariff.vat_rate"}, found


def test_todays_keys_keep_their_meaning_with_a_preset() -> None:
    scenario = scenario_from_dict(
        scenario_document({"preset": "nl-dynamic-2024", "export_fee_per_kwh": 0.01})
    )
    assert scenario.tariff.model().export_fee_per_kwh == 0.01
    plain = scenario_from_dict(scenario_document({"vat_rate": 0.21, "network_fee_per_kwh": 0.1}))
    prices = plain.tariff.model().prices(96, DAY_AHEAD)
    np.testing.assert_allclose(prices.import_price_per_kwh, (DAY_AHEAD + 0.1) * 1.21)


@pytest.mark.parametrize(
    ("bands", "field", "rule"),
    [
        ([{"start": "25:00", "end": "05:30", "price_per_kwh": 0.1}], "start", "HH:MM"),
        ([{"start": "01:00", "end": "01:00", "price_per_kwh": 0.1}], "end", "must differ"),
        ([{"start": "01:00", "end": "02:00", "price_per_kwh": "low"}], "price_per_kwh", "number"),
        (
            [{"start": "01:00", "end": "02:00", "price_per_kwh": 0.1, "weekdays": ["mo"]}],
            "weekdays",
            "list of mon",
        ),
        (
            [
                {"start": "22:00", "end": "02:00", "price_per_kwh": 0.1},
                {"start": "01:00", "end": "03:00", "price_per_kwh": 0.1, "weekdays": ["wed"]},
            ],
            "",
            "bands overlap (first on wed at 01:00)",
        ),
    ],
)
def test_bad_time_of_use_bands_are_named(bands: list, field: str, rule: str) -> None:
    found = issues(lambda: tariff_with("uk-flat-export-2024", {"time_of_use": bands}))
    path = "tariff.time_of_use" + (f"[{len(bands) - 1}].{field}" if field else "")
    assert path in found and rule in found[path], found


def test_a_band_may_run_past_midnight_on_chosen_weekdays() -> None:
    weekend_nights = [
        {"start": "22:00", "end": "07:00", "price_per_kwh": 0.05, "weekdays": ["sat", "sun"]}
    ]
    tariff = tariff_with("uk-flat-export-2024", {"time_of_use": weekend_nights})
    saturday = pd.date_range("2024-01-20T06:45Z", periods=2, freq="15min")  # 06:45 and 07:00
    friday_late = pd.date_range("2024-01-19T23:00Z", periods=1, freq="15min")
    price = tariff.prices(2, slot_start_utc=saturday).import_price_per_kwh
    np.testing.assert_allclose(price, [0.05 * 1.05, UK_DAY_PER_KWH])
    friday = tariff.prices(1, slot_start_utc=friday_late).import_price_per_kwh
    np.testing.assert_allclose(friday, UK_DAY_PER_KWH)  # a Friday, though the band runs on


# --- selected in a scenario -------------------------------------------------------------------


def test_a_net_metering_scenario_builds_its_world_on_the_preset() -> None:
    world = build_world(scenario_from_dict(scenario_document({"preset": "nl-net-metering-2024"})))
    np.testing.assert_allclose(world.import_price_per_kwh, NL_NET_METERING_PER_KWH)
    assert np.array_equal(world.export_price_per_kwh, world.import_price_per_kwh)
    assert world.scenario.tariff.peak_price_per_kw == 0.0


def test_two_presets_give_two_bills_for_the_same_two_days() -> None:
    policies = {"policies": ["uncontrolled", "smart"]}
    runs = {
        name: simulate(scenario_from_dict(scenario_document({"preset": name}, **policies)))
        for name in ("nl-dynamic-2024", "be-flanders-capacity-2024")
    }
    dynamic = policy_metrics(runs["nl-dynamic-2024"].runs["smart"])
    flanders = policy_metrics(runs["be-flanders-capacity-2024"].runs["smart"])
    assert dynamic["total_cost_eur"] != pytest.approx(flanders["total_cost_eur"], rel=1e-3)
    assert dynamic["peak_cost_eur"] == 0.0
    share = BE_CAPACITY_PER_KW_MONTH * 2 / 31
    assert flanders["peak_cost_eur"] == pytest.approx(share * flanders["transformer_peak_kw"])


# --- selected in a problem file ---------------------------------------------------------------


def timed_problem(tariff: dict, **changes) -> dict:
    """The example problem placed on 16 January 2024 (96 slots) with ``tariff``."""
    document = problem_to_dict(example_problem(3, seed=1))
    assert len(document["site"]["base_load_kw"]) == 96
    document.update(start="2024-01-16T00:00:00Z", timezone="Europe/Amsterdam", tariff=tariff)
    document.update(changes)
    return document


def test_a_problem_with_a_preset_is_read_as_the_prices_it_makes() -> None:
    problem = problem_from_dict(
        timed_problem({"preset": "nl-dynamic-2024", "day_ahead_price_per_kwh": DAY_AHEAD.tolist()})
    )
    expected = tariff_preset("nl-dynamic-2024").prices(96, DAY_AHEAD)
    assert np.array_equal(problem.tariff.import_price_per_kwh, expected.import_price_per_kwh)
    written = problem_to_dict(problem)["tariff"]
    assert "preset" not in written and len(written["import_price_per_kwh"]) == 96
    flanders = problem_from_dict(
        timed_problem({"preset": "be-flanders-capacity-2024", "peak_baseline_kw": 1.0})
    )
    assert flanders.tariff.peak_price_per_kw == pytest.approx(BE_CAPACITY_PER_KW_MONTH)
    assert flanders.tariff.peak_baseline_kw == 2.5


def test_a_problem_into_the_next_month_bills_that_months_peak_on_its_own() -> None:
    # 31 January 12:00 UTC + 24 h: February starts at Brussels midnight, 23:00 UTC, slot 44.
    document = timed_problem(
        {"preset": "be-flanders-capacity-2024", "peak_baseline_kw": 6.0},
        start="2024-01-31T12:00:00Z",
        timezone="Europe/Brussels",
    )
    problem = problem_from_dict(document)
    later = problem.tariff.next_period
    assert (later.start_slot, later.baseline_kw) == (44, 2.5)
    assert later.price_per_kw == pytest.approx(BE_CAPACITY_PER_KW_MONTH)
    assert problem.tariff.peak_baseline_kw == 6.0  # January's peak so far
    again = problem_from_dict(problem_to_dict(problem))  # written out as arrays and read back
    assert again.tariff.next_period == later
    result = schedule(problem, "lp")
    assert verify(problem, result).ok
    document["tariff"]["next_period"] = {"start_slot": 10, "price_per_kw": 1.0}
    with pytest.raises(ProblemError, match=r"tariff\.next_period: is set by the preset"):
        problem_from_dict(document)
    arrays = problem_to_dict(problem)
    arrays["tariff"]["next_period"]["start_slot"] = 96
    with pytest.raises(ProblemError, match=r"tariff\.next_period\.start_slot: 96 must be a slot"):
        problem_from_dict(arrays)


@pytest.mark.parametrize(
    ("tariff", "changes", "field", "rule"),
    [
        (
            {"preset": "nl-net-metering-2024", "import_price_per_kwh": [0.3] * 96},
            {},
            "tariff.import_price_per_kwh",
            "not both",
        ),
        ({"preset": "nl-2030"}, {}, "tariff.preset", "is not a tariff preset"),
        ({"preset": "nl-dynamic-2024"}, {}, "tariff.day_ahead_price_per_kwh", "is required"),
        (
            {"preset": "nl-dynamic-2024", "day_ahead_price_per_kwh": [0.1] * 95},
            {},
            "tariff.day_ahead_price_per_kwh",
            "must have 96 finite values",
        ),
        (
            {"preset": "nl-net-metering-2024", "day_ahead_price_per_kwh": [0.1] * 96},
            {},
            "tariff.day_ahead_price_per_kwh",
            "is not used by 'nl-net-metering-2024'",
        ),
        (
            {"import_price_per_kwh": [0.3] * 96, "day_ahead_price_per_kwh": [0.1] * 96},
            {},
            "tariff.day_ahead_price_per_kwh",
            "only with a tariff preset",
        ),
        ({"preset": "uk-flat-export-2024"}, {"start": None}, "start", "local time of day"),
        (
            {"preset": "be-flanders-capacity-2024", "peak_price_per_kw": 2.0},
            {},
            "tariff.peak_price_per_kw",
            "has a capacity tariff",
        ),
        ({"peak_price_per_kw": 2.0}, {}, "tariff", "'import_price_per_kwh' is a required"),
    ],
)
def test_a_bad_tariff_in_a_problem_names_the_field(
    tariff: dict, changes: dict, field: str, rule: str
) -> None:
    document = timed_problem(tariff)
    for key, value in changes.items():
        document.pop(key) if value is None else document.update({key: value})
    found = issues(lambda: problem_from_dict(document))
    assert field in found and rule in found[field], found


def test_a_preset_problem_is_reported_with_the_problems_elsewhere() -> None:
    document = timed_problem({"preset": "nl-dynamic-2024"})
    document["vehicles"][0]["soc_target"] = 0.99
    document["vehicles"][0]["soc_max"] = 0.9
    found = issues(lambda: problem_from_dict(document))
    assert "tariff.day_ahead_price_per_kwh" in found
    assert any(field.startswith("vehicles[0]") for field in found), found


# --- selected in voltpool plan ----------------------------------------------------------------

runner = CliRunner()
plan_app = typer.Typer(rich_markup_mode=None, pretty_exceptions_enable=False, add_completion=False)
plan_app.command()(plan_command)
NIGHT = ["--date", "2024-01-16", "--plugged", "18:00"]


def run_plan(tmp_path: Path, *options: str):
    plan, problem = tmp_path / "plan.json", tmp_path / "problem.json"
    result = runner.invoke(
        plan_app,
        [*NIGHT, *options, "-o", str(plan), "--save-problem", str(problem)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    problem_read = load_problem(problem)
    planned = schedule_from_dict(problem_read, json.loads(plan.read_text()))
    assert verify(problem_read, planned).ok
    return result.output, problem_read, planned


def test_plan_under_net_metering_is_verified_and_never_discharges(tmp_path: Path) -> None:
    """Under net metering at a fixed price every kWh is worth the same at every hour: giving
    one back and charging it again loses a fifth of it (90 % each way) and costs wear, so the
    bidirectional car only charges. V2G pays where prices differ over the night (below)."""
    output, problem, planned = run_plan(tmp_path, "--tariff", "nl-net-metering-2024")
    assert "nl-net-metering-2024: 0.29 to 0.29 EUR/kWh bought, 0.29 to 0.29" in output
    np.testing.assert_allclose(problem.tariff.import_price_per_kwh, NL_NET_METERING_PER_KWH)
    assert np.array_equal(problem.tariff.export_price_per_kwh, problem.tariff.import_price_per_kwh)
    assert (planned.power_kw >= 0).all() and planned.soc[0, -1] >= 0.8 - 1e-6
    assert "-0.00" not in output


def test_plan_under_a_cheap_night_and_a_flat_export_gives_back_in_the_evening(
    tmp_path: Path,
) -> None:
    output, problem, planned = run_plan(tmp_path, "--tariff", "uk-flat-export-2024")
    assert "GBP/kWh bought" in output and "EUR" not in output
    bought = problem.tariff.import_price_per_kwh
    given = planned.power_kw[0] < 0
    assert given.any() and np.allclose(bought[given], UK_DAY_PER_KWH)  # never at 8.5 p


def test_plan_under_a_capacity_tariff_flattens_the_charge(tmp_path: Path) -> None:
    output, _, planned = run_plan(tmp_path, "--tariff", "be-flanders-capacity-2024")
    assert "capacity tariff 3.98 EUR/kW of the month's peak above 2.5 kW" in output
    assert planned.site_net_load_kw.max() < 4.0  # instead of 11.4 kW charging at once


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        (["--tariff", "nl-2030"], "--tariff", "is not a tariff preset"),
        (["--tariff", "nl-dynamic-2024", "--prices", "flat"], "--prices", "leave it out"),
        (
            ["--tariff", "nl-dynamic-2024", "--grid-fee-per-kwh", "0.1"],
            "--grid-fee-per-kwh",
            "leave it out",
        ),
        (["--tariff", "nl-dynamic-2024", "--date", "2030-01-16"], "--date", "day-ahead"),
    ],
)
def test_plan_refuses_a_bad_tariff_naming_the_option(
    tmp_path: Path, options: list[str], field: str, rule: str
) -> None:
    given = dict(zip(NIGHT[::2], NIGHT[1::2], strict=True))
    given.update(dict(zip(options[::2], options[1::2], strict=True)))
    result = runner.invoke(plan_app, [*sum(given.items(), ()), "-o", str(tmp_path / "p.json")])
    assert result.exit_code == 2, result.output
    assert field in result.output and rule in result.output, result.output
    assert not (tmp_path / "p.json").exists()


# --- voltpool tariff list|show ----------------------------------------------------------------


def test_tariff_list_and_show() -> None:
    listed = runner.invoke(tariff_app, ["list"])
    assert listed.exit_code == 0
    for name in tariff_presets():
        assert name in listed.output
    shown = runner.invoke(tariff_app, ["show", "nl-dynamic-2024"])
    assert shown.exit_code == 0
    section = "\n".join(line for line in shown.output.splitlines() if not line.startswith("#"))
    assert tomllib.loads(section) == {"tariff": {"preset": "nl-dynamic-2024"}}
    assert "# markup_per_kwh = 0.02    # may be overridden" in shown.output
    assert '# energy = "day_ahead"    # set by the preset' in shown.output
    refused = runner.invoke(tariff_app, ["show", "nope"])
    assert refused.exit_code == 2 and "is not a tariff preset" in refused.output
