"""V2V between friends: check a circle file, or match, book, schedule, settle and explain it
(``voltpool share check`` / ``voltpool share run``).

    outcome = run("friends", "sqlite:///ledger.sqlite")

Bad input raises :class:`~voltpool.errors.ProblemError` before the ledger is opened (a URL
the ledger cannot open raises its ``InvalidInput``). A match settled before with other amounts
raises the ledger's ``Conflict`` (or ``Rejected``); running the same circle again is a replay
(every booking answers "exists").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from voltpool.files.circle import CircleFile, load_circle
from voltpool.ledger import Balance, Ledger, VerifyReport
from voltpool.settlement import (
    credit_account,
    energy_account,
    open_accounts,
    open_pending,
    settle,
)
from voltpool.sharing import (
    Acceptance,
    Match,
    Plan,
    Settlement,
    explain,
    match,
    plan_transfers,
    unmatched,
)


@dataclass(frozen=True)
class MemberBalance:
    """A member's credits (milli-credits) and V2V energy (Wh, + given, - received)."""

    credits: Balance
    energy: Balance


@dataclass(frozen=True)
class SharingOutcome:
    """What one run of a circle did.

    ``acceptances`` has one entry per match (held, or refused with a reason); ``plan`` and
    ``settlements`` cover the accepted matches, in the same order; ``explanations`` are the
    plain-words lines per member; ``ledger`` is the ledger's own check after settling.
    """

    circle: CircleFile
    matches: tuple[Match, ...]
    acceptances: tuple[Acceptance, ...]
    plan: Plan
    settlements: tuple[Settlement, ...]
    explanations: dict[str, list[str]]
    balances: dict[str, MemberBalance]
    ledger: VerifyReport


def check(circle: str | Path, now: datetime | None = None) -> CircleFile:
    """Read and validate a circle file or built-in circle (members, cars, requests, offers).

    ``now`` overrides the file's clock (local to the circle when it has no offset). Raises
    :class:`~voltpool.errors.ProblemError` naming every bad field.
    """
    return load_circle(circle, now=now)


def run(circle: str | Path, db: str | None = None, now: datetime | None = None) -> SharingOutcome:
    """Match a circle's requests to its offers, hold the credits, schedule the transfers and
    settle them with the scheduled flows as the meter readings.

    ``db`` is the ledger's URL (``sqlite:///path`` or ``postgresql://...``; None:
    ``$VOLTPOOL_DB``, else ``sqlite:///voltpool-ledger.sqlite``); ``now`` as in :func:`check`.
    """
    loaded = check(circle, now)
    c = loaded.circle
    matches = match(loaded.requests, loaded.offers, c, loaded.now, loaded.policy)
    with Ledger.open(db) as ledger:
        open_accounts(ledger, c)
        acceptances = open_pending(ledger, matches)
        accepted = [a.match for a in acceptances if a.accepted]
        plan = plan_transfers(c, accepted)
        settlements = settle(ledger, accepted, plan.metered(), loaded.policy)
        balances = {
            m: MemberBalance(ledger.balance(credit_account(m)), ledger.balance(energy_account(m)))
            for m in c.members
        }
        report = ledger.verify()
    explanations = explain(
        c,
        settlements,
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
    return SharingOutcome(
        circle=loaded,
        matches=tuple(matches),
        acceptances=tuple(acceptances),
        plan=plan,
        settlements=tuple(settlements),
        explanations=explanations,
        balances=balances,
        ledger=report,
    )
