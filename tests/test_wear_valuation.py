"""The LP books the wear the health report shows: one valuation, marginal over the car's life.

The independent check (docs/battery.md, "One valuation of wear"): a car on the standard commute
(leave 07:30 at 80 %, drive 25 %, home 18:00 at 55 %) gives back 30 % of its capacity every
evening for 8 years at 20 °C. The LP, with the calibrated battery block, is *solved* for the
plug-in with and without that discharge (an export price spike makes it worthwhile); its booked
wear per kWh exported (the difference of its wear terms) must equal the health report's extra
wear per kWh exported (BLAST-Lite's cells on the day made of the drive and the LP's own SoC,
repeated for 8 years, valued the same way) within 20 %.
"""

from __future__ import annotations

import copy
import tomllib
from importlib import resources

import numpy as np
import pytest
from typer.testing import CliRunner

from voltpool.battery import CHEMISTRY_CELLS
from voltpool.battery.calibrate import calibrate, convex_minimax_fit, pool_adjacent_violators
from voltpool.battery.cells import temperature_warning
from voltpool.battery.health import health_report
from voltpool.battery.valuation import value_per_fade_per_kwh
from voltpool.cli import app
from voltpool.errors import ProblemError
from voltpool.model import Fleet, Problem, Site, Tariff
from voltpool.scenario import scenario_from_dict
from voltpool.scenario.model import BatterySpec
from voltpool.schedule import schedule
from voltpool.simulate import build_world

CAPACITY_KWH = 60.0
PACK_VALUE_PER_KWH = 120.0
TEMPERATURE_C = 20.0
YEARS = 8.0
SLOT_H = 0.25
PLUGGED_SLOTS = 54
"""18:00 to 07:30 in 15-minute slots."""
DRIVE_KNOTS = [(0.0, 0.8), (0.75, 0.675), (9.75, 0.675), (10.5, 0.55)]
"""Hours after leaving at 07:30, SoC: two trips of 12.5 %, home at 18:00 at 55 %."""
WEAR_TERMS = ("degradation_cost", "cycle_depth_cost", "soc_dwell_cost", "charge_rate_cost")
TOLERANCE = 0.20
"""The done criterion: the LP's booked wear within 20 % of the report's."""


def plug_in(block: dict[str, object], discharge_kw: float) -> Problem:
    """The evening plug-in: arrive at 55 %, leave at 80 %, at most 0.1 C either way, and an
    export price of 1 EUR/kWh 18:00-21:00 (0.20 EUR/kWh to import at night)."""
    hours = 18.0 + np.arange(PLUGGED_SLOTS) * SLOT_H
    evening = hours < 21.0
    vehicle = {
        "id": "car",
        "capacity_kwh": CAPACITY_KWH,
        "soc_initial": 0.55,
        "soc_min": 0.25,
        "soc_max": 1.0,
        "soc_target": 0.8,
        "arrival_slot": 0,
        "departure_slot": PLUGGED_SLOTS,
        "max_charge_kw": 0.1 * CAPACITY_KWH,
        "max_discharge_kw": discharge_kw,
        "charge_efficiency": 1.0,
        "discharge_efficiency": 1.0,
        "degradation_cost_per_kwh": 0.0,
        "battery": block,
    }
    return Problem(
        fleet=Fleet.from_records([vehicle]),
        site=Site(np.zeros(PLUGGED_SLOTS), np.inf, np.inf),
        tariff=Tariff(np.where(evening, 1.0, 0.2), np.where(evening, 1.0, 0.0)),
        slot_minutes=15,
        unmet_penalty_per_kwh=100.0,
    )


def one_day(plugged_soc: np.ndarray) -> np.ndarray:
    """The day [97 slot edges] from 07:30: the drive, then the LP's SoC until 07:30 again."""
    hours = np.arange(42) * SLOT_H
    drive = np.interp(hours, *zip(*DRIVE_KNOTS, strict=True))
    return np.concatenate([drive, plugged_soc])


@pytest.fixture(scope="module", params=sorted(CHEMISTRY_CELLS))
def solved(request) -> dict[str, object]:
    chemistry = request.param
    fit = calibrate(chemistry, PACK_VALUE_PER_KWH, 0.7, TEMPERATURE_C, 4, horizon_years=YEARS)
    block = fit.battery_block(CAPACITY_KWH)
    runs = {
        "smart": schedule(plug_in(block, 0.0), "lp"),
        "v2g": schedule(plug_in(block, 0.1 * CAPACITY_KWH), "lp"),
    }
    exported_kwh = runs["v2g"].discharged_kwh
    booked = sum(
        runs["v2g"].objective_terms[t] - runs["smart"].objective_terms[t] for t in WEAR_TERMS
    )
    report = health_report(
        {name: one_day(run.soc[0])[None, :] for name, run in runs.items()},
        {"smart": np.zeros(1), "v2g": np.array([exported_kwh])},
        SLOT_H,
        ("car",),
        np.array([chemistry]),
        np.array([CAPACITY_KWH]),
        BatterySpec(temperature_c=TEMPERATURE_C, warranty_years=YEARS),
    )
    return {
        "chemistry": chemistry,
        "fit": fit,
        "runs": runs,
        "exported_kwh": exported_kwh,
        "lp_per_kwh": booked / exported_kwh,
        "report_per_kwh": report.summary().at["extra_fade_eur_per_v2g_kwh", "v2g"],
    }


def test_the_lp_books_the_wear_the_health_report_shows(solved) -> None:
    # the price spike forces the full 30 % discharge, 18:00-21:00
    assert solved["exported_kwh"] == pytest.approx(0.3 * CAPACITY_KWH, rel=1e-6)
    report, lp = solved["report_per_kwh"], solved["lp_per_kwh"]
    assert report > 0
    assert abs(lp - report) <= TOLERANCE * report, (solved["chemistry"], lp, report)


def test_the_printed_v2g_cost_is_what_the_lp_books(solved) -> None:
    """``throughput_cost_per_kwh`` (30 % from the arrival SoC) is the LP's own bookkeeping."""
    fit = solved["fit"]
    assert fit.throughput_cost_per_kwh == pytest.approx(solved["lp_per_kwh"], rel=0.05)
    assert fit.throughput_cost_per_kwh == pytest.approx(fit.typical_model_cost_per_kwh, rel=0.05)


@pytest.mark.parametrize("temperature_c", [10.0, 20.0, 30.0, 40.0])
@pytest.mark.parametrize("chemistry", sorted(CHEMISTRY_CELLS))
def test_fits_are_convex_with_bounded_error(chemistry: str, temperature_c: float) -> None:
    """Cycle-depth costs non-decreasing; the dwell rate convex and never negative, within 10 %
    of the model's spread at every breakpoint; the cycle-depth cost of V2G down to every band
    edge within 10 % of the model's (docs/battery.md: measured at most 7.7 % and 6.1 %)."""
    fit = calibrate(chemistry, PACK_VALUE_PER_KWH, 0.7, temperature_c, 4, horizon_years=YEARS)
    assert np.all(np.diff(fit.cycle_depth_cost_per_kwh) >= 0)
    assert np.all(fit.cycle_depth_cost_per_kwh > 0)
    dwell = fit.dwell_cost_per_h_per_kwh
    assert np.all(dwell >= 0) and np.all(fit.dwell_measured_per_h_per_kwh >= 0)
    slopes = np.diff(dwell) / np.diff(fit.dwell_soc)
    assert np.all(np.diff(slopes) >= -1e-12 * np.abs(slopes).max())
    assert fit.dwell_fit_error <= 0.10
    assert fit.cycle_fit_error <= 0.10
    assert np.all(np.diff(fit.rate_cost_per_kwh) >= 0) and fit.rate_cost_per_kwh[0] == 0


def test_one_valuation_for_the_lp_and_the_report() -> None:
    capacity = value_per_fade_per_kwh(120.0, 0.7)
    replacement = value_per_fade_per_kwh(120.0, 0.7, "replacement")
    assert capacity == 120.0 and replacement == pytest.approx(400.0)
    by_capacity = calibrate("nmc", 120.0, 0.7, TEMPERATURE_C, 4)
    by_replacement = calibrate("nmc", 120.0, 0.7, TEMPERATURE_C, 4, valuation="replacement")
    np.testing.assert_allclose(
        by_replacement.cycle_depth_cost_per_kwh, by_capacity.cycle_depth_cost_per_kwh / 0.3
    )
    with pytest.raises(ProblemError, match="valuation"):
        value_per_fade_per_kwh(120.0, 0.7, "resale")
    flat = {"smart": np.full((1, 97), 0.5)}
    args = (flat, {"smart": np.zeros(1)}, SLOT_H, ("car",), np.array(["nmc"]), np.array([60.0]))
    assert health_report(*args, BatterySpec()).value_per_fade_per_kwh == capacity
    report = health_report(*args, BatterySpec(), valuation="replacement")
    assert report.value_per_fade_per_kwh == replacement


def test_an_older_car_wears_less_per_kwh() -> None:
    """Power laws in time and EFC: the same V2G costs less on a car that has aged 8 years."""
    new = calibrate("nmc", 120.0, 0.7, TEMPERATURE_C, 4)
    old = calibrate("nmc", 120.0, 0.7, TEMPERATURE_C, 4, age_years=8.0)
    assert old.typical_model_cost_per_kwh < new.typical_model_cost_per_kwh
    assert old.throughput_cost_per_kwh < new.throughput_cost_per_kwh


def test_isotonic_and_convex_fits() -> None:
    pooled = pool_adjacent_violators(np.array([1.0, 3.0, 2.0, 4.0]), np.array([1.0, 1.0, 3.0, 1.0]))
    np.testing.assert_allclose(pooled, [1.0, 2.25, 2.25, 4.0])
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    convex = x**2
    np.testing.assert_allclose(convex_minimax_fit(x, convex), convex, atol=1e-9)
    concave = np.sqrt(x)  # the best convex fit is a line, half the chord's worst gap off
    fit = convex_minimax_fit(x, concave)
    assert np.all(fit >= 0) and np.all(np.diff(fit, 2) >= -1e-9)
    assert np.abs(fit - concave).max() == pytest.approx(0.125, abs=1e-6)


@pytest.mark.parametrize("chemistry", sorted(CHEMISTRY_CELLS))
def test_temperature_warning_outside_the_fitted_range(chemistry: str) -> None:
    assert temperature_warning(chemistry, 20.0) is None
    warning = temperature_warning(chemistry, 5.0)
    assert warning is not None and "5 °C" in warning and chemistry in warning
    low, high = (float(x) for x in warning.split(" °C it was fitted")[0].split()[-1].split("-"))
    assert low > 5.0 and high > low
    assert calibrate(chemistry, 120.0, 0.7, 5.0, 4).warnings == (warning,)
    assert calibrate(chemistry, 120.0, 0.7, 20.0, 4).warnings == ()


def test_calibrate_cli_warns_at_5_degrees() -> None:
    runner = CliRunner()
    cold = runner.invoke(
        app,
        ["battery", "calibrate", "--cell", "nca", "--pack-value", "120", "--temperature-c", "5"],
    )
    assert cold.exit_code == 0, cold.output
    said = " ".join(cold.output.split())
    assert (
        "warning: NCA-Gr Panasonic 18650B (nca)" in said and "5 °C is outside the 15-35 °C" in said
    )
    mild = runner.invoke(app, ["battery", "calibrate", "--cell", "nca", "--pack-value", "120"])
    assert mild.exit_code == 0, mild.output
    assert "warning" not in mild.output


def test_health_report_warns_outside_the_range() -> None:
    soc = np.full((1, 97), 0.5)
    report = health_report(
        {"smart": soc},
        {"smart": np.zeros(1)},
        SLOT_H,
        ("car",),
        np.array(["lfp"]),
        np.array([CAPACITY_KWH]),
        BatterySpec(temperature_c=5.0),
    )
    assert len(report.warnings) == 1 and "LFP" in report.warnings[0]
    assert (
        health_report(
            {"smart": soc},
            {"smart": np.zeros(1)},
            SLOT_H,
            ("car",),
            np.array(["lfp"]),
            np.array([CAPACITY_KWH]),
            BatterySpec(temperature_c=20.0),
        ).warnings
        == ()
    )


@pytest.mark.parametrize(("temperature_c", "noted"), [(5.0, True), (20.0, False)])
def test_the_world_notes_a_temperature_outside_a_cells_range(
    temperature_c: float, noted: bool
) -> None:
    text = resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
    document = copy.deepcopy(tomllib.loads(text))
    document.update(days=1, events=[])
    document["homes"]["count"] = 4
    document["vehicles"]["count"] = 6
    document.setdefault("battery", {})["temperature_c"] = temperature_c
    world = build_world(scenario_from_dict(document))
    notes = [n for n in world.notes if "ageing model" in n]
    expected = {temperature_warning(c, temperature_c) for c in world.chemistry} - {None}
    assert set(notes) == expected and bool(notes) == noted
