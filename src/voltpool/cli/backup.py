"""``voltpool backup run|list|show``: how long can my car power my house?

``backup run`` reads a home backup file (built-in name or TOML path), plans the outage
(:func:`voltpool.service.backup.outage`: which circuits stay on, when each car reaches its
reserve), prints the answer and writes a self-contained HTML picture. ``--overload`` also
schedules the file's overload window (:func:`voltpool.service.backup.overload`: the house kept
under an import limit). Bad input exits 2, names the field and writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from voltpool.backup.home import OutageCase, OverloadCase
from voltpool.cli.common import (
    bad_input,
    bounded_text,
    check_output,
    console,
    decimal,
    path_text,
    shown,
    spinner_if_slow,
)
from voltpool.cli.library import add_list_and_show, name_argument
from voltpool.files.home import DEFAULT_HOME, HOMES, load_home
from voltpool.report.backup_text import outage_summary, slot_clock
from voltpool.schedule.explain import describe_limit
from voltpool.service import backup

backup_app = typer.Typer(
    help="V2H: how long can my car power my house?",
    no_args_is_help=True,
)
add_list_and_show(
    backup_app,
    "voltpool backup",
    HOMES,
    lambda name: load_home(name).description,
    default=DEFAULT_HOME,
    used_by="voltpool backup run",
)


def headline_table(summary: dict[str, str]) -> Table:
    """The headline numbers (:func:`~voltpool.report.backup_text.outage_summary`)."""
    table = Table(title="How long can the cars power the house?", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    for key, value in summary.items():
        table.add_row(shown(key), shown(value))
    return table


def circuits_table(case: OutageCase) -> Table:
    """One row per circuit, kept longest first: its load and when and how much was shed."""
    plan = case.plan
    table = Table(title="Circuits (kept longest first)")
    for column, justify in (
        ("circuit", "left"),
        ("class", "left"),
        ("priority", "right"),
        ("load kWh", "right"),
        ("shed from", "right"),
        ("shed h", "right"),
        ("shed kWh", "right"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for c in plan.circuits_by_tier:
        first = int(plan.first_shed_slot[c])
        table.add_row(
            shown(plan.circuit_names[c]),
            "critical" if plan.critical[c] else "",
            str(plan.priority[c]),
            f"{plan.circuit_load_kw[c].sum() * plan.dt_h:.1f}",
            "never" if first < 0 else slot_clock(case, first),
            f"{plan.shed_hours[c]:.2f}",
            f"{plan.shed_kwh_by_circuit[c]:.1f}",
        )
    return table


def cars_table(case: OutageCase) -> Table:
    """One row per car: its energy before and after, its reserve and when it reached it."""
    plan = case.plan
    cars = case.cars
    table = Table(title="Cars")
    for column in ("car", "now", "reserve", "gave (AC)", "at the end", "reserve reached"):
        table.add_column(column, justify="left" if column == "car" else "right")
    stops = plan.reserve_stop_slot
    given = plan.discharge_kw.sum(axis=1) * plan.dt_h
    for n, name in enumerate(cars.names):
        capacity = cars.capacity_kwh[n]
        if cars.max_discharge_kw[n] <= 0:
            reached = "one-way charger"
        elif stops[n] < 0:
            above = plan.energy_kwh[n, -1] - plan.reserve_kwh[n]
            reached = f"no ({above:.1f} kWh above)"
        elif stops[n] == 0:
            reached = "already at it"
        else:
            reached = slot_clock(case, stops[n])
        table.add_row(
            shown(name),
            f"{plan.energy_kwh[n, 0]:.1f} kWh ({plan.energy_kwh[n, 0] / capacity:.0%})",
            f"{plan.reserve_kwh[n]:.1f} kWh "
            f"({plan.reserve_kwh[n] / cars.consumption_kwh_per_km[n]:.0f} km)",
            f"{given[n]:.1f} kWh",
            f"{plan.energy_kwh[n, -1]:.1f} kWh ({plan.energy_kwh[n, -1] / capacity:.0%})",
            reached,
        )
    return table


def returns_table(case: OutageCase, slots: tuple[int, ...]) -> Table:
    """What each car holds, and what was served and shed, if the grid returns at each slot."""
    plan = case.plan
    cars = case.cars
    table = Table(title="If the grid returns at ...")
    table.add_column("grid back", justify="right")
    table.add_column("all on", justify="center")
    table.add_column("served kWh", justify="right")
    table.add_column("shed kWh", justify="right")
    for name in cars.names:
        table.add_column(f"{shown(name)} holds", justify="right")
    for slot in slots:
        back = plan.if_grid_returns(slot, cars.consumption_kwh_per_km)
        held = [
            f"{e:.1f} kWh, {km:.0f} km"
            for e, km in zip(back.energy_kwh, back.range_km, strict=True)  # type: ignore[arg-type]
        ]
        table.add_row(
            slot_clock(case, slot),
            "yes" if back.nothing_shed else ("critical" if back.critical_kept else "no"),
            f"{back.served_kwh:.1f}",
            f"{back.shed_kwh:.1f}",
            *held,
        )
    return table


def overload_table(case: OverloadCase) -> Table:
    """The overload window without and with the cars: peak, excess over the limit, V2H."""
    plan = case.plan
    table = Table(title=f"Overload window: import limit {describe_limit(plan.limit_kw)} kW")
    table.add_column("")
    table.add_column("without the cars", justify="right")
    table.add_column("with the cars", justify="right")
    table.add_row(
        "peak import (kW)", f"{plan.house_load_kw.max():.1f}", f"{plan.import_kw.max():.1f}"
    )
    table.add_row(
        "slots over the limit",
        str(plan.over_limit_without_cars_slots.size),
        str(plan.excess_slots.size),
    )
    table.add_row(
        "energy over the limit (kWh)",
        f"{plan.excess_without_cars_kwh:.2f}",
        f"{plan.excess_kwh:.2f}",
    )
    table.add_row("V2H given to the house (kWh)", "", f"{plan.v2h_kwh:.1f}")
    table.add_row("charged (kWh)", "", f"{plan.charged_kwh:.1f}")
    short = plan.shortfall_kwh
    table.add_row(
        "cars short of target", "", f"{int((short > 1e-3).sum())} ({short.sum():.1f} kWh)"
    )
    return table


@backup_app.command("run")
def run_command(
    home_name: Annotated[str, name_argument(HOMES, "voltpool backup")] = DEFAULT_HOME,
    grid_returns: Annotated[
        list[str] | None,
        typer.Option(
            "--grid-returns",
            "--until-grid-returns",
            parser=bounded_text("--grid-returns"),
            metavar="HH:MM",
            help="Local time HH:MM the grid may come back (repeat it); default every hour.",
        ),
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option(
            parser=decimal("--hours"),
            metavar="HOURS",
            help="Plan this many hours from the outage start instead of its end.",
        ),
    ] = None,
    output: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            parser=path_text("--output"),
            metavar="FILE",
            help="The HTML picture to write.",
        ),
    ] = Path("backup-plan.html"),
    overload: Annotated[
        bool,
        typer.Option(
            "--overload",
            help="Also schedule the file's overload window (kept under the import limit).",
        ),
    ] = False,
) -> None:
    """Plan an outage of a home on its cars (V2H).

    Prints which circuits stay on and when each car reaches its reserve, and draws the plan.
    """
    check_output(output, "--output")
    with bad_input(home_name):
        with spinner_if_slow("Planning the outage (which circuits the cars keep on)..."):
            planned = backup.outage(home_name, hours, grid_returns or ())
        scheduled = None
        if overload:
            with spinner_if_slow("Scheduling the overload window (voltpool LP)..."):
                scheduled = backup.overload(home_name)

    home, case = planned.home, planned.case
    console.print(f"[bold]{shown(home.name)}[/]: {shown(home.description)}", highlight=False)
    summary = outage_summary(case)
    console.print(headline_table(summary))
    console.print(circuits_table(case))
    console.print(cars_table(case))
    console.print(returns_table(case, planned.return_slots))
    for note in case.plan.solver.notes:
        console.print(f"[yellow]note:[/] {shown(note)}", highlight=False)
    if scheduled is not None:
        console.print(overload_table(scheduled.case))
        for note in scheduled.case.plan.notes:
            console.print(f"[yellow]overload:[/] {shown(note)}", highlight=False)
        for name in scheduled.away:
            console.print(f"[dim]{shown(name)} is not at home during the overload window[/]")
    from voltpool.report.backup import write_backup_html  # plotly: only the plan draws

    path = write_backup_html(output, case, summary, scheduled.case if scheduled else None)
    console.print(f"[bold green]picture:[/] {shown(path)}", highlight=False)
