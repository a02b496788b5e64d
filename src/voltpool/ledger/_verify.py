"""``verify()``: recompute every balance from the transfer log and check the ledger's invariants.

Runs in one read snapshot. The sums are SQL aggregates (GROUP BY), so memory stays bounded by
the number of accounts, not transfers. Checks:

1. each account's cached balances equal the sums of its transfers (single and post transfers
   are posted; a pending transfer counts as pending until it is resolved);
2. per unit, sum of debits == sum of credits (posted and pending), on the cache and on the log;
3. no account without overdraft has debits_posted + debits_pending > credits_posted;
4. every transfer has amount > 0, distinct accounts of its own unit;
5. every pending transfer is resolved at most once, by a post/void between the same accounts (a
   post for no more than the pending amount, a void for exactly it) that its resolution names;
6. no id is both a transfer and a rejection.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from voltpool.ledger._model import UNITS, VerifyReport
from voltpool.ledger._rows import BALANCE_COLUMNS
from voltpool.ledger._schema import accounts, rejections, resolutions, transfers

PROBLEMS_PER_CHECK_MAX = 20  # a broken ledger reports the first few of each kind, not millions

t = transfers
POSTED = t.c.kind.in_(("single", "post"))
OPEN_PENDING = sa.and_(
    t.c.kind == "pending", ~sa.exists().where(resolutions.c.pending_id == t.c.id).correlate(t)
)


def _log_sums_query() -> sa.Select:
    """Every account's four balances recomputed from the log, in one aggregate query."""
    posted = sa.case((POSTED, t.c.amount), else_=0)
    pending = sa.case((OPEN_PENDING, t.c.amount), else_=0)
    zero = sa.literal(0, sa.BigInteger())
    legs = sa.union_all(
        sa.select(
            t.c.debit_account_id.label("account"),
            posted.label("debits_posted"),
            zero.label("credits_posted"),
            pending.label("debits_pending"),
            zero.label("credits_pending"),
        ),
        sa.select(t.c.credit_account_id, zero, posted, zero, pending),
    ).subquery()
    return sa.select(
        legs.c.account, *(sa.func.sum(legs.c[column]) for column in BALANCE_COLUMNS)
    ).group_by(legs.c.account)


LOG_SUMS_QUERY = _log_sums_query()
ACCOUNTS_QUERY = sa.select(accounts)
COUNT_QUERY = sa.select(sa.func.count()).select_from(t)


def _log_sums(conn: Connection) -> dict[str, dict[str, int]]:
    sums: dict[str, dict[str, int]] = {column: {} for column in BALANCE_COLUMNS}
    for account, *totals in conn.execute(LOG_SUMS_QUERY):
        for column, total in zip(BALANCE_COLUMNS, totals, strict=True):
            sums[column][account] = int(total)
    return sums


def verify(conn: Connection) -> VerifyReport:
    problems: list[str] = []
    cached = {row._mapping["id"]: row._mapping for row in conn.execute(ACCOUNTS_QUERY)}
    problems += _check_balances(cached, _log_sums(conn))
    problems += _check_units_sum(cached)
    problems += _check_rows(conn)
    count = conn.execute(COUNT_QUERY).scalar_one()
    return VerifyReport(not problems, problems, len(cached), int(count))


def _check_balances(cached: dict, log: dict[str, dict[str, int]]) -> Iterable[str]:
    problems: list[str] = []
    for column in BALANCE_COLUMNS:
        for account_id in sorted(set(log[column]) - set(cached)):
            problems.append(f"transfers name unknown account {account_id!r} ({column})")
    for account_id, row in sorted(cached.items()):
        recomputed = {column: log[column].get(account_id, 0) for column in BALANCE_COLUMNS}
        for column in BALANCE_COLUMNS:
            if int(row[column]) != recomputed[column]:
                problems.append(
                    f"account {account_id!r}: cached {column} {int(row[column])} != "
                    f"{recomputed[column]} recomputed from the transfer log"
                )
        debits = recomputed["debits_posted"] + recomputed["debits_pending"]
        if not row["allow_overdraft"] and debits > recomputed["credits_posted"]:
            problems.append(
                f"account {account_id!r} does not allow overdraft but its debits "
                f"(posted + pending) {debits} exceed its posted credits "
                f"{recomputed['credits_posted']}"
            )
    return problems


def _check_units_sum(cached: dict) -> Iterable[str]:
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for row in cached.values():
        for column in BALANCE_COLUMNS:
            totals[row["unit"], column] += int(row[column])
    problems = []
    for unit in UNITS:
        for stage in ("posted", "pending"):
            debits, credits = totals[unit, f"debits_{stage}"], totals[unit, f"credits_{stage}"]
            if debits != credits:
                problems.append(
                    f"unit {unit!r}: sum of debits_{stage} {debits} != credits {credits}"
                )
    return problems


def _row_checks() -> list[tuple[str, sa.Select]]:
    """(label, query of offending ids) for each per-row invariant."""
    debit = accounts.alias("debit")
    credit = accounts.alias("credit")
    pend = transfers.alias("pend")
    res = resolutions
    checks: list[tuple[str, sa.Select]] = [
        (
            "transfer with amount <= 0 or the same debit and credit account",
            sa.select(t.c.id).where(
                sa.or_(t.c.amount <= 0, t.c.debit_account_id == t.c.credit_account_id)
            ),
        ),
        (
            "transfer whose unit differs from its accounts' unit",
            sa.select(t.c.id)
            .join(debit, debit.c.id == t.c.debit_account_id)
            .join(credit, credit.c.id == t.c.credit_account_id)
            .where(sa.or_(t.c.unit != debit.c.unit, t.c.unit != credit.c.unit)),
        ),
        (
            "post/void that does not match its pending transfer",
            sa.select(t.c.id)
            .join(pend, pend.c.id == t.c.pending_id)
            .where(
                t.c.kind.in_(("post", "void")),
                sa.or_(
                    pend.c.kind != "pending",
                    t.c.debit_account_id != pend.c.debit_account_id,
                    t.c.credit_account_id != pend.c.credit_account_id,
                    t.c.unit != pend.c.unit,
                    sa.and_(t.c.kind == "post", t.c.amount > pend.c.amount),
                    sa.and_(t.c.kind == "void", t.c.amount != pend.c.amount),
                ),
            ),
        ),
        (
            "post/void without the matching resolution of its pending transfer",
            sa.select(t.c.id)
            .outerjoin(res, res.c.pending_id == t.c.pending_id)
            .where(
                t.c.kind.in_(("post", "void")),
                sa.or_(
                    res.c.pending_id.is_(None),
                    res.c.transfer_id != t.c.id,
                    sa.and_(t.c.kind == "post", res.c.outcome != "posted"),
                    sa.and_(t.c.kind == "void", res.c.outcome != "voided"),
                ),
            ),
        ),
        (
            "resolution of a transfer that is not pending, or naming no post/void",
            sa.select(res.c.pending_id)
            .join(pend, pend.c.id == res.c.pending_id)
            .outerjoin(t, t.c.id == res.c.transfer_id)
            .where(
                sa.or_(
                    pend.c.kind != "pending",
                    sa.and_(
                        res.c.transfer_id.is_not(None),
                        t.c.pending_id.is_distinct_from(res.c.pending_id),
                    ),
                )
            ),
        ),
        (
            "pending transfer resolved more than once",
            sa.select(t.c.pending_id)
            .where(t.c.pending_id.is_not(None))
            .group_by(t.c.pending_id)
            .having(sa.func.count() > 1),
        ),
        (
            "id that is both a transfer and a rejection",
            sa.select(t.c.id).join(rejections, rejections.c.id == t.c.id),
        ),
    ]
    return checks


def _union(checks: list[tuple[str, sa.Select]]) -> sa.CompoundSelect:
    """One round trip: the first few offending ids of every check, tagged with its index."""
    parts = []
    for index, (_label, query) in enumerate(checks):
        found = query.limit(PROBLEMS_PER_CHECK_MAX).subquery()
        parts.append(sa.select(sa.literal(index).label("check"), found.c[0].label("found")))
    return sa.union_all(*parts)


# built once: constructing SQLAlchemy statements costs more than running them on small ledgers
ROW_CHECKS = _row_checks()
ROW_CHECKS_QUERY = _union(ROW_CHECKS)


def _check_rows(conn: Connection) -> Iterable[str]:
    rows = conn.execute(ROW_CHECKS_QUERY).all()
    return [f"{ROW_CHECKS[index][0]}: {found!r}" for index, found in rows]
