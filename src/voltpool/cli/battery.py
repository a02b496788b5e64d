"""``voltpool battery ...``: ageing models, wear costs for the optimizer, health of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from voltpool import gate
from voltpool.battery import CELLS, CHEMISTRY_CELLS
from voltpool.battery.calibrate import WearCoefficients, calibrate
from voltpool.battery.valuation import DEFAULT_VALUATION, VALUATIONS
from voltpool.cli.common import (
    COMMAND_LINE,
    bad_input,
    bounded_text,
    check_output,
    console,
    decimal,
    path_text,
    refuse,
    whole,
)
from voltpool.errors import FieldIssue
from voltpool.report.health import write_health_csv
from voltpool.report.outputs import health_from_output
from voltpool.report.terminal import health_table

battery_app = typer.Typer(
    help="Battery health: ageing models and wear costs.", no_args_is_help=True
)
TEMPERATURE_C_RANGE = (-40.0, 80.0)
"""Cell temperatures the ageing models are asked about; outside a cell's fitted range
(``temperature_range_c``, 10-60 °C at the widest) calibrate warns."""
CAPACITY_KWH_RANGE = (0.1, 10_000.0)
YEARS_RANGE = (0.1, 30.0)


@battery_app.command("calibrate")
def calibrate_command(
    cell: Annotated[
        str,
        typer.Option(
            parser=bounded_text("--cell"),
            metavar="CELL",
            help="Cell model or chemistry (nmc, lfp, nca).",
        ),
    ],
    pack_value: Annotated[
        float,
        typer.Option(
            parser=decimal("--pack-value"),
            metavar="EUR",
            help="Value of a kWh of pack capacity, EUR.",
        ),
    ],
    end_of_life: Annotated[
        float,
        typer.Option(
            parser=decimal("--end-of-life"),
            metavar="FRACTION",
            help="Capacity at which the pack is used up (the replacement valuation).",
        ),
    ] = 0.7,
    temperature_c: Annotated[
        float,
        typer.Option(
            parser=decimal("--temperature-c", *TEMPERATURE_C_RANGE),
            metavar="DEGREES",
            help="Cell temperature, degrees C.",
        ),
    ] = 20.0,
    segments: Annotated[
        int,
        typer.Option(parser=whole("--segments", 1, 10), metavar="INTEGER", help="Depth segments."),
    ] = 4,
    capacity_kwh: Annotated[
        float,
        typer.Option(
            parser=decimal("--capacity-kwh", *CAPACITY_KWH_RANGE),
            metavar="KWH",
            help="Pack size for the battery block.",
        ),
    ] = 60.0,
    valuation: Annotated[
        str,
        typer.Option(
            parser=bounded_text("--valuation"),
            metavar="VALUATION",
            help="capacity: a kWh of capacity lost costs the pack value per kWh (as the health "
            "report); replacement: the pack value spread over the fade to end of life.",
        ),
    ] = DEFAULT_VALUATION,
    horizon_years: Annotated[
        float,
        typer.Option(
            parser=decimal("--horizon-years", *YEARS_RANGE),
            metavar="YEARS",
            help="Years the costs are the margin over (the warranty).",
        ),
    ] = 8.0,
    age_years: Annotated[
        float,
        typer.Option(
            parser=decimal("--age-years", 0.0, YEARS_RANGE[1]),
            metavar="YEARS",
            help="Age of the car, years of the same daily use before (0: new).",
        ),
    ] = 0.0,
) -> None:
    """Fit the LP's wear costs to a cell ageing model.

    Cycle-depth, SoC-dwell and charge-rate costs: the model's extra fade of a little more use
    on top of a daily commute, over the horizon, valued as the health report values it; printed
    with what the LP books for a V2G discharge against what the model says, and as a battery
    block for problem format v1.
    """
    name = CHEMISTRY_CELLS.get(cell.lower(), cell)
    issues = []
    if name not in CELLS:
        names = ", ".join(sorted(CHEMISTRY_CELLS) + sorted(CELLS))
        issues.append(FieldIssue("--cell", f"{gate.quote(cell)} is not one of {names}"))
    if not 0 < end_of_life < 1:
        issues.append(FieldIssue("--end-of-life", f"{end_of_life:g} must be in (0, 1)"))
    if pack_value < 0:
        issues.append(FieldIssue("--pack-value", f"{pack_value:g} must be >= 0"))
    if valuation not in VALUATIONS:
        issues.append(
            FieldIssue(
                "--valuation", f"{gate.quote(valuation)} is not one of {', '.join(VALUATIONS)}"
            )
        )
    if issues:
        refuse(COMMAND_LINE, issues)
    with console.status(f"Running {name} for {horizon_years:g} years of daily use..."):
        fit = calibrate(
            name,
            pack_value,
            end_of_life,
            temperature_c,
            segments,
            horizon_years=horizon_years,
            age_years=age_years,
            valuation=valuation,
        )
    for warning in fit.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    console.print(calibration_table(fit))
    console.print(f"battery block for a {capacity_kwh:g} kWh pack (problem format v1):")
    print(json.dumps(fit.battery_block(capacity_kwh)))


def calibration_table(fit: WearCoefficients) -> Table:
    """The fitted costs, each next to the ageing model's marginal it stands for."""
    day = fit.baseline
    table = Table(
        title=f"{fit.cell}: wear costs at {fit.temperature_c:g} °C, marginal over "
        f"{fit.horizon_years:g} years from age {fit.age_years:g}; {fit.valuation} valuation: "
        f"{fit.value_per_fade_per_kwh:g} EUR per kWh of capacity lost"
    )
    table.add_column("cost")
    table.add_column("LP", justify="right")
    table.add_column("model", justify="right")
    table.add_row(
        f"baseline: leave at {day.departure_soc:.0%}, drive {day.drive_soc:.0%}, "
        f"plug in at {day.arrival_soc:.0%}",
        "",
        "",
    )
    table.add_row(
        f"V2G of {fit.typical_depth:.0%} from {day.arrival_soc:.0%}, all wear (EUR/kWh)",
        f"{fit.throughput_cost_per_kwh:.4f}",
        f"{fit.typical_model_cost_per_kwh:.4f}",
    )
    for soc, cycling, calendar in zip(
        fit.v2g_soc, fit.v2g_cycling_cost_per_kwh, fit.v2g_calendar_cost_per_kwh, strict=True
    ):
        booked = fit.v2g_booked_per_kwh(float(soc))
        table.add_row(
            f"V2G down to {soc:.0%}: cycling / calendar (EUR/kWh)",
            f"{booked['cycle_depth_cost']:.4f} / {booked['soc_dwell_cost']:+.4f}",
            f"{cycling:.4f} / {calendar:+.4f}",
        )
    segments = fit.cycle_depth_cost_per_kwh.size
    for j, value in enumerate(fit.cycle_depth_cost_per_kwh):
        band = f"SoC {1 - (j + 1) / segments:.0%}-{1 - j / segments:.0%}"
        table.add_row(
            f"cycle depth segment {j + 1} of {segments}, {band} (EUR/kWh)", f"{value:.4f}", ""
        )
    for soc, value, measured in zip(
        fit.dwell_soc, fit.dwell_cost_per_h_per_kwh, fit.dwell_measured_per_h_per_kwh, strict=True
    ):
        table.add_row(f"dwell at SoC {soc:.0%} (EUR/h per kWh)", f"{value:.2e}", f"{measured:.2e}")
    uppers = [f"-{r:g} C" for r in fit.rate_c[1:]] + [" C and faster"]
    for rate, upper, value in zip(fit.rate_c, uppers, fit.rate_cost_per_kwh, strict=True):
        table.add_row(f"charged at {rate:g}{upper} (EUR/kWh)", f"{value:.4f}", "")
    table.add_row(
        "largest fit error: cycle depth / dwell",
        f"{fit.cycle_fit_error:.1%} / {fit.dwell_fit_error:.1%}",
        "",
    )
    return table


@battery_app.command("report")
def report_command(
    simulation_output: Annotated[
        Path,
        typer.Argument(
            metavar="SIMULATION_OUTPUT",
            parser=path_text("SIMULATION_OUTPUT"),
            help="Folder written by `simulate -o`.",
        ),
    ],
) -> None:
    """Battery health per car and policy of a simulation run.

    Reads the folder `voltpool simulate -o DIR` wrote.
    """
    path = simulation_output / "battery_health.csv"
    if simulation_output.is_dir():
        check_output(path, "SIMULATION_OUTPUT")
    with (
        bad_input(str(simulation_output)),
        console.status("Running the ageing models on every car's SoC..."),
    ):
        health = health_from_output(simulation_output)
    console.print(health_table(health))
    for warning in health.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    write_health_csv(health, str(path))
    console.print(f"per car: {path}", highlight=False)
