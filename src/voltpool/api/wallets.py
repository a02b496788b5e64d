"""Each user's credits in the ledger: one owner account per user, named as V2G and V2V
settlement name a member's (:func:`voltpool.settlement.credit_account`: ``<user id>.credits``,
milli-credits, no overdraft), and the ``grants`` account an admin funds credits from."""

from __future__ import annotations

from voltpool.ledger import Ledger
from voltpool.settlement import credit_account

GRANTS = "app-grants"
MILLI = 1000


def wallet_id(user_id: str) -> str:
    return credit_account(user_id)


def open_wallet(ledger: Ledger, user_id: str) -> str:
    """The user's credit account, created when missing (creating it again changes nothing)."""
    account = wallet_id(user_id)
    ledger.create_account(account, owner=user_id, kind="owner", unit="credit")
    return account


def open_grants(ledger: Ledger) -> None:
    ledger.create_account(GRANTS, owner="voltpool", kind="pool", unit="credit")


def to_credits(millicredits: int) -> float:
    return millicredits / MILLI


def to_millicredits(credits: float) -> int:
    return round(credits * MILLI)
