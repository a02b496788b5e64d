"""The "available credits" port of V2V: what a member can still pay, holds and releases.

The V2V desk asks a :class:`Wallet` before it accepts a match: the receiver must be able to
pay the agreed estimate, which is then **held** (reserved) until the transfer ends and is
**released**: the metered payment goes to the giver, the rest of the hold back to the
receiver. Live, the wallet is the credit ledger itself
(:class:`voltpool.settlement.wallet.LedgerWallet`: a pending transfer, posted or voided); in
a simulation it is :class:`MemoryWallet`, the same arithmetic in memory, so the desk keeps no
book of its own. Amounts are integer milli-credits.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Wallet(Protocol):
    """Credits members can spend on V2V, with two-phase holds."""

    def available_millicredits(self, member: str) -> int:
        """What ``member`` can still pay: balance less running holds. [milli-credits]"""
        ...

    def hold(self, hold_id: str, payer: str, payee: str, amount_millicredits: int) -> bool:
        """Reserve ``amount_millicredits`` of ``payer`` for ``payee``; False (and nothing
        reserved) when the payer cannot cover it."""
        ...

    def release(self, hold_id: str, paid_millicredits: int) -> None:
        """End a hold: ``paid_millicredits`` (at most the hold) to the payee, the rest back to
        the payer. A hold is released at most once."""
        ...


@dataclass(frozen=True)
class _Hold:
    payer: str
    payee: str
    amount_millicredits: int


class MemoryWallet:
    """A :class:`Wallet` in memory: every member starts with the same credits."""

    def __init__(self, members: Iterable[str], starting_millicredits: int) -> None:
        self._available = dict.fromkeys(members, int(starting_millicredits))
        self._holds: dict[str, _Hold] = {}
        self._released: set[str] = set()

    def available_millicredits(self, member: str) -> int:
        return self._available[member]

    def hold(self, hold_id: str, payer: str, payee: str, amount_millicredits: int) -> bool:
        if amount_millicredits < 0:
            raise ValueError(f"hold {hold_id}: amount {amount_millicredits} must be >= 0")
        if hold_id in self._holds or hold_id in self._released:
            raise ValueError(f"hold {hold_id} exists already")
        if amount_millicredits > self._available[payer]:
            return False
        self._available[payer] -= amount_millicredits
        self._holds[hold_id] = _Hold(payer, payee, amount_millicredits)
        return True

    def release(self, hold_id: str, paid_millicredits: int) -> None:
        held = self._holds.pop(hold_id)
        if not 0 <= paid_millicredits <= held.amount_millicredits:
            self._holds[hold_id] = held
            raise ValueError(
                f"hold {hold_id}: paid {paid_millicredits} must be within "
                f"0..{held.amount_millicredits}"
            )
        self._released.add(hold_id)
        self._available[held.payer] += held.amount_millicredits - paid_millicredits
        self._available[held.payee] += paid_millicredits
