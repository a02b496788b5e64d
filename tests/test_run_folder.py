"""An output folder holds exactly one run: a re-run with another seed or other policies
replaces it whole, a failed or killed run leaves the previous one intact, a folder holding
something else is refused before any work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_service import small_scenario
from voltpool.errors import ProblemError
from voltpool.service import simulation
from voltpool.service.run_folder import MANIFEST, staged
from voltpool.service.simulation import Started


def manifest(folder: Path) -> dict[str, object]:
    return json.loads((folder / MANIFEST).read_text())


def test_a_rerun_with_another_seed_and_policies_replaces_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    simulation.run(small_scenario(tmp_path), out)
    first = manifest(out)
    assert "ledger-v2g.sqlite" in first["files"] and "timeseries_uncontrolled.csv" in first["files"]

    scenario = small_scenario(tmp_path)
    text = scenario.read_text().replace("seed = 3", "seed = 4")
    text = text.replace('policies = ["uncontrolled", "v2g"]', 'policies = ["smart", "v2g"]')
    scenario.write_text(text)
    outcome = simulation.run(scenario, out)  # the old v2g ledger would have collided

    second = manifest(out)
    assert second["seed"] == 4 and second["policies"] == ["smart", "v2g"]
    on_disk = sorted(p.name for p in out.iterdir())
    assert on_disk == sorted([*second["files"], MANIFEST])
    assert not any("uncontrolled" in name for name in on_disk)
    assert outcome.settled["v2g"][1].ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.toml"]


def test_a_failing_run_leaves_the_previous_run_intact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    simulation.run(small_scenario(tmp_path), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def fail_at_the_report(event: object) -> None:
        if isinstance(event, Started) and event.step == "report":
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        simulation.run(small_scenario(tmp_path), out, progress=fail_at_the_report)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.toml"]


def test_a_folder_holding_other_files_is_refused_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "thesis"
    out.mkdir()
    (out / "chapter1.tex").write_text("precious")
    started: list[object] = []
    with pytest.raises(ProblemError) as raised:
        simulation.run(small_scenario(tmp_path), out, progress=started.append, field="--output")
    assert raised.value.issues[0].field == "--output"
    assert "not a voltpool run" in raised.value.issues[0].rule
    assert started == [] and (out / "chapter1.tex").read_text() == "precious"


def test_replace_takes_a_folder_holding_other_files(tmp_path: Path) -> None:
    out = tmp_path / "old"
    out.mkdir()
    (out / "stale.csv").write_text("x")
    with staged(out) as folder:
        (folder / "new.csv").write_text("y")
    assert [p.name for p in out.iterdir()] == ["new.csv"]


def test_a_run_killed_half_way_leaves_the_previous_run_and_is_cleaned_up(tmp_path: Path) -> None:
    out = tmp_path / "out"
    simulation.run(small_scenario(tmp_path), out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    command = [sys.executable, "-m", "voltpool", "simulate", str(tmp_path / "small.toml")]
    process = subprocess.Popen(
        [*command, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not any(p.name.startswith(".out.partial-") for p in tmp_path.iterdir()):
            assert process.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    simulation.run(small_scenario(tmp_path), out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "small.toml"]
