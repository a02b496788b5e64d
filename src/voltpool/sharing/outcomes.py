"""What booking a match did, as plain data: accepted (held) or not, then settled or not.

The ledger adapter (:mod:`voltpool.settlement.v2v`) returns these; :func:`voltpool.sharing.explain`
turns them into words. Nothing here touches the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from voltpool.sharing.matching import Match


@dataclass(frozen=True)
class Acceptance:
    """What acceptance did for one match.

    ``status``: ``reserved`` (hold written now), ``exists`` (held before), ``free`` (price 0,
    nothing to hold) or ``refused`` (nothing written; ``reason`` says why).
    """

    match: Match
    status: Literal["reserved", "exists", "free", "refused"]
    hold_id: str | None
    reason: str = ""

    @property
    def accepted(self) -> bool:
        return self.status != "refused"


@dataclass(frozen=True)
class Settlement:
    """What settling one match booked.

    ``status``: ``posted`` (credits moved), ``voided`` (hold released, nothing moved), ``free``
    (price 0: only energy recorded) or ``not_booked`` (never accepted: nothing written).
    ``millicredits`` moved receiver -> giver; ``created`` is False when everything already
    existed (a replay).
    """

    match: Match
    status: Literal["posted", "voided", "free", "not_booked"]
    millicredits: int
    delivered_wh: int
    given_wh: int
    received_wh: int
    created: bool
    transfer_ids: tuple[str, ...] = ()
