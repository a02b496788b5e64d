"""``voltpool battery ...``: ageing models, wear costs for the optimizer, health of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from voltpool import gate
from voltpool.battery import CELLS, CHEMISTRY_CELLS
from voltpool.battery.calibrate import calibrate
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
"""Cell temperatures the ageing models are asked about (their fits cover 10-60 °C)."""
CAPACITY_KWH_RANGE = (0.1, 10_000.0)


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
            help="Capacity at which the pack is used up.",
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
) -> None:
    """Fit the LP's wear costs to a cell ageing model.

    Throughput, cycle-depth and SoC-dwell costs, printed as a battery block for problem
    format v1.
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
    if issues:
        refuse(COMMAND_LINE, issues)
    with console.status(f"Running {name} for a year of cycles and 8 years of rest..."):
        fit = calibrate(name, pack_value, end_of_life, temperature_c, segments)
    table = Table(
        title=f"{name}: wear costs at {temperature_c:g} °C, pack {pack_value:g} "
        f"EUR/kWh, end of life {end_of_life:.0%}"
    )
    table.add_column("cost")
    table.add_column("value", justify="right")
    table.add_row(
        "Wöhler fit: fade per cycle of depth d", f"{fit.wohler_a:.3g} * d^{fit.wohler_b:.2f}"
    )
    table.add_row(
        f"throughput at {fit.typical_depth:.0%} depth (EUR/kWh)",
        f"{fit.throughput_cost_per_kwh:.4f}",
    )
    for j, value in enumerate(fit.cycle_depth_cost_per_kwh):
        table.add_row(f"cycle depth segment {j + 1} of {segments} (EUR/kWh)", f"{value:.4f}")
    for soc, value, measured in zip(
        fit.dwell_soc, fit.dwell_cost_per_h_per_kwh, fit.dwell_measured_per_h_per_kwh, strict=True
    ):
        table.add_row(
            f"dwell at SoC {soc:.0%} (EUR/h per kWh; model {measured:.2e})", f"{value:.2e}"
        )
    console.print(table)
    console.print(f"battery block for a {capacity_kwh:g} kWh pack (problem format v1):")
    print(json.dumps(fit.battery_block(capacity_kwh)))


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
    write_health_csv(health, str(path))
    console.print(f"per car: {path}", highlight=False)
