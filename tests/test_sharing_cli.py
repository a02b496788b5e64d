"""``voltpool share``: the shipped circle runs end to end; bad input exits 2 and writes nothing."""

from __future__ import annotations

import tomllib
from pathlib import Path

from typer.testing import CliRunner

from voltpool.cli import app
from voltpool.files.circle import circle_text
from voltpool.ledger import Ledger

runner = CliRunner()


def balances(db: str) -> dict[str, int]:
    with Ledger.open(db) as ledger:
        assert ledger.verify().ok
        return {
            account.id: ledger.balance(account.id).net
            for account in ledger.accounts()
            if account.owner != "friends"
        }


def test_share_run_on_the_shipped_circle_settles_and_replays(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/l.sqlite"
    result = runner.invoke(app, ["share", "run", "--db", db])
    assert result.exit_code == 0, result.output
    output = result.output
    assert "alice -> bob" in output and "direct" in output and "grid" in output
    assert "you gave 13.0 kWh to bob" in output
    assert "you received 12.0 kWh into your battery from alice" in output
    assert "refused" in output  # frank cannot pay erin's price
    assert "ledger verify ok" in output
    first = balances(db)
    assert first["bob.credits"] == 400_000 - 326_075
    assert sum(v for k, v in first.items() if k.endswith(".credits")) == 850_000
    again = runner.invoke(app, ["share", "run", "friends", "--db", db])
    assert again.exit_code == 0, again.output
    assert "posted (exists)" in again.output
    assert balances(db) == first


def test_share_run_with_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    text, _source = circle_text("friends")
    bad = tmp_path / "bad.toml"
    text = text.replace("keep_above_soc = 0.5", "keep_above_soc = 0.95")
    text = text.replace("deadline = 2025-01-15T07:30:00", "deadline = 2025-01-14T07:30:00")
    text = text.replace('consent = ["dave"]', 'consent = ["dave", "zoe"]')
    text = text.replace("price_credits_per_kwh = 35", "price_credits_per_kwh = -35")
    text = text.replace('id = "frank-ev"', 'id = "frank-ev"\ncolour = "red"')
    assert tomllib.loads(text)  # still valid TOML
    bad.write_text(text)
    result = runner.invoke(
        app, ["share", "run", str(bad), "--db", f"sqlite:///{tmp_path}/l.sqlite"]
    )
    assert result.exit_code == 2
    assert "cars[5].colour" in result.output and "unknown key" in result.output
    assert not (tmp_path / "l.sqlite").exists()
    text = text.replace('colour = "red"\n', "")
    bad.write_text(text)
    result = runner.invoke(
        app, ["share", "run", str(bad), "--db", f"sqlite:///{tmp_path}/l.sqlite"]
    )
    assert result.exit_code == 2
    for field in (
        "offers[0].keep_above_soc",
        "requests[0].deadline",
        "offers[1].consent[1]",
        "offers[2].price_credits_per_kwh",
    ):
        assert field in result.output, field
    assert "nothing written" in result.output
    assert not (tmp_path / "l.sqlite").exists()
    checked = runner.invoke(app, ["share", "check", str(bad)])
    assert checked.exit_code == 2 and "offers[0].keep_above_soc" in checked.output


def test_share_check_show_and_bad_options(tmp_path: Path) -> None:
    result = runner.invoke(app, ["share", "check", "friends"])
    assert result.exit_code == 0 and "6 members" in result.output
    shown = runner.invoke(app, ["share", "show"])
    assert shown.exit_code == 0 and tomllib.loads(shown.output)["name"] == "friends"
    result = runner.invoke(app, ["share", "run", "--now", "yesterday-ish", "--db", "sqlite:///x"])
    assert result.exit_code == 2 and "--now" in result.output
    late = runner.invoke(app, ["share", "check", "nope"])
    assert late.exit_code == 2 and "CIRCLE" in late.output
    # a clock after the deadlines: every window is in the past
    db = f"sqlite:///{tmp_path}/l.sqlite"
    result = runner.invoke(app, ["share", "run", "--now", "2025-01-16T12:00", "--db", db])
    assert result.exit_code == 2 and "is in the past" in result.output
    assert not (tmp_path / "l.sqlite").exists()
