"""``voltpool share ...``: V2V between friends from the command line.

``share run`` validates a circle file (or the built-in example), matches its requests to its
offers, books the holds, schedules the transfers, settles them with the scheduled flows as the
meter readings (:func:`voltpool.service.sharing.run`), and prints the matches, what each member
gave or received, and the balances. Bad input exits 2 and writes nothing; a ledger conflict (the
same match settled before with other amounts) exits 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.table import Table

from voltpool import gate
from voltpool.cli.common import (
    COMMAND_LINE,
    EXIT_FAILED,
    NOW_YEARS,
    bad_input,
    bounded_text,
    console,
    database_url,
    errors,
    refuse,
    shown,
)
from voltpool.cli.library import add_list_and_show, name_argument
from voltpool.errors import FieldIssue
from voltpool.files.circle import CIRCLES, DEFAULT_CIRCLE
from voltpool.ledger import Conflict, Rejected
from voltpool.service import sharing
from voltpool.service.sharing import SharingOutcome
from voltpool.sharing import format_credits, how

share_app = typer.Typer(help="V2V between friends: share kWh car to car.", no_args_is_help=True)

CircleArgument = Annotated[str, name_argument(CIRCLES, "voltpool share")]
add_list_and_show(
    share_app,
    "voltpool share",
    CIRCLES,
    lambda name: sharing.check(name).circle.description,
    default=DEFAULT_CIRCLE,
    used_by="voltpool share run",
)


def parse_now(now: str | None) -> datetime | None:
    """``--now`` as an ISO 8601 date and time (naive = local to the circle); anything else (a
    word such as ``now``, digits of another script, a year out of
    :data:`~voltpool.cli.common.NOW_YEARS`) exits 2."""
    if now is None:
        return None
    try:
        stamp = datetime.fromisoformat(now) if now.isascii() else None
    except ValueError:
        stamp = None
    if stamp is None or not NOW_YEARS[0] <= stamp.year <= NOW_YEARS[1]:
        first, last = NOW_YEARS
        rule = f"{gate.quote(now)} is not an ISO date and time in the years {first}..{last}"
        refuse(COMMAND_LINE, [FieldIssue("--now", rule)])
    return pd.Timestamp(stamp)


@share_app.command("check")
def check_command(circle: CircleArgument = DEFAULT_CIRCLE) -> None:
    """Check a circle file without booking anything.

    Members, cars, requests and offers are validated; exit 2 if anything is wrong.
    """
    with bad_input(circle):
        loaded = sharing.check(circle)
    c = loaded.circle
    console.print(
        f"[bold green]ok:[/] {shown(loaded.source)}: {len(c.members)} members, "
        f"{c.cars.n_cars} cars, {c.sites.n_sites} sites, {len(loaded.requests)} requests, "
        f"{len(loaded.offers)} offers",
        highlight=False,
    )


@share_app.command("run")
def run_command(
    circle: CircleArgument = DEFAULT_CIRCLE,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            parser=database_url,
            metavar="URL",
            help="Ledger URL (sqlite:///path or postgresql://...); default "
            "VOLTPOOL_DB or sqlite:///voltpool-ledger.sqlite",
        ),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            parser=bounded_text("--now"),
            metavar="TIME",
            help="The current time, ISO (local to the circle without an "
            "offset); default the file's `now`, else the clock.",
        ),
    ] = None,
) -> None:
    """Match, book, schedule and settle a circle's V2V.

    Requests are matched to offers, held in the ledger, scheduled and settled.
    """
    clock = parse_now(now)
    with bad_input(circle):
        try:
            outcome = sharing.run(circle, db or None, clock)
        except (Conflict, Rejected) as error:
            errors.print(
                f"[bold red]{type(error).__name__.lower()}:[/] {shown(error)} (these requests were "
                "settled before with other amounts; use new request or offer ids)",
                highlight=False,
            )
            raise typer.Exit(EXIT_FAILED) from None
    print_outcome(outcome)
    if not outcome.ledger.ok:
        for problem in outcome.ledger.problems:
            errors.print(f"[bold red]ledger:[/] {shown(problem)}")
        raise typer.Exit(EXIT_FAILED)


def matches_table(outcome: SharingOutcome) -> Table:
    """One row per match: who, how, the kWh at each end, the price and whether it was held."""
    table = Table(
        title=f"Matches ({len(outcome.matches)})",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    for name in ("#", "from -> to", "mode", "in", "AC", "out", "price", "estimate", "booked"):
        left = name in ("from -> to", "mode", "booked")
        table.add_column(name, justify="left" if left else "right", no_wrap=True)
    for k, a in enumerate(outcome.acceptances, 1):
        m = a.match
        table.add_row(
            str(k),
            shown(f"{m.giver} -> {m.receiver}"),
            m.mode,
            f"{m.receiver_battery_kwh:.2f}",
            f"{m.ac_kwh:.2f}",
            f"{m.giver_battery_kwh:.2f}",
            format_credits(m.price_millicredits_per_kwh),
            format_credits(m.estimate_millicredits),
            a.status if a.accepted else "[red]refused[/]",
        )
    return table


def settled_table(outcome: SharingOutcome) -> Table:
    """One row per accepted match: what was delivered and booked, and why it fell short."""
    table = Table(
        title="Scheduled and settled (metered = the scheduled flows)", box=box.SIMPLE_HEAD
    )
    for name in ("#", "delivered AC kWh", "short kWh", "credits", "ledger", "why short"):
        table.add_column(name, justify="left" if name in ("ledger", "why short") else "right")
    number = {a.match.key: k for k, a in enumerate(outcome.acceptances, 1)}
    plan = outcome.plan
    for k, s in enumerate(outcome.settlements):
        table.add_row(
            str(number[s.match.key]),
            f"{s.delivered_wh / 1000:.3f}",
            f"{plan.shortfall_kwh[k]:.3f}",
            format_credits(s.millicredits),
            s.status + ("" if s.created else " (exists)"),
            shown(plan.reasons[k]),
        )
    return table


def balances_table(outcome: SharingOutcome) -> Table:
    """Each member's credits and V2V energy after settling, and the ledger's own check."""
    report = outcome.ledger
    table = Table(
        box=box.SIMPLE_HEAD,
        title=f"Balances - ledger verify {'ok' if report.ok else 'FAILED'} "
        f"({report.accounts} accounts, {report.transfers} transfers)",
    )
    for name in ("member", "credits", "available", "V2V kWh (+gave, -got)"):
        table.add_column(name, justify="left" if name == "member" else "right")
    for member, balance in outcome.balances.items():
        table.add_row(
            shown(member),
            format_credits(balance.credits.net),
            format_credits(balance.credits.available),
            f"{balance.energy.net / 1000:+.3f}",
        )
    return table


def print_outcome(outcome: SharingOutcome) -> None:
    """The circle, the matches, what was settled, what happened per member, the balances."""
    loaded = outcome.circle
    c, tz = loaded.circle, loaded.circle.timezone
    console.print(
        f"[bold]{shown(c.id)}[/]: {shown(c.description)} - now "
        f"{loaded.now.tz_convert(tz):%Y-%m-%d %H:%M} ({tz}); {len(c.members)} members, "
        f"{len(loaded.requests)} requests, {len(loaded.offers)} offers",
        highlight=False,
    )
    console.print(matches_table(outcome))
    console.print(
        "kWh: in = into the receiver's battery, AC = at the chargers, out = out of the giver's "
        "battery; price in credits per kWh at the charger",
        highlight=False,
    )
    for k, a in enumerate(outcome.acceptances, 1):
        m = a.match
        console.print(
            f"  {k}. {shown(f'{m.request_id} <- {m.offer_id}: {how(m, tz)}')}, "
            f"losses {m.losses_kwh:.2f} kWh"
            + (f"; [red]refused[/]: {shown(a.reason)}" if not a.accepted else ""),
            highlight=False,
        )
    console.print(settled_table(outcome))
    console.print("[bold]What happened, per member[/]")
    for member, said in outcome.explanations.items():
        for line in said or ["nothing shared"]:
            console.print(f"  [bold]{shown(member)}[/]: {shown(line)}", highlight=False)
    console.print(balances_table(outcome))
