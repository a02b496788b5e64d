"""``voltpool share ...``: V2V between friends from the command line.

``share run`` validates a circle file (or the built-in example), matches its requests to its
offers, books the holds, schedules the transfers, settles them with the scheduled flows as the
meter readings, and prints the matches, what each member gave or received, and the balances.
Bad input exits 2 and writes nothing; a ledger conflict (the same match settled before with
other amounts) exits 1.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from voltpool.cli_ledger import opened
from voltpool.errors import ProblemError, SolverError
from voltpool.ledger import Conflict, Rejected
from voltpool.sharing import (
    DEFAULT_CIRCLE,
    CircleFile,
    builtin_circles,
    circle_text,
    credit_account,
    energy_account,
    explain,
    format_credits,
    how,
    load_circle,
    match,
    open_accounts,
    open_pending,
    plan_transfers,
    settle,
    unmatched,
)

share_app = typer.Typer(help="V2V between friends: share kWh car to car.", no_args_is_help=True)
console = Console()
errors = Console(stderr=True, soft_wrap=True)
EXIT_BAD_INPUT = 2

CircleArgument = Annotated[
    str,
    typer.Argument(metavar="CIRCLE", help="Path to a circle .toml file or a built-in name."),
]


def _bad_input(error: ProblemError, source: str) -> typer.Exit:
    from voltpool.cli import fail_on_bad_input  # not at the top: voltpool.cli imports this module

    return fail_on_bad_input(error, source)


def _read(circle: str, now: str | None) -> CircleFile:
    clock = None
    if now is not None:
        try:
            clock = pd.Timestamp(now)
        except ValueError:
            errors.print(f"[bold red]error:[/] --now: {now!r} is not an ISO date and time")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    try:
        return load_circle(circle, now=clock)
    except ProblemError as error:
        raise _bad_input(error, circle) from None


@share_app.command("check")
def check_command(circle: CircleArgument) -> None:
    """Validate a circle file only (members, cars, requests, offers); exit 2 if bad."""
    loaded = _read(circle, None)
    c = loaded.circle
    console.print(
        f"[bold green]ok:[/] {loaded.source}: {len(c.members)} members, {c.cars.n_cars} cars, "
        f"{c.sites.n_sites} sites, {len(loaded.requests)} requests, {len(loaded.offers)} offers",
        highlight=False,
    )


@share_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="Built-in name.")] = DEFAULT_CIRCLE,
) -> None:
    """Print a built-in circle's TOML (copy it, edit it, pass it to `share run`)."""
    try:
        text, _source = circle_text(name)
    except ProblemError as error:
        raise _bad_input(error, name) from None
    print(text, end="")


@share_app.command("list")
def list_command() -> None:
    """List the built-in circles."""
    for name in builtin_circles():
        console.print(f"[bold]{name}[/]: {load_circle(name).circle.description}", highlight=False)


@share_app.command("run")
def run_command(
    circle: CircleArgument = DEFAULT_CIRCLE,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Ledger URL (sqlite:///path or postgresql://...); default "
            "VOLTPOOL_DB or sqlite:///voltpool-ledger.sqlite",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            help="The current time, ISO (local to the circle without an "
            "offset); default the file's `now`, else the clock.",
        ),
    ] = None,
) -> None:
    """Validate, match, book, schedule and settle a circle's V2V requests and offers."""
    loaded = _read(circle, now)
    c, tz = loaded.circle, loaded.circle.timezone
    try:
        matches = match(loaded.requests, loaded.offers, c, loaded.now, loaded.policy)
    except ProblemError as error:
        raise _bad_input(error, circle) from None
    except SolverError as error:
        errors.print(f"[bold red]solver error:[/] {error}")
        raise typer.Exit(1) from None
    console.print(
        f"[bold]{c.id}[/]: {c.description} - now {loaded.now.tz_convert(tz):%Y-%m-%d %H:%M} "
        f"({tz}); {len(c.members)} members, {len(loaded.requests)} requests, "
        f"{len(loaded.offers)} offers",
        highlight=False,
    )
    with opened(db) as ledger:  # --db errors exit 2
        try:
            open_accounts(ledger, c)
            acceptances = open_pending(ledger, matches)
            accepted = [a.match for a in acceptances if a.accepted]
            plan = plan_transfers(c, accepted)
            results = settle(ledger, accepted, plan.metered(), loaded.policy)
            report = ledger.verify()
            balances = {
                m: (ledger.balance(credit_account(m)), ledger.balance(energy_account(m)))
                for m in c.members
            }
        except (Conflict, Rejected) as error:
            errors.print(
                f"[bold red]{type(error).__name__.lower()}:[/] {error} (these requests were "
                "settled before with other amounts; use new request or offer ids)"
            )
            raise typer.Exit(1) from None
        except SolverError as error:
            errors.print(f"[bold red]solver error:[/] {error}")
            raise typer.Exit(1) from None

    table = Table(
        title=f"Matches ({len(matches)})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for name in (
        "#",
        "from -> to",
        "mode",
        "in",
        "AC",
        "out",
        "price",
        "estimate",
        "booked",
    ):
        left = name in ("from -> to", "mode", "booked")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    for k, a in enumerate(acceptances, 1):
        m = a.match
        table.add_row(
            str(k),
            f"{m.giver} -> {m.receiver}",
            m.mode,
            f"{m.receiver_battery_kwh:.2f}",
            f"{m.ac_kwh:.2f}",
            f"{m.giver_battery_kwh:.2f}",
            format_credits(m.price_millicredits_per_kwh),
            format_credits(m.estimate_millicredits),
            a.status if a.accepted else "[red]refused[/]",
        )
    console.print(table)
    console.print(
        "kWh: in = into the receiver's battery, AC = at the chargers, out = out of the giver's "
        "battery; price in credits per kWh at the charger",
        highlight=False,
    )
    for k, a in enumerate(acceptances, 1):
        m = a.match
        console.print(
            f"  {k}. {m.request_id} <- {m.offer_id}: {how(m, tz)}, losses {m.losses_kwh:.2f} kWh"
            + (f"; [red]refused[/]: {a.reason}" if not a.accepted else ""),
            highlight=False,
        )

    settled = Table(
        title="Scheduled and settled (metered = the scheduled flows)", box=box.SIMPLE_HEAD
    )
    for name in ("#", "delivered AC kWh", "short kWh", "credits", "ledger", "why short"):
        settled.add_column(name, justify="left" if name in ("ledger", "why short") else "right")
    number = {a.match.key: k for k, a in enumerate(acceptances, 1)}
    for k, s in enumerate(results):
        settled.add_row(
            str(number[s.match.key]),
            f"{s.delivered_wh / 1000:.3f}",
            f"{plan.shortfall_kwh[k]:.3f}",
            format_credits(s.millicredits),
            s.status + ("" if s.created else " (exists)"),
            plan.reasons[k],
        )
    console.print(settled)

    lines = explain(
        c,
        results,
        plan=plan,
        acceptances=acceptances,
        unmatched=unmatched(
            loaded.requests,
            loaded.offers,
            c,
            loaded.now,
            accepted,
            [a.match for a in acceptances if not a.accepted],
        ),
        requests=loaded.requests,
        offers=loaded.offers,
    )
    console.print("[bold]What happened, per member[/]")
    for member, said in lines.items():
        for line in said or ["nothing shared"]:
            console.print(f"  [bold]{member}[/]: {line}", highlight=False)

    shown = Table(
        box=box.SIMPLE_HEAD,
        title=f"Balances - ledger verify {'ok' if report.ok else 'FAILED'} "
        f"({report.accounts} accounts, {report.transfers} transfers)",
    )
    for name in ("member", "credits", "available", "V2V kWh (+gave, -got)"):
        shown.add_column(name, justify="left" if name == "member" else "right")
    for member, (credit, energy) in balances.items():
        shown.add_row(
            member,
            format_credits(credit.net),
            format_credits(credit.available),
            f"{energy.net / 1000:+.3f}",
        )
    console.print(shown)
    if not report.ok:
        for problem in report.problems:
            errors.print(f"[bold red]ledger:[/] {problem}")
        raise typer.Exit(1)
