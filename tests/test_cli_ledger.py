"""``voltpool ledger ...``: the documented walk-through works; bad input exits 2, writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from voltpool.cli import app
from voltpool.ledger import Ledger

runner = CliRunner()


def run(db: str, *args: str):
    return runner.invoke(app, ["ledger", *args, "--db", db])


def test_walk_through(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    assert run(db, "init").exit_code == 0
    assert (
        run(db, "account", "create", "pool", "--owner", "community", "--kind", "pool").exit_code
        == 0
    )
    assert run(db, "account", "create", "alice", "--owner", "alice").exit_code == 0
    result = run(db, "transfer", "t1", "--from", "pool", "--to", "alice", "--amount", "1500")
    assert result.exit_code == 0 and "created: t1" in result.output
    assert (
        "exists: t1"
        in run(db, "transfer", "t1", "--from", "pool", "--to", "alice", "--amount", "1500").output
    )
    hold = run(
        db, "transfer", "h1", "--from", "alice", "--to", "pool", "--amount", "1000", "--pending"
    )
    assert hold.exit_code == 0, hold.output
    assert run(db, "post", "p1", "--pending", "h1", "--amount", "400").exit_code == 0
    assert run(db, "void", "v1", "--pending", "h1").exit_code == 1  # resolved already
    balance = run(db, "balance", "alice")
    assert balance.exit_code == 0 and "1100" in balance.output
    assert "t1" in run(db, "history", "alice").output
    check = run(db, "verify")
    assert check.exit_code == 0 and "all promises hold" in check.output


def test_overdraft_is_rejected_and_bad_input_writes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    run(db, "account", "create", "pool", "--owner", "c", "--kind", "pool")
    run(db, "account", "create", "bob", "--owner", "bob")
    rejected = run(db, "transfer", "t1", "--from", "bob", "--to", "pool", "--amount", "5")
    assert rejected.exit_code == 1 and "rejected" in rejected.output
    for bad in (["--amount", "-5"], ["--amount", "0"]):
        result = run(db, "transfer", "t2", "--from", "pool", "--to", "bob", *bad)
        assert result.exit_code == 2, result.output
        assert "amount" in result.output
    unknown = run(db, "transfer", "t3", "--from", "pool", "--to", "nobody", "--amount", "5")
    assert unknown.exit_code == 1 and "nobody" in unknown.output
    assert "recorded under id 't3'" in unknown.output
    ledger = Ledger.open(db)
    try:
        assert ledger.balance("bob").net == 0
        assert ledger.verify().transfers == 0
    finally:
        ledger.close()


def test_db_option_before_the_command(tmp_path: Path, monkeypatch) -> None:
    # recorded so the value the command sets is undone after the test
    monkeypatch.setenv("VOLTPOOL_DB", f"sqlite:///{tmp_path / 'unused.sqlite'}")
    db = f"sqlite:///{tmp_path / 'first.sqlite'}"
    result = runner.invoke(app, ["ledger", "--db", db, "verify"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "first.sqlite").exists()


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("nosuch://x", "'nosuch' is not supported"),
        ("sqlite:////no/such/folder/ledger.sqlite", "cannot open sqlite:////no/such/folder"),
    ],
)
def test_a_database_that_cannot_be_opened_exits_2_naming_db(url: str, rule: str) -> None:
    result = runner.invoke(app, ["ledger", "--db", url, "verify"])
    assert result.exit_code == 2, result.output
    assert "--db" in result.output and rule in result.output


def test_a_rejection_is_reported_as_recorded_not_as_nothing_written(tmp_path: Path) -> None:
    """An unknown account or a unit mismatch is a rejection the ledger records under the id
    (exit 1, saying so), not bad input (exit 2, "nothing written"); the id stays rejected."""
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    run(db, "account", "create", "pool", "--owner", "c", "--kind", "pool")
    run(db, "account", "create", "wh", "--owner", "c", "--kind", "pool", "--unit", "energy")
    args = ("--from", "pool", "--to", "alice", "--amount", "5")
    first = run(db, "transfer", "t1", *args)
    assert first.exit_code == 1, first.output
    assert "rejected" in first.output and "recorded under id 't1'" in first.output
    assert "nothing written" not in first.output
    assert run(db, "account", "create", "alice", "--owner", "alice").exit_code == 0
    again = run(db, "transfer", "t1", *args)
    assert again.exit_code == 1 and "recorded under id 't1'" in again.output
    assert "new id" in again.output
    assert run(db, "transfer", "t2", *args).exit_code == 0
    mismatch = run(db, "transfer", "t3", "--from", "wh", "--to", "alice", "--amount", "5")
    assert mismatch.exit_code == 1 and "recorded under id 't3'" in mismatch.output
    ledger = Ledger.open(db)
    try:
        assert ledger.rejection("t1") is not None and ledger.rejection("t3") is not None
        assert ledger.verify().transfers == 1
    finally:
        ledger.close()


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--amount", "5_000"], "--amount"),
        (["--amount", "5e3"], "--amount"),
        (["--amount", "1" * 5000], "--amount"),
        (["--amount", "5", "--metadata", '{"note": "\\udc80"}'], "--metadata.note"),
        (["--amount", "5", "--metadata", "[" * 10_000], "--metadata"),
        (["--amount", "5", "--metadata", '{"a": NaN}'], "--metadata.a"),
        (["--amount", "5", "--session", "\udcff"], "--session"),
        (["--amount", "5", "--code", "x" * 10_000_000], "--code"),
    ],
)
def test_bad_options_exit_2_and_create_no_ledger_file(
    tmp_path: Path, args: list[str], field: str
) -> None:
    path = tmp_path / "l.sqlite"
    result = run(f"sqlite:///{path}", "transfer", "t1", "--from", "a", "--to", "b", *args)
    assert result.exit_code == 2, result.output
    assert f"  - {field}:" in result.output
    assert len(result.output) < 2000  # a refused value is quoted, never echoed whole
    assert not path.exists()


def test_an_empty_db_is_refused_not_the_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["ledger", "--db", "", "verify"], ["ledger", "verify", "--db", "  "]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, result.output
        assert "  - --db: is empty" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_is_not_a_database_is_refused_naming_db(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database, but precious\n")
    result = runner.invoke(app, ["ledger", "--db", f"sqlite:///{path}", "verify"])
    assert result.exit_code == 2, result.output
    assert "--db" in result.output and "not a database" in result.output
    assert path.read_text() == "not a database, but precious\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]
