"""voltpool's double-entry ledger of credits and energy, modelled on TigerBeetle.

Amounts are integers in the smallest unit: ``credit`` accounts hold milli-credits, ``energy``
accounts hold Wh. Every transfer debits one account and credits another of the same unit; owner
accounts cannot be overdrawn (also with concurrent writers); a client-chosen transfer id makes a
retry answer ``exists``; linked batches commit all or nothing; pending transfers are posted or
voided at most once; transfers are never updated or deleted. Storage: SQLite (WAL) or PostgreSQL
(READ COMMITTED with explicit locks), schema managed with Alembic. ``Ledger.start_sweeper``
releases timed-out pending transfers in the background.

    ledger = Ledger.open("sqlite:///ledger.sqlite")
    ledger.create_account("alice", owner="alice", kind="owner", unit="credit")
    ledger.transfer("t-1", debit_account="pool", credit_account="alice", amount=1500,
                    unit="credit", code="v2g", session="s-42")
"""

from __future__ import annotations

from voltpool.ledger._batch import Operations
from voltpool.ledger._engine import RunStats
from voltpool.ledger._errors import (
    AccountNotFound,
    Conflict,
    InvalidInput,
    LedgerError,
    NotFound,
    PendingNotFound,
    Rejected,
    UnitMismatch,
)
from voltpool.ledger._ledger import Ledger
from voltpool.ledger._model import (
    ACCOUNT_KINDS,
    UNITS,
    Account,
    Balance,
    Rejection,
    StatementEntry,
    Transfer,
    TransferResult,
    VerifyReport,
)
from voltpool.ledger.sweeper import Sweeper

__all__ = [
    "ACCOUNT_KINDS",
    "UNITS",
    "Account",
    "AccountNotFound",
    "Balance",
    "Conflict",
    "InvalidInput",
    "Ledger",
    "LedgerError",
    "NotFound",
    "Operations",
    "PendingNotFound",
    "Rejected",
    "Rejection",
    "RunStats",
    "StatementEntry",
    "Sweeper",
    "Transfer",
    "TransferResult",
    "UnitMismatch",
    "VerifyReport",
]
