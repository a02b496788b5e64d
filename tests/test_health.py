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
from voltpool.battery.calibrate import calibrate, daily_cycle_soc, lower_convex_envelope
from voltpool.battery.health import health_report, repeat_to
from voltpool.cli import app
from voltpool.scenario.model import BatterySpec

runner = CliRunner()


@pytest.mark.parametrize("chemistry", sorted(CHEMISTRY_CELLS))
def test_calibrated_costs_are_convex_and_positive(chemistry: str) -> None:
    fit = calibrate(CHEMISTRY_CELLS[chemistry], 120.0, 0.7, 20.0, 4)
    assert fit.wohler_b >= 1.0 and fit.wohler_a > 0
    assert np.all(np.diff(fit.cycle_depth_cost_per_kwh) >= -1e-15)
    assert np.all(fit.cycle_depth_cost_per_kwh > 0)
    slopes = np.diff(fit.dwell_cost_per_h_per_kwh) / np.diff(fit.dwell_soc)
    assert np.all(np.diff(slopes) >= -1e-15)
    # the envelope never over-charges what the ageing model says
    assert np.all(fit.dwell_cost_per_h_per_kwh <= fit.dwell_measured_per_h_per_kwh + 1e-15)
    # phi grows with depth: deeper daily cycles wear more
    assert np.all(np.diff(fit.phi_measured) > 0)


def test_calibration_scales_with_pack_value() -> None:
    cheap = calibrate(CHEMISTRY_CELLS["nmc"], 60.0)
    dear = calibrate(CHEMISTRY_CELLS["nmc"], 120.0)
    np.testing.assert_allclose(dear.cycle_depth_cost_per_kwh, 2 * cheap.cycle_depth_cost_per_kwh)
    assert dear.throughput_cost_per_kwh == pytest.approx(2 * cheap.throughput_cost_per_kwh)


def test_daily_cycle_has_the_asked_depth() -> None:
    soc = daily_cycle_soc(0.3, 2)
    assert soc.max() - soc.min() == pytest.approx(0.3)
    assert soc.mean() == pytest.approx(np.mean(soc[:96]))


def test_lower_convex_envelope() -> None:
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    y = np.array([0.0, 2.0, 1.0, 1.5, 4.0])
    envelope = lower_convex_envelope(x, y)
    assert np.all(envelope <= y + 1e-12)
    assert np.all(np.diff(np.diff(envelope)) >= -1e-12)
    assert envelope[0] == 0.0 and envelope[-1] == 4.0


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
