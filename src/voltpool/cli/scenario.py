"""``voltpool scenario list`` / ``show``: the built-in and custom simulation scenarios."""

from __future__ import annotations

from typing import Annotated

import typer

from voltpool.cli.common import bad_input, bounded_text, console, shown
from voltpool.gate import PATH_CHARS_MAX
from voltpool.scenario import builtin_names, load_scenario, scenario_text

scenario_app = typer.Typer(
    help="Built-in and custom simulation scenarios (TOML).", no_args_is_help=True
)


@scenario_app.command("list")
def list_command() -> None:
    """List the built-in scenarios."""
    for name in builtin_names():
        scenario = load_scenario(name)
        console.print(f"[bold]{name}[/]: {shown(scenario.description)}", highlight=False)


@scenario_app.command("show")
def show_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="SCENARIO",
            parser=bounded_text("SCENARIO", PATH_CHARS_MAX),
            help="Built-in name or path to a .toml file.",
        ),
    ] = "neighbourhood",
) -> None:
    """Print a scenario's TOML (copy it, edit it, pass the file to `voltpool simulate`)."""
    with bad_input(name):
        text, _source = scenario_text(name)
        load_scenario(name)
    print(text, end="")
