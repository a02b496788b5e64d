"""The ledger's input rules without a database: a front end checks a request with these before
it opens the ledger (opening a SQLite URL creates the file), so bad input writes nothing at all.
The ledger applies the same rules again; each raises ``InvalidInput`` listing every issue.

    check_transfer(transfer_id="t-1", debit_account="pool", credit_account="alice",
                   amount=1500, unit="credit", code="v2g")
"""

from __future__ import annotations

from typing import Any

from voltpool.ledger._validate import (
    AMOUNT_MAX,
    account_args,
    history_args,
    resolve_spec,
    single_id,
    transfer_spec,
)


def check_account(
    account_id: object, owner: object, kind: object, unit: object, allow_overdraft: object = None
) -> None:
    """The rules of :meth:`~voltpool.ledger.Ledger.create_account`'s arguments."""
    account_args(account_id, owner, kind, unit, allow_overdraft)


def check_transfer(**arguments: Any) -> None:
    """The rules of :meth:`~voltpool.ledger.Ledger.transfer`'s (keyword) arguments."""
    transfer_spec(arguments)


def check_resolve(
    action: str, transfer_id: object, pending_id: object, amount: object = None
) -> None:
    """The rules of :meth:`~voltpool.ledger.Ledger.post` (``action="post"``) or ``void``."""
    resolve_spec(action, transfer_id, pending_id, amount, None)


def check_history(account_id: object, limit: object, after: object = None) -> None:
    """The rules of :meth:`~voltpool.ledger.Ledger.history`'s (and ``statement``'s)
    arguments."""
    history_args(account_id, limit, after)


def check_account_id(account_id: object) -> None:
    """An account id as :meth:`~voltpool.ledger.Ledger.balance` takes it."""
    single_id("account_id", account_id)


__all__ = [
    "AMOUNT_MAX",
    "check_account",
    "check_account_id",
    "check_history",
    "check_resolve",
    "check_transfer",
]
