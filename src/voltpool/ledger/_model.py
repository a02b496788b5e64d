"""What the ledger hands back: plain frozen dataclasses, integers only (never floats).

Units: ``credit`` amounts are integer milli-credits, ``energy`` amounts integer Wh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

ACCOUNT_KINDS = ("owner", "grid", "pool", "fees")
UNITS = ("credit", "energy")
# single: one-phase transfer; pending: a reservation; post / void: resolve a pending transfer
TRANSFER_KINDS = ("single", "pending", "post", "void")
# what a transfer is now: single and post are "posted", void is "voided"; a pending transfer is
# "pending" until it is posted, voided or expired (the only derived, time-varying field)
TRANSFER_STATUSES = ("posted", "pending", "voided", "expired")

AccountKind = Literal["owner", "grid", "pool", "fees"]
Unit = Literal["credit", "energy"]


@dataclass(frozen=True, slots=True)
class Account:
    """An account holds one unit; ``allow_overdraft`` False keeps debits <= credits."""

    id: str
    owner: str
    kind: str
    unit: str
    allow_overdraft: bool

    @property
    def account_id(self) -> str:
        return self.id


@dataclass(frozen=True, slots=True)
class Transfer:
    """One immutable row of the log.

    ``debit_account`` loses ``amount``, ``credit_account`` gains it (both of ``unit``). ``kind`` is
    ``single``, ``pending``, ``post`` or ``void``; ``pending_id`` names the pending transfer a post
    or void resolves. ``status`` is ``posted`` (single, post), ``voided`` (void) or, for a pending
    transfer, ``pending`` / ``posted`` / ``voided`` / ``expired``, with ``resolved_by`` the id of
    the post or void that resolved it (None when it expired).
    """

    id: str
    debit_account: str
    credit_account: str
    amount: int
    unit: str
    code: str
    kind: str
    status: str
    session: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    pending_id: str | None = None
    timeout_s: int | None = None
    created_at: datetime | None = None
    expires_at: datetime | None = None
    resolved_by: str | None = None

    @property
    def transfer_id(self) -> str:
        return self.id

    @property
    def pending(self) -> bool:
        """True for a two-phase reservation (whatever became of it since)."""
        return self.kind == "pending"


@dataclass(frozen=True, slots=True)
class StatementEntry:
    """One line of an account's statement (:meth:`~voltpool.ledger.Ledger.statement`): a single
    transfer, or a pending one with what became of it (its post or void is folded in here, not
    a line of its own).

    ``amount`` is seen from the account: positive when credited, negative when debited, in the
    account's unit; it is what moved, or what is (or was) reserved while nothing moved: a
    posted pending transfer shows the amount its post moved, which may be less than
    ``reserved``, the amount the pending transfer reserved (None for a single transfer).
    ``status`` is the transfer's (``posted``, ``pending``, ``voided`` or ``expired``; a pending
    transfer past ``expires_at`` stays ``pending`` until it is expired). ``resolved_by`` is the
    id of the post or void (None when it expired), ``resolved_at`` when it was posted, voided or
    expired; ``metadata`` is the transfer's own.
    """

    transfer_id: str
    created_at: datetime
    other_account: str
    amount: int
    unit: str
    code: str
    status: str
    reserved: int | None = None
    expires_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    """The transfer's metadata (a memo, a V2V agreement's id)."""


@dataclass(frozen=True, slots=True)
class TransferResult:
    """``status``: ``created`` (written now) or ``exists`` (an identical retry, nothing written)."""

    status: Literal["created", "exists"]
    transfer: Transfer


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's sums, in its unit (integer milli-credits or Wh)."""

    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int

    @property
    def net(self) -> int:
        """Credits minus debits, posted only."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """What can still be debited from a no-overdraft account (pending debits reserved)."""
        return self.credits_posted - self.debits_posted - self.debits_pending


@dataclass(frozen=True, slots=True)
class Rejection:
    """A transfer id that was rejected, and why (a retry of that id raises this again)."""

    transfer_id: str
    reason: str
    field: str
    rule: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """``verify()``'s answer: ``ok`` iff ``problems`` is empty."""

    ok: bool
    problems: list[str]
    accounts: int
    transfers: int


__all__ = [
    "ACCOUNT_KINDS",
    "TRANSFER_KINDS",
    "TRANSFER_STATUSES",
    "UNITS",
    "Account",
    "Balance",
    "Rejection",
    "StatementEntry",
    "Transfer",
    "TransferResult",
    "VerifyReport",
]
