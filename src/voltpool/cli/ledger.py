"""``voltpool ledger ...``: the credit ledger from the command line.

The database is ``--db URL`` or ``VOLTPOOL_DB`` (``sqlite:///path`` or ``postgresql://...``),
else a SQLite file ``voltpool-ledger.sqlite`` in the working directory. Amounts are integers in
the account's unit (milli-credits or Wh). Bad input exits 2 and writes nothing; a rejected
transfer exits 1 with the ledger's reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from voltpool.cli.common import COMMAND_LINE, EXIT_FAILED, bad_input, console, errors, refuse
from voltpool.errors import FieldIssue
from voltpool.ledger import Conflict, Ledger, LedgerError, Rejected, TransferResult

ledger_app = typer.Typer(help="The double-entry credit ledger.", no_args_is_help=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="sqlite:///path or postgresql://...; default VOLTPOOL_DB or a "
        "SQLite file voltpool-ledger.sqlite",
    ),
]


@ledger_app.callback()
def ledger_options(db: DbOption = None) -> None:
    """The double-entry credit ledger (``--db`` here or after the command)."""
    if db:
        os.environ["VOLTPOOL_DB"] = db


@contextmanager
def opened(db: str | None) -> Iterator[Ledger]:
    """Open the ledger; bad input exits 2 (:func:`~voltpool.cli.common.bad_input`), a rejected
    or conflicting transfer exits 1."""
    try:
        ledger = Ledger.open(db or None)
    except LedgerError as error:
        refuse("--db", error.issues)
    try:
        with bad_input("ledger"):
            yield ledger
    except (Rejected, Conflict) as error:
        errors.print(f"[bold red]{type(error).__name__.lower()}:[/] {error}", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        ledger.close()


def _print_result(result: TransferResult) -> None:
    """One line: what the ledger did with a transfer."""
    transfer = result.transfer
    console.print(
        f"{result.status}: {transfer.id} {transfer.debit_account} -> "
        f"{transfer.credit_account} {transfer.amount} {transfer.unit}",
        highlight=False,
    )


@ledger_app.command("init")
def init_command(db: DbOption = None) -> None:
    """Create (or upgrade) the ledger's tables."""
    with opened(db) as ledger:
        console.print(f"ledger ready: {len(ledger.accounts())} accounts")


@ledger_app.command("account")
def account_command(
    action: Annotated[str, typer.Argument(help="create")],
    account_id: Annotated[str, typer.Argument()],
    owner: Annotated[str, typer.Option()],
    kind: Annotated[str, typer.Option(help="owner, grid, pool or fees")] = "owner",
    unit: Annotated[str, typer.Option(help="credit (milli-credits) or energy (Wh)")] = "credit",
    allow_overdraft: Annotated[
        bool | None,
        typer.Option(
            "--allow-overdraft/--no-overdraft", help="default: no overdraft for owner accounts"
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """``account create ID --owner NAME [--kind ...] [--unit ...]``."""
    if action != "create":
        refuse(COMMAND_LINE, [FieldIssue("ACTION", f"{action!r} must be 'create'")])
    with opened(db) as ledger:
        account = ledger.create_account(account_id, owner, kind, unit, allow_overdraft)
        console.print(f"account {account.account_id} ({account.kind}, {account.unit})")


@ledger_app.command("transfer")
def transfer_command(
    transfer_id: Annotated[str, typer.Argument()],
    debit: Annotated[str, typer.Option("--from", help="Account debited.")],
    credit: Annotated[str, typer.Option("--to", help="Account credited.")],
    amount: Annotated[int, typer.Option(help="Whole milli-credits or Wh.")],
    unit: Annotated[str, typer.Option()] = "credit",
    code: Annotated[str, typer.Option()] = "manual",
    session: Annotated[str | None, typer.Option()] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object")] = None,
    pending: Annotated[
        bool, typer.Option(help="Two-phase: reserve now, post or void later.")
    ] = False,
    timeout_s: Annotated[int | None, typer.Option()] = None,
    db: DbOption = None,
) -> None:
    """Move an amount from one account to another (idempotent by TRANSFER_ID)."""
    try:
        meta = json.loads(metadata) if metadata else None
    except json.JSONDecodeError as error:
        refuse(COMMAND_LINE, [FieldIssue("--metadata", f"not valid JSON ({error.msg})")])
    with opened(db) as ledger:
        _print_result(
            ledger.transfer(
                transfer_id,
                debit,
                credit,
                amount,
                unit,
                code,
                session=session,
                metadata=meta,
                pending=pending,
                timeout_s=timeout_s,
            )
        )


@ledger_app.command("post")
def post_command(
    transfer_id: Annotated[str, typer.Argument()],
    pending_id: Annotated[str, typer.Option("--pending")],
    amount: Annotated[int | None, typer.Option(help="Default: the full pending amount.")] = None,
    db: DbOption = None,
) -> None:
    """Post a pending transfer (fully or partly); at most once."""
    with opened(db) as ledger:
        _print_result(ledger.post(transfer_id, pending_id, amount))


@ledger_app.command("void")
def void_command(
    transfer_id: Annotated[str, typer.Argument()],
    pending_id: Annotated[str, typer.Option("--pending")],
    db: DbOption = None,
) -> None:
    """Release a pending transfer; at most once."""
    with opened(db) as ledger:
        _print_result(ledger.void(transfer_id, pending_id))


@ledger_app.command("balance")
def balance_command(account_id: Annotated[str, typer.Argument()], db: DbOption = None) -> None:
    """Posted and pending debits and credits of an account."""
    with opened(db) as ledger:
        balance = ledger.balance(account_id)
        table = Table(title=account_id)
        for column in (
            "credits posted",
            "debits posted",
            "credits pending",
            "debits pending",
            "net",
            "available",
        ):
            table.add_column(column, justify="right")
        table.add_row(
            *(
                str(v)
                for v in (
                    balance.credits_posted,
                    balance.debits_posted,
                    balance.credits_pending,
                    balance.debits_pending,
                    balance.net,
                    balance.available,
                )
            )
        )
        console.print(table)


@ledger_app.command("history")
def history_command(
    account_id: Annotated[str, typer.Argument()],
    limit: Annotated[int, typer.Option(min=1)] = 50,
    db: DbOption = None,
) -> None:
    """Transfers of an account, oldest first."""
    with opened(db) as ledger:
        table = Table(title=f"{account_id}: history")
        for column in ("id", "from", "to", "amount", "unit", "code", "status"):
            table.add_column(column)
        for t in ledger.history(account_id, limit=limit):
            table.add_row(
                t.id,
                t.debit_account,
                t.credit_account,
                str(t.amount),
                t.unit,
                t.code,
                t.status,
            )
        console.print(table)


@ledger_app.command("verify")
def verify_command(db: DbOption = None) -> None:
    """Recompute every balance from the transfer log; exit 0 only if every promise holds."""
    with opened(db) as ledger:
        report = ledger.verify()
    for problem in report.problems:
        console.print(f"[red]problem:[/] {problem}", highlight=False)
    console.print(
        f"{report.accounts} accounts, {report.transfers} transfers: "
        + ("[green]all promises hold[/]" if report.ok else "[red]broken[/]")
    )
    raise typer.Exit(0 if report.ok else EXIT_FAILED)
