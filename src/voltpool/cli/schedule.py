"""``voltpool schedule``, ``verify``, ``example-problem`` and ``schedule-demo``: one problem
file (format v1) scheduled, checked and compared with today's charging."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from voltpool.cli.common import (
    EXIT_FAILED,
    bad_input,
    check_output,
    console,
    decimal,
    path_text,
    shown,
    whole,
    write_json_atomically,
)
from voltpool.example import example_problem
from voltpool.io import load_problem, load_schedule_document, problem_to_dict, schedule_to_dict
from voltpool.model import Problem
from voltpool.schedule import DEFAULT_TIME_BUDGET_S, Schedule
from voltpool.schedule.explain import describe_limit, discharge_blocks, moment
from voltpool.service import scheduling
from voltpool.service.scheduling import ScheduleOutcome


class Method(StrEnum):
    exact = "exact"
    lp = "lp"
    decentral = "decentral"
    auto = "auto"
    uncontrolled = "uncontrolled"


SCHEDULE_METHOD = {"exact": "lp"}
"""``--method exact`` is the exact LP (``lp``)."""


class Solver(StrEnum):
    auto = "auto"
    simplex = "simplex"
    ipm = "ipm"


VEHICLES_MAX = 100_000
"""The most cars an example problem has (the scenario's limit too)."""
TIME_LIMIT_S_MAX = 7 * 24 * 3600.0
Vehicles = typer.Option(
    "--vehicles",
    "-n",
    parser=whole("--vehicles", 1, VEHICLES_MAX),
    metavar="N",
    help="Number of cars.",
)
Seed = typer.Option(
    parser=whole("--seed", 0), metavar="N", help="Random seed (same seed, same problem)."
)


def output_option(help_text: str) -> Any:
    """A file output option ``--output``/``-o``."""
    return typer.Option(
        "--output", "-o", parser=path_text("--output"), metavar="FILE", help=help_text
    )


def read_problem(path: Path) -> Problem:
    """The problem in ``path``; bad input exits 2."""
    with bad_input(str(path)):
        return load_problem(path)


def run_plan(problem: Problem, method: str, **options: Any) -> ScheduleOutcome:
    """Schedule and verify with a spinner; bad input exits 2, a solver or verifier failure 1."""
    label = f"{method}: {problem.n_vehicles} vehicles x {problem.n_slots} slots"
    with console.status(f"Scheduling ({label})..."), bad_input("PROBLEM"):
        return scheduling.plan(problem, method, **options)  # type: ignore[arg-type]


def summary_table(problem: Problem, schedules: list[Schedule]) -> Table:
    """Side-by-side numbers of one or more schedules of the same problem."""
    starts = "" if problem.start is None else f" from {moment(problem, 0)}, {problem.timezone}"
    table = Table(
        title=f"{problem.n_vehicles} vehicles, {problem.n_slots} slots of "
        f"{problem.slot_minutes} min{starts}"
    )
    table.add_column("")
    for result in schedules:
        table.add_column(result.method, justify="right")

    def row(label: str, values: list[str]) -> None:
        table.add_row(label, *values)

    base_peak = float(problem.site.base_load_kw.max())
    row("status", [s.status for s in schedules])
    row("objective", [f"{s.objective:,.2f}" for s in schedules])
    for term, value_label in (
        ("energy_cost", "  energy cost"),
        ("peak_cost", "  peak charge"),
        ("degradation_cost", "  battery wear"),
        ("unmet_penalty", "  unmet-target penalty"),
    ):
        row(value_label, [f"{s.objective_terms[term]:,.2f}" for s in schedules])
    row("site peak, no EVs (kW)", [f"{base_peak:,.1f}"] * len(schedules))
    row("site peak (kW)", [f"{s.peak_kw:,.1f}" for s in schedules])
    row("import limit (kW)", [describe_limit(problem.site.import_limit_slots_kw)] * len(schedules))
    row("charged (kWh)", [f"{s.charged_kwh:,.1f}" for s in schedules])
    row("V2G discharged (kWh)", [f"{s.discharged_kwh:,.1f}" for s in schedules])
    row(
        "vehicles short of target",
        [
            f"{int((s.shortfall_kwh > 1e-3).sum())} ({s.shortfall_kwh.sum():,.1f} kWh)"
            for s in schedules
        ],
    )
    row(
        "solve time (s)",
        [f"{s.solver.build_time_s + s.solver.solve_time_s:.2f}" for s in schedules],
    )
    return table


def print_details(problem: Problem, result: Schedule, limit: int = 10) -> None:
    """Site and solver notes, the discharge blocks and the vehicles short of their target (in
    local clock time when the problem has a start, else in slots)."""
    for note in result.site_notes:
        console.print(f"[yellow]{result.method}: {shown(note)}[/]")
    for note in result.solver.notes:
        console.print(f"[dim]{result.method}: {shown(note)}[/]")
    for note in result.rule_notes[:limit]:
        console.print(f"{result.method}: {shown(note)}")
    if len(result.rule_notes) > limit:
        console.print(f"{result.method}: ... {len(result.rule_notes) - limit} more rule notes")
    blocks = discharge_blocks(problem, result.power_kw, result.site_net_load_kw)
    if blocks:
        energy = sum(b.energy_kwh for b in blocks)
        worth = sum(b.worth_per_kwh * b.energy_kwh for b in blocks) / energy
        wear = sum(b.wear_per_kwh * b.energy_kwh for b in blocks) / energy
        console.print(
            f"{result.method}: {len(blocks)} discharge blocks, {energy:,.1f} kWh worth "
            f"{worth:.3f}/kWh on average against battery wear {wear:.3f}/kWh; largest:"
        )
        for block in sorted(blocks, key=lambda b: -b.energy_kwh)[:3]:
            console.print(f"  {shown(block)}", highlight=False)
    short = [(i, r) for i, r in enumerate(result.reasons) if r]
    for n, reason in short[:limit]:
        console.print(
            f"[yellow]{result.method}: {shown(problem.fleet.ids[n])}[/] {shown(reason)}",
            highlight=False,
        )
    if len(short) > limit:
        console.print(
            f"[yellow]{result.method}: ... and {len(short) - limit} more vehicles short[/]"
        )


def schedule_command(
    problem_path: Annotated[
        Path,
        typer.Argument(
            metavar="PROBLEM.json", parser=path_text("PROBLEM.json"), help="Problem in format v1."
        ),
    ],
    output: Annotated[Path, output_option("Where to write the schedule.")],
    method: Annotated[
        Method,
        typer.Option(
            help="exact (= lp): optimal V2G; decentral: decentralized, certified gap; auto: "
            "exact up to 5,000 cars, decentral above; uncontrolled: baseline."
        ),
    ] = Method.lp,
    solver: Annotated[Solver, typer.Option(help="HiGHS algorithm for lp.")] = Solver.auto,
    time_limit_s: Annotated[
        float,
        typer.Option(
            parser=decimal("--time-limit-s", 0.001, TIME_LIMIT_S_MAX),
            metavar="SECONDS",
            help="Time budget of the whole plan (LP, repair, branch and bound), seconds.",
        ),
    ] = DEFAULT_TIME_BUDGET_S,
) -> None:
    """Schedule a problem file with the exact scheduler.

    The plan is verified independently and written as a schedule file (JSON).
    """
    check_output(output, "--output")
    problem = read_problem(problem_path)
    chosen = SCHEDULE_METHOD.get(method.value, method.value)
    outcome = run_plan(problem, chosen, solver=solver.value, time_limit_s=time_limit_s)
    result = outcome.result
    console.print(summary_table(problem, outcome.shown))
    print_details(problem, result)
    if method.value != "uncontrolled":
        picked = f" (auto picked {result.method})" if method is Method.auto else ""
        console.print(
            f"ran {result.method}{picked}: {result.solver.status}, certified gap "
            f"{result.solver.gap:.4%}"
        )
    write_json_atomically(output, schedule_to_dict(problem, result))
    console.print(f"wrote {output}")


def verify_command(
    problem_path: Annotated[
        Path, typer.Argument(metavar="PROBLEM.json", parser=path_text("PROBLEM.json"))
    ],
    schedule_path: Annotated[
        Path, typer.Argument(metavar="SCHEDULE.json", parser=path_text("SCHEDULE.json"))
    ],
) -> None:
    """Check a schedule file against every rule of its problem.

    Exit 0 only if every rule holds.
    """
    problem = read_problem(problem_path)
    with bad_input(str(schedule_path)):
        report = scheduling.check(problem, load_schedule_document(schedule_path))
    for violation in report.violations:
        console.print(f"[red]violation:[/] {shown(violation)}", highlight=False)
    console.print(
        f"checked {len(report.checked)} rules: "
        + ("[green]all hold[/]" if report.ok else f"[red]{len(report.violations)} broken[/]")
    )
    raise typer.Exit(0 if report.ok else EXIT_FAILED)


def example_problem_command(
    vehicles: Annotated[int, Vehicles],
    output: Annotated[Path, output_option("Problem file to write.")] = Path("problem.json"),
    seed: Annotated[int, Seed] = 0,
) -> None:
    """Write an example problem file (format v1).

    Homes and cars behind one transformer, one night, on realistic data.
    """
    check_output(output, "--output")
    problem = example_problem(vehicles, seed=seed)
    write_json_atomically(output, problem_to_dict(problem, name=f"example-{vehicles}-seed{seed}"))
    console.print(
        f"wrote {output}: {vehicles} vehicles, {problem.n_slots} slots, import limit "
        f"{problem.site.import_limit_kw:g} kW"
    )


def schedule_demo_command(
    vehicles: Annotated[int, Vehicles] = 200,
    output_dir: Annotated[
        Path,
        typer.Option(
            "--output",
            "-o",
            parser=path_text("--output"),
            metavar="DIR",
            help="The folder to write the problem and the LP schedule into.",
        ),
    ] = Path("out/schedule-demo"),
    seed: Annotated[int, Seed] = 7,
) -> None:
    """Schedule an example night with and without V2G.

    Prints the comparison and writes the problem and the LP schedule.
    """
    check_output(output_dir, "--output", "folder")
    problem = example_problem(vehicles, seed=seed)
    outcome = run_plan(problem, "lp")
    baseline, optimal = outcome.shown
    console.print(summary_table(problem, [baseline, optimal]))
    print_details(problem, baseline, limit=3)
    print_details(problem, optimal, limit=3)
    write_json_atomically(output_dir / "problem.json", problem_to_dict(problem, name="demo"))
    write_json_atomically(output_dir / "schedule-lp.json", schedule_to_dict(problem, optimal))
    saving = baseline.objective - optimal.objective
    console.print(
        f"V2G scheduling saves {saving:,.2f} ({saving / baseline.objective:.0%}) and lowers the "
        f"site peak from {baseline.peak_kw:,.0f} kW to {optimal.peak_kw:,.0f} kW. "
        f"Files in {output_dir}/"
    )
