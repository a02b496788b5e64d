"""``voltpool backup``: how long can my car power my house?

Reads a home backup file (built-in name or TOML path), plans the outage (which circuits stay on,
when each car reaches its reserve), prints the answer and writes a self-contained HTML picture.
``--overload`` also schedules the file's overload window (house kept under an import limit).
Bad input exits 2, names the field and writes nothing.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from voltpool.backup.home import (
    HOMES,
    SLOT,
    Home,
    OutageCase,
    OverloadCase,
    load_home,
    plan_home_outage,
    plan_home_overload,
)
from voltpool.backup.picture import write_backup_html
from voltpool.errors import FieldIssue, ProblemError, SolverError
from voltpool.schedule.explain import describe_limit

console = Console()
errors = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2
SPINNER_DELAY_S = 1.0
_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")


def _fail(error: ProblemError, source: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {source}: {len(error.issues)} problem(s), nothing written")
    for issue in error.issues:
        errors.print(f"  [red]-[/] [bold]{issue.field}[/]: {issue.rule}", highlight=False)
    return typer.Exit(EXIT_BAD_INPUT)


@contextmanager
def spinner_if_slow(message: str, delay_s: float = SPINNER_DELAY_S) -> Iterator[None]:
    """Show a Rich spinner only once the work has taken longer than ``delay_s``."""
    status = console.status(message)
    lock = threading.Lock()
    done = False

    def start() -> None:
        with lock:
            if not done:
                status.start()

    timer = threading.Timer(delay_s, start)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        with lock:
            done = True
            timer.cancel()
            status.stop()


def _clock(stamp: pd.Timestamp, home: Home, start: pd.Timestamp) -> str:
    """``19:30`` on the outage's first day, ``+1d 07:00`` later."""
    local = stamp.tz_convert(home.timezone)
    days = (local.normalize() - start.tz_convert(home.timezone).normalize()).days
    return local.strftime("%H:%M") if days == 0 else f"+{days}d {local:%H:%M}"


def _slot_clock(case: OutageCase, slot: int) -> str:
    """:func:`_clock` of the start of ``slot`` (``T`` = the end of the outage)."""
    start = case.index[0]
    return _clock(start + SLOT * int(slot), case.home, start)


def return_slots(case: OutageCase, times: list[str]) -> list[int]:
    """Slots at which the grid returns: the given local HH:MM times, or every full hour."""
    index = case.index
    n_t = index.size
    if not times:
        slots_per_hour = max(round(1 / case.dt_h), 1)
        step = max(slots_per_hour, (n_t // 8 // slots_per_hour) * slots_per_hour)
        slots = list(range(step, n_t + 1, step))
        return slots if slots and slots[-1] == n_t else [*slots, n_t]
    start_local = index[0].tz_convert(case.home.timezone)
    slots = []
    issues = []
    for text in times:
        match = _HHMM.match(text.strip())
        if not match or int(match[1]) > 23 or int(match[2]) > 59:
            issues.append(FieldIssue("--grid-returns", f"{text!r} is not a time HH:MM"))
            continue
        stamp = start_local.normalize() + pd.Timedelta(hours=int(match[1]), minutes=int(match[2]))
        if stamp <= start_local:
            stamp += pd.Timedelta(days=1)
        offset = (stamp.tz_convert("UTC") - index[0]) / SLOT
        if offset != int(offset):
            issues.append(FieldIssue("--grid-returns", f"{text} is not on a quarter hour"))
        elif not 0 < offset <= n_t:
            end = _slot_clock(case, n_t)
            issues.append(
                FieldIssue(
                    "--grid-returns",
                    f"{text} is outside the outage ({start_local:%H:%M} .. {end}); use --hours "
                    "to plan a longer one",
                )
            )
        else:
            slots.append(int(offset))
    if issues:
        raise ProblemError(issues)
    return sorted(set(slots))


def _hours(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}".rstrip("0").rstrip(".") + " h"


def _kept_on(case: OutageCase, hours: float) -> str:
    """``6 h (the whole outage)`` or ``2 h, until 19:00`` for a run of ``hours`` from the start."""
    plan = case.plan
    if hours >= plan.n_slots * plan.dt_h:
        return f"{_hours(hours)} (the whole outage)"
    return f"{_hours(hours)}, until {_slot_clock(case, round(hours / plan.dt_h))}"


def outage_summary(case: OutageCase) -> dict[str, str]:
    """The headline numbers, also shown at the top of the HTML page."""
    plan = case.plan
    home = case.home
    total_h = plan.n_slots * plan.dt_h
    load_kwh = float(plan.load_kw.sum() * plan.dt_h)
    summary = {
        "Outage": f"{case.index[0].tz_convert(home.timezone):%Y-%m-%d %H:%M} to "
        f"{_slot_clock(case, plan.n_slots)} ({_hours(total_h)}, {home.timezone})",
        "House load": f"{load_kwh:.1f} kWh, peak {plan.load_kw.max():.1f} kW",
        "Everything on": _kept_on(case, plan.hours_full),
        "Critical circuits on": _kept_on(case, plan.hours_critical),
    }
    summary["Served by the cars"] = f"{plan.served_kwh:.1f} kWh"
    summary["Not served"] = (
        f"{plan.unserved_kwh:.1f} kWh (critical {plan.unserved_critical_kwh:.1f} kWh)"
    )
    order = plan.shed_order()
    if order:
        summary["Shed first"] = ", ".join(
            f"{plan.circuit_names[c]} at {_slot_clock(case, plan.first_shed_slot[c])}"
            for c in order[:3]
        )
    left_kwh = np.maximum(plan.energy_kwh[:, -1] - plan.reserve_kwh, 0.0)
    helping = case.cars.max_discharge_kw > 0
    if helping.any() and plan.hours_full >= total_h:
        spare_kwh = float((left_kwh * case.cars.discharge_efficiency)[helping].sum())
        mean_kw = float(plan.load_kw.mean())
        summary["Left above the reserves"] = (
            f"{spare_kwh:.1f} kWh at the house, about {_hours(spare_kwh / mean_kw, 1)} more at "
            "this outage's average load"
            if mean_kw > 0
            else f"{spare_kwh:.1f} kWh at the house"
        )
    return summary


def circuits_table(case: OutageCase) -> Table:
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
            plan.circuit_names[c],
            "critical" if plan.critical[c] else "",
            str(plan.priority[c]),
            f"{plan.circuit_load_kw[c].sum() * plan.dt_h:.1f}",
            "never" if first < 0 else _slot_clock(case, first),
            f"{plan.shed_hours[c]:.2f}",
            f"{plan.shed_kwh_by_circuit[c]:.1f}",
        )
    return table


def cars_table(case: OutageCase) -> Table:
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
            reached = _slot_clock(case, stops[n])
        table.add_row(
            name,
            f"{plan.energy_kwh[n, 0]:.1f} kWh ({plan.energy_kwh[n, 0] / capacity:.0%})",
            f"{plan.reserve_kwh[n]:.1f} kWh "
            f"({plan.reserve_kwh[n] / cars.consumption_kwh_per_km[n]:.0f} km)",
            f"{given[n]:.1f} kWh",
            f"{plan.energy_kwh[n, -1]:.1f} kWh ({plan.energy_kwh[n, -1] / capacity:.0%})",
            reached,
        )
    return table


def returns_table(case: OutageCase, slots: list[int]) -> Table:
    plan = case.plan
    cars = case.cars
    table = Table(title="If the grid returns at ...")
    table.add_column("grid back", justify="right")
    table.add_column("all on", justify="center")
    table.add_column("served kWh", justify="right")
    table.add_column("shed kWh", justify="right")
    for name in cars.names:
        table.add_column(f"{name} holds", justify="right")
    for slot in slots:
        back = plan.if_grid_returns(slot, cars.consumption_kwh_per_km)
        held = [
            f"{e:.1f} kWh, {km:.0f} km"
            for e, km in zip(back.energy_kwh, back.range_km, strict=True)  # type: ignore[arg-type]
        ]
        table.add_row(
            _slot_clock(case, slot),
            "yes" if back.nothing_shed else ("critical" if back.critical_kept else "no"),
            f"{back.served_kwh:.1f}",
            f"{back.shed_kwh:.1f}",
            *held,
        )
    return table


def overload_table(case: OverloadCase) -> Table:
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


def backup_command(
    scenario: Annotated[
        str,
        typer.Option("--scenario", "-s", help="Built-in home name or path to a home .toml file."),
    ] = "home",
    grid_returns: Annotated[
        list[str] | None,
        typer.Option(
            "--grid-returns",
            "--until-grid-returns",
            help="Local time HH:MM the grid may come back (repeat it); default every hour.",
        ),
    ] = None,
    hours: Annotated[
        float | None,
        typer.Option(help="Plan this many hours from the outage start instead of its end."),
    ] = None,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Where to write the HTML picture.")
    ] = Path("backup-plan.html"),
    overload: Annotated[
        bool,
        typer.Option(
            "--overload",
            help="Also schedule the file's overload window (kept under the import limit).",
        ),
    ] = False,
    show: Annotated[bool, typer.Option("--show", help="Print the home file and stop.")] = False,
) -> None:
    """How long can my car power my house? Plan an outage (V2H), print it, draw it."""
    try:
        text, source = HOMES.text(scenario)
        home = load_home(scenario)
    except ProblemError as error:
        raise _fail(error, scenario) from None
    if show:
        print(text, end="")
        return
    try:
        with spinner_if_slow("Planning the outage (which circuits the cars keep on)..."):
            case = plan_home_outage(home, hours)
        slots = return_slots(case, grid_returns or [])
        overload_case = None
        if overload:
            with spinner_if_slow("Scheduling the overload window (voltpool LP)..."):
                overload_case = plan_home_overload(home)
    except ProblemError as error:
        raise _fail(error, source) from None
    except SolverError as error:
        errors.print(f"[bold red]solver error:[/] {error}; nothing written")
        raise typer.Exit(1) from None

    console.print(f"[bold]{home.name}[/]: {home.description}", highlight=False)
    summary = outage_summary(case)
    headline = Table(title="How long can the cars power the house?", show_header=False)
    headline.add_column("", style="bold")
    headline.add_column("")
    for key, value in summary.items():
        headline.add_row(key, value)
    console.print(headline)
    console.print(circuits_table(case))
    console.print(cars_table(case))
    console.print(returns_table(case, slots))
    for note in case.plan.solver.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if overload_case is not None:
        console.print(overload_table(overload_case))
        for note in overload_case.plan.notes:
            console.print(f"[yellow]overload:[/] {note}", highlight=False)
        away = [n for n, p in zip(home.cars, overload_case.plugged, strict=True) if not p]
        for car in away:
            console.print(f"[dim]{car.name} is not at home during the overload window[/]")
    path = write_backup_html(output, case, summary, overload_case)
    console.print(f"[bold green]picture:[/] {path}", highlight=False)
