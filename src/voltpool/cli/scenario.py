"""``voltpool scenario list`` / ``show``: the built-in and custom simulation scenarios."""

from __future__ import annotations

import typer

from voltpool.cli.library import add_list_and_show
from voltpool.scenario import load_scenario
from voltpool.scenario.model import SCENARIOS

scenario_app = typer.Typer(
    help="Built-in and custom simulation scenarios (TOML).", no_args_is_help=True
)
add_list_and_show(
    scenario_app,
    "voltpool scenario",
    SCENARIOS,
    lambda name: load_scenario(name).description,
    default="neighbourhood",
    used_by="voltpool simulate",
)
