"""Many independent operations in one transaction (``Ledger.apply``): each as its own call
would be, one result each, rejections recorded and the rest booked, a conflict or a bad
request writes nothing. On SQLite and PostgreSQL (``ledger_url``)."""

from __future__ import annotations

import pytest

from voltpool.ledger import Conflict, InvalidInput, Ledger, Operations, Rejected


@pytest.fixture
def ledger(ledger_url: str):
    with Ledger.open(ledger_url) as opened:
        opened.create_account("pool", "community", "pool", "credit")
        opened.create_account("alice", "alice", "owner", "credit")
        opened.create_account("bob", "bob", "owner", "credit")
        opened.create_account("meter", "utility", "grid", "energy")
        opened.create_account("alice-wh", "alice", "owner", "energy")
        yield opened


def credit(transfer_id: str, debit: str, credit: str, amount: int, **more) -> dict:
    return dict(
        transfer_id=transfer_id,
        debit_account=debit,
        credit_account=credit,
        amount=amount,
        unit="credit",
        code="v2g",
        **more,
    )


def test_operations_apply_in_order_and_a_rejection_stops_only_itself(ledger: Ledger) -> None:
    ops = Operations()
    ops.transfer(**credit("grant", "pool", "alice", 1_000))
    ops.transfer(**credit("hold", "pool", "alice", 500, pending=True))
    ops.post("post", "hold", 300)  # the pending transfer made two operations earlier
    too_much = ops.transfer(**credit("spend", "alice", "bob", 5_000))  # alice has 1,300
    ops.transfer_batch(
        [
            credit("pay", "alice", "bob", 200),
            dict(
                transfer_id="wh",
                debit_account="meter",
                credit_account="alice-wh",
                amount=1_234,
                unit="energy",
                code="v2g",
            ),
        ]
    )
    results = ledger.apply(ops)
    assert len(results) == len(ops) == 5
    assert [r.status for r in results[:3]] == ["created"] * 3
    assert isinstance(results[too_much], Rejected)
    assert results[too_much].reason == "exceeds_credits"
    assert [r.status for r in results[4]] == ["created", "created"]
    assert ledger.balance("alice").net == 1_000 + 300 - 200
    assert ledger.balance("bob").net == 200
    assert ledger.balance("alice-wh").net == 1_234
    assert ledger.rejection("spend") is not None  # recorded, as transfer() records it
    assert ledger.verify().ok

    again = ledger.apply(ops)  # idempotent: the same answers, nothing booked twice
    assert [r.status for r in again[:3]] == ["exists"] * 3
    assert isinstance(again[too_much], Rejected)
    assert ledger.balance("alice").net == 1_100


def test_a_conflict_writes_nothing(ledger: Ledger) -> None:
    ledger.transfer(**credit("grant", "pool", "alice", 1_000))
    ops = Operations()
    ops.transfer(**credit("other", "pool", "bob", 10))
    ops.transfer(**credit("grant", "pool", "alice", 999))  # the same id, another amount
    with pytest.raises(Conflict):
        ledger.apply(ops)
    with pytest.raises(LookupError):
        ledger.get_transfer("other")
    assert ledger.balance("bob").net == 0


def test_a_bad_operation_is_refused_when_added_naming_it() -> None:
    ops = Operations()
    ops.transfer(**credit("ok", "pool", "alice", 1))
    with pytest.raises(InvalidInput) as error:
        ops.transfer(**credit("bad", "pool", "alice", 1.5))
    assert error.value.field == "operations[1].amount"
    with pytest.raises(InvalidInput) as error:
        ops.post("p", "p")
    assert error.value.field == "operations[1].transfer_id"
    with pytest.raises(InvalidInput) as error:
        ops.transfer_batch([credit("a", "pool", "alice", 1), credit("a", "pool", "bob", 1)])
    assert error.value.field.startswith("operations[1].specs[1]")
    assert len(ops) == 1
