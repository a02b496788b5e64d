"""The ``voltpool`` command line (Typer + Rich)."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from voltpool.battery import CELLS, CHEMISTRY_CELLS
from voltpool.battery.calibrate import calibrate
from voltpool.battery.health import health_from_runs
from voltpool.battery.outputs import health_from_output
from voltpool.cli_backup import backup_command
from voltpool.cli_ledger import ledger_app
from voltpool.cli_share import share_app
from voltpool.errors import ProblemError, SolverError
from voltpool.example import example_problem
from voltpool.io import load_problem, problem_to_dict, schedule_from_dict, schedule_to_dict
from voltpool.model import Problem
from voltpool.report import comparison_table, write_html_report, write_timeseries
from voltpool.report.events import outage_summary, v2v_lines
from voltpool.report.health import health_table, write_health_csv
from voltpool.scenario import builtin_names, load_scenario, scenario_text
from voltpool.schedule import Schedule, schedule, verify
from voltpool.schedule.explain import describe_limit, discharge_blocks
from voltpool.settlement import settle_simulation
from voltpool.simulate import build_world, simulate
from voltpool.simulate.world import cars_table

app = typer.Typer(
    help="voltpool: schedule bidirectional EV charging (V2G) and compare it with today's charging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)

EXIT_BAD_INPUT = 2


class Method(StrEnum):
    lp = "lp"
    uncontrolled = "uncontrolled"


class Solver(StrEnum):
    auto = "auto"
    simplex = "simplex"
    ipm = "ipm"


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write to a temporary file beside ``path`` and rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(document, stream, separators=(",", ":"))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def fail_on_bad_input(error: ProblemError, source: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {source}: {len(error.issues)} problem(s), nothing written")
    for issue in error.issues:
        errors.print(f"  [red]-[/] [bold]{issue.field}[/]: {issue.rule}", highlight=False)
    return typer.Exit(EXIT_BAD_INPUT)


def read_problem(path: Path) -> Problem:
    if not path.is_file():
        errors.print(f"[bold red]error:[/] PROBLEM: {path} is not a readable file; nothing written")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        return load_problem(path)
    except ProblemError as error:
        raise fail_on_bad_input(error, str(path)) from None


def run_schedule(problem: Problem, method: str, **options: Any) -> Schedule:
    label = f"{method}: {problem.n_vehicles} vehicles x {problem.n_slots} slots"
    with console.status(f"Scheduling ({label})..."):
        try:
            return schedule(problem, method, **options)
        except SolverError as error:
            errors.print(f"[bold red]solver error:[/] {error}")
            raise typer.Exit(1) from None


def summary_table(problem: Problem, schedules: list[Schedule]) -> Table:
    """Side-by-side numbers of one or more schedules of the same problem."""
    table = Table(
        title=f"{problem.n_vehicles} vehicles, {problem.n_slots} slots of "
        f"{problem.slot_minutes} min"
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
    for note in result.site_notes:
        console.print(f"[yellow]{result.method}: {note}[/]")
    for note in result.solver.notes:
        console.print(f"[dim]{result.method}: {note}[/]")
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
            console.print(f"  {block}", highlight=False)
    short = [(i, r) for i, r in enumerate(result.reasons) if r]
    for n, reason in short[:limit]:
        console.print(
            f"[yellow]{result.method}: {problem.fleet.ids[n]}[/] {reason}", highlight=False
        )
    if len(short) > limit:
        console.print(
            f"[yellow]{result.method}: ... and {len(short) - limit} more vehicles short[/]"
        )


def check(problem: Problem, result: Schedule) -> None:
    """Run the independent verifier; site-limit excess is reported, anything else is a bug."""
    report = verify(problem, result, check_site_limits=False)
    if not report.ok:
        for violation in report.violations[:20]:
            errors.print(f"[bold red]verify:[/] {violation}")
        errors.print("[bold red]error:[/] the schedule failed verification; nothing written")
        raise typer.Exit(1)


@app.command("schedule")
def schedule_command(
    problem_path: Annotated[
        Path, typer.Argument(metavar="PROBLEM.json", help="Problem in format v1.")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the schedule.")],
    method: Annotated[Method, typer.Option(help="lp: optimal V2G; uncontrolled: baseline.")] = (
        Method.lp
    ),
    solver: Annotated[Solver, typer.Option(help="HiGHS algorithm for lp.")] = Solver.auto,
    time_limit_s: Annotated[float, typer.Option(help="Solver time limit, seconds.")] = 3600.0,
) -> None:
    """Schedule PROBLEM.json, verify the result independently and write SCHEDULE.json."""
    problem = read_problem(problem_path)
    options: dict[str, Any] = (
        {"solver": solver.value, "time_limit_s": time_limit_s} if method is Method.lp else {}
    )
    result = run_schedule(problem, method.value, **options)
    check(problem, result)
    shown = [result]
    if method is not Method.uncontrolled:
        shown.insert(0, schedule(problem, "uncontrolled"))
    console.print(summary_table(problem, shown))
    print_details(problem, result)
    write_json_atomically(output, schedule_to_dict(problem, result))
    console.print(f"wrote {output}")


@app.command("verify")
def verify_command(
    problem_path: Annotated[Path, typer.Argument(metavar="PROBLEM.json")],
    schedule_path: Annotated[Path, typer.Argument(metavar="SCHEDULE.json")],
) -> None:
    """Check a schedule file against every rule of its problem; exit 0 only if all hold."""
    problem = read_problem(problem_path)
    try:
        result = schedule_from_dict(problem, json.loads(schedule_path.read_text()))
    except ProblemError as error:
        raise fail_on_bad_input(error, str(schedule_path)) from None
    except (OSError, KeyError, ValueError, TypeError) as error:
        errors.print(f"[bold red]error:[/] {schedule_path}: not a schedule file ({error})")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    report = verify(problem, result)
    for violation in report.violations:
        console.print(f"[red]violation:[/] {violation}", highlight=False)
    console.print(
        f"checked {len(report.checked)} rules: "
        + ("[green]all hold[/]" if report.ok else f"[red]{len(report.violations)} broken[/]")
    )
    raise typer.Exit(0 if report.ok else 1)


@app.command("example-problem")
def example_problem_command(
    vehicles: Annotated[int, typer.Option("--vehicles", "-n", min=1, help="Number of cars.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Problem file to write.")] = Path(
        "problem.json"
    ),
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same problem).")] = 0,
) -> None:
    """Write a realistic example problem: homes and cars behind one transformer, one night."""
    problem = example_problem(vehicles, seed=seed)
    write_json_atomically(output, problem_to_dict(problem, name=f"example-{vehicles}-seed{seed}"))
    console.print(
        f"wrote {output}: {vehicles} vehicles, {problem.n_slots} slots, import limit "
        f"{problem.site.import_limit_kw:g} kW"
    )


@app.command("schedule-demo")
def schedule_demo_command(
    vehicles: Annotated[int, typer.Option("--vehicles", "-n", min=1)] = 200,
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o")] = Path("out/schedule-demo"),
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Schedule one generated night with and without V2G; print the comparison."""
    problem = example_problem(vehicles, seed=seed)
    baseline = run_schedule(problem, "uncontrolled")
    optimal = run_schedule(problem, "lp")
    check(problem, optimal)
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


app.add_typer(ledger_app, name="ledger")
app.add_typer(share_app, name="share")
app.command("backup")(backup_command)


def credits_table(policy: str, table: Any, check: Any) -> Table:
    """Credits per household of one policy's settlement (milli-credits shown as credits)."""
    shown = Table(
        title=(
            f"Credits, {policy}: {len(table)} households, ledger verify "
            + ("ok" if check.ok else "FAILED")
            + f" ({check.transfers} transfers)"
        )
    )
    columns = ("earned", "fees", "spent", "unpaid", "v2v_earned", "v2v_paid", "balance")
    for column in ("household", "V2G earned", "fee", "spent", "unpaid", "V2V +", "V2V -"):
        shown.add_column(column, justify="right")
    shown.add_column("balance", justify="right")
    ranked = table.assign(
        activity=table["earned"] + table["spent"] + table["v2v_earned"] + table["v2v_paid"]
    ).sort_values("activity", ascending=False)
    for home, row in list(ranked.iterrows())[:8]:
        shown.add_row(str(home), *(f"{row[c] / 1000:,.2f}" for c in columns))
    totals = table.sum()
    shown.add_row("all households", *(f"{totals[c] / 1000:,.2f}" for c in columns))
    return shown


scenario_app = typer.Typer(
    help="Built-in and custom simulation scenarios (TOML).", no_args_is_help=True
)
app.add_typer(scenario_app, name="scenario")


@scenario_app.command("list")
def scenario_list_command() -> None:
    """List the built-in scenarios."""
    for name in builtin_names():
        scenario = load_scenario(name)
        console.print(f"[bold]{name}[/]: {scenario.description}", highlight=False)


@scenario_app.command("show")
def scenario_show_command(
    name: Annotated[str, typer.Argument(help="Built-in name or path to a .toml file.")] = (
        "neighbourhood"
    ),
) -> None:
    """Print a scenario's TOML (copy it, edit it, pass the file to `voltpool simulate`)."""
    try:
        text, _source = scenario_text(name)
        load_scenario(name)
    except ProblemError as error:
        raise fail_on_bad_input(error, name) from None
    print(text, end="")


battery_app = typer.Typer(
    help="Battery health: ageing models, wear costs for the optimizer.", no_args_is_help=True
)
app.add_typer(battery_app, name="battery")


@battery_app.command("calibrate")
def battery_calibrate_command(
    cell: Annotated[str, typer.Option(help="Cell model or chemistry (nmc, lfp, nca).")],
    pack_value: Annotated[float, typer.Option(help="Value of a kWh of pack capacity, EUR.")],
    end_of_life: Annotated[
        float, typer.Option(help="Capacity at which the pack is used up.")
    ] = 0.7,
    temperature_c: Annotated[float, typer.Option(help="Cell temperature, degrees C.")] = 20.0,
    segments: Annotated[int, typer.Option(min=1, max=10, help="Depth segments.")] = 4,
    capacity_kwh: Annotated[float, typer.Option(help="Pack size for the battery block.")] = 60.0,
) -> None:
    """Fit the LP's wear costs (throughput, cycle depth, SoC dwell) to a cell ageing model."""
    name = CHEMISTRY_CELLS.get(cell.lower(), cell)
    if name not in CELLS:
        errors.print(
            f"[bold red]error:[/] --cell: {cell!r} is not one of "
            f"{', '.join(sorted(CHEMISTRY_CELLS) + sorted(CELLS))}"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
    if not 0 < end_of_life < 1 or pack_value < 0:
        errors.print("[bold red]error:[/] --end-of-life must be in (0, 1) and --pack-value >= 0")
        raise typer.Exit(EXIT_BAD_INPUT)
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
def battery_report_command(
    simulation_output: Annotated[
        Path, typer.Argument(metavar="SIMULATION_OUTPUT", help="Folder written by `simulate -o`.")
    ],
) -> None:
    """Battery health per car and policy from a simulation's output folder."""
    try:
        with console.status("Running the ageing models on every car's SoC..."):
            health = health_from_output(simulation_output)
    except ProblemError as error:
        raise fail_on_bad_input(error, str(simulation_output)) from None
    console.print(health_table(health))
    path = simulation_output / "battery_health.csv"
    write_health_csv(health, str(path))
    console.print(f"per car: {path}", highlight=False)


def print_events(result: Any, timezone: str) -> None:
    """Outages per policy, and V2V in plain words for the first policy that shared energy."""
    for run in result.runs.values():
        summary = outage_summary(run)
        if summary:
            console.print(f"[bold]outage[/] {summary}", highlight=False)
    shown = next((run for run in result.runs.values() if run.v2v_matches), None)
    if shown is None:
        return
    console.print(f"[bold]V2V under {shown.policy}[/]", highlight=False)
    for line in v2v_lines(shown, timezone):
        console.print(f"  {line}", highlight=False)


def run_simulation(scenario_name: str, output_dir: Path) -> None:
    try:
        text, _source = scenario_text(scenario_name)
        scenario = load_scenario(scenario_name)
        with console.status("Loading real data (prices, homes, ElaadNL sessions)..."):
            world = build_world(scenario)
    except ProblemError as error:
        raise fail_on_bad_input(error, scenario_name) from None
    console.print(f"[bold]{scenario.name}[/]: {scenario.description}", highlight=False)
    for note in world.notes:
        console.print(f"[yellow]note:[/] {note}")
    with Progress(
        TextColumn("{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("days"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        tasks = {name: bar.add_task(name, total=scenario.days) for name in scenario.policies}
        result = simulate(
            scenario, progress=lambda name, k: bar.advance(tasks[name], k), world=world
        )
    console.print(comparison_table(result))
    print_events(result, scenario.timezone)
    with console.status("Battery health (ageing models on every car's SoC)..."):
        health = health_from_runs(result.runs, world.chemistry, scenario.battery)
    console.print(health_table(health))
    output_dir.mkdir(parents=True, exist_ok=True)
    written = write_timeseries(result, output_dir)
    (output_dir / "scenario.toml").write_text(text)
    cars_table(world).to_csv(output_dir / "cars.csv", index=False)
    write_health_csv(health, str(output_dir / "battery_health.csv"))
    with console.status("Settling every V2G session and V2V agreement in the credit ledger..."):
        settled = settle_simulation(result, world, output_dir)
    for name, (table, check) in settled.items():
        console.print(credits_table(name, table, check))
    report = write_html_report(
        result,
        output_dir / "report.html",
        health=health,
        credits=settled,
        timezone=scenario.timezone,
    )
    console.print(
        f"time series: {len(written)} files (CSV, and Parquet where pyarrow is "
        f"installed) in {output_dir}/",
        highlight=False,
    )
    console.print(f"[bold green]report:[/] {report}", highlight=False)


@app.command("simulate")
def simulate_command(
    scenario: Annotated[str, typer.Argument(help="Built-in name or path to a .toml file.")] = (
        "neighbourhood"
    ),
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o")] = Path("out/simulate"),
) -> None:
    """Simulate a neighbourhood on real data, compare the policies, write an HTML report."""
    run_simulation(scenario, output_dir)


@app.command("demo")
def demo_command(
    output_dir: Annotated[Path, typer.Option("--output-dir", "-o")] = Path("out/demo"),
) -> None:
    """What `make demo` runs: the built-in neighbourhood scenario, all policies, the report."""
    run_simulation("neighbourhood", output_dir)


def main() -> None:  # pragma: no cover - console entry
    app()
