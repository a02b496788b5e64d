"""``voltpool simulate`` and ``voltpool demo``: a neighbourhood simulated on real data, the
policies compared, battery health, credits and the HTML report
(:func:`voltpool.service.simulation.run`)."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from types import TracebackType
from typing import Annotated

import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from voltpool.cli.common import (
    bad_input,
    bounded_text,
    console,
    or_refuse,
    path_text,
    shown,
)
from voltpool.gate import PATH_CHARS_MAX
from voltpool.ledger import VerifyReport
from voltpool.report.events import outage_summary, v2v_lines
from voltpool.report.terminal import comparison_table, health_table
from voltpool.service import simulation
from voltpool.service.run_folder import check_run_folder
from voltpool.service.simulation import Simulated, SimulationOutcome, Started
from voltpool.simulate import SimulationResult

STATUS = {
    "data": "Loading real data (prices, homes, ElaadNL sessions)...",
    "rules": "What the owners' rules cost: the V2G policies once more without them...",
    "health": "Battery health (ageing models on every car's SoC)...",
    "ledger": "Settling every V2G session and V2V agreement in the credit ledger...",
    "report": "Writing the HTML report...",
}
"""The spinner shown during each step of the simulation but the simulation itself."""


class SimulationDisplay:
    """The progress callback of :func:`voltpool.service.simulation.run`: a spinner per step,
    the scenario's name and notes once the world is built, and a bar per policy.

    Use it as a context manager: whatever is still shown is taken down on exit.
    """

    def __init__(self) -> None:
        self._shown = ExitStack()
        self._bar: Progress | None = None
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, event: Started | Simulated) -> None:
        if isinstance(event, Simulated):
            if self._bar is not None:
                self._bar.advance(self._tasks[event.policy], event.days)
            return
        self._shown.close()
        if event.step != "simulate":
            self._shown.enter_context(console.status(STATUS[event.step]))
            return
        scenario = event.scenario
        console.print(
            f"[bold]{shown(scenario.name)}[/]: {shown(scenario.description)}", highlight=False
        )
        for note in event.world.notes if event.world is not None else ():
            console.print(f"[yellow]note:[/] {shown(note)}")
        self._bar = self._shown.enter_context(
            Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("days"),
                TimeElapsedColumn(),
                console=console,
            )
        )
        self._tasks = {
            name: self._bar.add_task(name, total=scenario.days) for name in scenario.policies
        }

    def __enter__(self) -> SimulationDisplay:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._shown.close()


def credits_table(policy: str, table: pd.DataFrame, check: VerifyReport) -> Table:
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


def print_events(result: SimulationResult, timezone: str) -> None:
    """Outages per policy, and V2V in plain words for the first policy that shared energy."""
    for run in result.runs.values():
        summary = outage_summary(run)
        if summary:
            console.print(f"[bold]outage[/] {shown(summary)}", highlight=False)
    sharing = next((run for run in result.runs.values() if run.v2v_matches), None)
    if sharing is None:
        return
    console.print(f"[bold]V2V under {sharing.policy}[/]", highlight=False)
    for line in v2v_lines(sharing, timezone):
        console.print(f"  {shown(line)}", highlight=False)


def print_outcome(outcome: SimulationOutcome) -> None:
    """The comparison, the events, battery health, credits and where the files are."""
    console.print(comparison_table(outcome.result))
    print_events(outcome.result, outcome.scenario.timezone)
    console.print(health_table(outcome.health))
    for name, (table, check) in outcome.settled.items():
        console.print(credits_table(name, table, check))
    console.print(
        f"time series: {len(outcome.timeseries)} files (CSV, and Parquet where pyarrow is "
        f"installed) in {shown(outcome.output_dir)}/",
        highlight=False,
    )
    console.print(f"[bold green]report:[/] {shown(outcome.report)}", highlight=False)


ScenarioArgument = Annotated[
    str,
    typer.Argument(
        metavar="SCENARIO",
        parser=bounded_text("SCENARIO", PATH_CHARS_MAX),
        help="Built-in name or path to a .toml file.",
    ),
]


OutputDir = typer.Option(
    "--output",
    "-o",
    parser=path_text("--output"),
    metavar="DIR",
    help="The folder to write the run into (new, empty, or holding a previous run, which is "
    "replaced once the new one is complete).",
)
Replace = typer.Option(
    "--replace",
    help="Replace the folder even if it holds files that are not a voltpool run.",
)


def run_simulation(scenario: str, output_dir: Path, replace: bool) -> None:
    """Simulate with a live display, then print the outcome; bad input exits 2 (an output
    folder that cannot be written, or holds something else, before anything is simulated)."""
    or_refuse(lambda: check_run_folder(output_dir, "--output", replace))
    with bad_input(scenario), SimulationDisplay() as display:
        outcome = simulation.run(
            scenario, output_dir, progress=display, replace=replace, field="--output"
        )
    print_outcome(outcome)


def simulate_command(
    scenario: ScenarioArgument = "neighbourhood",
    output_dir: Annotated[Path, OutputDir] = Path("out/simulate"),
    replace: Annotated[bool, Replace] = False,
) -> None:
    """Simulate a neighbourhood on real data.

    Compares the policies, then writes battery health, credits and an HTML report.
    """
    run_simulation(scenario, output_dir, replace)


def demo_command(
    output_dir: Annotated[Path, OutputDir] = Path("out/demo"),
    replace: Annotated[bool, Replace] = False,
) -> None:
    """Simulate the built-in week (what `make demo` runs)."""
    run_simulation("neighbourhood", output_dir, replace)
