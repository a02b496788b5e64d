"""Simulate a neighbourhood: scenario -> world -> every policy -> battery health -> files ->
credits in the ledger -> the HTML report (``voltpool simulate``, ``voltpool demo``).

    outcome = run("neighbourhood", Path("out/demo"), progress=print)

Bad input (an unknown scenario, a broken TOML file, data the world cannot be built from) raises
:class:`~voltpool.errors.ProblemError` before anything is written. ``progress`` is called with a
:class:`Started` as each step begins and a :class:`Simulated` after every simulated day of each
policy, so a front end can show a progress bar.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from voltpool.battery.health import HealthReport, health_from_runs
from voltpool.ledger import VerifyReport
from voltpool.report import write_html_report, write_timeseries
from voltpool.report.health import write_health_csv
from voltpool.scenario import Scenario, load_scenario, scenario_text
from voltpool.settlement import settle_simulation
from voltpool.simulate import SimulationResult, World, build_world, simulate
from voltpool.simulate.world import cars_table

Step = Literal["data", "simulate", "health", "ledger", "report"]
"""The steps of :func:`run`, in order: load the real data and build the world, simulate every
policy, run the ageing models, settle the credits, write the HTML report."""


@dataclass(frozen=True)
class Started:
    """A step of :func:`run` begins; ``world`` is known from step ``"simulate"`` on."""

    step: Step
    scenario: Scenario
    world: World | None = None


@dataclass(frozen=True)
class Simulated:
    """``days`` more days of ``policy`` were simulated (of ``scenario.days``)."""

    policy: str
    days: int


Progress = Callable[[Started | Simulated], None]


@dataclass(frozen=True)
class SimulationOutcome:
    """Everything a simulation produced, and where its files are.

    ``settled`` is ``{policy: (credits per household, ledger VerifyReport)}`` for the policies
    that moved energy out of a car; ``timeseries`` lists the time-series and metrics files
    (:func:`~voltpool.report.write_timeseries`); ``notes`` say where the data had to be
    adapted (e.g. the price year).
    """

    scenario: Scenario
    world: World
    result: SimulationResult
    health: HealthReport
    settled: dict[str, tuple[pd.DataFrame, VerifyReport]]
    output_dir: Path
    timeseries: tuple[Path, ...]
    scenario_file: Path
    cars_file: Path
    health_file: Path
    report: Path
    notes: tuple[str, ...]


def _ignore(_event: Started | Simulated) -> None:
    """The default progress callback."""


def run(
    scenario_name_or_path: str | Path,
    output_dir: Path,
    progress: Progress = _ignore,
) -> SimulationOutcome:
    """Simulate a scenario (built-in name or TOML path) and write its results to ``output_dir``.

    Writes the time series and ``metrics.csv``, ``scenario.toml`` (the input, as given),
    ``cars.csv``, ``battery_health.csv``, one SQLite ledger per settled policy and
    ``report.html``. Raises :class:`~voltpool.errors.ProblemError` on bad input, with nothing
    written.
    """
    text, _source = scenario_text(scenario_name_or_path)
    scenario = load_scenario(scenario_name_or_path)
    progress(Started("data", scenario))
    world = build_world(scenario)
    progress(Started("simulate", scenario, world))
    result = simulate(
        scenario, progress=lambda policy, days: progress(Simulated(policy, days)), world=world
    )
    progress(Started("health", scenario, world))
    health = health_from_runs(result.runs, world.chemistry, scenario.battery)
    output_dir.mkdir(parents=True, exist_ok=True)
    timeseries = write_timeseries(result, output_dir)
    scenario_file = output_dir / "scenario.toml"
    scenario_file.write_text(text)
    cars_file = output_dir / "cars.csv"
    cars_table(world).to_csv(cars_file, index=False)
    health_file = output_dir / "battery_health.csv"
    write_health_csv(health, str(health_file))
    progress(Started("ledger", scenario, world))
    settled = settle_simulation(result, world, output_dir)
    progress(Started("report", scenario, world))
    report = write_html_report(
        result,
        output_dir / "report.html",
        health=health,
        credits=settled,
        timezone=scenario.timezone,
    )
    return SimulationOutcome(
        scenario=scenario,
        world=world,
        result=result,
        health=health,
        settled=settled,
        output_dir=output_dir,
        timeseries=tuple(timeseries),
        scenario_file=scenario_file,
        cars_file=cars_file,
        health_file=health_file,
        report=report,
        notes=tuple(world.notes),
    )
