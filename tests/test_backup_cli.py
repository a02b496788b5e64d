"""``voltpool backup``: the built-in home prints its hours and writes a self-contained picture;
bad input exits 2, names the field and writes nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from voltpool.cli import app
from voltpool.files.home import HOMES

runner = CliRunner()


def test_backup_happy_path_writes_the_picture(tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    result = runner.invoke(
        app,
        [
            "backup",
            "run",
            "-o",
            str(out),
            "--grid-returns",
            "19:00",
            "--until-grid-returns",
            "21:30",
        ],
    )
    assert result.exit_code == 0, result.output
    text = result.output
    assert "How long can the cars power the house?" in text
    assert "Everything on" in text and "6 h (the whole outage)" in text
    assert "19:00" in text and "21:30" in text and "one-way" in text
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and "Washer &amp; dryer" in page
    # plotly.js is inlined (no external script): the page works offline
    assert 'src="http' not in page and len(page) > 1_000_000
    assert [p.name for p in tmp_path.iterdir()] == ["plan.html"]  # no temporary left behind


def test_backup_longer_outage_and_overload(tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    result = runner.invoke(app, ["backup", "run", "--hours", "16", "--overload", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "Shed first" in result.output and "Washer & dryer at 19:00" in result.output
    assert "Overload window: import limit 4 kW" in result.output
    assert "House import under the limit" in out.read_text()


def write_home(tmp_path: Path, change: str, replacement: str) -> Path:
    text, _source = HOMES.text("home")
    assert change in text
    path = tmp_path / "my-home.toml"
    path.write_text(text.replace(change, replacement))
    return path


def test_backup_bad_home_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = write_home(tmp_path, "min_range_km = 50 ", "min_range_km = 500 ")
    out = tmp_path / "plan.html"
    result = runner.invoke(app, ["backup", "run", str(path), "-o", str(out)])
    assert result.exit_code == 2
    assert "cars[0].min_range_km" in result.output and "nothing written" in result.output
    assert list(tmp_path.iterdir()) == [path]

    path = write_home(tmp_path, "end = 2025-01-15T23:00:00", "end = 2025-01-15T16:00:00")
    result = runner.invoke(app, ["backup", "run", str(path), "-o", str(out)])
    assert result.exit_code == 2 and "outage.end" in result.output
    assert not out.exists()


def test_backup_bad_options_exit_2(tmp_path: Path) -> None:
    out = tmp_path / "plan.html"
    for args, field in (
        (["--grid-returns", "25:00"], "--grid-returns"),
        (["--grid-returns", "19:10"], "--grid-returns"),
        (["--grid-returns", "23:30"], "--grid-returns"),
        (["castle"], "HOME"),
        (["--hours", "0.1"], "--hours"),
    ):
        result = runner.invoke(app, ["backup", "run", *args, "-o", str(out)])
        assert result.exit_code == 2, (args, result.output)
        assert field in result.output
    assert not out.exists()


def test_backup_show_prints_the_home_file() -> None:
    result = runner.invoke(app, ["backup", "show"])
    assert result.exit_code == 0
    assert result.output.startswith("# voltpool ")
    assert tomllib.loads(result.output)["name"] == "home"
    listed = runner.invoke(app, ["backup", "list"])
    assert listed.exit_code == 0 and listed.output.startswith("home: ")
