"""``voltpool ledger ...``: the credit ledger from the command line.

The database is ``--db URL`` or ``VOLTPOOL_DB`` (``sqlite:///path`` or ``postgresql://...``),
else a SQLite file ``voltpool-ledger.sqlite`` in the working directory. Amounts are integers in
the account's unit (milli-credits or Wh), written in plain decimal digits.

Three outcomes besides success, never mixed up:

- bad input (a malformed option, an unknown account for a balance, a file that is not a
  database) exits 2 and writes nothing: the request is checked before the ledger is opened;
- a transfer the ledger *rejects* (overdraft, unknown account, unit mismatch, a pending
  transfer already resolved) exits 1 and says the rejection was recorded under its id: the
  ledger answers that id with the same reason from then on, so a corrected transfer needs a
  new id;
- a conflict (the id exists with another payload) exits 1; nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, NoReturn

import typer
from rich.table import Table

from voltpool import gate
from voltpool.cli.common import (
    COMMAND_LINE,
    EXIT_FAILED,
    bad_input,
    bounded_text,
    console,
    database_url,
    errors,
    or_refuse,
    refuse,
    shown,
    whole,
)
from voltpool.errors import FieldIssue
from voltpool.ledger import Conflict, Ledger, LedgerError, Rejected, TransferResult
from voltpool.ledger.checks import (
    check_account,
    check_account_id,
    check_history,
    check_resolve,
    check_transfer,
)

ledger_app = typer.Typer(help="The double-entry credit ledger.", no_args_is_help=True)

METADATA_CHARS_MAX = 4096
"""``--metadata`` as typed (the ledger stores at most as many JSON characters)."""
DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        parser=database_url,
        metavar="URL",
        help="sqlite:///path or postgresql://...; default VOLTPOOL_DB or a "
        "SQLite file voltpool-ledger.sqlite",
    ),
]


def id_argument(field: str) -> Any:
    """A ledger id argument, bounded and printable (the ledger checks its characters)."""
    return typer.Argument(metavar=field, parser=bounded_text(field))


def text_option(flag: str, **options: Any) -> Any:
    """A text option of at most :data:`~voltpool.gate.NAME_CHARS_MAX` printable characters."""
    return typer.Option(flag, metavar="TEXT", parser=bounded_text(flag), **options)


@ledger_app.callback()
def ledger_options(context: typer.Context, db: DbOption = None) -> None:
    """The double-entry credit ledger (``--db`` here or after the command)."""
    context.obj = db


def checked(check: Callable[..., None], **arguments: Any) -> None:
    """Apply a ledger rule before the ledger is opened: bad input exits 2, creating nothing."""
    with bad_input(COMMAND_LINE):
        check(**arguments)


@contextmanager
def opened(context: typer.Context, db: str | None) -> Iterator[Ledger]:
    """Open the ledger (``--db`` of the command, else of ``ledger``); bad input exits 2
    (:func:`~voltpool.cli.common.bad_input`), a rejected or conflicting transfer exits 1."""
    url = db if db is not None else context.obj
    try:
        ledger = Ledger.open(url)
    except LedgerError as error:
        refuse("--db", error.issues)
    try:
        with bad_input("ledger"):
            try:
                yield ledger
            except Rejected as error:  # also AccountNotFound and UnitMismatch: recorded
                rejected(error)
    except Conflict as error:
        errors.print(f"[bold red]conflict:[/] {shown(error)} (nothing written)", highlight=False)
        raise typer.Exit(EXIT_FAILED) from None
    finally:
        ledger.close()


def rejected(error: Rejected) -> NoReturn:
    """Say that the ledger rejected a transfer *and recorded the rejection*, then exit 1."""
    errors.print(
        f"[bold red]rejected:[/] {shown(error)}\n"
        f"  the rejection is recorded under id {shown(repr(error.transfer_id))}: the ledger "
        "answers this id with this reason from now on, also once the cause is gone; send a "
        "corrected transfer with a new id",
        highlight=False,
    )
    raise typer.Exit(EXIT_FAILED)


def _print_result(result: TransferResult) -> None:
    """One line: what the ledger did with a transfer."""
    transfer = result.transfer
    console.print(
        f"{result.status}: {transfer.id} {transfer.debit_account} -> "
        f"{transfer.credit_account} {transfer.amount} {transfer.unit}",
        highlight=False,
    )


def parse_metadata(text: str | None) -> dict[str, Any] | None:
    """``--metadata`` as JSON through the input gate (the ledger then checks it is an object of
    strings, integers and booleans)."""
    if text is None:
        return None
    if len(text) > METADATA_CHARS_MAX:
        refuse(
            COMMAND_LINE,
            [
                FieldIssue(
                    "--metadata", f"is {len(text):,} characters; at most {METADATA_CHARS_MAX}"
                )
            ],
        )
    return or_refuse(lambda: gate.load_json(text, "--metadata", root="--metadata"))


@ledger_app.command("init")
def init_command(context: typer.Context, db: DbOption = None) -> None:
    """Create (or upgrade) the ledger's tables."""
    with opened(context, db) as ledger:
        console.print(f"ledger ready: {len(ledger.accounts())} accounts")


@ledger_app.command("account")
def account_command(
    context: typer.Context,
    action: Annotated[
        str, typer.Argument(metavar="ACTION", parser=bounded_text("ACTION"), help="create")
    ],
    account_id: Annotated[str, id_argument("ACCOUNT_ID")],
    owner: Annotated[str, text_option("--owner")],
    kind: Annotated[str, text_option("--kind", help="owner, grid, pool or fees")] = "owner",
    unit: Annotated[
        str, text_option("--unit", help="credit (milli-credits) or energy (Wh)")
    ] = "credit",
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
        refuse(COMMAND_LINE, [FieldIssue("ACTION", f"{gate.quote(action)} must be 'create'")])
    checked(
        check_account,
        account_id=account_id,
        owner=owner,
        kind=kind,
        unit=unit,
        allow_overdraft=allow_overdraft,
    )
    with opened(context, db) as ledger:
        account = ledger.create_account(account_id, owner, kind, unit, allow_overdraft)
        console.print(f"account {account.account_id} ({account.kind}, {account.unit})")


@ledger_app.command("transfer")
def transfer_command(
    context: typer.Context,
    transfer_id: Annotated[str, id_argument("TRANSFER_ID")],
    debit: Annotated[str, text_option("--from", help="Account debited.")],
    credit: Annotated[str, text_option("--to", help="Account credited.")],
    amount: Annotated[
        int,
        typer.Option(
            parser=whole("--amount"),
            metavar="INTEGER",
            help="Whole milli-credits or Wh.",
        ),
    ],
    unit: Annotated[str, text_option("--unit")] = "credit",
    code: Annotated[str, text_option("--code")] = "manual",
    session: Annotated[str | None, text_option("--session")] = None,
    metadata: Annotated[str | None, typer.Option(help="JSON object")] = None,
    pending: Annotated[
        bool, typer.Option(help="Two-phase: reserve now, post or void later.")
    ] = False,
    timeout_s: Annotated[
        int | None, typer.Option(parser=whole("--timeout-s"), metavar="SECONDS")
    ] = None,
    db: DbOption = None,
) -> None:
    """Move an amount from one account to another (idempotent by TRANSFER_ID)."""
    request = {
        "transfer_id": transfer_id,
        "debit_account": debit,
        "credit_account": credit,
        "amount": amount,
        "unit": unit,
        "code": code,
        "session": session,
        "metadata": parse_metadata(metadata),
        "pending": pending,
        "timeout_s": timeout_s,
    }
    checked(check_transfer, **request)
    with opened(context, db) as ledger:
        _print_result(ledger.transfer(**request))


@ledger_app.command("post")
def post_command(
    context: typer.Context,
    transfer_id: Annotated[str, id_argument("TRANSFER_ID")],
    pending_id: Annotated[str, text_option("--pending")],
    amount: Annotated[
        int | None,
        typer.Option(
            parser=whole("--amount"),
            metavar="INTEGER",
            help="Default: the full pending amount.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Post a pending transfer (fully or partly); at most once."""
    checked(
        check_resolve, action="post", transfer_id=transfer_id, pending_id=pending_id, amount=amount
    )
    with opened(context, db) as ledger:
        _print_result(ledger.post(transfer_id, pending_id, amount))


@ledger_app.command("void")
def void_command(
    context: typer.Context,
    transfer_id: Annotated[str, id_argument("TRANSFER_ID")],
    pending_id: Annotated[str, text_option("--pending")],
    db: DbOption = None,
) -> None:
    """Release a pending transfer; at most once."""
    checked(check_resolve, action="void", transfer_id=transfer_id, pending_id=pending_id)
    with opened(context, db) as ledger:
        _print_result(ledger.void(transfer_id, pending_id))


@ledger_app.command("balance")
def balance_command(
    context: typer.Context,
    account_id: Annotated[str, id_argument("ACCOUNT_ID")],
    db: DbOption = None,
) -> None:
    """Posted and pending debits and credits of an account."""
    checked(check_account_id, account_id=account_id)
    with opened(context, db) as ledger:
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
    context: typer.Context,
    account_id: Annotated[str, id_argument("ACCOUNT_ID")],
    limit: Annotated[int, typer.Option(parser=whole("--limit"), metavar="INTEGER")] = 50,
    db: DbOption = None,
) -> None:
    """Transfers of an account, oldest first."""
    checked(check_history, account_id=account_id, limit=limit)
    with opened(context, db) as ledger:
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
def verify_command(context: typer.Context, db: DbOption = None) -> None:
    """Recompute every balance from the transfer log; exit 0 only if every promise holds."""
    with opened(context, db) as ledger:
        report = ledger.verify()
    for problem in report.problems:
        console.print(f"[red]problem:[/] {shown(problem)}", highlight=False)
    console.print(
        f"{report.accounts} accounts, {report.transfers} transfers: "
        + ("[green]all promises hold[/]" if report.ok else "[red]broken[/]")
    )
    raise typer.Exit(0 if report.ok else EXIT_FAILED)
