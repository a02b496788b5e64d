"""Does V2G pay? The owner-year scenario under two tariffs, shortened to two days: each tariff a
complete run, the table recomputed from the runs' own figures, bad input refused up front."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from voltpool.cli import app
from voltpool.errors import ProblemError
from voltpool.service import value
from voltpool.simulate.metrics import compare

PRESETS = ["day-ahead-plus-fee", "be-flanders-capacity-2024"]


@pytest.fixture(scope="module")
def valued(tmp_path_factory: pytest.TempPathFactory) -> value.ValueOutcome:
    out = tmp_path_factory.mktemp("value") / "out"
    return value.run("owner-year", PRESETS, out, days=2)


def test_each_tariff_is_a_complete_run_of_its_preset(valued: value.ValueOutcome) -> None:
    out = valued.output_dir
    assert sorted(p.name for p in out.iterdir()) == sorted([*PRESETS, "run.json", "value.csv"])
    for tariff in valued.tariffs:
        copied = (out / tariff.preset / "scenario.toml").read_text()
        assert f'preset = "{tariff.preset}"' in copied and "\ndays = 2" in copied
        assert copied.split("\n", 1)[0].endswith(
            f"built-in scenario 'owner-year', tariff {tariff.preset}"
        )
        assert (
            tariff.outcome.report.is_file() and tariff.outcome.report.parent == out / tariff.preset
        )
        assert tariff.outcome.scenario.days == 2


def test_the_table_is_the_runs_own_figures(valued: value.ValueOutcome) -> None:
    table = pd.read_csv(valued.table, index_col=0)
    assert list(table.index) == PRESETS
    for tariff in valued.tariffs:
        metrics = compare(tariff.outcome.result)
        money = metrics.loc["energy_cost_eur"] + metrics.loc["peak_cost_eur"]
        n_cars = len(tariff.per_car)
        saved = (money["smart"] - money["v2g-wear"]) / n_cars * 365 / 2
        np.testing.assert_allclose(tariff.per_car["saved_per_year"], saved)
        np.testing.assert_allclose(
            tariff.per_car["net_per_year"],
            tariff.per_car["saved_per_year"] - tariff.per_car["battery_per_year"],
        )
        health = tariff.outcome.health.per_car()
        wear = health[health["policy"] == "v2g-wear"].set_index("vehicle_id")["extra_fade_eur"]
        np.testing.assert_allclose(
            tariff.per_car["battery_per_year"], wear.reindex(tariff.per_car.index) / 8.0
        )
        assert table.loc[tariff.preset, "net_per_year"] == pytest.approx(
            tariff.mean["net_per_year"]
        )
        assert tariff.verdict().startswith(tariff.preset)
    flanders = valued.tariffs[1].outcome.result.runs["smart"]
    assert flanders.peak_billing is not None  # the capacity tariff bills the month's peak


def test_the_tariff_table_is_replaced_whole() -> None:
    text = (
        'name = "x"\n\n[tariff]  # prices\nnetwork_fee_per_kwh = 0.12  # see [docs]\n'
        "peak_price_per_kw = 1.0\n\n[battery]\ntemperature_c = 15.0\n"
    )
    replaced = value.with_tariff(text, "nl-dynamic-2024", days=3)
    assert replaced.startswith('days = 3\nname = "x"')
    assert "network_fee_per_kwh" not in replaced and "peak_price_per_kw" not in replaced
    assert "[battery]\ntemperature_c = 15.0" in replaced
    assert replaced.endswith('[tariff]\npreset = "nl-dynamic-2024"\n')


def test_bad_input_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(ProblemError) as raised:
        value.run("owner-year", ["nl-gratis"], out, days=2)
    assert raised.value.issues[0].field == "--tariff"
    with pytest.raises(ProblemError) as raised:
        value.run("neighbourhood", ["nl-dynamic-2024", "nl-dynamic-2024"], out, days=2)
    assert [issue.field for issue in raised.value.issues] == ["--tariff"]
    with pytest.raises(ProblemError) as raised:  # refused before the first tariff's run
        value.run("owner-year", ["nl-dynamic-2024", "uk-flat-export-2024"], out, days=2)
    assert "GBP" in raised.value.issues[0].rule
    assert not out.exists()
    result = CliRunner().invoke(app, ["value", "--tariff", "nl-gratis", "-o", str(out)])
    assert result.exit_code == 2 and "--tariff" in result.output and not out.exists()


def test_the_command_prints_the_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["value", "--tariff", "nl-dynamic-2024", "--days", "1", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Does V2G pay?" in result.output and "nl-dynamic-2024: " in result.output
    assert (out / "value.csv").is_file()
