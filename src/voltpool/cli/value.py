"""``voltpool value``: does V2G pay? One scenario under each tariff preset, V2G against smart
charging per car (:func:`voltpool.service.value.run`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from voltpool.cli.common import bad_input, console, or_refuse, shown, whole
from voltpool.cli.simulate import OutputDir, Replace, ScenarioArgument, SimulationDisplay
from voltpool.model.tariffs import tariff_presets
from voltpool.scenario.model import SIMULATOR_CURRENCY
from voltpool.service import value
from voltpool.service.run_folder import check_run_folder
from voltpool.service.value import ValueOutcome

DEFAULT_SCENARIO = "owner-year"
DAYS_MAX = 366


def value_table(outcome: ValueOutcome) -> Table:
    """One row per tariff: the per-car means a year, the peaks and the credits."""
    summary = outcome.summary()
    first = outcome.tariffs[0]
    table = Table(
        title=(
            f"Does V2G pay? {shown(outcome.scenario)}: {first.policy} against smart, mean per "
            f"car, a year ({first.outcome.scenario.days} days simulated, scaled to 365)"
        )
    )
    columns = {
        "v2g_export_kwh_per_year": ("V2G kWh", "{:,.0f}"),
        "saved_per_kwh": ("saved ct/kWh", "{:.1f}"),
        "saved_per_year": ("saved EUR", "{:,.0f}"),
        "battery_per_year": ("battery EUR", "{:,.0f}"),
        "battery_pct_capacity": ("capacity lost %", "{:.2f}"),
        "net_per_year": ("net EUR", "{:+,.0f}"),
        "peak_kw_smart": ("peak kW smart", "{:,.1f}"),
        "peak_kw_v2g": ("peak kW V2G", "{:,.1f}"),
        "credits_per_household": ("credits/home", "{:,.1f}"),
    }
    table.add_column("tariff")
    for label, _ in columns.values():
        table.add_column(label, justify="right")
    for preset, row in summary.iterrows():
        cells = []
        for key, (_, form) in columns.items():
            number = row[key] * (100 if key == "saved_per_kwh" else 1)
            cells.append("-" if number != number else form.format(number))  # NaN: no export
        table.add_row(str(preset), *cells)
    return table


def value_command(
    scenario: ScenarioArgument = DEFAULT_SCENARIO,
    tariffs: Annotated[
        list[str] | None,
        typer.Option(
            "--tariff",
            metavar="PRESET",
            help="A tariff preset (`voltpool tariff list`); repeat it. Default: every preset "
            f"in {SIMULATOR_CURRENCY}.",
        ),
    ] = None,
    days: Annotated[
        int | None,
        typer.Option(
            parser=whole("--days", 1, DAYS_MAX),
            metavar="DAYS",
            help="Simulate this many days from the scenario's start instead of its own period.",
        ),
    ] = None,
    output_dir: Annotated[Path, OutputDir] = Path("out/value"),
    replace: Annotated[bool, Replace] = False,
) -> None:
    """Does V2G pay? Each tariff, V2G against smart charging.

    Simulates the scenario under each tariff preset (a run per tariff in DIR/PRESET/) and
    prints, per car and year, what V2G saved, what it cost the battery and what is left.
    """
    presets = tariffs or [
        name for name, tariff in tariff_presets().items() if tariff.currency == SIMULATOR_CURRENCY
    ]
    or_refuse(lambda: check_run_folder(output_dir, "--output", replace))
    with bad_input(scenario), SimulationDisplay() as display:
        outcome = value.run(
            scenario,
            presets,
            output_dir,
            progress=lambda _preset: display,
            days=days,
            replace=replace,
            field="--output",
        )
    console.print(value_table(outcome))
    for tariff in outcome.tariffs:
        console.print(f"  {shown(tariff.verdict())}", highlight=False)
    console.print(
        f"per tariff: a complete run in {shown(output_dir)}/PRESET/ (report.html, battery "
        f"health, credits); the table: {shown(outcome.table)}",
        highlight=False,
    )
