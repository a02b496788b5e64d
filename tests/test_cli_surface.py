"""One CLI grammar: every command answers ``-h`` with clean help (no ``<bool>``, no raw markup),
``--version`` names the version, outputs are ``-o/--output`` everywhere."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from voltpool import GENERATOR
from voltpool.cli import app

runner = CliRunner()


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group under ``command`` (a Click command of Typer's), as the words
    that invoke it."""
    paths = [path]
    for name, sub in getattr(command, "commands", {}).items():
        paths += command_paths(sub, (*path, name))
    return paths


ROOT = typer.main.get_command(app)
COMMANDS = command_paths(ROOT)


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == GENERATOR


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "voltpool" for p in COMMANDS])
def test_help_is_clean(path: tuple[str, ...]) -> None:
    short = runner.invoke(app, [*path, "-h"])
    assert short.exit_code == 0, short.output
    assert short.output == runner.invoke(app, [*path, "--help"]).output
    for noise in ("<bool>", "``", "[bold", ":func:"):
        assert noise not in short.output, (path, noise, short.output)
    options = [line for line in short.output.splitlines() if line.lstrip().startswith("-")]
    assert not [line for line in options if "<Path>" in line], short.output  # a metavar says
    if "Commands:" in short.output:  # each command's summary whole, not cut short
        assert "..." not in short.output.split("Commands:")[-1], short.output


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) or "voltpool" for p in COMMANDS])
def test_outputs_are_dash_o_output(path: tuple[str, ...]) -> None:
    command = ROOT
    for name in path:
        command = command.commands[name]
    for parameter in command.params:
        names = set(getattr(parameter, "opts", ()))
        if "-o" in names:
            assert names == {"-o", "--output"}, (path, names)
        assert not any(n.startswith("--output-") for n in names), (path, names)
