"""Rows <-> dataclasses, and the in-transaction state of locked accounts (pure bookkeeping)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Row

from voltpool.ledger._engine import from_us
from voltpool.ledger._model import Account, Transfer
from voltpool.ledger._schema import resolutions, transfers
from voltpool.ledger._validate import BALANCE_MAX

BALANCE_COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
PENDING_STATUS = {None: "pending", "posted": "posted", "voided": "voided", "expired": "expired"}
KIND_STATUS = {"single": "posted", "post": "posted", "void": "voided"}


def transfer_query() -> sa.Select:
    """Transfers with the resolution of each pending one (outer join)."""
    joined = transfers.outerjoin(resolutions, resolutions.c.pending_id == transfers.c.id)
    return sa.select(
        transfers,
        resolutions.c.outcome.label("resolution_outcome"),
        resolutions.c.transfer_id.label("resolved_by"),
    ).select_from(joined)


def to_transfer(row: Row) -> Transfer:
    m = row._mapping
    kind = m["kind"]
    status = PENDING_STATUS[m["resolution_outcome"]] if kind == "pending" else KIND_STATUS[kind]
    return Transfer(
        id=m["id"],
        debit_account=m["debit_account_id"],
        credit_account=m["credit_account_id"],
        amount=int(m["amount"]),
        unit=m["unit"],
        code=m["code"],
        kind=kind,
        status=status,
        session=m["session"],
        metadata=json.loads(m["metadata_json"]),
        pending_id=m["pending_id"],
        timeout_s=None if m["timeout_s"] is None else int(m["timeout_s"]),
        created_at=from_us(m["created_at_us"]),
        expires_at=from_us(m["expires_at_us"]),
        resolved_by=m["resolved_by"],
    )


def to_account(row: Row) -> Account:
    m = row._mapping
    return Account(m["id"], m["owner"], m["kind"], m["unit"], bool(m["allow_overdraft"]))


def transfer_row(
    transfer: Transfer, created_at_us: int, expires_at_us: int | None, metadata_json: str
) -> dict[str, Any]:
    return {
        "id": transfer.id,
        "kind": transfer.kind,
        "debit_account_id": transfer.debit_account,
        "credit_account_id": transfer.credit_account,
        "amount": transfer.amount,
        "unit": transfer.unit,
        "code": transfer.code,
        "session": transfer.session,
        "metadata_json": metadata_json,
        "pending_id": transfer.pending_id,
        "timeout_s": transfer.timeout_s,
        "expires_at_us": expires_at_us,
        "created_at_us": created_at_us,
    }


class InvariantBroken(RuntimeError):
    """A programmer error: the ledger was about to write a state that breaks its invariants."""


@dataclass(slots=True)
class AccountState:
    """A locked account's balances while a transaction changes them."""

    id: str
    unit: str
    allow_overdraft: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    dirty: bool = False

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted - self.debits_pending

    def add(self, column: str, amount: int) -> None:
        setattr(self, column, getattr(self, column) + amount)
        self.dirty = True

    def overflows(self, column: str, amount: int) -> bool:
        return getattr(self, column) + amount > BALANCE_MAX

    def check(self) -> None:
        """TigerBeetle-style: assert the invariants right before writing (kept on with -O)."""
        for column in BALANCE_COLUMNS:
            value = getattr(self, column)
            if not 0 <= value <= BALANCE_MAX:
                raise InvariantBroken(f"account {self.id!r}: {column}={value} out of range")
        if not self.allow_overdraft and self.available < 0:
            raise InvariantBroken(f"account {self.id!r}: overdraft {self.available}")
