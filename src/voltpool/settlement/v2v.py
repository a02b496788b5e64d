"""Two-phase settlement of V2V transfers in the credit ledger (``voltpool.ledger``).

Accounts (:mod:`voltpool.settlement.accounts`, created by :func:`open_accounts`, idempotent):
``<member>.credits`` (the same account V2G settlement pays households into, so credits earned
by V2G can be spent on a friend's kWh), ``<member>.v2v-energy`` (Wh given minus Wh received)
and ``<circle>.pool`` (grants each member's ``starting_credits`` once).

Life of a match (ids derive from :func:`~voltpool.sharing.matching.match_key`, so running the
same settlement again answers ``exists`` everywhere and writes nothing); the holds are those of
the ledger wallet (:class:`~voltpool.settlement.wallet.LedgerWallet`), keyed by the match key:

1. acceptance, :func:`open_pending`: a **pending** transfer ``<key>.hold`` receiver -> giver
   for the agreed estimate. Refused, with nothing written, when the receiver's available
   credits do not cover it (checked before writing, so the id is not burnt by a ledger
   rejection and the same match can be accepted later). A free match (price 0) holds nothing.
2. after the transfer, :func:`settle`: **post** ``<key>.post`` with the credits of the metered
   energy, ``v2v_millicredits(policy, delivered_wh, given_wh, price)`` (capped at the hold),
   and record the delivered Wh, ``<key>.energy`` receiver -> giver on the energy accounts;
   or **void** ``<key>.void`` when nothing was delivered (cancelled, or the giver left).
"""

from __future__ import annotations

import hashlib
from typing import Literal

import numpy as np

from voltpool.credits import CreditPolicy
from voltpool.errors import FieldIssue, ProblemError
from voltpool.ledger import Ledger
from voltpool.settlement.accounts import credit_account, energy_account, pool_account
from voltpool.settlement.wallet import LedgerWallet, find_transfer, pending_id
from voltpool.sharing import Circle, Match, Metered
from voltpool.sharing.outcomes import Acceptance, Settlement

CODE = "v2v"
GRANT_CODE = "grant"


def _short_id(text: str) -> str:
    """``text`` if it is a valid ledger id length, else a stable digest of it."""
    if len(text) <= 64:
        return text
    return f"id-{hashlib.sha256(text.encode()).hexdigest()[:40]}"


def _session(match: Match) -> str:
    return f"{match.circle}/{match.request_id}/{match.offer_id}"


def open_accounts(ledger: Ledger, circle: Circle) -> None:
    """Create the circle's accounts and grant the starting credits, once (idempotent).

    Raises the ledger's ``Conflict`` if a grant was booked before with another amount.
    """
    pool = pool_account(circle.id)
    ledger.create_account(pool, owner=circle.id, kind="pool", unit="credit")
    for member in circle.members:
        ledger.create_account(credit_account(member), owner=member, kind="owner", unit="credit")
        ledger.create_account(
            energy_account(member), owner=member, kind="owner", unit="energy", allow_overdraft=True
        )
    for member in circle.members:
        amount = circle.starting_millicredits.get(member, 0)
        if amount > 0:
            ledger.transfer(
                _short_id(f"{circle.id}.grant.{member}"),
                pool,
                credit_account(member),
                amount,
                "credit",
                GRANT_CODE,
                session=circle.id,
            )


def open_pending(ledger: Ledger, matches: list[Match] | tuple[Match, ...]) -> list[Acceptance]:
    """Reserve each match's estimate, receiver -> giver, as a pending transfer.

    In order: a match the receiver cannot cover is refused and nothing is written for it (a
    later one may still fit). The accounts must exist (:func:`open_accounts`).
    """
    wallet = LedgerWallet(ledger, CODE)
    out: list[Acceptance] = []
    for m in matches:
        reservation = wallet.reserve(
            m.key,
            m.receiver,
            m.giver,
            m.estimate_millicredits,
            session=_session(m),
            metadata={
                "request": m.request_id,
                "offer": m.offer_id,
                "mode": m.mode,
                "ac_wh": m.planned_wh[0],
                "price_millicredits_per_kwh": m.price_millicredits_per_kwh,
            },
        )
        held = reservation.status in ("reserved", "exists")
        hid = pending_id(m.key) if held else None
        out.append(Acceptance(m, reservation.status, hid, reservation.reason))
    return out


def settle(
    ledger: Ledger,
    matches: list[Match] | tuple[Match, ...],
    metered: Metered,
    policy: CreditPolicy | None = None,
) -> list[Settlement]:
    """Post (metered energy) or void (nothing delivered) each match's hold; record the energy.

    ``metered`` has one entry per match (:meth:`voltpool.sharing.Plan.metered`, or real meter
    readings). Raises ProblemError when the meter values are not whole Wh with
    ``delivered <= given``; the ledger's ``Conflict`` when a match was settled before with
    other values, ``Rejected`` when its hold was already resolved the other way.
    """
    policy = policy or CreditPolicy()
    _check_metered(metered, len(matches))
    wallet = LedgerWallet(ledger, CODE)
    out: list[Settlement] = []
    for k, m in enumerate(matches):
        delivered = int(metered.delivered_wh[k])
        given = int(metered.given_wh[k])
        received = int(metered.received_wh[k])
        held = m.estimate_millicredits > 0
        if held and find_transfer(ledger, pending_id(m.key)) is None:
            out.append(Settlement(m, "not_booked", 0, 0, 0, 0, created=False))
            continue
        created = False
        ids: list[str] = []
        moved = 0
        status: Literal["posted", "voided", "free"] = "free"
        meta = {"delivered_wh": delivered, "given_wh": given, "received_wh": received}
        if held:
            moved = m.payment_millicredits(policy, delivered, given) if delivered > 0 else 0
            result = wallet.resolve(m.key, moved, metadata=meta)
            assert result is not None  # the hold exists
            status = "posted" if moved > 0 else "voided"
            created |= result.status == "created"
            ids.append(result.transfer.id)
        if delivered > 0:
            result = ledger.transfer(
                f"{m.key}.energy",
                energy_account(m.receiver),
                energy_account(m.giver),
                delivered,
                "energy",
                CODE,
                session=_session(m),
                metadata=meta,
            )
            created |= result.status == "created"
            ids.append(result.transfer.id)
        out.append(Settlement(m, status, moved, delivered, given, received, created, tuple(ids)))
    return out


def cancel(ledger: Ledger, matches: list[Match] | tuple[Match, ...]) -> list[Settlement]:
    """Cancel matches before anything was delivered: void their holds (idempotent)."""
    return settle(ledger, matches, Metered.nothing(len(matches)))


def _check_metered(metered: Metered, n: int) -> None:
    issues: list[FieldIssue] = []
    for name in ("delivered_wh", "given_wh", "received_wh"):
        values = getattr(metered, name)
        if values.shape != (n,):
            issues.append(FieldIssue(f"metered.{name}", f"must hold {n} values, one per match"))
        elif (values < 0).any():
            issues.append(FieldIssue(f"metered.{name}", "must be >= 0"))
    if not issues:
        for k in np.flatnonzero(metered.delivered_wh > metered.given_wh):
            issues.append(
                FieldIssue(
                    f"metered.delivered_wh[{k}]",
                    f"{metered.delivered_wh[k]} must be <= given_wh ({metered.given_wh[k]})",
                )
            )
    if issues:
        raise ProblemError(issues)
