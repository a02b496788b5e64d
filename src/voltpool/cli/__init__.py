"""The ``voltpool`` command line (Typer + Rich): it parses, calls and renders.

The use cases are the service layer's (:mod:`voltpool.service`); each module here parses one
group of commands, calls the service (or the core, for the one-problem commands) and renders
the answer. :mod:`~voltpool.cli.common` holds the consoles, the exit codes and the one
bad-input message.

- :mod:`~voltpool.cli.plan`: ``plan`` (my car tonight, in local time);
- :mod:`~voltpool.cli.value`: ``value`` (does V2G pay? each tariff, V2G against smart);
- :mod:`~voltpool.cli.schedule`: ``schedule``, ``verify``, ``example-problem``,
  ``schedule-demo``;
- :mod:`~voltpool.cli.simulate`: ``simulate``, ``demo``;
- :mod:`~voltpool.cli.scenario`: ``scenario list|show``;
- :mod:`~voltpool.cli.tariff`: ``tariff list|show`` (the shipped tariff presets);
- :mod:`~voltpool.cli.battery`: ``battery calibrate|report``;
- :mod:`~voltpool.cli.ledger`: ``ledger ...``;
- :mod:`~voltpool.cli.share`: ``share run|check|list|show``;
- :mod:`~voltpool.cli.backup`: ``backup run|list|show``;
- :mod:`~voltpool.cli.library`: ``list`` and ``show`` of scenarios, circles and homes;
- :mod:`~voltpool.cli.ocpp`: ``ocpp`` (the OCPP central system alone), ``station-sim``.

The grammar is the same everywhere: an input file is an argument (a built-in name or a path),
``-o/--output`` is where the command writes (a folder for a simulation run, a file otherwise),
``list`` and ``show`` print the built-ins, ``-h`` and ``--version`` work on every command.

Each command's module is imported only when that command runs (or its help is shown):
``voltpool --help`` lists the commands from :data:`COMMANDS` alone, ``voltpool schedule``
imports the scheduler's modules and not the simulator's, the reports' or the ledger's. Measured
on this 2-core machine on 2026-12-03 (``python -X importtime``, wall time of the whole process,
while other work shared the cores): ``voltpool --help`` imported 1,734 modules (pandas, plotly,
scipy.optimize, SQLAlchemy, the simulator, the reports) in 1.7-1.8 s and now 197 (typer) in
0.09 s; ``voltpool schedule`` 1,735 modules in 1.8-1.9 s, now 1,019 (the scheduler, HiGHS,
pandas, jsonschema) in 0.8-0.9 s.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from voltpool import GENERATOR

if TYPE_CHECKING:
    from typer._click import HelpFormatter  # Typer's own copy of Click's

Command = TyperCommand | TyperGroup

SETTINGS: dict[str, Any] = {
    "pretty_exceptions_enable": False,
    "rich_markup_mode": None,
    "add_completion": False,
}
"""The Typer settings of the app and of every command built from it."""


@dataclass(frozen=True)
class Entry:
    """Where a command lives (``module.attribute``: a command function or a Typer group) and
    the line ``voltpool --help`` shows for it (its docstring's or help's first line)."""

    module: str
    attribute: str
    summary: str


COMMANDS: dict[str, Entry] = {
    "demo": Entry(
        "voltpool.cli.simulate",
        "demo_command",
        "Simulate the built-in week (what `make demo` runs).",
    ),
    "simulate": Entry(
        "voltpool.cli.simulate", "simulate_command", "Simulate a neighbourhood on real data."
    ),
    "plan": Entry("voltpool.cli.plan", "plan_command", "Plan my car tonight, in local time."),
    "value": Entry(
        "voltpool.cli.value",
        "value_command",
        "Does V2G pay? Each tariff, V2G against smart charging.",
    ),
    "schedule": Entry(
        "voltpool.cli.schedule",
        "schedule_command",
        "Schedule a problem file with the exact scheduler.",
    ),
    "verify": Entry(
        "voltpool.cli.schedule",
        "verify_command",
        "Check a schedule file against every rule of its problem.",
    ),
    "example-problem": Entry(
        "voltpool.cli.schedule",
        "example_problem_command",
        "Write an example problem file (format v1).",
    ),
    "schedule-demo": Entry(
        "voltpool.cli.schedule",
        "schedule_demo_command",
        "Schedule an example night with and without V2G.",
    ),
    "serve": Entry(
        "voltpool.cli.serve", "serve_command", "Serve the HTTP API and the live planner."
    ),
    "ocpp": Entry(
        "voltpool.cli.ocpp", "ocpp_command", "Run the OCPP central system for charging stations."
    ),
    "station-sim": Entry(
        "voltpool.cli.ocpp",
        "station_sim_command",
        "Simulate a charging station with an EV plugged in.",
    ),
    "backup": Entry(
        "voltpool.cli.backup", "backup_app", "V2H: how long can my car power my house?"
    ),
    "share": Entry("voltpool.cli.share", "share_app", "V2V between friends: share kWh car to car."),
    "ledger": Entry("voltpool.cli.ledger", "ledger_app", "The double-entry credit ledger."),
    "scenario": Entry(
        "voltpool.cli.scenario", "scenario_app", "Built-in and custom simulation scenarios (TOML)."
    ),
    "tariff": Entry(
        "voltpool.cli.tariff", "tariff_app", "Tariff presets: how imports and exports are priced."
    ),
    "battery": Entry(
        "voltpool.cli.battery", "battery_app", "Battery health: ageing models and wear costs."
    ),
}
"""Every command, in the order ``voltpool --help`` lists them."""


def load_command(name: str) -> Command:
    """The Click command ``name`` of :data:`COMMANDS`, its module imported now."""
    entry = COMMANDS[name]
    target = getattr(importlib.import_module(entry.module), entry.attribute)
    holder = typer.Typer(**SETTINGS)
    holder.callback()(_nothing)  # a group, so that ``name`` is one of its commands
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    command = group.commands[name]
    assert isinstance(command, Command)
    return command


def _nothing() -> None:
    """The placeholder callback of :func:`load_command`'s group."""


class LazyCommands(MutableMapping[str, Command]):
    """The commands of :data:`COMMANDS` by name; each is built (its module imported) when it
    is first looked up."""

    def __init__(self) -> None:
        self._built: dict[str, Command] = {}

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = load_command(name)
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"the command {name!r} cannot be removed")

    def __iter__(self) -> Iterator[str]:
        yield from COMMANDS
        yield from (name for name in self._built if name not in COMMANDS)

    def __len__(self) -> int:
        return len(COMMANDS) + sum(name not in COMMANDS for name in self._built)


class LazyGroup(TyperGroup):
    """The ``voltpool`` group: its commands are :class:`LazyCommands`, and its help lists
    them by their summaries without importing any."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = LazyCommands()

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return list(self.commands)

    def format_commands(self, ctx: typer.Context, formatter: HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, entry.summary) for name, entry in COMMANDS.items()])


app = typer.Typer(
    help="voltpool: schedule bidirectional EV charging (V2G, V2H, V2V) and compare it with "
    "today's charging.",
    cls=LazyGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    **SETTINGS,
)


def _version(shown: bool) -> None:
    if shown:
        typer.echo(GENERATOR)
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """voltpool: schedule bidirectional EV charging (V2G, V2H, V2V) and compare it with today's
    charging."""


def main() -> None:  # pragma: no cover - console entry
    """The console entry point."""
    app()


__all__ = ["app", "main"]
