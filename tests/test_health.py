"""Battery health per car, the wear-cost calibration and the battery CLI."""

from __future__ import annotations

import copy
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from voltpool.battery import CHEMISTRY_CELLS
from voltpool.battery.calibrate import STANDARD_COMMUTE, DrivingDay, calibrate
from voltpool.battery.health import health_report, repeat_to
from voltpool.cli import app
from voltpool.errors import ProblemError
from voltpool.scenario.model import BatterySpec

runner = CliRunner()


@pytest.mark.parametrize("chemistry", sorted(CHEMISTRY_CELLS))
def test_calibrated_costs_are_convex_and_positive(chemistry: str) -> None:
    fit = calibrate(CHEMISTRY_CELLS[chemistry], 120.0, 0.7, 20.0, 4)
    assert np.all(np.diff(fit.cycle_depth_cost_per_kwh) >= 0)
    assert np.all(fit.cycle_depth_cost_per_kwh > 0)
    slopes = np.diff(fit.dwell_cost_per_h_per_kwh) / np.diff(fit.dwell_soc)
    assert np.all(np.diff(slopes) >= -1e-15)
    assert np.all(fit.dwell_cost_per_h_per_kwh >= 0)
    # deeper V2G from the arrival SoC wears more per kWh given back
    assert np.all(np.diff(fit.v2g_cycling_cost_per_kwh) > 0)
    assert fit.warnings == ()


def test_calibration_scales_with_pack_value() -> None:
    cheap = calibrate(CHEMISTRY_CELLS["nmc"], 60.0)
    dear = calibrate(CHEMISTRY_CELLS["nmc"], 120.0)
    np.testing.assert_allclose(dear.cycle_depth_cost_per_kwh, 2 * cheap.cycle_depth_cost_per_kwh)
    np.testing.assert_allclose(dear.dwell_cost_per_h_per_kwh, 2 * cheap.dwell_cost_per_h_per_kwh)
    assert dear.throughput_cost_per_kwh == pytest.approx(2 * cheap.throughput_cost_per_kwh)


def test_standard_commute_days() -> None:
    day = STANDARD_COMMUTE
    base = day.soc(day.charging())
    assert (
        base.size == 96 and base.max() == pytest.approx(0.8) and base.min() == pytest.approx(0.55)
    )
    v2g = day.soc(day.giving_back(0.25))
    assert v2g.min() == pytest.approx(0.25) and v2g[0] == pytest.approx(0.8)
    plugged = day.plugged_soc(day.giving_back(0.0))  # 5.5 h down, 8 h back: the whole plug-in
    assert plugged[0] == pytest.approx(0.55) and plugged[-1] == pytest.approx(0.8)
    assert np.abs(np.diff(plugged)).max() <= 0.1 * 0.25 + 1e-12  # never faster than 0.1 C
    dwell = day.plugged_soc(day.dwelling(1.0))
    assert (dwell == 1.0).sum() == 4  # one hour at 15-minute steps
    with pytest.raises(ProblemError, match="charge_start_hour"):
        DrivingDay(charge_start_hour=19.0)


def test_repeat_to_joins_without_a_jump() -> None:
    soc = np.array([[0.5, 0.6, 0.7, 0.8]])
    _time, tiled = repeat_to(soc, 1.0, 1.0 / 365)  # one day of 1 h slots
    assert tiled.shape[1] == 25
    assert np.abs(np.diff(tiled)).max() < 0.1 + 1e-12


def test_v2g_cycling_costs_capacity_against_the_counterfactual() -> None:
    days = 7
    base = np.tile(np.where(np.arange(96) < 30, 0.5, 0.8), days)
    v2g = base.copy()
    evening = np.tile((np.arange(96) >= 72) & (np.arange(96) < 84), days)
    v2g[evening] -= 0.3
    soc = {
        "smart": np.vstack([base, base])[:, np.r_[np.arange(base.size), base.size - 1]],
        "v2g": np.vstack([v2g, base])[:, np.r_[np.arange(base.size), base.size - 1]],
    }
    energy = {"smart": np.zeros(2), "v2g": np.array([0.3 * 60 * days, 0.0])}
    report = health_report(
        soc,
        energy,
        0.25,
        ("a", "b"),
        np.array(["nmc", "lfp"]),
        np.array([60.0, 60.0]),
        BatterySpec(),
    )
    cars = report.per_car().set_index(["policy", "vehicle_id"])
    assert cars.loc[("v2g", "a"), "extra_fade_kwh"] > 0
    assert cars.loc[("v2g", "b"), "extra_fade_kwh"] == pytest.approx(0.0, abs=1e-12)
    per_kwh = cars.loc[("v2g", "a"), "extra_fade_eur_per_v2g_kwh"]
    assert 0.001 < per_kwh < 0.5
    assert cars.loc[("v2g", "a"), "fade_cycling_pct"] > cars.loc[("smart", "a"), "fade_cycling_pct"]
    summary = report.summary()
    assert summary.at["extra_fade_eur_total", "smart"] == 0.0


def small_scenario(tmp_path: Path) -> Path:
    text = resources.files("voltpool.scenario").joinpath("builtin/neighbourhood.toml").read_text()
    document = copy.deepcopy(tomllib.loads(text))
    path = tmp_path / "small.toml"
    # The outage and V2V events name homes and cars of the full neighbourhood: keep the rest.
    text = text.split("\n# Homes ride through outages")[0]
    lines = text.replace("days = 7", "days = 2").replace("count = 60", "count = 8")
    lines = lines.replace("count = 40", "count = 5").replace(
        "import_limit_kw = 250.0", "import_limit_kw = 60.0"
    )
    lines = lines.replace("import_limit_kw = 55.0", "import_limit_kw = 30.0")
    path.write_text(lines)
    assert document["days"] == 7
    return path


def test_simulate_then_battery_report_from_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["simulate", str(small_scenario(tmp_path)), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Battery health" in result.output
    in_process = pd.read_csv(out / "battery_health.csv")
    (out / "battery_health.csv").unlink()
    report = runner.invoke(app, ["battery", "report", str(out)])
    assert report.exit_code == 0, report.output
    from_folder = pd.read_csv(out / "battery_health.csv")
    pd.testing.assert_frame_equal(in_process, from_folder, rtol=1e-9)
    html = (out / "report.html").read_text()
    assert "Battery health" in html and "voltpool-figure-health" in html


def test_battery_report_names_what_is_missing(tmp_path: Path) -> None:
    result = runner.invoke(app, ["battery", "report", str(tmp_path)])
    assert result.exit_code == 2
    assert "scenario.toml is missing" in result.output


def test_calibrate_cli(tmp_path: Path) -> None:
    result = runner.invoke(app, ["battery", "calibrate", "--cell", "lfp", "--pack-value", "100"])
    assert result.exit_code == 0, result.output
    assert "cycle_depth_cost_per_kwh" in result.output
    bad = runner.invoke(app, ["battery", "calibrate", "--cell", "lead", "--pack-value", "100"])
    assert bad.exit_code == 2 and "--cell" in bad.output
