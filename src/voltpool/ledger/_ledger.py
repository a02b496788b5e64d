"""The ledger: double-entry accounts and immutable transfers in SQLite or PostgreSQL.

Every public write runs as one database transaction (retried as a whole on transient failures):

1. validate the request (``InvalidInput``, nothing written);
2. lock the transfer ids (PostgreSQL: advisory locks; SQLite: ``BEGIN IMMEDIATE`` already holds
   the database's write lock);
3. look the ids up: an identical earlier request answers ``exists``, a different one raises
   ``Conflict`` (nothing written), an earlier rejection raises ``Rejected`` again;
4. lock the accounts involved (PostgreSQL ``FOR UPDATE`` in id order) and read their balances;
5. apply the transfer(s) to the locked balances in memory, in order; the first broken rule
   records the id as rejected and raises ``Rejected`` (balances and history untouched);
6. insert the transfer rows (and a resolution row for a post/void/expiry) and update the cached
   balances in the same transaction. The database re-checks the invariants (CHECK, UNIQUE, PK).

The statements of steps 2-6 are prepared SQL strings (``_sql``), not built per call.

Why READ COMMITTED with these locks keeps every promise on PostgreSQL (SQLite runs one writer at
a time, so there nothing can interleave): under READ COMMITTED each statement sees everything
committed before it started, so a read made *after* taking a lock sees the final state of what
the lock protects, provided every writer of that state takes the same lock until it commits.

- No overdraft, no lost update: balances are only changed by a transaction holding the
  account's row lock (``FOR UPDATE`` returns the newest committed row once the lock is granted),
  and the new balance is computed from that read. The CHECK constraint refuses an overdraft at
  every commit anyway.
- Idempotent ids: a transfer, post, void or rejection with id X is only written by a transaction
  holding X's advisory lock, and it looks X up after taking it: it sees any earlier commit of X,
  and no other transaction decides about X meanwhile (this also covers a rejection and a
  creation of X that touch different accounts, which the UNIQUE constraint alone would miss).
- Post/void/expiry at most once: each resolver of a pending transfer holds the row locks of its
  two accounts and reads the resolution after taking them (the expiry re-reads its candidates
  after locking); the resolution's PRIMARY KEY refuses a second one anyway.
- All or nothing: atomicity does not depend on the isolation level.
- The pending transfer a post or void reads is immutable once committed; one not committed yet
  is "not found", as it would be had the post come first.

Locks are always taken ids first, then accounts, each set sorted, so writers do not deadlock
(a deadlock would still only be retried). Contending writers wait instead of failing: no
serialization-failure retries.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, Row

from voltpool.ledger import _migrate, _verify
from voltpool.ledger._batch import Operations
from voltpool.ledger._engine import (
    Runner,
    RunStats,
    create,
    from_us,
    normalise_url,
    to_us,
    utc_now,
)
from voltpool.ledger._errors import Conflict, InvalidInput, NotFound, Rejected, rejected
from voltpool.ledger._model import (
    Account,
    Balance,
    Rejection,
    StatementEntry,
    Transfer,
    TransferResult,
    VerifyReport,
)
from voltpool.ledger._rows import (
    BALANCE_COLUMNS,
    AccountState,
    to_account,
    to_transfer,
    transfer_query,
    transfer_row,
)
from voltpool.ledger._schema import accounts, rejections, resolutions, transfers
from voltpool.ledger._sql import STATEMENTS, Sql
from voltpool.ledger._validate import (
    ResolveSpec,
    TransferSpec,
    account_args,
    aware,
    batch_specs,
    history_args,
    resolve_spec,
    single_id,
    transfer_spec,
)
from voltpool.ledger.sweeper import Sweeper

EXPIRE_CHUNK = 256  # pending transfers expired per transaction
EXPIRE_ROUNDS_MAX = 100_000

Failure = tuple[str, str, str]  # (reason, field, rule) of a broken ledger rule


class Ledger:
    """A double-entry ledger of integer credits (milli-credits) and energy (Wh).

    Open with ``Ledger.open(url)``; all methods are safe to call from several threads and from
    several processes on the same database.
    """

    def __init__(self, engine: Engine, clock: Callable[[], datetime] | None = None) -> None:
        self._engine = engine
        self._runner = Runner(engine)
        self._sql = STATEMENTS[engine.dialect.name]
        self._clock = clock or utc_now
        self._sweepers: list[Sweeper] = []

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def open(
        cls,
        url: str | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        must_exist: bool = False,
    ) -> Ledger:
        """Connect and bring the schema to the newest revision (idempotent, concurrency-safe).

        ``url``: ``sqlite:///path`` or ``postgresql://user@host/db``; None reads ``$VOLTPOOL_DB``
        and falls back to ``sqlite:///voltpool-ledger.sqlite``. ``clock`` returns the current
        timezone-aware time (default: the system's UTC clock); tests inject a fake one.
        ``must_exist``: for a reader, raise ``NotFound`` (field ``url``) unless the database
        already holds a ledger, instead of creating the SQLite file and the tables; finding out
        creates and changes nothing (:func:`~voltpool.ledger._migrate.require_ledger`).
        """
        engine = create(normalise_url(url))
        try:
            if must_exist:
                _migrate.require_ledger(engine)
            _migrate.upgrade(engine)
        except sa.exc.DatabaseError as error:  # no such folder, not a database, bad password
            engine.dispose()
            raise _migrate.cannot_open(engine.url, error.orig) from None
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock)

    def close(self) -> None:
        """Stop the sweepers started by ``start_sweeper`` and close the connections."""
        for sweeper in self._sweepers:
            sweeper.stop()
        self._sweepers.clear()
        self._engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def backend(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @property
    def write_stats(self) -> RunStats:
        """This ledger object's write transactions so far, with their attempts and retries
        (a retry re-runs a transaction after a transient failure such as a deadlock)."""
        return self._runner.stats

    def start_sweeper(self, interval_s: float = 1.0) -> Sweeper:
        """Expire timed-out pending transfers every ``interval_s`` seconds in a daemon thread
        (see :class:`~voltpool.ledger.sweeper.Sweeper`); ``close()`` stops it."""
        sweeper = Sweeper(self, interval_s)
        self._sweepers.append(sweeper)
        return sweeper.start()

    def _now_us(self) -> int:
        return to_us(aware("clock()", self._clock()))

    # ------------------------------------------------------------------ accounts

    def create_account(
        self,
        account_id: str,
        owner: str,
        kind: str,
        unit: str,
        allow_overdraft: bool | None = None,
    ) -> Account:
        """Create an account (``allow_overdraft`` None: False for owner accounts, else True).

        Creating an identical account again returns it; a different one with the same id raises
        ``Conflict``.
        """
        overdraft = account_args(account_id, owner, kind, unit, allow_overdraft)
        wanted = Account(account_id, owner, kind, unit, overdraft)

        def txn(conn: Connection) -> Account:
            row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
            if row is not None:
                existing = to_account(row)
                if existing != wanted:
                    raise Conflict("account_id", _account_diff(existing, wanted))
                return existing
            conn.execute(
                accounts.insert().values(
                    id=account_id,
                    owner=owner,
                    kind=kind,
                    unit=unit,
                    allow_overdraft=overdraft,
                    created_at_us=self._now_us(),
                    **dict.fromkeys(BALANCE_COLUMNS, 0),
                )
            )
            return wanted

        return self._runner.run(txn, mode="write")

    def accounts(self) -> list[Account]:
        query = sa.select(accounts).order_by(accounts.c.id)
        return self._runner.run(lambda c: [to_account(r) for r in c.execute(query)], mode="single")

    def get_account(self, account_id: str) -> Account:
        single_id("account_id", account_id)
        query = sa.select(accounts).where(accounts.c.id == account_id)
        row = self._runner.run(lambda c: c.execute(query).first(), mode="single")
        if row is None:
            raise NotFound("account_id", f"{account_id!r} is not an account")
        return to_account(row)

    # ------------------------------------------------------------------ transfers

    def transfer(
        self,
        transfer_id: str,
        debit_account: str,
        credit_account: str,
        amount: int,
        unit: str,
        code: str,
        session: str | None = None,
        metadata: dict[str, Any] | None = None,
        pending: bool = False,
        timeout_s: int | None = None,
    ) -> TransferResult:
        """Move ``amount`` (integer, in ``unit``'s smallest unit) from debit to credit account.

        ``pending=True`` only reserves it (see ``post``/``void``; ``timeout_s`` lets
        ``expire_pending`` release it). Returns ``created`` or, for an identical retry,
        ``exists``. Raises ``InvalidInput``, ``Conflict`` or ``Rejected``.
        """
        spec = transfer_spec(
            {
                "transfer_id": transfer_id,
                "debit_account": debit_account,
                "credit_account": credit_account,
                "amount": amount,
                "unit": unit,
                "code": code,
                "session": session,
                "metadata": metadata,
                "pending": pending,
                "timeout_s": timeout_s,
            }
        )
        return self._write_batch([spec], prefixes=[""])[0]

    def transfer_batch(self, specs: list[dict[str, Any]]) -> list[TransferResult]:
        """Linked transfers: all are created or none (each dict holds ``transfer()``'s arguments).

        Applied in order, so a later transfer may spend what an earlier one credited. If one
        breaks a rule, only its id is recorded as rejected and ``Rejected`` is raised (naming it
        ``specs[i]....``). A retry of a committed batch answers ``exists`` for every transfer.
        """
        valid = batch_specs(specs)
        return self._write_batch(valid, prefixes=[f"specs[{i}]." for i in range(len(valid))])

    def _write_batch(self, specs: list[TransferSpec], prefixes: list[str]) -> list[TransferResult]:
        outcome = self._runner.run(
            lambda conn: self._batch_txn(conn, specs, prefixes), mode="write"
        )
        if isinstance(outcome, Rejected):
            raise outcome
        return outcome

    def _batch_txn(
        self, conn: Connection, specs: list[TransferSpec], prefixes: list[str]
    ) -> list[TransferResult] | Rejected:
        sql = self._sql
        ids = [spec.id for spec in specs]
        sql.lock_ids(conn, ids)
        if sql.known_ids(conn, ids):  # a retry, a conflict or a stored rejection
            stored = _stored_rejections(conn, ids)
            for spec in specs:
                if spec.id in stored:
                    return stored[spec.id]
            query = transfer_query().where(transfers.c.id.in_(ids))
            existing = {row._mapping["id"]: row for row in conn.execute(query)}
            return _existing_batch(specs, prefixes, existing)
        states = sql.lock_accounts(
            conn, [a for s in specs for a in (s.debit_account, s.credit_account)]
        )
        for spec, prefix in zip(specs, prefixes, strict=True):
            failure = _apply_transfer(spec, states)
            if failure is not None:
                reason, field, rule = failure
                return self._reject(conn, spec.id, spec.payload(), reason, prefix + field, rule)
        now_us = self._now_us()
        created = [_new_transfer(spec, now_us) for spec in specs]
        rows = [
            transfer_row(t, now_us, _expiry(spec, now_us), spec.metadata_json)
            for t, spec in zip(created, specs, strict=True)
        ]
        sql.insert_transfers(conn, rows)
        sql.save_accounts(conn, states.values())
        return [TransferResult("created", t) for t in created]

    def _reject(
        self, conn: Connection, transfer_id: str, payload: dict, reason: str, field: str, rule: str
    ) -> Rejected:
        """Record ``transfer_id`` as rejected (in the caller's transaction); return the error."""
        conn.execute(
            rejections.insert().values(
                id=transfer_id,
                reason=reason,
                field=field,
                rule=rule,
                payload_json=json.dumps(payload, sort_keys=True, separators=(",", ":")),
                created_at_us=self._now_us(),
            )
        )
        return rejected(reason, field, rule, transfer_id)

    def apply(self, operations: Operations) -> list[Any]:
        """Run ``operations`` (:class:`~voltpool.ledger.Operations`) in one database
        transaction, in order, each as its own call would (TigerBeetle's batch of independent
        transfers): one result per operation, a ``TransferResult`` (a linked batch: the list of
        them) or, for an operation that broke a ledger rule, the ``Rejected`` error, recorded as
        that call records it while the others go on. A later operation sees what an earlier
        one did (a post of a pending transfer made earlier in the batch). An id that exists
        with a different payload raises ``Conflict`` and nothing is written.

        One commit instead of one per operation: the simulator settles a year of ten cars
        (7,000 operations) in one. On PostgreSQL the transaction holds the locks of every id and
        account it touches until it commits, taken operation by operation (not in one sorted
        order), so concurrent batches may deadlock; the database breaks that and the
        transaction is run again (``Runner``), a bounded number of times.
        """

        def txn(conn: Connection) -> list[Any]:
            results: list[Any] = []
            for item in operations.items:
                if item.resolve is not None:
                    results.append(self._resolve_txn(conn, item.resolve))
                    continue
                outcome = self._batch_txn(conn, list(item.transfers), list(item.prefixes))
                linked = item.linked or isinstance(outcome, Rejected)
                results.append(outcome if linked else outcome[0])
            return results

        return self._runner.run(txn, mode="write")

    # ------------------------------------------------------------------ two-phase

    def post(
        self,
        transfer_id: str,
        pending_id: str,
        amount: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> TransferResult:
        """Post a pending transfer: a new transfer ``transfer_id`` of ``amount`` (<= the pending
        amount; None = all of it) between the same accounts; the rest is released. At most once.
        """
        spec = resolve_spec("post", transfer_id, pending_id, amount, metadata)
        return self._resolve(spec)

    def void(
        self, transfer_id: str, pending_id: str, metadata: dict[str, Any] | None = None
    ) -> TransferResult:
        """Release a pending transfer (recorded as transfer ``transfer_id``). At most once."""
        spec = resolve_spec("void", transfer_id, pending_id, None, metadata)
        return self._resolve(spec)

    def _resolve(self, spec: ResolveSpec) -> TransferResult:
        outcome = self._runner.run(lambda conn: self._resolve_txn(conn, spec), mode="write")
        if isinstance(outcome, Rejected):
            raise outcome
        return outcome

    def _resolve_txn(self, conn: Connection, spec: ResolveSpec) -> TransferResult | Rejected:
        sql = self._sql
        sql.lock_ids(conn, [spec.id])
        known = bool(sql.known_ids(conn, [spec.id]))  # a new id (the common case): no rejection
        stored = _stored_rejections(conn, [spec.id]) if known else {}
        if spec.id in stored:
            return stored[spec.id]
        rows = conn.execute(transfer_query().where(transfers.c.id.in_([spec.id, spec.pending_id])))
        by_id = {row._mapping["id"]: row for row in rows}
        pending_row = by_id.get(spec.pending_id)
        if spec.id in by_id:
            return _existing_resolve(spec, by_id[spec.id], pending_row)
        reject = self._reject_resolve(conn, spec)
        if pending_row is None:
            return reject(
                "pending_transfer_not_found", "pending_id", f"{spec.pending_id!r} is not a transfer"
            )
        pending = to_transfer(pending_row)
        if pending.kind != "pending":
            return reject(
                "pending_transfer_not_pending",
                "pending_id",
                f"{pending.id!r} is a {pending.kind} transfer, not a pending one",
            )
        states = sql.lock_accounts(conn, [pending.debit_account, pending.credit_account])
        debit, credit = states[pending.debit_account], states[pending.credit_account]
        done = conn.execute(
            sa.select(resolutions).where(resolutions.c.pending_id == pending.id)
        ).first()
        now_us = self._now_us()
        failure = _resolve_failure(spec, pending, done, debit, credit, now_us)
        if failure is not None:
            if failure[0] == "pending_transfer_expired" and done is None:  # expire it now
                _release(pending, debit, credit)
                sql.insert_resolutions(conn, [_resolution(pending.id, "expired", None, now_us)])
                sql.save_accounts(conn, states.values())
            return reject(*failure)
        amount = pending.amount if spec.action == "void" or spec.amount is None else spec.amount
        _release(pending, debit, credit)
        if spec.action == "post":
            debit.add("debits_posted", amount)
            credit.add("credits_posted", amount)
        made = replace(
            pending,
            id=spec.id,
            amount=amount,
            kind=spec.action,
            status="posted" if spec.action == "post" else "voided",
            metadata=json.loads(spec.metadata_json),
            pending_id=pending.id,
            timeout_s=None,
            created_at=_from_us(now_us),
            expires_at=None,
            resolved_by=None,
        )
        sql.insert_transfers(conn, [transfer_row(made, now_us, None, spec.metadata_json)])
        sql.insert_resolutions(conn, [_resolution(pending.id, made.status, spec.id, now_us)])
        sql.save_accounts(conn, states.values())
        return TransferResult("created", made)

    def _reject_resolve(
        self, conn: Connection, spec: ResolveSpec
    ) -> Callable[[str, str, str], Rejected]:
        return lambda reason, field, rule: self._reject(
            conn, spec.id, spec.payload(), reason, field, rule
        )

    def expire_pending(self, now: datetime | None = None) -> int:
        """Void every pending transfer whose timeout has passed at ``now``; returns how many."""
        now_us = to_us(aware("now", now)) if now is not None else self._now_us()
        total = 0
        for _ in range(EXPIRE_ROUNDS_MAX):
            expired, due = self._runner.run(
                lambda conn: _expire_chunk(conn, self._sql, now_us), mode="write"
            )
            total += expired
            if due < EXPIRE_CHUNK:
                return total
        raise RuntimeError(f"expire_pending: more than {EXPIRE_ROUNDS_MAX} rounds")

    # ------------------------------------------------------------------ reads

    def balance(self, account_id: str) -> Balance:
        """The account's cached sums (kept equal to its transfers' sums in every commit)."""
        single_id("account_id", account_id)
        query = sa.select(accounts).where(accounts.c.id == account_id)
        row = self._runner.run(lambda c: c.execute(query).first(), mode="single")
        if row is None:
            raise NotFound("account_id", f"{account_id!r} is not an account")
        return _balance(row)

    def balances(self, account_ids: list[str] | None = None) -> dict[str, Balance]:
        """Several accounts' balances read in one statement (None: every account)."""
        query = sa.select(accounts).order_by(accounts.c.id)
        if account_ids is not None:
            if not isinstance(account_ids, list | tuple | set | frozenset):
                raise InvalidInput("account_ids", "must be a list of account ids or None")
            for index, account_id in enumerate(account_ids):
                single_id(f"account_ids[{index}]", account_id)
            query = query.where(accounts.c.id.in_(sorted(set(account_ids))))
        rows = self._runner.run(lambda c: c.execute(query).all(), mode="single")
        found = {row._mapping["id"]: _balance(row) for row in rows}
        missing = sorted(set(account_ids or ()) - set(found))
        if missing:
            raise NotFound("account_ids", f"{missing!r} are not accounts")
        return found

    def history(
        self, account_id: str, limit: int = 100, after: str | None = None
    ) -> list[Transfer]:
        """Transfers debiting or crediting ``account_id``, oldest first, at most ``limit``,
        starting after transfer ``after`` (a cursor: pass the last id of the previous page)."""
        history_args(account_id, limit, after)
        rows = self._runner.run(
            lambda c: _page(c, HISTORY_QUERY, account_id, limit, after), mode="single"
        )
        return [to_transfer(row) for row in rows]

    def statement(
        self, account_id: str, limit: int = 100, after: str | None = None
    ) -> list[StatementEntry]:
        """``account_id``'s statement, oldest first: one line per single or pending transfer,
        the post, void or expiry of a pending transfer folded into its line (see
        :class:`~voltpool.ledger.StatementEntry`); at most ``limit`` lines, starting after
        transfer ``after`` (a cursor: pass the last id of the previous page)."""
        history_args(account_id, limit, after)
        rows = self._runner.run(
            lambda c: _page(c, STATEMENT_QUERY, account_id, limit, after), mode="single"
        )
        return [_statement_entry(row, account_id) for row in rows]

    def get_transfer(self, transfer_id: str) -> Transfer:
        single_id("transfer_id", transfer_id)

        def txn(conn: Connection) -> Row | Rejection | None:
            row = conn.execute(transfer_query().where(transfers.c.id == transfer_id)).first()
            return row if row is not None else _rejection(conn, transfer_id)

        found = self._runner.run(txn, mode="single")
        if found is None:
            raise NotFound("transfer_id", f"{transfer_id!r} is not a transfer")
        if isinstance(found, Rejection):
            rule = f"{transfer_id!r} was rejected ({found.reason}: {found.field}: {found.rule})"
            raise NotFound("transfer_id", rule)
        return to_transfer(found)

    def rejection(self, transfer_id: str) -> Rejection | None:
        """Why ``transfer_id`` was rejected, or None if it was not."""
        single_id("transfer_id", transfer_id)
        return self._runner.run(lambda c: _rejection(c, transfer_id), mode="single")

    def verify(self) -> VerifyReport:
        """Recompute every balance from the transfer log and check the ledger's invariants."""
        return self._runner.run(_verify.verify, mode="snapshot")


# ---------------------------------------------------------------------- transaction helpers


def _balance(row: Row) -> Balance:
    m = row._mapping
    return Balance(
        int(m["debits_posted"]),
        int(m["credits_posted"]),
        int(m["debits_pending"]),
        int(m["credits_pending"]),
    )


def _apply_transfer(spec: TransferSpec, states: dict[str, AccountState]) -> Failure | None:
    """Apply one transfer to the locked balances, or say which rule it breaks (no change)."""
    debit = states.get(spec.debit_account)
    credit = states.get(spec.credit_account)
    if debit is None:
        rule = f"{spec.debit_account!r} is not an account (create it first)"
        return "debit_account_not_found", "debit_account", rule
    if credit is None:
        rule = f"{spec.credit_account!r} is not an account (create it first)"
        return "credit_account_not_found", "credit_account", rule
    for side, state in (("debit", debit), ("credit", credit)):
        if state.unit != spec.unit:
            rule = (
                f"{spec.unit!r} differs from the unit {state.unit!r} of {side} account {state.id!r}"
            )
            return f"{side}_account_unit_mismatch", "unit", rule
    amount = spec.amount
    if not debit.allow_overdraft and amount > debit.available:
        rule = (
            f"{amount} exceeds the {debit.available} available on account {debit.id!r} "
            f"(credits_posted {debit.credits_posted} - debits_posted {debit.debits_posted} "
            f"- debits_pending {debit.debits_pending}); it does not allow overdraft"
        )
        return "exceeds_credits", "amount", rule
    suffix = "pending" if spec.pending else "posted"
    if debit.overflows(f"debits_{suffix}", amount):
        return f"overflows_debits_{suffix}", "amount", f"{amount} would overflow debits_{suffix}"
    if credit.overflows(f"credits_{suffix}", amount):
        return f"overflows_credits_{suffix}", "amount", f"{amount} would overflow credits_{suffix}"
    debit.add(f"debits_{suffix}", amount)
    credit.add(f"credits_{suffix}", amount)
    return None


def _resolve_failure(
    spec: ResolveSpec,
    pending: Transfer,
    done: Row | None,
    debit: AccountState,
    credit: AccountState,
    now_us: int,
) -> Failure | None:
    """Which rule posting/voiding ``pending`` now would break, if any (no change)."""
    if done is not None:
        outcome, by = done._mapping["outcome"], done._mapping["transfer_id"]
        if outcome == "expired":
            return "pending_transfer_expired", "pending_id", f"{pending.id!r} already expired"
        rule = f"{pending.id!r} was already {outcome} by {by!r}"
        return f"pending_transfer_already_{outcome}", "pending_id", rule
    if pending.expires_at is not None and now_us >= to_us(pending.expires_at):
        rule = f"{pending.id!r} expired at {pending.expires_at.isoformat()}"
        return "pending_transfer_expired", "pending_id", rule
    if spec.action == "post" and spec.amount is not None and spec.amount > pending.amount:
        rule = f"{spec.amount} exceeds the pending amount {pending.amount} of {pending.id!r}"
        return "exceeds_pending_transfer_amount", "amount", rule
    amount = pending.amount if spec.amount is None else spec.amount
    if spec.action == "post" and (
        debit.overflows("debits_posted", amount) or credit.overflows("credits_posted", amount)
    ):
        return "overflows_posted", "amount", f"{amount} would overflow a posted balance"
    return None


def _release(pending: Transfer, debit: AccountState, credit: AccountState) -> None:
    debit.add("debits_pending", -pending.amount)
    credit.add("credits_pending", -pending.amount)


def _resolution(
    pending_id: str, outcome: str, transfer_id: str | None, now_us: int
) -> dict[str, Any]:
    return {
        "pending_id": pending_id,
        "outcome": outcome,
        "transfer_id": transfer_id,
        "resolved_at_us": now_us,
    }


def _expire_chunk(conn: Connection, sql: Sql, now_us: int) -> tuple[int, int]:
    """Expire up to EXPIRE_CHUNK timed-out pending transfers in this transaction; returns how
    many were expired and how many were due when it started."""
    unresolved = resolutions.c.pending_id.is_(None)  # transfer_query() outer-joins resolutions
    query = (
        transfer_query()
        .where(transfers.c.kind == "pending", transfers.c.expires_at_us <= now_us, unresolved)
        .order_by(transfers.c.seq)
        .limit(EXPIRE_CHUNK)
    )
    due = [to_transfer(row) for row in conn.execute(query)]
    if not due:
        return 0, 0
    states = sql.lock_accounts(conn, [a for t in due for a in (t.debit_account, t.credit_account)])
    # read after the locks: a post or void that committed meanwhile has resolved some of them
    done_query = sa.select(resolutions.c.pending_id).where(
        resolutions.c.pending_id.in_([t.id for t in due])
    )
    done = set(conn.execute(done_query).scalars())
    expired = [pending for pending in due if pending.id not in done]
    for pending in expired:
        _release(pending, states[pending.debit_account], states[pending.credit_account])
    sql.insert_resolutions(conn, [_resolution(t.id, "expired", None, now_us) for t in expired])
    sql.save_accounts(conn, states.values())
    return len(expired), len(due)


def _new_transfer(spec: TransferSpec, now_us: int) -> Transfer:
    expires_at_us = _expiry(spec, now_us)
    return Transfer(
        id=spec.id,
        debit_account=spec.debit_account,
        credit_account=spec.credit_account,
        amount=spec.amount,
        unit=spec.unit,
        code=spec.code,
        kind=spec.kind,
        status="pending" if spec.pending else "posted",
        session=spec.session,
        metadata=json.loads(spec.metadata_json),
        pending_id=None,
        timeout_s=spec.timeout_s,
        created_at=_from_us(now_us),
        expires_at=None if expires_at_us is None else _from_us(expires_at_us),
    )


def _expiry(spec: TransferSpec, now_us: int) -> int | None:
    return None if spec.timeout_s is None else now_us + spec.timeout_s * 1_000_000


def _from_us(value: int) -> datetime:
    moment = from_us(value)
    assert moment is not None
    return moment


def _stored_rejections(conn: Connection, ids: list[str]) -> dict[str, Rejected]:
    rows = conn.execute(sa.select(rejections).where(rejections.c.id.in_(ids)))
    out = {}
    for row in rows:
        m = row._mapping
        out[m["id"]] = rejected(m["reason"], m["field"], m["rule"], m["id"])
    return out


def _rejection(conn: Connection, transfer_id: str) -> Rejection | None:
    row = conn.execute(sa.select(rejections).where(rejections.c.id == transfer_id)).first()
    if row is None:
        return None
    m = row._mapping
    return Rejection(m["id"], m["reason"], m["field"], m["rule"], _from_us(m["created_at_us"]))


def _existing_batch(
    specs: list[TransferSpec], prefixes: list[str], existing: dict[str, Row]
) -> list[TransferResult]:
    """A retry: every id exists with the same payload -> ``exists``; anything else -> Conflict."""
    results = []
    for spec, prefix in zip(specs, prefixes, strict=True):
        row = existing.get(spec.id)
        if row is None:
            rule = (
                f"{spec.id!r} is new but other transfers of this linked batch already exist"
                " (a batch commits all or nothing: retry it unchanged or use new ids)"
            )
            raise Conflict(prefix + "transfer_id", rule)
        transfer = to_transfer(row)
        diff = _transfer_diff(transfer, spec, row._mapping["metadata_json"])
        if diff:
            raise Conflict(prefix + "transfer_id", f"{spec.id!r} already exists with {diff}")
        results.append(TransferResult("exists", transfer))
    return results


def _transfer_diff(transfer: Transfer, spec: TransferSpec, stored_metadata_json: str) -> str:
    if transfer.kind != spec.kind:
        return f"kind {transfer.kind!r} (this request is a {spec.kind!r} transfer)"
    pairs = [
        ("debit_account", transfer.debit_account, spec.debit_account),
        ("credit_account", transfer.credit_account, spec.credit_account),
        ("amount", transfer.amount, spec.amount),
        ("unit", transfer.unit, spec.unit),
        ("code", transfer.code, spec.code),
        ("session", transfer.session, spec.session),
        ("metadata", stored_metadata_json, spec.metadata_json),
        ("timeout_s", transfer.timeout_s, spec.timeout_s),
    ]
    return _diff_text(pairs)


def _existing_resolve(spec: ResolveSpec, row: Row, pending_row: Row | None) -> TransferResult:
    transfer = to_transfer(row)
    if transfer.kind != spec.action:
        raise Conflict(
            "transfer_id",
            f"{spec.id!r} already exists as a {transfer.kind!r} transfer, not a {spec.action!r}",
        )
    wanted_amount = transfer.amount
    if spec.action == "post" and spec.amount is not None:
        wanted_amount = spec.amount
    elif spec.action == "post" and pending_row is not None:
        wanted_amount = int(pending_row._mapping["amount"])  # None means the full pending amount
    pairs = [
        ("pending_id", transfer.pending_id, spec.pending_id),
        ("amount", transfer.amount, wanted_amount),
        ("metadata", row._mapping["metadata_json"], spec.metadata_json),
    ]
    diff = _diff_text(pairs)
    if diff:
        raise Conflict("transfer_id", f"{spec.id!r} already exists with {diff}")
    return TransferResult("exists", transfer)


def _diff_text(pairs: list[tuple[str, object, object]]) -> str:
    parts = [f"{name}={old!r} (requested {new!r})" for name, old, new in pairs if old != new]
    if not parts:
        return ""
    return "; ".join(parts) + " - a changed payload needs a new transfer_id"


def _account_diff(existing: Account, wanted: Account) -> str:
    names = ("owner", "kind", "unit", "allow_overdraft")
    pairs = [(n, getattr(existing, n), getattr(wanted, n)) for n in names]
    parts = [f"{name}={old!r} (requested {new!r})" for name, old, new in pairs if old != new]
    return f"{existing.id!r} already exists with " + "; ".join(parts)


STATEMENT_KINDS = ("single", "pending")
"""The kinds of transfer a statement shows as lines (a post or void is folded into its pending)."""


def _page_query(select: sa.Select, kinds: tuple[str, ...] | None = None) -> sa.Select:
    """``select`` (of transfers) narrowed to the first ``:limit`` debits and credits of
    ``:account_id`` after seq ``:after_seq`` (of ``kinds`` only, if given), each side read in
    index order (cost grows with the page, not with the whole history)."""
    account_id, after_seq = sa.bindparam("account_id"), sa.bindparam("after_seq")
    limit = sa.bindparam("limit", type_=sa.Integer())
    of_kinds = () if kinds is None else (transfers.c.kind.in_(kinds),)
    sides = [
        sa.select(transfers.c.seq)
        .where(column == account_id, transfers.c.seq > after_seq, *of_kinds)
        .order_by(transfers.c.seq)
        .limit(limit)
        .subquery()
        for column in (transfers.c.debit_account_id, transfers.c.credit_account_id)
    ]
    seqs = sa.union_all(*(sa.select(side.c.seq) for side in sides)).subquery()
    return (
        select.where(transfers.c.seq.in_(sa.select(seqs.c.seq)))
        .order_by(transfers.c.seq)
        .limit(limit)
    )


def _statement_select() -> sa.Select:
    """Transfers with their resolution, when it happened and the amount of the resolving post
    or void (outer joins)."""
    resolving = transfers.alias("resolving")
    return (
        transfer_query()
        .outerjoin(resolving, resolving.c.id == resolutions.c.transfer_id)
        .add_columns(resolutions.c.resolved_at_us, resolving.c.amount.label("resolving_amount"))
    )


HISTORY_QUERY = _page_query(transfer_query())
STATEMENT_QUERY = _page_query(_statement_select(), STATEMENT_KINDS)
SEQ_OF_ID = sa.select(transfers.c.seq).where(transfers.c.id == sa.bindparam("transfer_id"))
ACCOUNT_EXISTS = sa.select(accounts.c.id).where(accounts.c.id == sa.bindparam("account_id"))


def _page(
    conn: Connection, query: sa.Select, account_id: str, limit: int, after: str | None
) -> list[Row]:
    """The rows of a page query (:func:`_page_query`); NotFound for an unknown account or
    cursor."""
    after_seq = 0
    if after is not None:
        seq = conn.execute(SEQ_OF_ID, {"transfer_id": after}).scalar()
        if seq is None:
            raise NotFound("after", f"{after!r} is not a transfer")
        after_seq = int(seq)
    params = {"account_id": account_id, "after_seq": after_seq, "limit": limit}
    rows = conn.execute(query, params).all()
    if not rows and conn.execute(ACCOUNT_EXISTS, {"account_id": account_id}).first() is None:
        raise NotFound("account_id", f"{account_id!r} is not an account")
    return rows


def _statement_entry(row: Row, account_id: str) -> StatementEntry:
    """A statement line from ``account_id``'s side: a posted pending transfer shows the amount
    its post moved."""
    transfer = to_transfer(row)
    m = row._mapping
    credited = transfer.credit_account == account_id
    moved = transfer.amount
    if transfer.pending and transfer.status == "posted":
        moved = int(m["resolving_amount"])
    return StatementEntry(
        transfer_id=transfer.id,
        created_at=_from_us(m["created_at_us"]),
        other_account=transfer.debit_account if credited else transfer.credit_account,
        amount=moved if credited else -moved,
        unit=transfer.unit,
        code=transfer.code,
        status=transfer.status,
        reserved=transfer.amount if transfer.pending else None,
        expires_at=transfer.expires_at,
        resolved_by=transfer.resolved_by,
        resolved_at=from_us(m["resolved_at_us"]),
        metadata=transfer.metadata,
    )
