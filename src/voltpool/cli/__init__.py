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
"""

from __future__ import annotations

from typing import Annotated

import typer

from voltpool import GENERATOR
from voltpool.cli.backup import backup_app
from voltpool.cli.battery import battery_app
from voltpool.cli.ledger import ledger_app
from voltpool.cli.ocpp import ocpp_command, station_sim_command
from voltpool.cli.plan import plan_command
from voltpool.cli.scenario import scenario_app
from voltpool.cli.schedule import (
    example_problem_command,
    schedule_command,
    schedule_demo_command,
    verify_command,
)
from voltpool.cli.serve import serve_command
from voltpool.cli.share import share_app
from voltpool.cli.simulate import demo_command, simulate_command
from voltpool.cli.tariff import tariff_app
from voltpool.cli.value import value_command

app = typer.Typer(
    help="voltpool: schedule bidirectional EV charging (V2G, V2H, V2V) and compare it with "
    "today's charging.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
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


app.command("demo")(demo_command)
app.command("simulate")(simulate_command)
app.command("plan")(plan_command)
app.command("value")(value_command)
app.command("schedule")(schedule_command)
app.command("verify")(verify_command)
app.command("example-problem")(example_problem_command)
app.command("schedule-demo")(schedule_demo_command)
app.command("serve")(serve_command)
app.command("ocpp")(ocpp_command)
app.command("station-sim")(station_sim_command)
app.add_typer(backup_app, name="backup")
app.add_typer(share_app, name="share")
app.add_typer(ledger_app, name="ledger")
app.add_typer(scenario_app, name="scenario")
app.add_typer(tariff_app, name="tariff")
app.add_typer(battery_app, name="battery")


def main() -> None:  # pragma: no cover - console entry
    """The console entry point."""
    app()


__all__ = ["app", "main"]
