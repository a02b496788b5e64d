"""Ledger core: accounts, transfers, idempotency, rejections, batches, two-phase, history, verify.

Every test runs on SQLite and on PostgreSQL (``ledger_url`` from ``ledger_backends.py``).
Amounts are integer milli-credits (unit ``credit``) or Wh (unit ``energy``).
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from voltpool.ledger import (
    AccountNotFound,
    Balance,
    Conflict,
    InvalidInput,
    Ledger,
    LedgerError,
    NotFound,
    PendingNotFound,
    Rejected,
    UnitMismatch,
    _engine,
    _migrate,
)

START = datetime(2025, 6, 1, 12, tzinfo=UTC)


@dataclass
class FakeClock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ledger(ledger_url: str, clock: FakeClock):
    with Ledger.open(ledger_url, clock=clock) as opened:
        opened.create_account("grid", "utility", "grid", "credit")
        opened.create_account("alice", "alice", "owner", "credit")
        opened.create_account("bob", "bob", "owner", "credit")
        opened.create_account("fees", "community", "fees", "credit")
        opened.create_account("meter", "utility", "grid", "energy")
        opened.create_account("alice-wh", "alice", "owner", "energy")
        yield opened


def fund(ledger: Ledger, account: str, amount: int, transfer_id: str | None = None) -> None:
    ledger.transfer(
        transfer_id or f"fund-{account}-{amount}", "grid", account, amount, "credit", "topup"
    )


def state(ledger: Ledger) -> tuple:
    """Everything observable: balances, every history, the verify counts."""
    accounts = ledger.accounts()
    report = ledger.verify()
    return (
        accounts,
        ledger.balances(),
        {a.id: [t.id for t in ledger.history(a.id)] for a in accounts},
        report.transfers,
    )


# ---------------------------------------------------------------------- opening


def test_open_is_idempotent_and_keeps_data(ledger_url: str) -> None:
    with Ledger.open(ledger_url) as first:
        first.create_account("grid", "utility", "grid", "credit")
        first.create_account("alice", "alice", "owner", "credit")
        first.transfer("t1", "grid", "alice", 5, "credit", "v2g")
    with Ledger.open(ledger_url) as again:
        assert again.balance("alice") == Balance(0, 5, 0, 0)
        assert again.verify().ok


def test_concurrent_opens_of_a_fresh_database_migrate_once(ledger_url: str) -> None:
    errors: list[BaseException] = []

    def open_and_close() -> None:
        try:
            Ledger.open(ledger_url).close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_and_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    engine = _engine.create(_engine.normalise_url(ledger_url))
    try:
        with engine.connect() as conn:
            assert _migrate.current_revision(conn) == _migrate.head_revision()
    finally:
        engine.dispose()


def test_migrated_schema_matches_the_table_definitions(ledger_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from voltpool.ledger._schema import VERSION_TABLE, metadata

    Ledger.open(ledger_url).close()
    engine = _engine.create(_engine.normalise_url(ledger_url))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"version_table": VERSION_TABLE, "compare_type": True}
            )
            diff = [
                change
                for change in compare_metadata(context, metadata)
                if not (change[0] == "remove_table" and change[1].name == VERSION_TABLE)
            ]
    finally:
        engine.dispose()
    assert diff == []


def test_downgrade_then_upgrade(ledger_url: str) -> None:
    Ledger.open(ledger_url).close()
    engine = _engine.create(_engine.normalise_url(ledger_url))
    try:
        _migrate.downgrade(engine, "base")
        assert "ledger_transfers" not in sa.inspect(engine).get_table_names()
        _migrate.upgrade(engine)
        assert "ledger_transfers" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_url_handling(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    assert _engine.normalise_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert _engine.normalise_url("postgres://u@h/db").drivername == "postgresql+psycopg"
    monkeypatch.setenv("VOLTPOOL_DB", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert _engine.normalise_url(None).database == str(tmp_path / "env.sqlite")
    monkeypatch.delenv("VOLTPOOL_DB")
    assert _engine.normalise_url(None).render_as_string() == "sqlite:///voltpool-ledger.sqlite"
    for bad in ("mysql://u@h/db", "not a url", 42):
        with pytest.raises(InvalidInput, match="url"):
            _engine.normalise_url(bad)


def test_a_postgresql_url_without_the_driver_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now raises ImportError
    url = "postgresql://alice:secret@db.example:5432/credits"
    with pytest.raises(InvalidInput) as info:
        Ledger.open(url)
    assert info.value.field == "url"
    assert "alice:***@db.example:5432/credits" in info.value.rule  # the url, password hidden
    assert "secret" not in str(info.value)
    assert "pip install voltpool[postgres]" in info.value.rule


def test_sqlite_pragmas(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    with Ledger.open(url) as ledger, ledger._engine.connect() as conn:
        pragmas = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == 2  # FULL
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"] >= 1000


# ---------------------------------------------------------------------- accounts


def test_account_defaults_and_idempotent_creation(ledger: Ledger) -> None:
    accounts = {a.id: a for a in ledger.accounts()}
    assert accounts["alice"].allow_overdraft is False  # owner: no overdraft by default
    assert accounts["grid"].allow_overdraft is True
    assert accounts["fees"].allow_overdraft is True
    again = ledger.create_account("alice", "alice", "owner", "credit")
    assert again == accounts["alice"]
    assert ledger.get_account("alice") == accounts["alice"]
    with pytest.raises(Conflict, match="unit='credit'") as info:
        ledger.create_account("alice", "alice", "owner", "energy")
    assert info.value.field == "account_id"
    with pytest.raises(Conflict, match="allow_overdraft"):
        ledger.create_account("alice", "alice", "owner", "credit", allow_overdraft=True)
    with pytest.raises(NotFound):
        ledger.get_account("nobody")


BAD_ACCOUNTS = [
    ({"account_id": "has space"}, "account_id"),
    ({"account_id": "x" * 65}, "account_id"),
    ({"account_id": ""}, "account_id"),
    ({"account_id": 7}, "account_id"),
    ({"owner": ""}, "owner"),
    ({"owner": "   "}, "owner"),
    ({"owner": "a\nb"}, "owner"),
    ({"kind": "bank"}, "kind"),
    ({"unit": "kwh"}, "unit"),
    ({"allow_overdraft": "yes"}, "allow_overdraft"),
]


def test_account_bad_input(ledger: Ledger) -> None:
    before = ledger.accounts()
    for change, field in BAD_ACCOUNTS:  # one ledger for all cases (a fresh one costs more)
        args = {"account_id": "carol", "owner": "carol", "kind": "owner", "unit": "credit"}
        with pytest.raises(InvalidInput) as info:
            ledger.create_account(**(args | change))
        assert info.value.field == field, (change, str(info.value))
        assert str(info.value).startswith(f"{field}: ")
        assert ledger.accounts() == before, change


# ---------------------------------------------------------------------- transfers


def test_transfer_created_then_exists(ledger: Ledger, clock: FakeClock) -> None:
    first = ledger.transfer(
        "v2g-1", "grid", "alice", 1_500, "credit", "v2g", session="s-1", metadata={"wh": 750}
    )
    assert first.status == "created"
    t = first.transfer
    assert (t.id, t.debit_account, t.credit_account, t.amount) == ("v2g-1", "grid", "alice", 1_500)
    assert (t.kind, t.status, t.session, t.metadata) == ("single", "posted", "s-1", {"wh": 750})
    assert t.created_at == START
    clock.advance(5)
    again = ledger.transfer(
        "v2g-1", "grid", "alice", 1_500, "credit", "v2g", session="s-1", metadata={"wh": 750}
    )
    assert again.status == "exists"
    assert again.transfer == t  # the stored one, not a new copy
    assert ledger.balance("alice") == Balance(0, 1_500, 0, 0)
    assert ledger.balance("grid") == Balance(1_500, 0, 0, 0)
    assert ledger.balance("grid").net == -1_500
    assert ledger.get_transfer("v2g-1") == t
    assert ledger.verify().transfers == 1


CONFLICTING_CHANGES = [
    {"amount": 1_501},
    {"credit_account": "bob"},
    {"code": "v2v"},
    {"session": "s-2"},
    {"metadata": {"wh": 751}},
    {"pending": True},
]


def test_same_id_different_payload_is_a_conflict(ledger: Ledger) -> None:
    base = {
        "transfer_id": "v2g-1",
        "debit_account": "grid",
        "credit_account": "alice",
        "amount": 1_500,
        "unit": "credit",
        "code": "v2g",
        "session": "s-1",
        "metadata": {"wh": 750},
    }
    ledger.transfer(**base)
    before = state(ledger)
    for change in CONFLICTING_CHANGES:
        with pytest.raises(Conflict) as info:
            ledger.transfer(**(base | change))
        assert info.value.field == "transfer_id"
        assert next(iter(change)) in str(info.value), (change, str(info.value))
        assert state(ledger) == before, change
    assert ledger.transfer(**base).status == "exists"


def test_metadata_none_and_empty_are_the_same_payload(ledger: Ledger) -> None:
    ledger.transfer("t1", "grid", "alice", 3, "credit", "v2g", metadata=None)
    assert (
        ledger.transfer("t1", "grid", "alice", 3, "credit", "v2g", metadata={}).status == "exists"
    )
    # key order does not matter either
    ledger.transfer("t2", "grid", "alice", 3, "credit", "v2g", metadata={"a": 1, "b": 2})
    again = ledger.transfer("t2", "grid", "alice", 3, "credit", "v2g", metadata={"b": 2, "a": 1})
    assert again.status == "exists"


BAD_TRANSFERS = [
    ({"amount": -5}, "amount"),
    ({"amount": 0}, "amount"),
    ({"amount": 1.5}, "amount"),
    ({"amount": 2.0}, "amount"),
    ({"amount": True}, "amount"),
    ({"amount": "10"}, "amount"),
    ({"amount": Decimal("10")}, "amount"),
    ({"amount": None}, "amount"),
    ({"amount": 2**62}, "amount"),
    ({"transfer_id": "has space"}, "transfer_id"),
    ({"transfer_id": ""}, "transfer_id"),
    ({"transfer_id": "x" * 65}, "transfer_id"),
    ({"transfer_id": "é"}, "transfer_id"),
    ({"transfer_id": 12}, "transfer_id"),
    ({"debit_account": "a/b"}, "debit_account"),
    ({"credit_account": "grid"}, "credit_account"),  # same as the debit account
    ({"unit": "kwh"}, "unit"),
    ({"code": ""}, "code"),
    ({"code": "x" * 33}, "code"),
    ({"session": "has space"}, "session"),
    ({"metadata": [1, 2]}, "metadata"),
    ({"metadata": {"price": 0.21}}, "metadata.price"),
    ({"metadata": {1: "x"}}, "metadata"),
    ({"metadata": {"x": float("nan")}}, "metadata.x"),
    ({"metadata": {"big": "x" * 5000}}, "metadata"),
    ({"pending": "yes"}, "pending"),
    ({"timeout_s": 10}, "timeout_s"),  # without pending=True
    ({"pending": True, "timeout_s": 0}, "timeout_s"),
    ({"pending": True, "timeout_s": 1.5}, "timeout_s"),
]


def test_bad_transfer_input_writes_nothing(ledger: Ledger) -> None:
    base = {
        "transfer_id": "t1",
        "debit_account": "grid",
        "credit_account": "alice",
        "amount": 100,
        "unit": "credit",
        "code": "v2g",
    }
    before = state(ledger)
    for change, field in BAD_TRANSFERS:  # one ledger for all cases (a fresh one costs more)
        with pytest.raises(InvalidInput) as info:
            ledger.transfer(**(base | change))
        assert info.value.field == field, (change, str(info.value))
        assert str(info.value).startswith(f"{field}: ")
        assert state(ledger) == before, change
    assert ledger.rejection("t1") is None  # nothing recorded: the id is still free
    assert ledger.transfer(**base).status == "created"


def test_several_bad_fields_are_all_reported(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput) as info:
        ledger.transfer("bad id", "grid", "grid", -1, "kwh", "v2g")
    fields = [issue.field for issue in info.value.issues]
    assert fields == ["transfer_id", "credit_account", "amount", "unit"]


def test_energy_and_credit_do_not_mix(ledger: Ledger) -> None:
    ledger.transfer("e1", "meter", "alice-wh", 750, "energy", "v2g")
    assert ledger.balance("alice-wh") == Balance(0, 750, 0, 0)
    with pytest.raises(UnitMismatch) as info:
        ledger.transfer("e2", "meter", "alice", 750, "energy", "v2g")
    assert isinstance(info.value, Rejected)
    assert isinstance(info.value, InvalidInput)
    assert info.value.reason == "credit_account_unit_mismatch"
    assert info.value.field == "unit"
    with pytest.raises(UnitMismatch, match="debit account 'meter'"):
        ledger.transfer("e3", "meter", "alice-wh", 750, "credit", "v2g")


# ---------------------------------------------------------------------- rejections


def test_overdraft_is_rejected_and_the_id_stays_rejected(ledger: Ledger) -> None:
    fund(ledger, "alice", 1_000)
    before = state(ledger)
    with pytest.raises(Rejected) as info:
        ledger.transfer("p2p-1", "alice", "bob", 1_001, "credit", "v2v")
    assert info.value.reason == "exceeds_credits"
    assert info.value.field == "amount"
    assert "1000 available" in str(info.value)
    assert state(ledger) == before  # balances and history untouched
    fund(ledger, "alice", 5_000)  # now it would succeed ...
    with pytest.raises(Rejected) as again:  # ... but the id was rejected
        ledger.transfer("p2p-1", "alice", "bob", 1_001, "credit", "v2v")
    assert again.value.reason == "exceeds_credits"
    assert str(again.value) == str(info.value)
    with pytest.raises(Rejected):  # whatever the payload
        ledger.transfer("p2p-1", "alice", "bob", 1, "credit", "v2v")
    rejection = ledger.rejection("p2p-1")
    assert rejection is not None and rejection.reason == "exceeds_credits"
    with pytest.raises(NotFound, match="rejected"):
        ledger.get_transfer("p2p-1")
    ledger.transfer("p2p-2", "alice", "bob", 1_001, "credit", "v2v")  # a new id works


def test_exact_balance_can_be_spent_and_no_more(ledger: Ledger) -> None:
    fund(ledger, "alice", 300)
    ledger.transfer("spend-all", "alice", "bob", 300, "credit", "v2v")
    assert ledger.balance("alice").available == 0
    with pytest.raises(Rejected):
        ledger.transfer("one-more", "alice", "bob", 1, "credit", "v2v")


def test_overdraft_allowed_accounts_go_negative(ledger: Ledger) -> None:
    fund(ledger, "alice", 10)
    assert ledger.balance("grid").net == -10
    ledger.create_account("bank", "bank", "owner", "credit", allow_overdraft=True)
    ledger.transfer("loan", "bank", "alice", 50, "credit", "loan")
    assert ledger.balance("bank").net == -50


def test_unknown_accounts_are_rejected_and_stay_rejected(ledger: Ledger) -> None:
    with pytest.raises(AccountNotFound) as info:
        ledger.transfer("t-carol", "grid", "carol", 5, "credit", "v2g")
    assert isinstance(info.value, NotFound)
    assert isinstance(info.value, Rejected)
    assert info.value.reason == "credit_account_not_found"
    assert info.value.field == "credit_account"
    with pytest.raises(AccountNotFound, match="debit_account"):
        ledger.transfer("t-dave", "dave", "alice", 5, "credit", "v2g")
    ledger.create_account("carol", "carol", "owner", "credit")
    with pytest.raises(AccountNotFound):  # rejected ids stay rejected
        ledger.transfer("t-carol", "grid", "carol", 5, "credit", "v2g")
    assert ledger.balance("carol") == Balance(0, 0, 0, 0)


def test_error_hierarchy() -> None:
    for cls in (InvalidInput, NotFound, Conflict, Rejected, AccountNotFound, UnitMismatch):
        assert issubclass(cls, LedgerError)
    assert issubclass(InvalidInput, ValueError)
    assert issubclass(NotFound, LookupError)
    assert issubclass(PendingNotFound, Rejected)


# ---------------------------------------------------------------------- linked batches


def session_legs(prefix: str, energy: int, fee: int) -> list[dict]:
    """A V2V settlement: alice pays bob for the energy and the community its fee."""
    return [
        {
            "transfer_id": f"{prefix}-e",
            "debit_account": "alice",
            "credit_account": "bob",
            "amount": energy,
            "unit": "credit",
            "code": "v2v",
            "session": prefix,
        },
        {
            "transfer_id": f"{prefix}-f",
            "debit_account": "alice",
            "credit_account": "fees",
            "amount": fee,
            "unit": "credit",
            "code": "fee",
            "session": prefix,
        },
    ]


def test_batch_commits_all(ledger: Ledger) -> None:
    fund(ledger, "alice", 1_000)
    results = ledger.transfer_batch(session_legs("s1", 900, 100))
    assert [r.status for r in results] == ["created", "created"]
    assert ledger.balance("alice").available == 0
    assert ledger.balance("fees").net == 100
    retry = ledger.transfer_batch(session_legs("s1", 900, 100))
    assert [r.status for r in retry] == ["exists", "exists"]
    assert [r.transfer for r in retry] == [r.transfer for r in results]


def test_batch_commits_nothing_when_one_leg_fails(ledger: Ledger) -> None:
    fund(ledger, "alice", 1_000)
    before = state(ledger)
    with pytest.raises(Rejected) as info:
        ledger.transfer_batch(session_legs("s1", 950, 100))  # the fee leg overdraws
    assert info.value.reason == "exceeds_credits"
    assert info.value.field == "specs[1].amount"
    assert info.value.transfer_id == "s1-f"
    assert state(ledger) == before
    assert ledger.rejection("s1-f") is not None
    assert ledger.rejection("s1-e") is None  # only the failing id is recorded
    with pytest.raises(NotFound):
        ledger.get_transfer("s1-e")
    ledger.transfer("s1-e", "alice", "bob", 950, "credit", "v2v", session="s1")  # still usable
    with pytest.raises(Rejected):  # the batch as a whole stays rejected
        ledger.transfer_batch(session_legs("s1", 950, 100))


def test_batch_applies_in_order(ledger: Ledger) -> None:
    """A later leg may spend what an earlier leg of the same batch credited."""
    legs = [
        {"transfer_id": "in", "debit_account": "grid", "credit_account": "alice",
         "amount": 70, "unit": "credit", "code": "v2g"},
        {"transfer_id": "out", "debit_account": "alice", "credit_account": "bob",
         "amount": 70, "unit": "credit", "code": "v2v"},
    ]  # fmt: skip
    ledger.transfer_batch(legs)
    assert ledger.balance("bob").net == 70
    with pytest.raises(Rejected):  # the other order overdraws alice at the first leg
        ledger.transfer_batch([dict(legs[1], transfer_id="out2"), dict(legs[0], transfer_id="in2")])


def test_batch_partly_existing_is_a_conflict(ledger: Ledger) -> None:
    fund(ledger, "alice", 1_000)
    ledger.transfer(**session_legs("s1", 10, 1)[0])
    before = state(ledger)
    with pytest.raises(Conflict, match=r"specs\[1\]"):
        ledger.transfer_batch(session_legs("s1", 10, 1))
    assert state(ledger) == before


def test_batch_bad_input(ledger: Ledger) -> None:
    legs = session_legs("s1", 10, 1)
    with pytest.raises(InvalidInput, match=r"specs\[1\]\.amount"):
        ledger.transfer_batch([legs[0], dict(legs[1], amount=1.0)])
    with pytest.raises(InvalidInput, match="repeats"):
        ledger.transfer_batch([legs[0], dict(legs[1], transfer_id=legs[0]["transfer_id"])])
    with pytest.raises(InvalidInput, match=r"specs\[0\]\.colour"):
        ledger.transfer_batch([dict(legs[0], colour="red")])
    with pytest.raises(InvalidInput, match="specs"):
        ledger.transfer_batch([])
    with pytest.raises(InvalidInput, match="is required"):
        ledger.transfer_batch([{"transfer_id": "x"}])


# ---------------------------------------------------------------------- two-phase


def test_pending_reserves_then_post_partial_releases_the_rest(ledger: Ledger) -> None:
    fund(ledger, "alice", 1_000)
    reserved = ledger.transfer("hold", "alice", "bob", 600, "credit", "v2v", pending=True)
    assert reserved.transfer.status == "pending"
    assert ledger.balance("alice") == Balance(0, 1_000, 600, 0)
    assert ledger.balance("alice").available == 400
    assert ledger.balance("bob") == Balance(0, 0, 0, 600)
    with pytest.raises(Rejected):  # the reservation counts against the balance
        ledger.transfer("too-much", "alice", "bob", 401, "credit", "v2v")
    posted = ledger.post("hold-post", "hold", 450)
    assert posted.status == "created"
    t = posted.transfer
    assert (t.kind, t.amount, t.pending_id, t.status) == ("post", 450, "hold", "posted")
    assert (t.debit_account, t.credit_account, t.code) == ("alice", "bob", "v2v")
    assert ledger.balance("alice") == Balance(450, 1_000, 0, 0)
    assert ledger.balance("bob") == Balance(0, 450, 0, 0)
    held = ledger.get_transfer("hold")
    assert (held.status, held.resolved_by, held.amount) == ("posted", "hold-post", 600)
    assert ledger.post("hold-post", "hold", 450).status == "exists"
    assert ledger.verify().ok


def test_post_full_amount_by_default(ledger: Ledger) -> None:
    fund(ledger, "alice", 100)
    ledger.transfer("hold", "alice", "bob", 80, "credit", "v2v", pending=True)
    assert ledger.post("p", "hold").transfer.amount == 80
    assert ledger.post("p", "hold").status == "exists"  # None = the full amount, as before
    assert ledger.post("p", "hold", 80).status == "exists"
    with pytest.raises(Conflict, match="amount"):
        ledger.post("p", "hold", 79)
    assert ledger.balance("bob") == Balance(0, 80, 0, 0)


def test_void_releases(ledger: Ledger) -> None:
    fund(ledger, "alice", 100)
    ledger.transfer("hold", "alice", "bob", 80, "credit", "v2v", pending=True)
    voided = ledger.void("hold-void", "hold")
    assert (voided.transfer.kind, voided.transfer.status, voided.transfer.amount) == (
        "void",
        "voided",
        80,
    )
    assert ledger.balance("alice") == Balance(0, 100, 0, 0)
    assert ledger.balance("bob") == Balance(0, 0, 0, 0)
    assert ledger.get_transfer("hold").status == "voided"
    assert ledger.void("hold-void", "hold").status == "exists"
    assert [t.id for t in ledger.history("alice")] == ["fund-alice-100", "hold", "hold-void"]


@pytest.mark.parametrize(
    ("first", "second", "reason"),
    [
        ("post", "post", "pending_transfer_already_posted"),
        ("post", "void", "pending_transfer_already_posted"),
        ("void", "post", "pending_transfer_already_voided"),
        ("void", "void", "pending_transfer_already_voided"),
    ],
)
def test_a_pending_transfer_is_resolved_at_most_once(
    ledger: Ledger, first: str, second: str, reason: str
) -> None:
    fund(ledger, "alice", 100)
    ledger.transfer("hold", "alice", "bob", 80, "credit", "v2v", pending=True)
    getattr(ledger, first)("r1", "hold")
    before = state(ledger)
    with pytest.raises(Rejected) as info:
        getattr(ledger, second)("r2", "hold")
    assert info.value.reason == reason
    assert info.value.field == "pending_id"
    assert state(ledger) == before
    with pytest.raises(Rejected):  # r2 stays rejected
        getattr(ledger, second)("r2", "hold")


def test_post_rules(ledger: Ledger) -> None:
    fund(ledger, "alice", 100)
    ledger.transfer("hold", "alice", "bob", 80, "credit", "v2v", pending=True)
    with pytest.raises(Rejected) as info:
        ledger.post("p-big", "hold", 81)
    assert info.value.reason == "exceeds_pending_transfer_amount"
    with pytest.raises(PendingNotFound):
        ledger.post("p-none", "no-such-hold")
    with pytest.raises(Rejected) as info:
        ledger.post("p-single", "fund-alice-100")
    assert info.value.reason == "pending_transfer_not_pending"
    with pytest.raises(InvalidInput, match="amount"):
        ledger.post("p-zero", "hold", 0)
    with pytest.raises(InvalidInput, match="amount"):
        ledger.post("p-float", "hold", 1.0)
    with pytest.raises(InvalidInput, match="transfer_id"):
        ledger.post("hold", "hold")
    with pytest.raises(Conflict):  # an id used by a plain transfer
        ledger.post("fund-alice-100", "hold")
    assert ledger.get_transfer("hold").status == "pending"


def test_timeouts_expire_pending_transfers(ledger: Ledger, clock: FakeClock) -> None:
    fund(ledger, "alice", 100)
    ledger.transfer("h1", "alice", "bob", 30, "credit", "v2v", pending=True, timeout_s=60)
    ledger.transfer("h2", "alice", "bob", 30, "credit", "v2v", pending=True, timeout_s=120)
    ledger.transfer("h3", "alice", "bob", 30, "credit", "v2v", pending=True)  # no timeout
    assert ledger.get_transfer("h1").expires_at == START + timedelta(seconds=60)
    clock.advance(59)
    assert ledger.expire_pending() == 0
    clock.advance(1)  # exactly at the deadline: expired
    assert ledger.expire_pending() == 1
    assert ledger.get_transfer("h1").status == "expired"
    assert ledger.balance("alice").debits_pending == 60
    with pytest.raises(Rejected) as info:
        ledger.post("h1-post", "h1")
    assert info.value.reason == "pending_transfer_expired"
    assert ledger.expire_pending(START + timedelta(days=1)) == 1  # h2; never h3
    assert ledger.expire_pending(START + timedelta(days=1)) == 0
    assert ledger.balance("alice") == Balance(0, 100, 30, 0)
    with pytest.raises(InvalidInput, match="now"):
        ledger.expire_pending(datetime(2025, 1, 1))  # naive


def test_posting_after_the_deadline_expires_it(ledger: Ledger, clock: FakeClock) -> None:
    fund(ledger, "alice", 100)
    ledger.transfer("h1", "alice", "bob", 30, "credit", "v2v", pending=True, timeout_s=60)
    clock.advance(60)
    with pytest.raises(Rejected) as info:  # no sweeper ran: the post itself expires it
        ledger.post("h1-post", "h1", 10)
    assert info.value.reason == "pending_transfer_expired"
    assert ledger.get_transfer("h1").status == "expired"
    assert ledger.balance("alice") == Balance(0, 100, 0, 0)
    assert ledger.expire_pending() == 0
    assert ledger.verify().ok


# ---------------------------------------------------------------------- history


def test_history_pages(ledger: Ledger) -> None:
    ids = [f"t{i:02d}" for i in range(25)]
    for i, transfer_id in enumerate(ids):
        if i % 3 == 2:
            ledger.transfer(transfer_id, "alice", "bob", 1, "credit", "v2v")
        else:
            ledger.transfer(transfer_id, "grid", "alice", 1, "credit", "v2g")
    ledger.transfer("other", "grid", "bob", 1, "credit", "v2g")  # not alice's
    assert [t.id for t in ledger.history("alice")] == ids
    pages, after = [], None
    while page := ledger.history("alice", limit=7, after=after):
        pages.append([t.id for t in page])
        after = page[-1].id
    assert [len(p) for p in pages] == [7, 7, 7, 4]
    assert [i for page in pages for i in page] == ids
    assert ledger.history("fees") == []
    with pytest.raises(NotFound, match="account_id"):
        ledger.history("nobody")
    with pytest.raises(NotFound, match="after"):
        ledger.history("alice", after="no-such-transfer")
    for bad in (0, -1, 10_001, 2.0, True):
        with pytest.raises(InvalidInput, match="limit"):
            ledger.history("alice", limit=bad)


def test_balances_reads_many(ledger: Ledger) -> None:
    fund(ledger, "alice", 5)
    both = ledger.balances(["alice", "bob"])
    assert both == {"alice": Balance(0, 5, 0, 0), "bob": Balance(0, 0, 0, 0)}
    assert set(ledger.balances()) == {a.id for a in ledger.accounts()}
    with pytest.raises(NotFound):
        ledger.balances(["alice", "nobody"])
    with pytest.raises(NotFound):
        ledger.balance("nobody")


# ---------------------------------------------------------------------- invariants


def test_verify_finds_a_tampered_balance(ledger: Ledger) -> None:
    fund(ledger, "alice", 100)
    assert ledger.verify().ok
    with ledger._engine.begin() as conn:  # a bug or a hand edit outside the ledger
        conn.exec_driver_sql("UPDATE ledger_accounts SET credits_posted = 90 WHERE id = 'alice'")
    report = ledger.verify()
    assert not report.ok
    assert any("'alice'" in p and "credits_posted" in p for p in report.problems)
    assert any("sum of debits_posted" in p for p in report.problems)


def test_the_database_refuses_overdraft_and_edits_of_the_log(ledger: Ledger) -> None:
    fund(ledger, "alice", 100)
    with pytest.raises(sa.exc.IntegrityError), ledger._engine.begin() as conn:
        conn.exec_driver_sql("UPDATE ledger_accounts SET debits_posted = 101 WHERE id = 'alice'")
    for statement in (
        "UPDATE ledger_transfers SET amount = 1",
        "DELETE FROM ledger_transfers",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), ledger._engine.begin() as c:
            c.exec_driver_sql(statement)
    with pytest.raises(sa.exc.IntegrityError), ledger._engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO ledger_transfers (id, kind, debit_account_id, credit_account_id, amount,"
            " unit, code, metadata_json, created_at_us)"
            " VALUES ('neg', 'single', 'grid', 'alice', -5, 'credit', 'x', '{}', 0)"
        )
    assert ledger.verify().ok


def test_threads_cannot_overdraw(ledger: Ledger) -> None:
    """Eight threads race to spend 100 from an account holding 1,000: exactly 10 win."""
    fund(ledger, "alice", 1_000)
    outcomes: list[str] = []
    lock = threading.Lock()

    def spend(worker: int) -> None:
        for k in range(5):
            try:
                ledger.transfer(f"w{worker}-{k}", "alice", "bob", 100, "credit", "v2v")
                result = "created"
            except Rejected:
                result = "rejected"
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=spend, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("created") == 10
    assert outcomes.count("rejected") == 30
    assert ledger.balance("alice") == Balance(1_000, 1_000, 0, 0)
    assert ledger.verify().ok
