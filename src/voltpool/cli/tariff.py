"""``voltpool tariff list`` / ``show``: the shipped tariff presets (docs/tariffs.md).

``list`` names each preset with its currency and description; ``show NAME`` prints a
scenario's ``[tariff]`` section that selects it, with its source and the preset's values as
comments (those a scenario may override marked so). ``voltpool plan --tariff NAME`` takes
every preset; the simulator only those in EUR.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from voltpool import GENERATOR
from voltpool.cli.common import bad_input, bounded_text, console, shown
from voltpool.model.tariffs import DEFAULT_PRESET, preset_values, tariff_preset, tariff_presets
from voltpool.scenario.model import TariffSpec

tariff_app = typer.Typer(
    help="Tariff presets: how imports and exports are priced.",
    no_args_is_help=True,
)


def _toml_value(value: Any) -> str:
    """``value`` written as TOML (strings, numbers, booleans, lists of tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    return repr(value)


@tariff_app.command("list")
def list_command() -> None:
    """List the tariff presets."""
    for name, tariff in tariff_presets().items():
        default = " (the default)" if name == DEFAULT_PRESET else ""
        console.print(
            f"[bold]{name}[/]{default}, {tariff.currency}: {shown(tariff.description)}",
            highlight=False,
        )


@tariff_app.command("show")
def show_command(
    name: Annotated[
        str,
        typer.Argument(
            metavar="PRESET",
            parser=bounded_text("PRESET"),
            help="A tariff preset (`voltpool tariff list`).",
        ),
    ] = DEFAULT_PRESET,
) -> None:
    """Print a preset as a scenario's [tariff] section.

    Its values follow as comments.

    Uncomment and change a value marked "may be overridden" to override it.
    """
    with bad_input(name):
        tariff = tariff_preset(name, "PRESET")
    overridable = set(TariffSpec.model_fields) - {"preset"}
    print(f"# {GENERATOR}: tariff preset {name!r}, values as of 2024 (approximate)")
    print(f"# {tariff.description}")
    print(f"# source: {tariff.source}")
    print("[tariff]")
    print(f"preset = {_toml_value(name)}")
    for key, value in preset_values(name).items():
        if key in ("description", "source"):
            continue
        note = "may be overridden" if key in overridable else "set by the preset"
        print(f"# {key} = {_toml_value(value)}    # {note}")
