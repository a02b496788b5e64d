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
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import pandas as pd

from voltpool import GENERATOR
from voltpool.battery.health import HealthReport, health_from_runs
from voltpool.ledger import VerifyReport
from voltpool.report import write_html_report, write_timeseries
from voltpool.report.health import write_health_csv
from voltpool.report.timeseries import SeriesWriter
from voltpool.scenario import Scenario, load_scenario, scenario_text
from voltpool.service.run_folder import check_run_folder, staged, write_manifest
from voltpool.settlement import settle_simulation
from voltpool.simulate import SimulationResult, World, auto_workers, build_world, simulate
from voltpool.simulate.rules_effect import RulesEffect, rules_effect
from voltpool.simulate.world import cars_table

SCENARIO_FILE = "scenario.toml"
CARS_FILE = "cars.csv"
HEALTH_FILE = "battery_health.csv"
REPORT_FILE = "report.html"
RULES_FILE = "rules_effect.csv"

Step = Literal["data", "simulate", "rules", "health", "ledger", "report"]
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
    rules: RulesEffect | None = None
    """What the owners' rules cost and saved (scenarios with ``[[rules]]``)."""


def ignore_progress(_event: Started | Simulated) -> None:
    """The default progress callback."""


def run(
    scenario_name_or_path: str | Path,
    output_dir: Path,
    progress: Progress = ignore_progress,
    *,
    replace: bool = False,
    field: str = "output_dir",
    source: str | None = None,
) -> SimulationOutcome:
    """Simulate a scenario (built-in name or TOML path) and write its results to ``output_dir``.

    Writes the time series and ``metrics.csv``, ``scenario.toml`` (the input, as given, under a
    line naming the voltpool version), ``cars.csv``, ``battery_health.csv``, one SQLite ledger
    per settled policy, ``report.html`` and, last, ``run.json`` (the manifest). Everything is
    written into a fresh folder that replaces ``output_dir`` only once complete
    (:mod:`voltpool.service.run_folder`): ``output_dir`` holds exactly one run. Raises
    :class:`~voltpool.errors.ProblemError` on bad input (an ``output_dir``, named ``field``,
    that holds something other than a previous run and ``replace`` is not given), with nothing
    written. ``source`` names where the scenario came from in ``scenario.toml`` and
    ``run.json`` (default: the built-in's name or the file's path).
    """
    check_run_folder(output_dir, field, replace)
    text, read_from = scenario_text(scenario_name_or_path)
    source = source or read_from
    scenario = load_scenario(scenario_name_or_path)
    started_utc = datetime.now(UTC)
    progress(Started("data", scenario))
    world = build_world(scenario)
    progress(Started("simulate", scenario, world))
    with staged(output_dir) as folder:
        series = SeriesWriter(folder, list(scenario.policies))
        result = simulate(
            scenario,
            progress=lambda policy, days: progress(Simulated(policy, days)),
            world=world,
            workers=auto_workers(world, scenario.policies),
            health=True,
            on_run=series,
        )
        rules = None
        if world.owner_rules is not None:
            progress(Started("rules", scenario, world))
            rules = rules_effect(world, result)
        progress(Started("health", scenario, world))
        health = health_from_runs(result.runs, world.chemistry, scenario.battery)
        timeseries = write_timeseries(result, folder, series.written)
        (folder / SCENARIO_FILE).write_text(f"# {GENERATOR}: {source}\n{text}")
        cars_table(world).to_csv(folder / CARS_FILE, index=False)
        write_health_csv(health, str(folder / HEALTH_FILE))
        if rules is not None:
            rules.cars.to_csv(folder / RULES_FILE, index=False)
        progress(Started("ledger", scenario, world))
        settled = settle_simulation(result, world, folder)
        progress(Started("report", scenario, world))
        write_html_report(
            result,
            folder / REPORT_FILE,
            health=health,
            credits=settled,
            timezone=scenario.timezone,
            rules=rules,
        )
        write_manifest(
            folder,
            scenario=scenario.name,
            source=source,
            seed=scenario.seed,
            policies=list(scenario.policies),
            started_utc=started_utc.isoformat(),
            finished_utc=datetime.now(UTC).isoformat(),
        )
    return SimulationOutcome(
        scenario=scenario,
        world=world,
        result=result,
        health=health,
        settled=settled,
        output_dir=output_dir,
        timeseries=tuple(output_dir / path.relative_to(folder) for path in timeseries),
        scenario_file=output_dir / SCENARIO_FILE,
        cars_file=output_dir / CARS_FILE,
        health_file=output_dir / HEALTH_FILE,
        report=output_dir / REPORT_FILE,
        notes=tuple(world.notes),
        rules=rules,
    )
