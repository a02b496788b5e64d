"""The README's tour, pasted in order into a fresh folder after `make demo`: every line works.

Slow (two simulated weeks): `make test-slow` runs it, so does CI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
TOUR_MARK = "<!-- tour -->"


def tour_lines() -> list[str]:
    """The commands of the fenced block after the tour mark, comments and blanks dropped."""
    text = README.read_text(encoding="utf-8")
    block = text.split(TOUR_MARK, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_the_tour_has_every_kind_of_command() -> None:
    lines = tour_lines()
    assert lines[0] == "source .venv/bin/activate"
    for command in ("plan", "simulate", "backup run", "share run", "ledger", "schedule", "verify"):
        assert any(line.startswith(f"voltpool {command}") for line in lines), command


@pytest.mark.slow
def test_every_tour_command_works_pasted_in_order(tmp_path: Path) -> None:
    (tmp_path / ".venv").symlink_to(Path(sys.prefix))  # the project's environment, as after make
    environment = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    environment["COLUMNS"] = "120"
    demo = subprocess.run(  # what `make demo` runs
        [str(tmp_path / ".venv/bin/voltpool"), "demo"],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert demo.returncode == 0, demo.stderr
    for number, line in enumerate(tour_lines()[1:], start=2):
        # each line in a shell that has sourced the environment, like a user's terminal
        result = subprocess.run(
            ["bash", "-c", f"set -euo pipefail; source .venv/bin/activate; {line}"],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, (
            f"tour line {number}: {line}\n{result.stdout}\n{result.stderr}"
        )
        assert "Traceback" not in result.stderr, line
    assert (tmp_path / "out/mine/report.html").is_file()
    assert (tmp_path / "plan.html").is_file() and (tmp_path / "schedule.json").is_file()
