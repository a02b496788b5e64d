"""Reports: the terminal table, CSV time series that read back, and one offline HTML file."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from synthetic_runs import POLICIES, make_result
from voltpool.report import (
    format_metric,
    soc_cars,
    write_html_report,
    write_timeseries,
)
from voltpool.report import timeseries as timeseries_module
from voltpool.report.terminal import comparison_table
from voltpool.simulate.metrics import METRIC_KEYS, METRIC_LABELS, compare, policy_metrics


@pytest.fixture(scope="module")
def result():
    return make_result(seed=11)


@pytest.fixture(scope="module")
def html_text(result, tmp_path_factory) -> str:
    path = write_html_report(result, tmp_path_factory.mktemp("html") / "report.html")
    assert path.is_file()
    return path.read_text(encoding="utf-8")


def test_terminal_table_lists_every_metric_and_policy(result) -> None:
    table = comparison_table(result)
    assert [str(c.header) for c in table.columns] == ["Metric", *POLICIES]
    assert table.row_count == len(METRIC_KEYS)
    console = Console(record=True, width=160, color_system=None)
    console.print(table)
    text = console.export_text()
    assert "Synthetic street" in text
    for label in METRIC_LABELS.values():
        assert label in text  # round brackets survive Rich markup
    peak = policy_metrics(result.runs["v2g"])["transformer_peak_kw"]
    assert format_metric("transformer_peak_kw", peak) in text


def test_formatting_follows_units() -> None:
    assert format_metric("energy_cost_eur", 12.3456) == "12.35"
    assert format_metric("departures_count", 6.0) == "6"
    assert format_metric("solver_time_s_mean", float("nan")) == "n/a"
    assert format_metric("car_balance_residual_kwh_max", 3.5e-15) == "3.5e-15"


def test_csv_files_read_back_and_match_the_metrics(result, tmp_path: Path) -> None:
    paths = write_timeseries(result, tmp_path)
    assert all(p.is_file() for p in paths)
    assert tmp_path / "metrics.csv" in paths
    metrics = pd.read_csv(tmp_path / "metrics.csv", index_col="metric")
    pd.testing.assert_frame_equal(metrics, compare(result), check_names=False)
    for policy, run in result.runs.items():
        expected = policy_metrics(run)
        site = pd.read_csv(tmp_path / f"timeseries_{policy}.csv", index_col="time_utc")
        times = pd.DatetimeIndex(pd.to_datetime(site.index, utc=True))
        assert times.equals(run.index)
        net = site["site_net_load_kw"].to_numpy()
        cost = run.dt_h * (
            site["import_price_per_kwh"].to_numpy() @ np.maximum(net, 0)
            - site["export_price_per_kwh"].to_numpy() @ np.maximum(-net, 0)
        )
        assert cost == pytest.approx(expected["energy_cost_eur"], rel=1e-12)
        assert net.max() == pytest.approx(expected["transformer_peak_kw"], rel=1e-12)
        np.testing.assert_allclose(net, site["base_load_kw"] + site["vehicle_power_kw"])

        vehicles = pd.read_csv(tmp_path / f"vehicles_{policy}.csv")
        assert len(vehicles) == run.power_kw.size
        power = vehicles["power_kw"].to_numpy()
        assert run.dt_h * power.clip(min=0).sum() == pytest.approx(expected["energy_charged_kwh"])
        assert run.dt_h * (-power).clip(min=0).sum() == pytest.approx(expected["v2g_export_kwh"])
        assert vehicles["driving_kwh"].sum() == pytest.approx(expected["energy_driven_kwh"])
        last = vehicles.groupby("vehicle_id", sort=False)["soc_end"].last()
        np.testing.assert_allclose(last.to_numpy(), run.soc[:, -1])

        per_car = pd.read_csv(tmp_path / f"per_car_{policy}.csv", index_col="vehicle_id")
        assert per_car["cost_eur"].mean() == pytest.approx(expected["car_cost_eur_mean"])


def test_large_vehicle_files_are_gzipped(result, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(timeseries_module, "GZIP_ROWS", 10)
    paths = write_timeseries(result, tmp_path)
    gz = tmp_path / "vehicles_v2g.csv.gz"
    assert gz in paths
    with gzip.open(gz, "rt") as handle:
        assert handle.readline().startswith("time_utc,vehicle_id,")
    vehicles = pd.read_csv(gz)
    assert len(vehicles) == result.runs["v2g"].power_kw.size
    first_bytes = gz.read_bytes()
    write_timeseries(result, tmp_path)
    assert gz.read_bytes() == first_bytes  # reproducible bytes


def test_policy_names_that_clash_as_file_names_are_refused(result, tmp_path: Path) -> None:
    runs = {"a/b": result.runs["v2g"], "a b": result.runs["smart"]}
    clash = type(result)(result.scenario_name, result.description, result.seed, runs)
    with pytest.raises(ValueError, match="clashing"):
        write_timeseries(clash, tmp_path)


def test_html_is_self_contained(html_text: str) -> None:
    assert len(html_text) > 1_000_000  # plotly.js itself is inlined
    assert re.search(r"plotly\.js v\d", html_text)
    assert not re.search(r"<script[^>]*\ssrc\s*=", html_text, flags=re.IGNORECASE)
    assert not re.search(r"<link[^>]*href\s*=\s*[\"']?https?:", html_text, flags=re.IGNORECASE)
    assert html_text.count("Plotly.newPlot") == 5  # load, SoC, one car, value, peak and cost
    assert len(html_text) < 8_000_000


def test_html_names_the_scenario_and_every_policy(result, html_text: str) -> None:
    assert "<h1>Synthetic street</h1>" in html_text
    assert result.description in html_text
    assert f"<dd>{result.seed}</dd>" in html_text
    assert "2024-03-04 00:00 to 2024-03-06 00:00 UTC" in html_text
    for policy in POLICIES:
        assert re.search(
            f'<th scope="col">(<span class="swatch"[^>]*></span>)?{policy}</th>', html_text
        )
    for label in METRIC_LABELS.values():
        assert label in html_text
    v2g_cost = policy_metrics(result.runs["v2g"])["energy_cost_eur"]
    assert f"<td>{format_metric('energy_cost_eur', v2g_cost)}</td>" in html_text


def test_soc_cars_are_the_biggest_v2g_contributors(result) -> None:
    exported = sum(np.clip(-run.power_kw, 0, None).sum(axis=1) for run in result.runs.values())
    chosen = soc_cars(result, count=2)
    assert chosen == list(np.argsort(-exported, kind="stable")[:2])
    assert soc_cars(result) == soc_cars(result)
    assert sorted(soc_cars(result, count=10)) == [0, 1, 2]


def test_html_with_a_single_policy(result, tmp_path: Path) -> None:
    single = type(result)("Only one", "", 3, {"smart": result.runs["smart"]})
    text = write_html_report(single, tmp_path / "nested" / "one.html").read_text(encoding="utf-8")
    assert "nothing to compare" in text


def test_empty_results_are_refused(tmp_path: Path) -> None:
    empty = type(make_result())("Empty", "", 0, {})
    with pytest.raises(ValueError, match=r"result\.runs"):
        write_html_report(empty, tmp_path / "x.html")
    with pytest.raises(ValueError, match=r"result\.runs"):
        write_timeseries(empty, tmp_path)


def test_parquet_copies_when_pyarrow_is_installed(result, tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    paths = write_timeseries(result, tmp_path)
    assert tmp_path / "timeseries_v2g.parquet" in paths
    site = pd.read_parquet(tmp_path / "timeseries_v2g.parquet")
    assert site.index.equals(result.runs["v2g"].index)
    vehicles = pd.read_parquet(tmp_path / "vehicles_v2g.parquet")
    assert len(vehicles) == result.runs["v2g"].power_kw.size


def test_time_axes_are_the_scenarios_local_time_named_with_its_zone(result, tmp_path: Path) -> None:
    """Charts show the clocks of the neighbourhood (plotly has no zones: the axis names it);
    the first slot is plotted at its local wall time, and the away bands too."""
    import re

    import pandas as pd

    zone = "Europe/Amsterdam"
    text = write_html_report(result, tmp_path / "local.html", timezone=zone).read_text("utf-8")
    text = text.replace("\\u002f", "/")  # plotly's JSON writes / as \u002f
    assert f"Local time ({zone})" in text and "Time (UTC)" not in text
    first = next(iter(result.runs.values()))
    local = pd.Timestamp(first.index[0]).tz_convert(zone).tz_localize(None)
    firsts = [pd.Timestamp(x) for x in re.findall(r'"x":\["(20[0-9T:. -]+)"', text)]
    assert firsts and local in firsts
    utc = pd.Timestamp(first.index[0]).tz_convert("UTC").tz_localize(None)
    assert local != utc and utc not in firsts


def test_series_written_as_runs_arrive_are_the_files_written_at_the_end(
    result, tmp_path: Path
) -> None:
    """The simulator's ``on_run`` writes each policy's series as its run is back; the folder
    then holds the same files, byte for byte and in the same list, as one write at the end."""
    series = timeseries_module.SeriesWriter(tmp_path / "early", list(result.runs))
    for name, run in result.runs.items():
        series(name, run)
    early = write_timeseries(result, tmp_path / "early", series.written)
    late = write_timeseries(result, tmp_path / "late")
    assert [p.name for p in early] == [p.name for p in late]
    assert set(series.written) == set(result.runs)
    for a, b in zip(early, late, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
