"""``voltpool ledger ...``: the documented walk-through works; amounts are shown and typed in
the account's unit; ``history`` shows one line per transfer with its state; a read never creates
a ledger; bad input exits 2, writes nothing."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voltpool.cli import app
from voltpool.ledger import Ledger, NotFound

runner = CliRunner()
START = datetime(2025, 6, 1, 12, tzinfo=UTC)
LATER = datetime(2100, 1, 1, 12, tzinfo=UTC)  # after any real clock that runs these tests
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\dZ")
READS = (["balance", "alice"], ["history", "alice"], ["accounts"], ["verify"])


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


def run(db: str, *args: str):
    return runner.invoke(app, ["ledger", *args, "--db", db])


def table_rows(output: str) -> list[list[str]]:
    """The rows of the table in ``output``, a cell's wrapped lines joined by spaces (a row
    starts where its first cell is not empty)."""
    rows: list[list[str]] = []
    for line in output.splitlines():
        if not line.startswith("│"):
            continue
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        if cells[0] or not rows:
            rows.append(cells)
        else:
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], cells, strict=True)]
    return rows


def test_walk_through(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    assert run(db, "init").exit_code == 0
    assert (
        run(db, "account", "create", "pool", "--owner", "community", "--kind", "pool").exit_code
        == 0
    )
    assert run(db, "account", "create", "alice", "--owner", "alice").exit_code == 0
    result = run(db, "transfer", "t1", "--from", "pool", "--to", "alice", "--amount", "1.5")
    assert result.exit_code == 0 and "created: t1 pool -> alice 1.500 credits" in result.output
    assert (
        "exists: t1"
        in run(db, "transfer", "t1", "--from", "pool", "--to", "alice", "--amount", "1.5").output
    )
    hold = run(
        db, "transfer", "h1", "--from", "alice", "--to", "pool", "--amount", "1", "--pending"
    )
    assert hold.exit_code == 0, hold.output
    posted = run(db, "post", "p1", "--pending", "h1", "--amount", "0.4")
    assert posted.exit_code == 0 and "0.400 credits, posts h1" in posted.output
    assert run(db, "void", "v1", "--pending", "h1").exit_code == 1  # resolved already
    balance = run(db, "balance", "alice")
    assert balance.exit_code == 0 and "1.100" in balance.output and "credits" in balance.output
    assert "t1" in run(db, "history", "alice").output
    check = run(db, "verify")
    assert check.exit_code == 0 and "all promises hold" in check.output


def test_overdraft_is_rejected_and_bad_input_writes_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    run(db, "account", "create", "pool", "--owner", "c", "--kind", "pool")
    run(db, "account", "create", "bob", "--owner", "bob")
    rejected = run(db, "transfer", "t1", "--from", "bob", "--to", "pool", "--amount", "5")
    assert rejected.exit_code == 1 and "rejected" in rejected.output
    assert "milli-credits for credit accounts" in rejected.output  # the ledger's own numbers
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
    assert runner.invoke(app, ["ledger", "--db", db, "init"]).exit_code == 0
    assert (tmp_path / "first.sqlite").exists()
    created = runner.invoke(app, ["ledger", "--db", db, "account", "create", "a", "--owner", "a"])
    assert created.exit_code == 0, created.output
    result = runner.invoke(app, ["ledger", "--db", db, "verify"])
    assert result.exit_code == 0 and "1 accounts" in result.output, result.output
    assert not (tmp_path / "unused.sqlite").exists()


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("nosuch://x", "'nosuch' is not supported"),
        ("sqlite:////no/such/folder/ledger.sqlite", "/no/such/folder"),
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


# ---------------------------------------------------------------------- units


def credit_ledger(tmp_path: Path) -> str:
    """A ledger with a pool and alice (credits) and a meter and alice-wh (energy)."""
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    for args in (
        ["pool", "--owner", "community", "--kind", "pool"],
        ["alice", "--owner", "alice"],
        ["meter", "--owner", "utility", "--kind", "grid", "--unit", "energy"],
        ["alice-wh", "--owner", "alice", "--unit", "energy"],
    ):
        result = run(db, "account", "create", *args)
        assert result.exit_code == 0, result.output
    return db


def test_amounts_are_typed_and_shown_in_the_accounts_unit(tmp_path: Path) -> None:
    db = credit_ledger(tmp_path)
    moved = run(db, "transfer", "t1", "--from", "pool", "--to", "alice", "--amount", "12.5")
    assert moved.exit_code == 0 and "12.500 credits" in moved.output, moved.output
    energy = run(db, "transfer", "e1", "--from", "meter", "--to", "alice-wh", "--amount", "1500")
    assert energy.exit_code == 0 and "1500 Wh" in energy.output, energy.output
    with Ledger.open(db) as ledger:
        assert ledger.balance("alice").credits_posted == 12_500  # milli-credits
        assert ledger.balance("alice-wh").credits_posted == 1_500
    balance = run(db, "balance", "alice")
    assert balance.exit_code == 0 and "in credits" in balance.output
    assert "12.500" in balance.output and "12500" not in balance.output
    assert "1500" in run(db, "balance", "alice-wh").output


@pytest.mark.parametrize(
    ("accounts", "amount", "rule"),
    [
        (("pool", "alice"), "12.5001", "has more than 3 decimals"),
        (("pool", "alice"), "0.0001", "has more than 3 decimals"),
        (("meter", "alice-wh"), "1.5", "energy accounts, which take whole Wh"),
        (("pool", "alice"), "1e3", "not an amount in plain decimal digits"),
        (("pool", "alice"), "inf", "not an amount in plain decimal digits"),
        (("pool", "alice"), "nan", "not an amount in plain decimal digits"),
        (("pool", "alice"), "1_000", "not an amount in plain decimal digits"),
        (("pool", "alice"), "0.000", "must be more than 0"),
        (("pool", "alice"), "9" * 18, "more than one transfer moves"),
    ],
)
def test_an_amount_its_unit_cannot_hold_exits_2_naming_amount(
    tmp_path: Path, accounts: tuple[str, str], amount: str, rule: str
) -> None:
    db = credit_ledger(tmp_path)
    debit, credit = accounts
    result = run(db, "transfer", "t1", "--from", debit, "--to", credit, "--amount", amount)
    assert result.exit_code == 2, result.output
    assert "  - --amount: " in result.output and rule in result.output
    with Ledger.open(db) as ledger:
        assert ledger.verify().transfers == 0 and ledger.rejection("t1") is None


def test_amount_decimals_convert_exactly(tmp_path: Path) -> None:
    db = credit_ledger(tmp_path)
    for transfer_id, amount in (
        ("t1", "0.001"),
        ("t2", "1234567.891"),
        ("t3", "2.5000"),
        ("t4", "3."),
    ):
        result = run(
            db, "transfer", transfer_id, "--from", "pool", "--to", "alice", "--amount", amount
        )
        assert result.exit_code == 0, result.output
    with Ledger.open(db) as ledger:
        assert [t.amount for t in ledger.history("alice")] == [1, 1_234_567_891, 2_500, 3_000]


def test_post_takes_the_pending_transfers_unit(tmp_path: Path) -> None:
    db = credit_ledger(tmp_path)
    run(db, "transfer", "fund", "--from", "pool", "--to", "alice", "--amount", "10")
    run(db, "transfer", "h1", "--from", "alice", "--to", "pool", "--amount", "5", "--pending")
    run(db, "transfer", "h2", "--from", "meter", "--to", "alice-wh", "--amount", "9", "--pending")
    assert run(db, "post", "p1", "--pending", "h1", "--amount", "3.2").exit_code == 0
    refused = run(db, "post", "p2", "--pending", "h2", "--amount", "4.5")
    assert refused.exit_code == 2 and "  - --amount: " in refused.output, refused.output
    assert run(db, "post", "p2", "--pending", "h2", "--amount", "4").exit_code == 0
    with Ledger.open(db) as ledger:
        assert ledger.get_transfer("p1").amount == 3_200
        assert ledger.get_transfer("p2").amount == 4


def test_an_unknown_account_is_still_rejected_and_recorded(tmp_path: Path) -> None:
    db = credit_ledger(tmp_path)
    result = run(db, "transfer", "t1", "--from", "pool", "--to", "nobody", "--amount", "1.5")
    assert result.exit_code == 1 and "recorded under id 't1'" in result.output
    post = run(db, "post", "p1", "--pending", "no-such-hold", "--amount", "1.5")
    assert post.exit_code == 1 and "recorded under id 'p1'" in post.output
    with Ledger.open(db) as ledger:
        assert ledger.rejection("t1") is not None and ledger.rejection("p1") is not None


# ---------------------------------------------------------------------- history


def test_statement_folds_each_resolution_into_its_pending_transfer(ledger_url: str) -> None:
    clock = FakeClock()
    with Ledger.open(ledger_url, clock=clock) as ledger:
        ledger.create_account("pool", "community", "pool", "credit")
        ledger.create_account("alice", "alice", "owner", "credit")
        ledger.transfer("fund", "pool", "alice", 10_000, "credit", "grant")
        ledger.transfer("h-post", "alice", "pool", 5_000, "credit", "v2v", pending=True)
        ledger.post("h-post.post", "h-post", 3_200)
        ledger.transfer("h-void", "alice", "pool", 1_000, "credit", "v2v", pending=True)
        ledger.void("h-void.void", "h-void")
        ledger.transfer("h-open", "pool", "alice", 700, "credit", "v2g", pending=True)
        lines = ledger.statement("alice")
        assert [line.transfer_id for line in lines] == ["fund", "h-post", "h-void", "h-open"]
        assert [(line.amount, line.status, line.reserved) for line in lines] == [
            (10_000, "posted", None),
            (-3_200, "posted", 5_000),
            (-1_000, "voided", 1_000),
            (700, "pending", 700),
        ]
        assert {line.other_account for line in lines} == {"pool"}
        assert lines[1].resolved_by == "h-post.post" and lines[1].resolved_at == START
        assert lines[0].created_at == START
        page = ledger.statement("alice", limit=2, after="fund")
        assert [line.transfer_id for line in page] == ["h-post", "h-void"]
        assert [line.amount for line in ledger.statement("pool")] == [-10_000, 3_200, 1_000, -700]
        with pytest.raises(NotFound, match="account_id"):
            ledger.statement("nobody")


def test_history_shows_one_line_per_transfer_with_time_and_state(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    clock = FakeClock()
    with Ledger.open(db, clock=clock) as ledger:
        ledger.create_account("pool", "community", "pool", "credit")
        ledger.create_account("alice", "alice", "owner", "credit")
        ledger.transfer("fund", "pool", "alice", 10_000, "credit", "grant")
        ledger.transfer("h-post", "alice", "pool", 5_000, "credit", "v2v", pending=True)
        ledger.post("h-post.post", "h-post", 3_200)
        ledger.transfer("h-full", "alice", "pool", 500, "credit", "v2v", pending=True)
        ledger.post("h-full.post", "h-full")
        ledger.transfer("h-void", "alice", "pool", 1_000, "credit", "v2v", pending=True)
        ledger.void("h-void.void", "h-void")
        ledger.transfer("h-exp", "alice", "pool", 200, "credit", "v2v", pending=True, timeout_s=60)
        clock.now = START + timedelta(seconds=60)
        assert ledger.expire_pending() == 1  # h-exp; h-held expires later, not swept
        ledger.transfer("h-held", "alice", "pool", 300, "credit", "v2v", pending=True, timeout_s=60)
        clock.now = LATER
        ledger.transfer(
            "h-open", "pool", "alice", 700, "credit", "v2g", pending=True, timeout_s=3600
        )
    result = run(db, "history", "alice")
    assert result.exit_code == 0, result.output
    assert "amounts in credits" in result.output and "time (UTC)" in result.output
    assert ".post" not in result.output and ".void" not in result.output  # folded in
    rows = {row[1]: row for row in table_rows(result.output)}
    assert list(rows) == ["fund", "h-post", "h-full", "h-void", "h-exp", "h-held", "h-open"]
    assert all(TIME.fullmatch(row[0]) for row in rows.values())
    assert rows["fund"][0] == "2025-06-01T12:00Z" and rows["h-open"][0] == "2100-01-01T12:00Z"
    assert {row[2] for row in rows.values()} == {"pool"}
    states = {transfer_id: (row[3], row[5]) for transfer_id, row in rows.items()}
    assert states == {
        "fund": ("+10.000", "posted"),
        "h-post": ("-3.200", "posted 3.200 of 5.000"),
        "h-full": ("-0.500", "posted"),
        "h-void": ("-1.000", "voided"),
        "h-exp": ("-0.200", "expired"),
        "h-held": ("-0.300", "expired 12:02 (still held)"),
        "h-open": ("+0.700", "pending (expires 13:00)"),
    }
    page = run(db, "history", "alice", "--limit", "2")
    assert "more may follow: voltpool ledger history alice --after h-post" in page.output
    rest = run(db, "history", "alice", "--after", "h-open")
    assert rest.exit_code == 0 and "alice: no transfers after that" in rest.output


def test_accounts_lists_every_account_in_its_unit(tmp_path: Path) -> None:
    db = credit_ledger(tmp_path)
    run(db, "transfer", "t1", "--from", "pool", "--to", "alice", "--amount", "487.778")
    run(db, "transfer", "h1", "--from", "alice", "--to", "pool", "--amount", "0.25", "--pending")
    run(db, "transfer", "e1", "--from", "meter", "--to", "alice-wh", "--amount", "1500")
    result = run(db, "accounts")
    assert result.exit_code == 0, result.output
    assert table_rows(result.output) == [
        ["alice", "alice", "owner", "credits", "487.778", "-0.250"],
        ["alice-wh", "alice", "owner", "Wh", "1500", "0"],
        ["meter", "utility", "grid", "Wh", "-1500", "0"],
        ["pool", "community", "pool", "credits", "-487.778", "+0.250"],
    ]


# ---------------------------------------------------------------------- reads create nothing


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
@pytest.mark.parametrize("where", ["after", "before"])
def test_a_read_of_a_missing_file_exits_2_and_creates_nothing(
    tmp_path: Path, args: list[str], where: str
) -> None:
    path = tmp_path / "missing.sqlite"
    db = f"sqlite:///{path}"
    command = ["ledger", *args, "--db", db] if where == "after" else ["ledger", "--db", db, *args]
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert f"  - --db: no ledger at {path}" in result.output
    assert "voltpool ledger init creates one" in result.output
    assert list(tmp_path.iterdir()) == []


def test_a_read_of_the_default_file_creates_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VOLTPOOL_DB", raising=False)
    result = runner.invoke(app, ["ledger", "accounts"])
    assert result.exit_code == 2 and "no ledger at voltpool-ledger.sqlite" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", READS, ids=[" ".join(a) for a in READS])
def test_a_read_of_a_database_without_a_ledger_exits_2_and_changes_nothing(
    tmp_path: Path, args: list[str]
) -> None:
    empty = tmp_path / "empty.sqlite"
    empty.touch()
    other = tmp_path / "other.sqlite"
    with closing(sqlite3.connect(other)) as connection, connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    for path in (empty, other):
        result = run(f"sqlite:///{path}", *args)
        assert result.exit_code == 2, result.output
        assert f"  - --db: no ledger at {path} (it holds no ledger tables)" in result.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_ledger_open_must_exist_creates_nothing(ledger_url_factory: Callable[[], str]) -> None:
    url = ledger_url_factory()
    with pytest.raises(NotFound, match="no ledger at"):
        Ledger.open(url, must_exist=True)
    if url.startswith("sqlite:///"):
        assert not Path(url.removeprefix("sqlite:///")).exists()
    with Ledger.open(url) as created:
        created.create_account("alice", "alice", "owner", "credit")
    with Ledger.open(url, must_exist=True) as opened:
        assert [a.id for a in opened.accounts()] == ["alice"]


def test_a_transfer_may_still_create_the_file(tmp_path: Path) -> None:
    """A write creates a missing SQLite file, as before: the transfer is rejected (no such
    accounts) and the rejection recorded in the new ledger."""
    path = tmp_path / "new.sqlite"
    result = run(f"sqlite:///{path}", "transfer", "t1", "--from", "a", "--to", "b", "--amount", "1")
    assert result.exit_code == 1 and "recorded under id 't1'" in result.output
    with Ledger.open(f"sqlite:///{path}", must_exist=True) as ledger:
        assert ledger.rejection("t1") is not None


# ---------------------------------------------------------------------- account create, help


def test_account_create_and_clean_help(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'l.sqlite'}"
    created = run(db, "account", "create", "alice", "--owner", "alice", "--no-overdraft")
    assert created.exit_code == 0, created.output
    assert "account alice: owner account of alice, amounts in credits" in created.output
    again = run(db, "account", "create", "alice", "--owner", "alice")
    assert again.exit_code == 0  # the same account again is fine
    conflict = run(db, "account", "create", "alice", "--owner", "bob")
    assert conflict.exit_code == 1 and "conflict" in conflict.output
    old = run(db, "account", "make", "bob", "--owner", "bob")
    assert old.exit_code == 2
    account_help = runner.invoke(app, ["ledger", "account", "--help"]).output
    assert "create" in account_help and "ACTION" not in account_help
    create_help = runner.invoke(app, ["ledger", "account", "create", "--help"]).output
    assert "--owner" in create_help and "--allow-overdraft / --no-overdraft" in create_help
    commands = ["", "account", "account create", "init", "transfer", "post", "void"]
    commands += ["balance", "accounts", "history", "verify"]
    for command in commands:
        shown = runner.invoke(app, ["ledger", *command.split(), "--help"])
        assert shown.exit_code == 0, shown.output
        for markup in ("``", "`", ":func:", ":data:", "[bold"):
            assert markup not in shown.output, (command, markup, shown.output)
