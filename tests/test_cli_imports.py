"""The command line imports what the command it runs needs, nothing more: ``voltpool --help``
lists every command without importing any of their modules, ``voltpool schedule`` imports the
scheduler and not the simulator, the reports or the ledger."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from voltpool.cli import COMMANDS, load_command

SHOW_MODULES = "import sys; from voltpool.cli import app; app({}, standalone_mode=False); " + (
    "print('MODULES', ' '.join(sorted(sys.modules)))"
)


def imported_by(arguments: list[str], cwd: Path) -> set[str]:
    """The modules a fresh interpreter holds after running ``voltpool arguments``."""
    output = subprocess.run(
        [sys.executable, "-c", SHOW_MODULES.format(arguments)],
        check=True,
        capture_output=True,
        text=True,
        cwd=cwd,
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


def test_help_imports_no_command(tmp_path: Path) -> None:
    modules = imported_by(["--help"], tmp_path)
    heavy = {"numpy", "pandas", "scipy", "highspy", "sqlalchemy", "plotly", "rich.table"}
    assert not heavy & modules
    assert {m for m in modules if m.startswith("voltpool.")} == {"voltpool.cli"}


def test_schedule_imports_only_the_scheduler(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "voltpool", "example-problem", "-n", "5", "-o", "p.json"],
        check=True,
        capture_output=True,
        cwd=tmp_path,
    )
    modules = imported_by(["schedule", "p.json", "-o", "s.json"], tmp_path)
    assert (tmp_path / "s.json").exists()
    assert "voltpool.schedule.exact" in modules
    for unused in (
        "sqlalchemy",
        "plotly",
        "voltpool.simulate",
        "voltpool.report",
        "voltpool.ledger",
    ):
        assert unused not in modules, unused


@pytest.mark.parametrize("name", list(COMMANDS))
def test_listed_summary_is_the_commands_own(name: str) -> None:
    command = load_command(name)
    assert command.name == name
    assert command.get_short_help_str(limit=200) == COMMANDS[name].summary
