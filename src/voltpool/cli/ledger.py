"""``voltpool ledger ...``: the credit ledger from the command line.

The database is ``--db URL`` or ``VOLTPOOL_DB`` (``sqlite:///path`` or ``postgresql://...``),
else a SQLite file ``voltpool-ledger.sqlite`` in the working directory. A read (``balance``,
``history``, ``accounts``, ``verify``) never creates it: no ledger there exits 2 naming ``--db``.

Amounts are shown and typed in the account's unit (:data:`SHOWN_UNITS`): a credit account in
credits with 3 decimals (the ledger counts milli-credits: ``12.5`` is 12,500 of them), an energy
account in whole Wh. The unit of a typed amount is the unit of the accounts it moves between
(of the pending transfer, for ``post``); the conversion is exact (:class:`~decimal.Decimal`).

Three outcomes besides success, never mixed up:

- bad input (a malformed option, an amount with more decimals than its unit takes, an unknown
  account for a read, no ledger at ``--db`` for a read, a file that is not a database) exits 2
  and writes nothing: the request is checked before the ledger is opened (an amount once its
  unit is read);
- a transfer the ledger *rejects* (overdraft, unknown account, unit mismatch, a pending
  transfer already resolved) exits 1 and says the rejection was recorded under its id: the
  ledger answers that id with the same reason from then on, so a corrected transfer needs a
  new id;
- a conflict (the id exists with another payload) exits 1; nothing is written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
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
from voltpool.ledger import (
    Account,
    Conflict,
    Ledger,
    LedgerError,
    NotFound,
    Rejected,
    StatementEntry,
    TransferResult,
)
from voltpool.ledger.checks import (
    AMOUNT_MAX,
    check_account,
    check_account_id,
    check_history,
    check_resolve,
    check_transfer,
)


@dataclass(frozen=True, slots=True)
class ShownUnit:
    """How the amounts of a ledger unit are shown and typed: in ``label``, with ``decimals``
    decimals (the ledger counts whole 10**-decimals of a ``label``)."""

    label: str
    decimals: int


SHOWN_UNITS = {"credit": ShownUnit("credits", 3), "energy": ShownUnit("Wh", 0)}
"""Ledger unit -> how its amounts are shown and typed (milli-credits shown as credits)."""
DEFAULT_UNIT = "credit"
"""The unit of an amount when no account or pending transfer it names exists (the ledger then
rejects the request and records why)."""
AMOUNT_DECIMALS_MAX = max(unit.decimals for unit in SHOWN_UNITS.values())
AMOUNT_PATTERN = re.compile(r"(?P<sign>[+-]?)(?P<whole>[0-9]*)(?:\.(?P<fraction>[0-9]*))?")
"""A typed amount: plain decimal digits with an optional point (no ``_``, no exponent)."""
STAND_IN_AMOUNT = 1
"""A valid amount in the checks made before the ledger is opened: the typed amount's unit (so
its value in the ledger) is read from the ledger, which then checks it."""
ID_COLUMN_CHARS_MIN = 10
"""The narrowest an id column of the history gets in a narrow terminal (a longer id folds)."""
LEDGER_UNITS_NOTE = (
    "  (the ledger's own amounts are milli-credits for credit accounts, 1 credit = 1000, "
    "and Wh for energy accounts)"
)
"""Said after a ledger message that names an amount: it counts in the smallest unit."""
TIME_FORMAT = "%Y-%m-%dT%H:%MZ"
"""Times shown: ISO 8601 in UTC, to the minute."""
AMOUNT_HELP = "In the accounts' unit: credits with at most 3 decimals (12.5) or whole Wh."
METADATA_CHARS_MAX = 4096
"""``--metadata`` as typed (the ledger stores at most as many JSON characters)."""

ledger_app = typer.Typer(help="The double-entry credit ledger.", no_args_is_help=True)
account_app = typer.Typer(
    help="Create accounts (list them with: voltpool ledger accounts).", no_args_is_help=True
)
ledger_app.add_typer(account_app, name="account")

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


def id_argument(field: str, help_text: str) -> Any:
    """A ledger id argument, bounded and printable (the ledger checks its characters)."""
    return typer.Argument(metavar=field, parser=bounded_text(field), help=help_text)


def new_id_argument(what: str) -> Any:
    """The TRANSFER_ID argument of a command that writes ``what`` (a transfer, a post, a void)."""
    return id_argument("TRANSFER_ID", f"An id of your choice for this {what}, used once.")


def text_option(flag: str, **options: Any) -> Any:
    """A text option of at most :data:`~voltpool.gate.NAME_CHARS_MAX` printable characters."""
    return typer.Option(flag, metavar="TEXT", parser=bounded_text(flag), **options)


def amount_kind(unit: ShownUnit) -> str:
    """``credits with at most 3 decimals`` or ``whole Wh``."""
    if unit.decimals == 0:
        return f"whole {unit.label}"
    return f"{unit.label} with at most {unit.decimals} decimals"


AMOUNT_RULE = "; ".join(
    f"{unit} accounts take {amount_kind(shown_unit)}" for unit, shown_unit in SHOWN_UNITS.items()
)
"""What ``--amount`` takes, unit by unit."""


def parse_amount(text: str | Decimal) -> Decimal:
    """A Typer ``parser`` for ``--amount``: a positive number in plain decimal digits with at
    most :data:`AMOUNT_DECIMALS_MAX` decimals (trailing zeros aside) and at most
    :data:`~voltpool.gate.INT_DIGITS_MAX` digits before the point; else exit 2. Exact: the
    value is a :class:`~decimal.Decimal` built from the digits, never a float."""
    if isinstance(text, Decimal):  # not typed by a user
        return text
    value = text.strip()
    match = AMOUNT_PATTERN.fullmatch(value)
    if match is None or not (match["whole"] or match["fraction"]):
        amount_refused(f"{gate.quote(text)} is not an amount in plain decimal digits (like 12.5)")
    whole_digits = match["whole"].lstrip("0")
    fraction = (match["fraction"] or "").rstrip("0")
    if len(whole_digits) > gate.INT_DIGITS_MAX:
        amount_refused(f"{gate.quote(value)} has more than {gate.INT_DIGITS_MAX} digits")
    if len(fraction) > AMOUNT_DECIMALS_MAX:
        decimals = f"more than {AMOUNT_DECIMALS_MAX} decimals"
        amount_refused(f"{gate.quote(value)} has {decimals}; {AMOUNT_RULE}")
    amount = Decimal(f"{whole_digits or 0}.{fraction or 0}")
    if amount == 0 or match["sign"] == "-":
        amount_refused(
            f"{gate.quote(value)} must be more than 0 (to move an amount back, send a transfer "
            "the other way)"
        )
    return amount


def amount_refused(rule: str) -> NoReturn:
    """Exit 2: ``--amount`` broke ``rule``."""
    refuse(COMMAND_LINE, [FieldIssue("--amount", rule)])


def in_smallest_unit(amount: Decimal, unit: str) -> int:
    """A typed amount as the ledger counts it in ``unit`` (credits -> milli-credits, exactly);
    exit 2 naming ``--amount`` when ``unit`` takes fewer decimals than it has or the ledger's
    limit is passed."""
    shown_unit = SHOWN_UNITS[unit]
    scaled = amount.scaleb(shown_unit.decimals)
    if scaled != scaled.to_integral_value():
        amount_refused(f"{amount} is for {unit} accounts, which take {amount_kind(shown_unit)}")
    if scaled > AMOUNT_MAX:
        most = f"{shown_amount(AMOUNT_MAX, unit)} {shown_unit.label}"
        amount_refused(f"{amount} is more than one transfer moves (at most {most})")
    return int(scaled)


def shown_amount(amount: int, unit: str, signed: bool = False) -> str:
    """``amount`` (in the ledger's smallest unit) in ``unit``'s shown unit, without its label:
    ``487778`` milli-credits -> ``487.778``; ``signed`` adds ``+`` to an amount above 0."""
    decimals = SHOWN_UNITS[unit].decimals
    sign = "+" if signed and amount else ""
    return f"{Decimal(amount).scaleb(-decimals):{sign}.{decimals}f}"


def shown_time(moment: datetime) -> str:
    """A time as shown: :data:`TIME_FORMAT` (UTC, to the minute)."""
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def account_of(ledger: Ledger, account_id: str) -> Account:
    """The account ``account_id``; an unknown one exits 2 and says how to list them."""
    try:
        return ledger.get_account(account_id)
    except NotFound as error:
        hint = f"{error.rule} (voltpool ledger accounts lists them)"
        refuse("ledger", [FieldIssue(error.field, hint)])


def first_unit(*lookups: Callable[[], str]) -> str:
    """The unit the first lookup finds (a lookup raises ``NotFound`` when its account or
    transfer does not exist); :data:`DEFAULT_UNIT` when none finds one."""
    for lookup in lookups:
        try:
            return lookup()
        except NotFound:
            continue
    return DEFAULT_UNIT


@ledger_app.callback()
def ledger_options(context: typer.Context, db: DbOption = None) -> None:
    """The double-entry credit ledger (give --db here or after the command)."""
    context.obj = db


def checked(check: Callable[..., None], **arguments: Any) -> None:
    """Apply a ledger rule before the ledger is opened: bad input exits 2, creating nothing."""
    with bad_input(COMMAND_LINE):
        check(**arguments)


@contextmanager
def opened(context: typer.Context, db: str | None, must_exist: bool = False) -> Iterator[Ledger]:
    """Open the ledger (``--db`` of the command, else of ``ledger``); bad input exits 2
    (:func:`~voltpool.cli.common.bad_input`), a rejected or conflicting transfer exits 1.
    ``must_exist`` (a read): no ledger at the URL exits 2 naming ``--db``, creating nothing."""
    url = db if db is not None else context.obj
    try:
        ledger = Ledger.open(url, must_exist=must_exist)
    except NotFound as error:
        hint = f"{error.rule}; voltpool ledger init creates one"
        refuse("--db", [FieldIssue("--db", hint)])
    except LedgerError as error:
        refuse("--db", [FieldIssue("--db", issue.rule) for issue in error.issues])
    try:
        with bad_input("ledger"):
            try:
                yield ledger
            except Rejected as error:  # also AccountNotFound and UnitMismatch: recorded
                rejected(error)
    except Conflict as error:
        errors.print(f"[bold red]conflict:[/] {shown(error)} (nothing written)", highlight=False)
        print_units_note(error)
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
    print_units_note(error)
    raise typer.Exit(EXIT_FAILED)


def print_units_note(error: LedgerError) -> None:
    """Say which units the ledger's own message counts in, when it names an amount."""
    if "amount" in str(error):
        errors.print(LEDGER_UNITS_NOTE, highlight=False, markup=False)


def _print_result(result: TransferResult) -> None:
    """One line: what the ledger did with a transfer, its amount in its unit."""
    transfer = result.transfer
    what = {
        "pending": ", pending"
        + ("" if transfer.expires_at is None else f" until {shown_time(transfer.expires_at)}"),
        "post": f", posts {transfer.pending_id}",
        "void": f", voids {transfer.pending_id}",
    }.get(transfer.kind, "")
    console.print(
        f"{result.status}: {transfer.id} {transfer.debit_account} -> "
        f"{transfer.credit_account} {shown_amount(transfer.amount, transfer.unit)} "
        f"{SHOWN_UNITS[transfer.unit].label}{what}",
        highlight=False,
        markup=False,
        soft_wrap=True,
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


@account_app.command("create")
def account_create_command(
    context: typer.Context,
    account_id: Annotated[str, id_argument("ACCOUNT_ID", "The new account's id.")],
    owner: Annotated[str, text_option("--owner", help="Who the account belongs to.")],
    kind: Annotated[str, text_option("--kind", help="owner, grid, pool or fees.")] = "owner",
    unit: Annotated[
        str,
        text_option("--unit", help="credit (amounts in credits, 3 decimals) or energy (whole Wh)."),
    ] = "credit",
    allow_overdraft: Annotated[
        bool | None,
        typer.Option(
            "--allow-overdraft/--no-overdraft",
            help="Whether the balance may go below zero (default: not for owner accounts, "
            "yes for the others).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Create an account (creating it again unchanged is fine).

    An account holds one unit: credits or energy. Example: voltpool ledger account create
    alice --owner alice
    """
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
        console.print(
            f"account {account.account_id}: {account.kind} account of {account.owner}, "
            f"amounts in {SHOWN_UNITS[account.unit].label}",
            highlight=False,
            markup=False,
        )


@ledger_app.command("transfer")
def transfer_command(
    context: typer.Context,
    transfer_id: Annotated[str, new_id_argument("transfer")],
    debit: Annotated[str, text_option("--from", help="The account the amount leaves.")],
    credit: Annotated[str, text_option("--to", help="The account the amount goes to.")],
    amount: Annotated[
        Decimal, typer.Option(parser=parse_amount, metavar="AMOUNT", help=AMOUNT_HELP)
    ],
    unit: Annotated[
        str | None,
        text_option("--unit", help="credit or energy; default: the unit of the accounts."),
    ] = None,
    code: Annotated[str, text_option("--code", help="What the transfer is for.")] = "manual",
    session: Annotated[
        str | None, text_option("--session", help="The charging session it belongs to.")
    ] = None,
    metadata: Annotated[
        str | None,
        typer.Option(metavar="JSON", help="A JSON object of strings, integers and booleans."),
    ] = None,
    pending: Annotated[
        bool, typer.Option(help="Two-phase: reserve now, post or void later.")
    ] = False,
    timeout_s: Annotated[
        int | None,
        typer.Option(
            parser=whole("--timeout-s"),
            metavar="SECONDS",
            help="With --pending: it expires after this many seconds.",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Move an amount from one account to another.

    Sending the same TRANSFER_ID again changes nothing (it answers exists).
    """
    request = {
        "transfer_id": transfer_id,
        "debit_account": debit,
        "credit_account": credit,
        "code": code,
        "session": session,
        "metadata": parse_metadata(metadata),
        "pending": pending,
        "timeout_s": timeout_s,
    }
    checked(check_transfer, **request, unit=unit or DEFAULT_UNIT, amount=STAND_IN_AMOUNT)
    with opened(context, db) as ledger:
        amount_unit = unit or first_unit(
            lambda: ledger.get_account(debit).unit, lambda: ledger.get_account(credit).unit
        )
        result = ledger.transfer(
            **request, unit=amount_unit, amount=in_smallest_unit(amount, amount_unit)
        )
        _print_result(result)


@ledger_app.command("post")
def post_command(
    context: typer.Context,
    transfer_id: Annotated[str, new_id_argument("post")],
    pending_id: Annotated[str, text_option("--pending", help="The pending transfer to post.")],
    amount: Annotated[
        Decimal | None,
        typer.Option(
            parser=parse_amount,
            metavar="AMOUNT",
            help="In the pending transfer's unit; default: all of it (the rest is released).",
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Post a pending transfer, fully or partly; at most once."""
    checked(check_resolve, action="post", transfer_id=transfer_id, pending_id=pending_id)
    with opened(context, db) as ledger:
        ledger_amount = None
        if amount is not None:
            pending_unit = first_unit(lambda: ledger.get_transfer(pending_id).unit)
            ledger_amount = in_smallest_unit(amount, pending_unit)
        _print_result(ledger.post(transfer_id, pending_id, ledger_amount))


@ledger_app.command("void")
def void_command(
    context: typer.Context,
    transfer_id: Annotated[str, new_id_argument("void")],
    pending_id: Annotated[str, text_option("--pending", help="The pending transfer to release.")],
    db: DbOption = None,
) -> None:
    """Release a pending transfer; at most once."""
    checked(check_resolve, action="void", transfer_id=transfer_id, pending_id=pending_id)
    with opened(context, db) as ledger:
        _print_result(ledger.void(transfer_id, pending_id))


@ledger_app.command("balance")
def balance_command(
    context: typer.Context,
    account_id: Annotated[str, id_argument("ACCOUNT_ID", "The account.")],
    db: DbOption = None,
) -> None:
    """An account's balance, posted and pending, in its unit."""
    checked(check_account_id, account_id=account_id)
    with opened(context, db, must_exist=True) as ledger:
        account = account_of(ledger, account_id)
        balance = ledger.balance(account_id)
    label = SHOWN_UNITS[account.unit].label
    table = Table(
        title=f"{account_id}: {account.kind} account of {shown(account.owner)}, in {label}"
    )
    sums = {
        "in, posted": balance.credits_posted,
        "out, posted": balance.debits_posted,
        "in, pending": balance.credits_pending,
        "out, pending": balance.debits_pending,
        "balance": balance.net,
        "available": balance.available,
    }
    for column in sums:
        table.add_column(column, justify="right")
    table.add_row(*(shown_amount(value, account.unit) for value in sums.values()))
    console.print(table)
    console.print("balance = in - out, posted; available = balance - out, pending", highlight=False)


@ledger_app.command("accounts")
def accounts_command(context: typer.Context, db: DbOption = None) -> None:
    """Every account, sorted by id, with its balance in its unit."""
    with opened(context, db, must_exist=True) as ledger:
        accounts = ledger.accounts()
        balances = ledger.balances()
    table = Table(title=f"{len(accounts)} accounts")
    for column, justify in (
        ("id", "left"),
        ("owner", "left"),
        ("kind", "left"),
        ("unit", "left"),
        ("balance", "right"),
        ("pending", "right"),
    ):
        table.add_column(column, justify=justify)
    for account in accounts:
        balance = balances[account.id]
        pending = balance.credits_pending - balance.debits_pending
        table.add_row(
            shown(account.id),
            shown(account.owner),
            account.kind,
            SHOWN_UNITS[account.unit].label,
            shown_amount(balance.net, account.unit),
            shown_amount(pending, account.unit, signed=True),
        )
    console.print(table)
    console.print("balance: posted; pending: reserved in minus out, not yet posted")


def entry_state(entry: StatementEntry, now: datetime) -> str:
    """A statement line's state in words: ``pending (expires 14:30)``, ``posted``, ``posted
    3.200 of 5.000``, ``voided``, ``expired``."""
    if entry.status == "pending" and entry.expires_at is not None:
        same_day = entry.expires_at.date() == entry.created_at.date()
        when = entry.expires_at.strftime("%H:%M") if same_day else shown_time(entry.expires_at)
        if entry.expires_at <= now:
            return f"expired {when} (still held)"
        return f"pending (expires {when})"
    posted = abs(entry.amount)
    if entry.status == "posted" and entry.reserved is not None and posted != entry.reserved:
        reserved = shown_amount(entry.reserved, entry.unit)
        return f"posted {shown_amount(posted, entry.unit)} of {reserved}"
    return entry.status


@ledger_app.command("history")
def history_command(
    context: typer.Context,
    account_id: Annotated[str, id_argument("ACCOUNT_ID", "The account.")],
    limit: Annotated[
        int,
        typer.Option(parser=whole("--limit"), metavar="INTEGER", help="Lines at most."),
    ] = 50,
    after: Annotated[
        str | None,
        text_option("--after", help="Start after this transfer id (the next page)."),
    ] = None,
    db: DbOption = None,
) -> None:
    """An account's transfers, oldest first, one line each.

    Each line: the time (UTC), the other account, the amount in the account's unit (+ in,
    - out) and the state: pending (with its expiry), posted, posted X of Y (a pending transfer
    posted in part), voided or expired. A post or void shows on the line of the pending
    transfer it resolves.
    """
    checked(check_history, account_id=account_id, limit=limit, after=after)
    with opened(context, db, must_exist=True) as ledger:
        account = account_of(ledger, account_id)
        entries = ledger.statement(account_id, limit=limit, after=after)
    label = SHOWN_UNITS[account.unit].label
    if not entries:
        console.print(f"{shown(account_id)}: no transfers" + (" after that" if after else ""))
        return
    table = Table(title=f"{account_id}: history, amounts in {label}, times in UTC")
    table.add_column("time (UTC)", no_wrap=True)
    for column, ids in (
        ("id", [entry.transfer_id for entry in entries]),
        ("with", [entry.other_account for entry in entries]),
    ):
        longest = max(len(text) for text in ids)
        table.add_column(column, overflow="fold", min_width=min(longest, ID_COLUMN_CHARS_MIN))
    table.add_column(label, justify="right", no_wrap=True)
    table.add_column("code", overflow="fold")
    table.add_column("state")
    now = datetime.now(UTC)
    for entry in entries:
        table.add_row(
            shown_time(entry.created_at),
            shown(entry.transfer_id),
            shown(entry.other_account),
            shown_amount(entry.amount, entry.unit, signed=True),
            shown(entry.code),
            entry_state(entry, now),
        )
    console.print(table)
    if len(entries) == limit:
        console.print(
            f"more may follow: voltpool ledger history {account_id} --after "
            f"{entries[-1].transfer_id}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@ledger_app.command("verify")
def verify_command(context: typer.Context, db: DbOption = None) -> None:
    """Recompute every balance from the transfer log.

    Exits 0 only if every promise holds.
    """
    with opened(context, db, must_exist=True) as ledger:
        report = ledger.verify()
    for problem in report.problems:
        console.print(f"[red]problem:[/] {shown(problem)}", highlight=False)
    console.print(
        f"{report.accounts} accounts, {report.transfers} transfers: "
        + ("[green]all promises hold[/]" if report.ok else "[red]broken[/]")
    )
    raise typer.Exit(0 if report.ok else EXIT_FAILED)
