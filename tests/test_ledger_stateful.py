"""Stateful property test: random operations against the ledger and an in-memory model.

Hypothesis drives accounts, transfers (single, pending, with timeouts), linked batches, posts,
voids, clock jumps, expiries, exact retries and retries with one field changed. One id in four
is one tried before, so replays, conflicts and reuse of rejected ids happen often; targeted rules
probe the edges (spending the available amount -1/0/+1 with reservations outstanding, resolving
a pending transfer one second before or exactly at its deadline). After every step the ledger
and the model agree on every balance, every transfer's status and fields, every account's
history and every rejection, and ``verify()`` finds nothing wrong. Runs on SQLite and
PostgreSQL, with a fresh database per example (so a failing example replays alone, and shrinks).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from voltpool.ledger import Conflict, InvalidInput, Ledger, Rejected

EXAMPLES = 20
STEPS = 30

# created up front: g0 (grid, credit) and e0 (grid, energy) may be overdrawn, a0/a1 (credit) and
# e1 (energy) are owner accounts that may not; a2/a3 are created (or conflict) along the way
INITIAL_ACCOUNTS = {
    "g0": ("utility", "grid", "credit", True),
    "e0": ("utility", "grid", "energy", True),
    "a0": ("owner-a0", "owner", "credit", False),
    "a1": ("owner-a1", "owner", "credit", False),
    "e1": ("owner-e1", "owner", "energy", False),
}
LATER_ACCOUNTS = ("a2", "a3")
UNKNOWN_ACCOUNT = "nobody"
KINDS = ("owner", "grid", "pool", "fees")
UNITS = ("credit", "energy")
BAD_AMOUNTS = (0, -5, 1.5, True, "10", None)
CHANGES = ("amount", "code", "metadata", "pending", "timeout_s", "accounts")
BALANCE_FIELDS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")
START = datetime(2025, 1, 1, tzinfo=UTC)

# grid accounts (which fund the others) come up twice as often; 1 amount in 8 is malformed
account_ids = st.sampled_from(
    ("g0", "g0", "e0", "e0", "a0", "a1", "e1", *LATER_ACCOUNTS, UNKNOWN_ACCOUNT)
)
amounts = st.integers(0, 7).flatmap(  # (one_of would pick its branches about evenly)
    lambda k: st.sampled_from(BAD_AMOUNTS) if k == 0 else st.integers(1, 300)
)
post_amounts = st.integers(0, 9).flatmap(
    lambda k: st.sampled_from((0, 2.5)) if k == 0 else st.none() if k < 4 else st.integers(1, 300)
)
metadatas = st.sampled_from((None, {}, {"meter_wh": 12}, {"note": "x"}))
units = st.sampled_from(UNITS)


def valid_amount(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


@dataclass
class ModelTransfer:
    id: str
    kind: str
    debit: str
    credit: str
    amount: int
    unit: str
    code: str
    metadata: dict
    timeout_s: int | None = None
    pending_id: str | None = None
    expires_at: datetime | None = None
    status: str = "posted"


@dataclass
class Model:
    """What the ledger should contain; every rule predicts the outcome from it."""

    now: datetime = START
    accounts: dict[str, tuple] = field(default_factory=dict)
    balances: dict[str, dict[str, int]] = field(default_factory=dict)
    transfers: dict[str, ModelTransfer] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # creation order of transfers
    rejected: dict[str, str] = field(default_factory=dict)  # id -> reason

    def history(self, account_id: str) -> list[str]:
        return [
            tid
            for tid in self.order
            if account_id in (self.transfers[tid].debit, self.transfers[tid].credit)
        ]


def transfer_failure(model: Model, spec: dict, balances: dict) -> str | None:
    """The rejection reason of one valid transfer spec against ``balances`` (None: it applies)."""
    debit, credit = spec["debit_account"], spec["credit_account"]
    if debit not in model.accounts:
        return "debit_account_not_found"
    if credit not in model.accounts:
        return "credit_account_not_found"
    if model.accounts[debit][2] != spec["unit"]:
        return "debit_account_unit_mismatch"
    if model.accounts[credit][2] != spec["unit"]:
        return "credit_account_unit_mismatch"
    b = balances[debit]
    available = b["credits_posted"] - b["debits_posted"] - b["debits_pending"]
    if not model.accounts[debit][3] and spec["amount"] > available:
        return "exceeds_credits"
    return None


def spec_invalid(spec: dict) -> bool:
    if not valid_amount(spec["amount"]):
        return True
    if spec["debit_account"] == spec["credit_account"]:
        return True
    return spec["timeout_s"] is not None and not spec["pending"]


def same_payload(existing: ModelTransfer, spec: dict) -> bool:
    kind = "pending" if spec["pending"] else "single"
    return (
        existing.kind == kind
        and existing.debit == spec["debit_account"]
        and existing.credit == spec["credit_account"]
        and existing.amount == spec["amount"]
        and existing.unit == spec["unit"]
        and existing.code == spec["code"]
        and existing.metadata == (spec["metadata"] or {})
        and existing.timeout_s == spec["timeout_s"]
    )


class LedgerMachine(RuleBasedStateMachine):
    url_factory: Callable[[], str]  # a fresh empty database per example

    def __init__(self) -> None:
        super().__init__()
        self.model = Model()
        self.ledger = Ledger.open(self.url_factory(), clock=lambda: self.model.now)
        self.batches: list[list[dict]] = []  # committed batches, for exact retries
        self.used_ids: list[str] = []  # every transfer id tried so far
        self.steps = 0

    def draw_id(self, data: st.DataObject, label: str) -> str:
        """A new id 3 times in 4, else one tried before (a retry, a conflict or a rejected id)."""
        if self.used_ids and data.draw(st.integers(0, 3), label=f"reuse {label}") == 0:
            return data.draw(st.sampled_from(self.used_ids), label=label)
        new = f"t{len(self.used_ids)}"
        self.used_ids.append(new)
        return new

    def teardown(self) -> None:
        self.ledger.close()

    # ------------------------------------------------------------------ helpers

    def expect(self, call: Callable[[], Any], error: type[Exception] | None, reason: str | None):
        """Run ``call``; check it raises ``error`` (with ``reason``) or returns normally."""
        event(f"outcome: {error.__name__ if error else 'ok'} {reason or ''}".strip())
        if error is None:
            return call()
        try:
            call()
        except error as exc:
            if reason is not None:
                assert isinstance(exc, Rejected)
                assert exc.reason == reason, (exc.reason, reason, str(exc))
            return None
        raise AssertionError(f"expected {error.__name__} ({reason})")

    def record_rejection(self, tid: str, reason: str) -> None:
        self.model.rejected[tid] = reason
        info = self.ledger.rejection(tid)
        assert info is not None and info.reason == reason, (tid, info)

    def add_transfer(self, t: ModelTransfer) -> None:
        self.model.transfers[t.id] = t
        self.model.order.append(t.id)

    # ------------------------------------------------------------------ rules

    @initialize()
    def initial_accounts(self) -> None:
        for account_id, (owner, kind, unit, overdraft) in INITIAL_ACCOUNTS.items():
            self.ledger.create_account(account_id, owner, kind, unit, overdraft)
            self.model.accounts[account_id] = (owner, kind, unit, overdraft)
            self.model.balances[account_id] = dict.fromkeys(BALANCE_FIELDS, 0)

    @rule(
        account=st.sampled_from(("a0", *LATER_ACCOUNTS)),
        kind=st.sampled_from(KINDS),
        unit=units,
        overdraft=st.sampled_from((None, None, True, False)),
    )
    def create_account(self, account: str, kind: str, unit: str, overdraft: bool | None) -> None:
        effective = (kind != "owner") if overdraft is None else overdraft
        wanted = (f"owner-{account}", kind, unit, effective)
        existing = self.model.accounts.get(account)
        call = partial(self.ledger.create_account, account, wanted[0], kind, unit, overdraft)
        if existing is not None and existing != wanted:
            self.expect(call, Conflict, None)
            return
        made = call()
        assert (made.id, made.owner, made.kind, made.unit, made.allow_overdraft) == (
            account,
            *wanted,
        )
        if existing is None:
            self.model.accounts[account] = wanted
            self.model.balances[account] = dict.fromkeys(BALANCE_FIELDS, 0)

    def draw_account(self, data: st.DataObject, unit: str, label: str, other: str = "") -> str:
        """Mostly an existing account of ``unit`` other than ``other`` (grid twice as likely)."""
        if data.draw(st.integers(0, 19), label=f"any {label}") == 0:
            return data.draw(account_ids, label=label)
        grid = "g0" if unit == "credit" else "e0"
        same = sorted(a for a, v in self.model.accounts.items() if v[2] == unit)
        choices = [a for a in (grid, *same) if a != other]
        return data.draw(st.sampled_from(choices), label=label)

    def draw_spec(self, data: st.DataObject, code: str) -> dict:
        """A transfer request, mostly between existing accounts of its unit."""
        unit = data.draw(units, label="unit")
        debit = self.draw_account(data, unit, "debit")
        credit = self.draw_account(data, unit, "credit", other=debit)
        pending = data.draw(st.booleans(), label="pending")
        timeout_s = data.draw(st.sampled_from((None, None, 60, 300)), label="timeout_s")
        return {
            "transfer_id": self.draw_id(data, "transfer_id"),
            "debit_account": debit,
            "credit_account": credit,
            "amount": data.draw(amounts, label="amount"),
            "unit": unit,
            "code": code,
            "metadata": data.draw(metadatas, label="metadata"),
            "pending": pending,
            # now and then a timeout without pending=True (invalid input)
            "timeout_s": timeout_s if pending or data.draw(st.integers(0, 9)) == 0 else None,
        }

    @rule(data=st.data(), code=st.sampled_from(("v2g", "fee")))
    def transfer(self, data: st.DataObject, code: str) -> None:
        self.submit([self.draw_spec(data, code)], batch=False)

    @rule(data=st.data(), size=st.integers(1, 3))
    def batch(self, data: st.DataObject, size: int) -> None:
        self.submit([self.draw_spec(data, "v2v") for _ in range(size)], batch=True)

    @precondition(lambda self: self.funded_owners())
    @rule(data=st.data(), delta=st.sampled_from((-1, 0, 1)), pending=st.booleans())
    def spend_up_to_the_limit(self, data: st.DataObject, delta: int, pending: bool) -> None:
        """Debit an owner account by its available amount -1, +0 or +1 (pending debits count)."""
        debit = data.draw(st.sampled_from(self.funded_owners()), label="debit")
        b = self.model.balances[debit]
        available = b["credits_posted"] - b["debits_posted"] - b["debits_pending"]
        event(f"limit: delta {delta}, pending debits {b['debits_pending'] > 0}")
        unit = self.model.accounts[debit][2]
        spec = {
            "transfer_id": self.draw_id(data, "transfer_id"),
            "debit_account": debit,
            "credit_account": "g0" if unit == "credit" else "e0",
            "amount": max(1, available + delta),
            "unit": unit,
            "code": "limit",
            "metadata": None,
            "pending": pending,
            "timeout_s": None,
        }
        self.submit([spec], batch=False)

    def funded_owners(self) -> list[str]:
        return sorted(
            a
            for a, (*_, overdraft) in self.model.accounts.items()
            if not overdraft and self.model.balances[a]["credits_posted"] > 0
        )

    @precondition(lambda self: self.batches)
    @rule(data=st.data())
    def retry_batch(self, data: st.DataObject) -> None:
        specs = data.draw(st.sampled_from(self.batches))
        results = self.ledger.transfer_batch(copy.deepcopy(specs))
        assert [r.status for r in results] == ["exists"] * len(specs)
        event("outcome: exists (batch retry)")

    @precondition(lambda self: self.model.transfers)
    @rule(data=st.data())
    def retry_transfer(self, data: st.DataObject) -> None:
        """An exact retry of an existing single or pending transfer answers ``exists``."""
        candidates = [t for t in self.model.transfers.values() if t.kind in ("single", "pending")]
        if not candidates:
            return
        t = data.draw(st.sampled_from(candidates))
        result = self.ledger.transfer(
            t.id, t.debit, t.credit, t.amount, t.unit, t.code, None, t.metadata,
            pending=t.kind == "pending", timeout_s=t.timeout_s,
        )  # fmt: skip
        assert result.status == "exists"
        assert result.transfer.amount == t.amount
        event("outcome: exists (retry)")

    @precondition(lambda self: self.model.transfers)
    @rule(data=st.data(), change=st.sampled_from(CHANGES))
    def conflicting_retry(self, data: st.DataObject, change: str) -> None:
        """An existing id with exactly one field changed: Conflict, and nothing is written."""
        t = data.draw(st.sampled_from(sorted(self.model.transfers)), label="transfer_id")
        t = self.model.transfers[t]
        if t.kind in ("post", "void"):
            ledger, pid = self.ledger, t.pending_id
            same_action = ledger.post if t.kind == "post" else ledger.void
            if change == "amount" and t.kind == "post":
                call = partial(ledger.post, t.id, pid, t.amount + 1)
            elif change == "metadata":
                call = partial(same_action, t.id, pid, metadata={"x": 1})
            else:  # the other action
                call = partial(ledger.void if t.kind == "post" else ledger.post, t.id, pid)
            self.expect(call, Conflict, None)
            return
        spec = {
            "transfer_id": t.id,
            "debit_account": t.debit,
            "credit_account": t.credit,
            "amount": t.amount,
            "unit": t.unit,
            "code": t.code,
            "metadata": t.metadata,
            "pending": t.kind == "pending",
            "timeout_s": t.timeout_s,
        }
        if change == "amount":
            spec["amount"] += 1
        elif change == "code":
            spec["code"] += "x"
        elif change == "metadata":
            spec["metadata"] = {**t.metadata, "changed": True}
        elif change == "pending":
            spec["pending"] = not spec["pending"]
            spec["timeout_s"] = None
        elif change == "timeout_s":
            spec["pending"] = True
            spec["timeout_s"] = (t.timeout_s or 0) + 60
        else:  # the other account of the grid's unit
            spec["credit_account"] = t.debit
            spec["debit_account"] = t.credit
        self.expect(partial(self.ledger.transfer, **spec), Conflict, None)

    def submit(self, specs: list[dict], batch: bool) -> None:
        model = self.model
        ids = [s["transfer_id"] for s in specs]
        if any(spec_invalid(s) for s in specs) or len(set(ids)) != len(ids):
            call = self.call_batch(specs, batch)
            self.expect(call, InvalidInput, None)
            return
        for tid in ids:
            if tid in model.rejected:
                self.expect(self.call_batch(specs, batch), Rejected, model.rejected[tid])
                return
        existing = [model.transfers.get(tid) for tid in ids]
        if any(existing):
            pairs = zip(existing, specs, strict=True)
            if not all(e is not None and same_payload(e, s) for e, s in pairs):
                self.expect(self.call_batch(specs, batch), Conflict, None)
                return
            results = self.call_batch(specs, batch)()
            assert [r.status for r in results] == ["exists"] * len(specs)
            event("outcome: exists")
            return
        balances = copy.deepcopy(model.balances)
        for spec in specs:
            reason = transfer_failure(model, spec, balances)
            if reason is not None:
                self.expect(self.call_batch(specs, batch), Rejected, reason)
                self.record_rejection(spec["transfer_id"], reason)
                return
            side = "pending" if spec["pending"] else "posted"
            balances[spec["debit_account"]][f"debits_{side}"] += spec["amount"]
            balances[spec["credit_account"]][f"credits_{side}"] += spec["amount"]
        results = self.call_batch(specs, batch)()
        assert [r.status for r in results] == ["created"] * len(specs)
        event(f"outcome: created {'batch' if batch else 'transfer'}")
        model.balances = balances
        for spec in specs:
            pending = spec["pending"]
            timeout_s = spec["timeout_s"]
            self.add_transfer(
                ModelTransfer(
                    id=spec["transfer_id"],
                    kind="pending" if pending else "single",
                    debit=spec["debit_account"],
                    credit=spec["credit_account"],
                    amount=spec["amount"],
                    unit=spec["unit"],
                    code=spec["code"],
                    metadata=spec["metadata"] or {},
                    timeout_s=timeout_s,
                    expires_at=None
                    if timeout_s is None
                    else model.now + timedelta(seconds=timeout_s),
                    status="pending" if pending else "posted",
                )
            )
        if batch:
            self.batches.append(copy.deepcopy(specs))

    def call_batch(self, specs: list[dict], batch: bool) -> Callable[[], Any]:
        specs = copy.deepcopy(specs)
        if batch:
            return lambda: self.ledger.transfer_batch(specs)
        return lambda: [self.ledger.transfer(**specs[0])]

    @rule(data=st.data(), action=st.sampled_from(("post", "void")), amount=post_amounts)
    def resolve_any(self, data: st.DataObject, action: str, amount: object) -> None:
        """Post or void any id: unknown, not pending, already resolved, or pending."""
        pendings = [t.id for t in self.model.transfers.values() if t.kind == "pending"]
        if pendings and data.draw(st.booleans(), label="a pending id"):
            pid = data.draw(st.sampled_from(pendings), label="pending_id")
        else:
            pid = self.draw_id(data, "pending_id")
        self.resolve(self.draw_id(data, "transfer_id"), pid, action, amount)

    @precondition(lambda self: any(t.status == "pending" for t in self.model.transfers.values()))
    @rule(data=st.data(), action=st.sampled_from(("post", "post", "void")), amount=post_amounts)
    def resolve_open(self, data: st.DataObject, action: str, amount: object) -> None:
        """Post or void a pending transfer that is still open (unless its timeout passed)."""
        open_ids = [t.id for t in self.model.transfers.values() if t.status == "pending"]
        pid = data.draw(st.sampled_from(open_ids), label="pending_id")
        self.resolve(self.draw_id(data, "transfer_id"), pid, action, amount)

    def resolve(self, tid: str, pid: str, action: str, amount: object) -> None:
        model = self.model
        if action == "void":
            amount = None
            call = partial(self.ledger.void, tid, pid)
        else:
            call = partial(self.ledger.post, tid, pid, amount)
        if tid == pid or (amount is not None and not valid_amount(amount)):
            self.expect(call, InvalidInput, None)
            return
        if tid in model.rejected:
            self.expect(call, Rejected, model.rejected[tid])
            return
        existing = model.transfers.get(tid)
        if existing is not None:
            pending = model.transfers.get(pid)
            wanted = amount if amount is not None else (pending.amount if pending else None)
            same = existing.kind == action and existing.pending_id == pid
            if not same or (action == "post" and existing.amount != wanted):
                self.expect(call, Conflict, None)
            else:
                assert call().status == "exists"
            return
        reason = self.resolve_failure(pid, action, amount)
        if reason is not None:
            self.expect(call, Rejected, reason)
            self.record_rejection(tid, reason)
            return
        pending = model.transfers[pid]
        posted = pending.amount if amount is None else amount
        result = call()
        assert result.status == "created"
        assert result.transfer.amount == posted
        event(f"outcome: created {action}")
        self.release(pending, "posted" if action == "post" else "voided")
        if action == "post":
            model.balances[pending.debit]["debits_posted"] += posted
            model.balances[pending.credit]["credits_posted"] += posted
        self.add_transfer(
            ModelTransfer(
                id=tid,
                kind=action,
                debit=pending.debit,
                credit=pending.credit,
                amount=posted,
                unit=pending.unit,
                code=pending.code,
                metadata={},
                pending_id=pid,
                status="posted" if action == "post" else "voided",
            )
        )

    def resolve_failure(self, pid: str, action: str, amount: int | None) -> str | None:
        pending = self.model.transfers.get(pid)
        if pending is None:
            return "pending_transfer_not_found"
        if pending.kind != "pending":
            return "pending_transfer_not_pending"
        if pending.status == "expired":
            return "pending_transfer_expired"
        if pending.status != "pending":
            return f"pending_transfer_already_{pending.status}"
        if pending.expires_at is not None and self.model.now >= pending.expires_at:
            self.release(pending, "expired")  # the ledger expires it on the way
            return "pending_transfer_expired"
        if action == "post" and amount is not None and amount > pending.amount:
            return "exceeds_pending_transfer_amount"
        return None

    def release(self, pending: ModelTransfer, status: str) -> None:
        self.model.balances[pending.debit]["debits_pending"] -= pending.amount
        self.model.balances[pending.credit]["credits_pending"] -= pending.amount
        pending.status = status

    @rule(seconds=st.sampled_from((1, 59, 60, 300)))
    def advance_clock(self, seconds: int) -> None:
        self.model.now += timedelta(seconds=seconds)

    @precondition(
        lambda self: any(
            t.expires_at and t.status == "pending" for t in self.model.transfers.values()
        )
    )
    @rule(data=st.data(), before=st.booleans(), action=st.sampled_from(("post", "void")))
    def resolve_at_the_deadline(self, data: st.DataObject, before: bool, action: str) -> None:
        """Jump to a second before, or exactly to, an open pending transfer's expiry and resolve
        it there: still open at one, expired (from that instant on) at the other."""
        candidates = [
            t.id for t in self.model.transfers.values() if t.expires_at and t.status == "pending"
        ]
        pending = self.model.transfers[data.draw(st.sampled_from(candidates), label="pending_id")]
        event(f"deadline: {'before' if before else 'at'}")
        moment = pending.expires_at - timedelta(seconds=1 if before else 0)
        self.model.now = max(self.model.now, moment)
        self.resolve(self.draw_id(data, "transfer_id"), pending.id, action, None)

    @rule()
    def expire(self) -> None:
        due = [
            t
            for tid in self.model.order
            if (t := self.model.transfers[tid]).kind == "pending"
            and t.status == "pending"
            and t.expires_at is not None
            and t.expires_at <= self.model.now
        ]
        assert self.ledger.expire_pending() == len(due)
        for t in due:
            self.release(t, "expired")

    # ------------------------------------------------------------------ invariants

    @invariant()
    def balances_agree(self) -> None:
        got = self.ledger.balances(list(self.model.balances))
        for account_id, expected in self.model.balances.items():
            assert {f: getattr(got[account_id], f) for f in BALANCE_FIELDS} == expected, account_id
        # and the single-account read, on one account per step in turn
        account_id = sorted(self.model.balances)[self.steps % len(self.model.balances)]
        self.steps += 1
        assert self.ledger.balance(account_id) == got[account_id]

    @invariant()
    def history_and_transfers_agree(self) -> None:
        """Each account's history, in order, and every field of every transfer in it."""
        seen = {}
        for account_id in self.model.accounts:
            history = self.ledger.history(account_id)
            assert [t.id for t in history] == self.model.history(account_id), account_id
            seen.update({t.id: t for t in history})
        assert set(seen) == set(self.model.transfers)
        for tid, t in self.model.transfers.items():
            got = seen[tid]
            assert (got.kind, got.status, got.amount, got.pending_id) == (
                t.kind,
                t.status,
                t.amount,
                t.pending_id,
            ), tid
            assert (got.debit_account, got.credit_account, got.unit, got.metadata) == (
                t.debit,
                t.credit,
                t.unit,
                t.metadata,
            ), tid

    @invariant()
    def ledger_verifies(self) -> None:
        report = self.ledger.verify()
        assert report.ok, report.problems
        assert report.transfers == len(self.model.transfers)
        assert report.accounts == len(self.model.accounts)


def test_ledger_matches_model(ledger_url_factory: Callable[[], str]) -> None:
    machine = type(
        "LedgerModelMachine", (LedgerMachine,), {"url_factory": staticmethod(ledger_url_factory)}
    )
    run_state_machine_as_test(
        machine, settings=settings(max_examples=EXAMPLES, stateful_step_count=STEPS)
    )
