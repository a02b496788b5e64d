"""The write path's SQL, written once per backend and run with ``exec_driver_sql``.

A transfer is a handful of tiny statements; building and compiling them with SQLAlchemy Core on
every call cost more than the durable commit itself. Here each statement is a plain SQL string,
rendered once for the driver's parameter style (SQLite ``:name``, psycopg ``%(name)s``) and,
where it takes a list of ids, once per list length (cached). No statement is built per call, and
each runs on the DBAPI cursor of the transaction's connection (SQLAlchemy's per-statement result
bookkeeping cost as much as SQLite running the statement); a driver error is raised as
SQLAlchemy's ``DBAPIError`` (and a lost connection invalidated), exactly as ``Connection.execute``
would, so the runner's retry rules apply unchanged. psycopg prepares them server-side after a
few uses.

The statements, in the order a write transaction runs them:

1. ``lock_ids`` (PostgreSQL only): a transaction-scoped advisory lock per transfer id (sorted by
   its key), so that no two transactions decide about the same id at once, even when they lock
   no common account (a rejection and a creation of one id live in different tables). SQLite
   needs none: ``BEGIN IMMEDIATE`` already holds the database's write lock.
2. ``known_ids``: which of the ids are stored, as a transfer or as a rejection (one statement);
   a new id (the common case) needs nothing else.
3. ``lock_accounts``: the accounts' balances, on PostgreSQL ``FOR UPDATE`` in id order.
4. ``insert_transfers`` (one row, or many: SQLite ``executemany``, PostgreSQL one ``INSERT ...
   SELECT FROM unnest(arrays)``; never psycopg's ``executemany``, whose pipeline mode logs
   "error ignored terminating Pipeline" warnings when a statement of it fails).
5. ``save_accounts``: one ``UPDATE`` of every changed account (``CASE id WHEN ...``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from voltpool.ledger._engine import execute
from voltpool.ledger._rows import BALANCE_COLUMNS, AccountState

LOCK_CLASS = 0x766C_6467  # "vldg": the ledger's advisory-lock namespace (first int4 key)
TRANSFER_COLUMNS = (
    "id",
    "kind",
    "debit_account_id",
    "credit_account_id",
    "amount",
    "unit",
    "code",
    "session",
    "metadata_json",
    "pending_id",
    "timeout_s",
    "expires_at_us",
    "created_at_us",
)
RESOLUTION_COLUMNS = ("pending_id", "outcome", "transfer_id", "resolved_at_us")
PG_ARRAY_TYPES = {
    "amount": "bigint",
    "timeout_s": "bigint",
    "expires_at_us": "bigint",
    "created_at_us": "bigint",
    "resolved_at_us": "bigint",
}
ACCOUNT_STATE_COLUMNS = ("id", "unit", "allow_overdraft", *BALANCE_COLUMNS)
_NAME = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


class Sql:
    """The write path's statements for one backend (``sqlite`` or ``postgresql``)."""

    def __init__(self, backend: str) -> None:
        self.postgres = backend == "postgresql"
        self.insert_transfer = self._render(_insert_sql("ledger_transfers", TRANSFER_COLUMNS))
        self.insert_resolution = self._render(
            _insert_sql("ledger_pending_resolutions", RESOLUTION_COLUMNS)
        )
        self._lock_ids = self._render(
            f"SELECT pg_advisory_xact_lock({LOCK_CLASS}, k) FROM (SELECT DISTINCT hashtext(x)"
            " AS k FROM unnest(CAST(:ids AS text[])) AS u(x) ORDER BY k) AS keys"
        )
        self._unnest = {
            table: self._render(_unnest_sql(table, columns))
            for table, columns in (
                ("ledger_transfers", TRANSFER_COLUMNS),
                ("ledger_pending_resolutions", RESOLUTION_COLUMNS),
            )
        }

    def _render(self, sql: str) -> str:
        """``:name`` placeholders in the driver's style (psycopg: ``%(name)s``)."""
        return _NAME.sub(r"%(\1)s", sql) if self.postgres else sql

    # ------------------------------------------------------------------ statements by size

    # one Sql per backend for the whole process (STATEMENTS), so caching on self leaks nothing
    @functools.lru_cache(maxsize=64)  # noqa: B019
    def _known_ids_sql(self, n: int) -> str:
        ids = _placeholders("i", n)
        return self._render(
            f"SELECT id FROM ledger_rejections WHERE id IN ({ids})"
            f" UNION ALL SELECT id FROM ledger_transfers WHERE id IN ({ids})"
        )

    @functools.lru_cache(maxsize=64)  # noqa: B019
    def _lock_accounts_sql(self, n: int) -> str:
        columns = ", ".join(ACCOUNT_STATE_COLUMNS)
        sql = f"SELECT {columns} FROM ledger_accounts WHERE id IN ({_placeholders('i', n)})"
        return self._render(sql + " ORDER BY id" + (" FOR UPDATE" if self.postgres else ""))

    @functools.lru_cache(maxsize=64)  # noqa: B019
    def _save_accounts_sql(self, n: int) -> str:
        sets = ", ".join(
            f"{column} = CASE id "
            + " ".join(f"WHEN :a{k} THEN :{column}{k}" for k in range(n))
            + " END"
            for column in BALANCE_COLUMNS
        )
        return self._render(
            f"UPDATE ledger_accounts SET {sets} WHERE id IN ({_placeholders('a', n)})"
        )

    # ------------------------------------------------------------------ running them

    def lock_ids(self, conn: Connection, ids: Sequence[str]) -> None:
        """PostgreSQL: hold the advisory lock of every id until the transaction ends."""
        if self.postgres:
            execute(conn, self._lock_ids, {"ids": list(ids)})

    def known_ids(self, conn: Connection, ids: Sequence[str]) -> set[str]:
        """The ids stored as a transfer or as a rejection."""
        params = {f"i{k}": transfer_id for k, transfer_id in enumerate(ids)}
        return {row[0] for row in execute(conn, self._known_ids_sql(len(ids)), params)}

    def lock_accounts(self, conn: Connection, ids: Iterable[str]) -> dict[str, AccountState]:
        """Read (PostgreSQL: and lock, in id order) the accounts; missing ids are absent."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        params = {f"i{k}": account_id for k, account_id in enumerate(wanted)}
        rows = execute(conn, self._lock_accounts_sql(len(wanted)), params)
        return {
            row[0]: AccountState(
                row[0], row[1], bool(row[2]), int(row[3]), int(row[4]), int(row[5]), int(row[6])
            )
            for row in rows
        }

    def save_accounts(self, conn: Connection, states: Iterable[AccountState]) -> None:
        """Write the changed balances (checked first) in one statement."""
        changed = [state for state in states if state.dirty]
        if not changed:
            return
        params: dict[str, Any] = {}
        for k, state in enumerate(changed):
            state.check()
            params[f"a{k}"] = state.id
            for column in BALANCE_COLUMNS:
                params[f"{column}{k}"] = getattr(state, column)
        execute(conn, self._save_accounts_sql(len(changed)), params)
        for state in changed:
            state.dirty = False

    def insert_transfers(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        self._insert(conn, "ledger_transfers", self.insert_transfer, TRANSFER_COLUMNS, rows)

    def insert_resolutions(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        table, columns = "ledger_pending_resolutions", RESOLUTION_COLUMNS
        self._insert(conn, table, self.insert_resolution, columns, rows)

    def _insert(
        self,
        conn: Connection,
        table: str,
        one_row: str,
        columns: tuple[str, ...],
        rows: list[dict[str, Any]],
    ) -> None:
        if not rows:
            return
        if len(rows) == 1:
            execute(conn, one_row, rows[0])
        elif self.postgres:  # one statement, one array per column
            arrays = {column: [row[column] for row in rows] for column in columns}
            execute(conn, self._unnest[table], arrays)
        else:
            execute(conn, one_row, rows, many=True)  # sqlite3 executemany: prepared once


def _placeholders(prefix: str, n: int) -> str:
    return ", ".join(f":{prefix}{k}" for k in range(n))


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    values = ", ".join(f":{column}" for column in columns)
    return f"INSERT INTO {table} ({names}) VALUES ({values})"


def _unnest_sql(table: str, columns: tuple[str, ...]) -> str:
    """PostgreSQL: insert many rows from one array per column (``unnest`` zips them)."""
    arrays = ", ".join(
        f"CAST(:{column} AS {PG_ARRAY_TYPES.get(column, 'text')}[])" for column in columns
    )
    return f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({arrays})"


STATEMENTS = {backend: Sql(backend) for backend in ("sqlite", "postgresql")}
"""The statements of each backend (by ``Engine.dialect.name``)."""
