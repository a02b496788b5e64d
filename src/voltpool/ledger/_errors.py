"""The ledger's errors: each names the field it is about and the rule that field broke.

- ``InvalidInput``: the request itself is malformed (a float amount, a bad id, an unknown unit
  name...). Nothing is written, so the same id may be used again with a corrected request.
- ``NotFound``: a read asked for an account or transfer that does not exist.
- ``Conflict``: the id exists with a different payload (an account or a transfer); nothing is
  written.
- ``Rejected``: a well-formed transfer broke a rule that depends on the ledger's state (overdraft,
  unknown account, unit mismatch, pending transfer already resolved...). The id is recorded as
  rejected: a retry with the same id raises ``Rejected`` again with the original reason, even if
  it would now succeed (TigerBeetle's ``id_already_failed``). Balances and history are untouched.

A few ``Rejected`` reasons are also ``NotFound`` (``AccountNotFound``, ``PendingNotFound``) or
``InvalidInput`` (``UnitMismatch``), so callers may catch either reading of them.
"""

from __future__ import annotations

from voltpool.errors import FieldIssue


class LedgerError(Exception):
    """Base class: ``field`` and ``rule`` say what is wrong; ``issues`` lists every problem."""

    def __init__(
        self,
        field: str,
        rule: str,
        *,
        reason: str | None = None,
        transfer_id: str | None = None,
        issues: list[FieldIssue] | None = None,
    ) -> None:
        self.issues = list(issues) if issues else [FieldIssue(field, rule)]
        self.field = self.issues[0].field
        self.rule = self.issues[0].rule
        self.reason = reason
        self.transfer_id = transfer_id
        if len(self.issues) == 1:
            message = str(self.issues[0])
        else:
            lines = "\n".join(f"  - {issue}" for issue in self.issues)
            message = f"{len(self.issues)} problems:\n{lines}"
        super().__init__(message)


class InvalidInput(LedgerError, ValueError):
    """The request is malformed; nothing was written."""


class NotFound(LedgerError, LookupError):
    """No account or transfer with that id."""

    def __str__(self) -> str:  # LookupError would otherwise quote it like a KeyError
        return str(self.args[0]) if self.args else ""


class Conflict(LedgerError):
    """The id already exists with a different payload; nothing was written."""


class Rejected(LedgerError):
    """The transfer broke a ledger rule; ``reason`` is a stable code such as ``exceeds_credits``."""


class AccountNotFound(Rejected, NotFound):
    """A transfer names an account that does not exist (reasons ``*_account_not_found``)."""


class PendingNotFound(Rejected, NotFound):
    """A post or void names a pending transfer that does not exist."""


class UnitMismatch(Rejected, InvalidInput):
    """The transfer's unit differs from an account's unit."""


# reason code -> the class a rejection with that reason is raised as (default Rejected)
REJECTION_CLASSES: dict[str, type[Rejected]] = {
    "debit_account_not_found": AccountNotFound,
    "credit_account_not_found": AccountNotFound,
    "pending_transfer_not_found": PendingNotFound,
    "debit_account_unit_mismatch": UnitMismatch,
    "credit_account_unit_mismatch": UnitMismatch,
}


def rejected(reason: str, field: str, rule: str, transfer_id: str) -> Rejected:
    """The exception for a rejection (also used to replay a stored one)."""
    cls = REJECTION_CLASSES.get(reason, Rejected)
    return cls(field, rule, reason=reason, transfer_id=transfer_id)


__all__ = [
    "AccountNotFound",
    "Conflict",
    "InvalidInput",
    "LedgerError",
    "NotFound",
    "PendingNotFound",
    "Rejected",
    "UnitMismatch",
    "rejected",
]
