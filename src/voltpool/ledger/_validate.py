"""Input checks: pure functions that turn a request into a normalised spec or raise InvalidInput.

Every problem of a request is collected before raising, each as (field, rule). Nothing here
touches the database, so bad input never writes anything.
"""

from __future__ import annotations

import json
import math
import numbers
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from voltpool import gate
from voltpool.errors import FieldIssue
from voltpool.ledger._errors import InvalidInput
from voltpool.ledger._model import ACCOUNT_KINDS, UNITS

ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,64}")
ID_RULE = "must be 1-64 characters of A-Z a-z 0-9 . _ : -"
CODE_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,32}")
SESSION_PATTERN = re.compile(r"[A-Za-z0-9._:/@-]{1,128}")
OWNER_MAX = 128
# every balance column stays <= BALANCE_MAX, so two of them still add up inside a signed 64-bit
# integer (the CHECK constraint adds debits_posted + debits_pending)
BALANCE_MAX = 2**62 - 1
AMOUNT_MAX = BALANCE_MAX
TIMEOUT_S_MAX = 10 * 366 * 24 * 3600  # ten years
METADATA_CHARS_MAX = 4096
METADATA_DEPTH_MAX = 8
BATCH_MAX = 8000
HISTORY_LIMIT_MAX = 10_000

assert AMOUNT_MAX <= BALANCE_MAX
assert 2 * BALANCE_MAX < 2**63  # the no-overdraft CHECK sums two balances in a BIGINT


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """A validated transfer() request; ``payload()`` is what idempotency compares."""

    id: str
    debit_account: str
    credit_account: str
    amount: int
    unit: str
    code: str
    session: str | None
    metadata_json: str
    pending: bool
    timeout_s: int | None

    @property
    def kind(self) -> str:
        return "pending" if self.pending else "single"

    def payload(self) -> dict[str, Any]:
        return {
            "op": "transfer",
            "debit_account": self.debit_account,
            "credit_account": self.credit_account,
            "amount": self.amount,
            "unit": self.unit,
            "code": self.code,
            "session": self.session,
            "metadata": json.loads(self.metadata_json),
            "pending": self.pending,
            "timeout_s": self.timeout_s,
        }


@dataclass(frozen=True, slots=True)
class ResolveSpec:
    """A validated post() or void() request (``amount`` None = the full pending amount)."""

    id: str
    pending_id: str
    action: str  # "post" | "void"
    amount: int | None
    metadata_json: str

    def payload(self) -> dict[str, Any]:
        return {
            "op": self.action,
            "pending_id": self.pending_id,
            "amount": self.amount,
            "metadata": json.loads(self.metadata_json),
        }


class Issues:
    """Collects (field, rule) pairs under an optional prefix such as ``specs[2].``."""

    def __init__(self, prefix: str = "") -> None:
        self.prefix = prefix
        self.items: list[FieldIssue] = []

    def add(self, field: str, rule: str) -> None:
        self.items.append(FieldIssue(self.prefix + field, rule))

    def raise_if_any(self) -> None:
        if self.items:
            raise InvalidInput("", "", issues=self.items)


def check_id(issues: Issues, field: str, value: object) -> None:
    if not isinstance(value, str):
        issues.add(field, f"must be a string ({ID_RULE}), got {type(value).__name__}")
    elif not ID_PATTERN.fullmatch(value):
        issues.add(field, f"{value[:80]!r} {ID_RULE}")


def check_amount(issues: Issues, field: str, value: object) -> int | None:
    """A positive whole number in the account's smallest unit (never a float or a bool)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        kind = type(value).__name__
        issues.add(
            field,
            f"{value!r} must be a whole number (int) in the smallest unit (milli-credits or Wh),"
            f" got {kind}",
        )
        return None
    amount = int(value)
    if amount <= 0:
        issues.add(field, f"{amount} must be > 0 (reverse a transfer with a new one)")
        return None
    if amount > AMOUNT_MAX:
        issues.add(field, f"{amount} must be <= {AMOUNT_MAX}")
        return None
    return amount


def check_choice(issues: Issues, field: str, value: object, choices: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in choices:
        issues.add(field, f"{value!r} must be one of {', '.join(choices)}")


def metadata_json(issues: Issues, field: str, value: object) -> str:
    """Canonical JSON of ``value`` (sorted keys): what is stored and compared on retries."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        issues.add(field, f"must be a dict (JSON object) or None, got {type(value).__name__}")
        return "{}"
    before = len(issues.items)
    _check_json(issues, field, value, 0)
    if len(issues.items) > before:
        return "{}"
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if len(text) > METADATA_CHARS_MAX:
        issues.add(field, f"must serialise to <= {METADATA_CHARS_MAX} JSON characters")
    return text


def _check_json(issues: Issues, field: str, value: object, depth: int) -> None:
    if depth > METADATA_DEPTH_MAX:
        issues.add(field, f"must nest at most {METADATA_DEPTH_MAX} levels deep")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                issues.add(field, f"key {gate.quote(key)} must be a string")
            elif rule := gate.text_rule(key):
                issues.add(field, f"key {rule}")
            else:
                _check_json(issues, f"{field}.{key}", item, depth + 1)
    elif isinstance(value, str):  # its length counts in the whole object's (below)
        if rule := gate.character_rule(value, free_text=True):
            issues.add(field, rule)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_json(issues, f"{field}[{index}]", item, depth + 1)
    elif isinstance(value, float):
        rule = "is a float; the ledger stores no floats: use an integer in the smallest unit"
        issues.add(field, rule + (" (and it is not finite)" if not math.isfinite(value) else ""))
    elif not (value is None or isinstance(value, str | bool | int)):
        issues.add(field, f"{type(value).__name__} is not JSON (str, int, bool, None, list, dict)")


def transfer_spec(spec: dict[str, Any], prefix: str = "") -> TransferSpec:
    """Validate one ``transfer()`` request (``prefix`` names it inside a batch)."""
    issues = Issues(prefix)
    if not isinstance(spec, dict):
        issues.add("", f"must be a dict of transfer() arguments, got {type(spec).__name__}")
        issues.raise_if_any()
    allowed = TRANSFER_ARGS
    for name in spec:
        if name not in allowed:
            issues.add(str(name), f"unknown argument (allowed: {', '.join(allowed)})")
    for name in REQUIRED_TRANSFER_ARGS:
        if name not in spec:
            issues.add(name, "is required")
    issues.raise_if_any()
    check_id(issues, "transfer_id", spec["transfer_id"])
    check_id(issues, "debit_account", spec["debit_account"])
    check_id(issues, "credit_account", spec["credit_account"])
    if spec["debit_account"] == spec["credit_account"] and isinstance(spec["debit_account"], str):
        issues.add("credit_account", "must differ from debit_account")
    amount = check_amount(issues, "amount", spec["amount"])
    check_choice(issues, "unit", spec["unit"], UNITS)
    code = spec["code"]
    if not isinstance(code, str) or not CODE_PATTERN.fullmatch(code):
        issues.add("code", f"{code!r} must be 1-32 characters of A-Z a-z 0-9 . _ : -")
    session = spec.get("session")
    if session is not None and (
        not isinstance(session, str) or not SESSION_PATTERN.fullmatch(session)
    ):
        issues.add(
            "session", f"{session!r} must be None or 1-128 characters of A-Z a-z 0-9 . _ : / @ -"
        )
    meta = metadata_json(issues, "metadata", spec.get("metadata"))
    pending = spec.get("pending", False)
    if not isinstance(pending, bool):
        issues.add("pending", f"{pending!r} must be True or False")
    timeout_s = spec.get("timeout_s")
    if timeout_s is not None:
        if not pending:
            issues.add("timeout_s", "only a pending transfer (pending=True) has a timeout")
        elif isinstance(timeout_s, bool) or not isinstance(timeout_s, numbers.Integral):
            issues.add("timeout_s", f"{timeout_s!r} must be a whole number of seconds or None")
        elif not 0 < int(timeout_s) <= TIMEOUT_S_MAX:
            issues.add("timeout_s", f"{timeout_s} must be in 1..{TIMEOUT_S_MAX} seconds or None")
    issues.raise_if_any()
    assert amount is not None
    return TransferSpec(
        id=spec["transfer_id"],
        debit_account=spec["debit_account"],
        credit_account=spec["credit_account"],
        amount=amount,
        unit=spec["unit"],
        code=code,
        session=session,
        metadata_json=meta,
        pending=pending,
        timeout_s=None if timeout_s is None else int(timeout_s),
    )


TRANSFER_ARGS = (
    "transfer_id",
    "debit_account",
    "credit_account",
    "amount",
    "unit",
    "code",
    "session",
    "metadata",
    "pending",
    "timeout_s",
)
REQUIRED_TRANSFER_ARGS = TRANSFER_ARGS[:6]


def batch_specs(specs: object) -> list[TransferSpec]:
    """Validate a linked batch: every spec, plus distinct ids and a bounded size."""
    if not isinstance(specs, list | tuple):
        raise InvalidInput("specs", f"must be a list of dicts, got {type(specs).__name__}")
    if not 1 <= len(specs) <= BATCH_MAX:
        raise InvalidInput("specs", f"must hold 1..{BATCH_MAX} transfers, got {len(specs)}")
    issues: list[FieldIssue] = []
    out: list[TransferSpec] = []
    seen: dict[str, int] = {}
    for index, spec in enumerate(specs):
        try:
            valid = transfer_spec(spec, prefix=f"specs[{index}].")
        except InvalidInput as exc:
            issues.extend(exc.issues)
            continue
        if valid.id in seen:
            issues.append(
                FieldIssue(
                    f"specs[{index}].transfer_id",
                    f"{valid.id!r} repeats specs[{seen[valid.id]}]; ids must be distinct",
                )
            )
        seen.setdefault(valid.id, index)
        out.append(valid)
    if issues:
        raise InvalidInput("", "", issues=issues)
    return out


def resolve_spec(
    action: str, transfer_id: object, pending_id: object, amount: object, metadata: object
) -> ResolveSpec:
    issues = Issues()
    check_id(issues, "transfer_id", transfer_id)
    check_id(issues, "pending_id", pending_id)
    if transfer_id == pending_id and isinstance(transfer_id, str):
        issues.add("transfer_id", "must differ from pending_id (a post or void is a new transfer)")
    value = None if amount is None else check_amount(issues, "amount", amount)
    meta = metadata_json(issues, "metadata", metadata)
    issues.raise_if_any()
    assert isinstance(transfer_id, str)
    assert isinstance(pending_id, str)
    return ResolveSpec(transfer_id, pending_id, action, value, meta)


def account_args(
    account_id: object, owner: object, kind: object, unit: object, allow_overdraft: object
) -> bool:
    """Validate create_account() arguments; returns the effective ``allow_overdraft``."""
    issues = Issues()
    check_id(issues, "account_id", account_id)
    if (
        not isinstance(owner, str)
        or not 0 < len(owner.strip()) <= OWNER_MAX
        or not owner.isprintable()
    ):
        issues.add(
            "owner", f"{owner!r} must be a non-blank printable string of <= {OWNER_MAX} characters"
        )
    check_choice(issues, "kind", kind, ACCOUNT_KINDS)
    check_choice(issues, "unit", unit, UNITS)
    if allow_overdraft is not None and not isinstance(allow_overdraft, bool):
        issues.add("allow_overdraft", f"{allow_overdraft!r} must be True, False or None")
    issues.raise_if_any()
    if allow_overdraft is None:
        return kind != "owner"
    return bool(allow_overdraft)


def history_args(account_id: object, limit: object, after: object) -> None:
    issues = Issues()
    check_id(issues, "account_id", account_id)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= HISTORY_LIMIT_MAX:
        issues.add("limit", f"{limit!r} must be a whole number in 1..{HISTORY_LIMIT_MAX}")
    if after is not None:
        check_id(issues, "after", after)
    issues.raise_if_any()


def single_id(field: str, value: object) -> None:
    issues = Issues()
    check_id(issues, field, value)
    issues.raise_if_any()


def aware(field: str, value: object) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput(field, f"{value!r} must be a timezone-aware datetime")
    return value
