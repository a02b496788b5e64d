"""V2V between friends: circles, requests and offers, matching, scheduling, settlement.

The whole path, with in-memory objects (no TOML needed)::

    from voltpool.sharing import (Circle, Cars, Sites, Request, Offer, match, plan_transfers,
                                  open_accounts, open_pending, settle, explain)

    matches = match(requests, offers, circle, now)          # ProblemError on bad input
    accepted = [a.match for a in open_pending(ledger, matches) if a.accepted]
    plan = plan_transfers(circle, accepted)                 # the one scheduler, verified
    results = settle(ledger, accepted, plan.metered(), policy)
    lines = explain(circle, results, plan=plan)

- :mod:`~voltpool.sharing.circle`: members, cars (struct of arrays), sites, the slot grid;
- :mod:`~voltpool.sharing.requests`: requests, offers and their rules;
- :mod:`~voltpool.sharing.matching`: the transport LP (HiGHS) and its tie-breaks;
- :mod:`~voltpool.sharing.plan`: per-slot flows from ``voltpool.schedule``;
- :mod:`~voltpool.sharing.settle`: two-phase credits in ``voltpool.ledger``;
- :mod:`~voltpool.sharing.explain`: what happened, per member, in plain words;
- :mod:`~voltpool.sharing.files`: circle TOML files and the built-in example.
"""

from voltpool.sharing.circle import SLOT_MINUTES, Cars, Circle, Sites, SlotGrid
from voltpool.sharing.explain import explain, format_credits, how
from voltpool.sharing.files import (
    DEFAULT_CIRCLE,
    CircleFile,
    builtin_circles,
    circle_from_dict,
    circle_text,
    load_circle,
)
from voltpool.sharing.matching import Match, match, match_key, unmatched, v2v_millicredits
from voltpool.sharing.plan import Metered, Plan, PlannedProblem, plan_transfers
from voltpool.sharing.requests import Book, Offer, Request, resolve, to_millicredits
from voltpool.sharing.settle import (
    Acceptance,
    Settlement,
    cancel,
    credit_account,
    energy_account,
    open_accounts,
    open_pending,
    pool_account,
    settle,
)

__all__ = [
    "DEFAULT_CIRCLE",
    "SLOT_MINUTES",
    "Acceptance",
    "Book",
    "Cars",
    "Circle",
    "CircleFile",
    "Match",
    "Metered",
    "Offer",
    "Plan",
    "PlannedProblem",
    "Request",
    "Settlement",
    "Sites",
    "SlotGrid",
    "builtin_circles",
    "cancel",
    "circle_from_dict",
    "circle_text",
    "credit_account",
    "energy_account",
    "explain",
    "format_credits",
    "how",
    "load_circle",
    "match",
    "match_key",
    "open_accounts",
    "open_pending",
    "plan_transfers",
    "pool_account",
    "resolve",
    "settle",
    "to_millicredits",
    "unmatched",
    "v2v_millicredits",
]
