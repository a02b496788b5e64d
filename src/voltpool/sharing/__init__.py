"""V2V between friends: circles, requests and offers, matching, scheduling, explanations.

The whole path, with in-memory objects (no TOML needed); the credits are booked by the ledger
adapter :mod:`voltpool.settlement` (this core package does not touch the ledger)::

    from voltpool.sharing import (Circle, Cars, Sites, Request, Offer, match, plan_transfers,
                                  explain)
    from voltpool.settlement import open_accounts, open_pending, settle

    matches = match(requests, offers, circle, now)          # ProblemError on bad input
    accepted = [a.match for a in open_pending(ledger, matches) if a.accepted]
    plan = plan_transfers(circle, accepted)                 # the one scheduler, verified
    results = settle(ledger, accepted, plan.metered(), policy)
    lines = explain(circle, results, plan=plan)

- :mod:`~voltpool.sharing.circle`: members, cars (struct of arrays), sites;
- :mod:`~voltpool.sharing.requests`: requests, offers and their rules;
- :mod:`~voltpool.sharing.matching`: the transport LP (HiGHS) and its tie-breaks;
- :mod:`~voltpool.sharing.plan`: per-slot flows from ``voltpool.schedule``;
- :mod:`~voltpool.sharing.outcomes`: what booking a match did (acceptance, settlement);
- :mod:`~voltpool.sharing.explain`: what happened, per member, in plain words.

Slots are the clock's (:class:`voltpool.model.SlotGrid`); circle TOML files and the built-in
example are read by :mod:`voltpool.files.circle`.
"""

from voltpool.sharing.circle import Cars, Circle, Sites
from voltpool.sharing.explain import explain, format_credits, how
from voltpool.sharing.matching import Match, match, match_key, unmatched, v2v_millicredits
from voltpool.sharing.outcomes import Acceptance, Settlement
from voltpool.sharing.plan import Metered, Plan, PlannedProblem, plan_transfers
from voltpool.sharing.requests import Book, Offer, Request, resolve, to_millicredits

__all__ = [
    "Acceptance",
    "Book",
    "Cars",
    "Circle",
    "Match",
    "Metered",
    "Offer",
    "Plan",
    "PlannedProblem",
    "Request",
    "Settlement",
    "Sites",
    "explain",
    "format_credits",
    "how",
    "match",
    "match_key",
    "plan_transfers",
    "resolve",
    "to_millicredits",
    "unmatched",
    "v2v_millicredits",
]
