"""Every command given a bad path: exit 2 with one error naming the argument or option and the
rule, no traceback, nothing written, before any work (a simulation refused this way has not
loaded its data)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voltpool.cli import app

runner = CliRunner()

MISSING = "missing.toml"
"""A file that does not exist (in the test's folder)."""
FOLDER = "a-folder"
FILE = "a-file"

CASES: list[tuple[str, list[str], str]] = [
    # (what, arguments, the field named)
    ("problem missing", ["schedule", "missing.json", "-o", "s.json"], "PROBLEM.json"),
    ("problem a folder", ["schedule", FOLDER, "-o", "s.json"], "PROBLEM.json"),
    ("schedule output a folder", ["schedule", "p.json", "-o", FOLDER], "--output"),
    ("schedule output under a file", ["schedule", "p.json", "-o", f"{FILE}/s.json"], "--output"),
    ("verify problem missing", ["verify", "missing.json", "s.json"], "PROBLEM.json"),
    ("verify schedule a folder", ["verify", "p.json", FOLDER], "SCHEDULE.json"),
    ("example output a folder", ["example-problem", "-n", "2", "-o", FOLDER], "--output"),
    ("example output in /proc", ["example-problem", "-n", "2", "-o", "/proc/p.json"], "--output"),
    ("schedule-demo output a file", ["schedule-demo", "-n", "2", "-o", FILE], "--output"),
    ("scenario missing", ["scenario", "show", MISSING], "SCENARIO"),
    ("scenario a folder", ["scenario", "show", FOLDER], "SCENARIO"),
    ("simulate scenario missing", ["simulate", MISSING], "SCENARIO"),
    ("simulate output a file", ["simulate", "-o", FILE], "--output"),
    ("simulate output under a file", ["simulate", "-o", f"{FILE}/run"], "--output"),
    ("simulate output in /proc", ["simulate", "-o", "/proc/voltpool-run"], "--output"),
    ("demo output a file", ["demo", "-o", FILE], "--output"),
    ("simulate into a foreign folder", ["simulate", "-o", "thesis"], "--output"),
    ("battery report missing", ["battery", "report", "missing-run"], "SIMULATION_OUTPUT"),
    ("battery report a file", ["battery", "report", FILE], "SIMULATION_OUTPUT"),
    ("circle missing", ["share", "check", MISSING], "CIRCLE"),
    ("circle a folder", ["share", "run", FOLDER, "--db", "sqlite:///l.sqlite"], "CIRCLE"),
    ("circle show missing", ["share", "show", MISSING], "CIRCLE"),
    ("share ledger under a file", ["share", "run", "--db", f"sqlite:///{FILE}/l.sqlite"], "--db"),
    ("home missing", ["backup", "run", MISSING], "HOME"),
    ("home show a folder", ["backup", "show", FOLDER], "HOME"),
    ("backup picture a folder", ["backup", "run", "-o", FOLDER], "--output"),
    ("backup picture in /proc", ["backup", "run", "-o", "/proc/b.html"], "--output"),
    ("plan schedule a folder", ["plan", "--prices", "flat", "-o", FOLDER], "--output"),
    ("plan problem under a file", ["plan", "--save-problem", f"{FILE}/p.json"], "--save-problem"),
    ("ledger under a file", ["ledger", "--db", f"sqlite:///{FILE}/l.sqlite", "init"], "--db"),
    ("ledger a folder", ["ledger", "--db", f"sqlite:///{FOLDER}", "init"], "--db"),
]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A folder with a problem, a file, a folder and a folder of someone else's files."""
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FILE).write_text("not voltpool's\n")
    (tmp_path / "thesis").mkdir()
    (tmp_path / "thesis" / "chapter1.tex").write_text("precious\n")
    made = runner.invoke(app, ["example-problem", "-n", "2", "-o", str(tmp_path / "p.json")])
    assert made.exit_code == 0, made.output
    return tmp_path


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(("what", "args", "field"), CASES, ids=[case[0] for case in CASES])
def test_a_bad_path_exits_2_naming_it_and_writes_nothing(
    workspace: Path, what: str, args: list[str], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace)
    before = tree(workspace)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, (what, result.output)
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error:" in result.output and field in result.output, result.output
    assert "Loading real data" not in result.output  # refused before any work
    assert tree(workspace) == before
    leftovers = {p.name for p in workspace.iterdir()} - {FOLDER, FILE, "thesis", "p.json"}
    assert not leftovers, leftovers


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any file")
def test_unreadable_input_and_unwritable_output_exit_2(workspace: Path) -> None:
    problem = workspace / "p.json"
    problem.chmod(0)
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(workspace / "s.json")])
    assert result.exit_code == 2 and "PROBLEM.json" in result.output
    problem.chmod(0o644)
    locked = workspace / FOLDER
    locked.chmod(0o500)
    result = runner.invoke(app, ["schedule", str(problem), "-o", str(locked / "s.json")])
    assert result.exit_code == 2 and "--output" in result.output
