"""What happened, per member, in plain words.

"you gave 10.8 kWh to bob (...), 12.0 kWh left your battery, +270 credits" for a giver and
"you received 9.7 kWh into your battery from alice (10.8 kWh delivered at the charger),
-270 credits" for a receiver (the text uses a true minus sign, U+2212); plus refused,
cancelled, partial and unmatched requests and unused offers. Credits are shown as credits
(milli-credits / 1000, exact).
"""

from __future__ import annotations

from collections.abc import Sequence

from voltpool.sharing.circle import Circle
from voltpool.sharing.matching import Match
from voltpool.sharing.outcomes import Acceptance, Settlement
from voltpool.sharing.plan import Plan
from voltpool.sharing.requests import Offer, Request

MINUS = "\u2212"


def format_credits(millicredits: int, sign: bool = False) -> str:
    """``270``, ``22.5``, ``0.125`` (exact); with ``sign``: ``+270`` / ``-270`` (U+2212 minus)."""
    whole, part = divmod(abs(int(millicredits)), 1000)
    text = f"{whole:,}" + (f".{part:03d}".rstrip("0") if part else "")
    if not sign:
        return text if millicredits >= 0 else MINUS + text
    return ("+" if millicredits >= 0 else MINUS) + text


def _when(match: Match, timezone: str) -> str:
    start = match.start.tz_convert(timezone)
    end = match.end.tz_convert(timezone)
    return f"{start:%a %H:%M}\u2013{end:%H:%M}"


def how(match: Match, timezone: str) -> str:
    """``car to car at alice-home, Tue 20:00-06:00`` (an en dash in the text) or
    ``through the grid, a -> b, ...``."""
    where = (
        f"car to car at {match.site}"
        if match.mode == "direct"
        else f"through the grid, {match.site}"
    )
    return f"{where}, {_when(match, timezone)}"


def explain(
    circle: Circle,
    settlements: Sequence[Settlement],
    *,
    plan: Plan | None = None,
    acceptances: Sequence[Acceptance] = (),
    unmatched: dict[str, str] | None = None,
    requests: Sequence[Request] = (),
    offers: Sequence[Offer] = (),
) -> dict[str, list[str]]:
    """Lines per member (every member has an entry, possibly empty).

    ``settlements`` say what was booked; ``plan`` adds why a transfer fell short;
    ``acceptances`` add refused matches; ``unmatched`` (request id -> why, from
    :func:`voltpool.sharing.unmatched`) with ``requests`` add requests that found too little,
    ``offers`` the offers nobody used.
    """
    tz = circle.timezone
    lines: dict[str, list[str]] = {member: [] for member in circle.members}
    reasons: dict[str, str] = {}
    if plan is not None:
        reasons = {m.key: r for m, r in zip(plan.matches, plan.reasons, strict=True)}
    for acceptance in acceptances:
        if acceptance.accepted:
            continue
        m = acceptance.match
        lines[m.receiver].append(
            f"your request {m.request_id} for {m.receiver_battery_kwh:.1f} kWh from {m.giver} "
            f"was not booked: {acceptance.reason}"
        )
        lines[m.giver].append(
            f"{m.receiver}'s request {m.request_id} for your offer {m.offer_id} was not booked "
            f"({m.receiver} lacks the credits); nothing was reserved"
        )
    used_offers: set[str] = set()
    for s in settlements:
        m = s.match
        if s.status == "not_booked":
            continue
        used_offers.add(m.offer_id)
        delivered = s.delivered_wh / 1000
        given = s.given_wh / 1000
        received = s.received_wh / 1000
        agreed = m.ac_kwh
        why = reasons.get(m.key, "")
        if s.delivered_wh == 0:
            note = f" ({why})" if why else ""
            released = (
                f"the {format_credits(m.estimate_millicredits)} credits reserved were released"
                if s.status == "voided"
                else "nothing was reserved"
            )
            lines[m.giver].append(
                f"your transfer to {m.receiver} did not happen{note}: nothing was paid, {released}"
            )
            lines[m.receiver].append(
                f"your transfer from {m.giver} did not happen{note}: nothing was paid, {released}"
            )
            continue
        short = ""
        if delivered < agreed - 0.0015:
            short = f"; {agreed - delivered:.1f} of the agreed {agreed:.1f} kWh did not arrive"
            short += f" ({why})" if why else ""
        lines[m.giver].append(
            f"you gave {delivered:.1f} kWh to {m.receiver} ({how(m, tz)}), {given:.1f} kWh left "
            f"your battery, {format_credits(s.millicredits, sign=True)} credits{short}"
        )
        lines[m.receiver].append(
            f"you received {received:.1f} kWh into your battery from {m.giver} "
            f"({delivered:.1f} kWh delivered at the charger, {how(m, tz)}), "
            f"{format_credits(-s.millicredits, sign=True)} credits{short}"
        )
    owner = {r.id: r.member for r in requests}
    for request_id, why in (unmatched or {}).items():
        member = owner.get(request_id)
        if member in lines:
            lines[member].append(f"your request {request_id}: {why}")
    for offer in offers:
        if offer.id not in used_offers and offer.member in lines:
            lines[offer.member].append(f"your offer {offer.id} was not used")
    return lines
