"""The V2V desk's "available credits" port on the credit ledger (:class:`LedgerWallet`).

A member's credits are the ledger account ``<member>.credits`` (the one V2G and V2V settlement
pay into). A hold ``h`` of ``payer`` for ``payee`` is the **pending** transfer ``h.hold`` between
their credit accounts; releasing it **posts** ``h.post`` with the paid amount (the ledger
returns the rest of the hold to the payer) or, when nothing is paid, **voids** it as ``h.void``.
What a member can still pay is the account's available balance: posted credits minus posted
debits minus pending debits (:attr:`voltpool.ledger.Balance.available`).

The ledger's promises carry over: a hold is resolved at most once, the same hold or release
retried with the same values answers "exists" and writes nothing, one with other values raises
the ledger's ``Conflict`` (or ``Rejected`` when the hold was resolved the other way), and the
no-overdraft rule holds with concurrent writers. A hold of 0 reserves nothing and writes
nothing (a free V2V match); releasing it with 0 paid is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from voltpool.ledger import InvalidInput, Ledger, NotFound, Rejected, Transfer, TransferResult
from voltpool.settlement.accounts import credit_account

HoldStatus = Literal["reserved", "exists", "free", "refused"]


@dataclass(frozen=True)
class Reservation:
    """What :meth:`LedgerWallet.reserve` did: ``reserved`` (written now), ``exists`` (held
    before, the same values), ``free`` (0: nothing to hold) or ``refused`` (no transfer
    written; ``reason`` says why)."""

    status: HoldStatus
    reason: str = ""


def pending_id(hold_id: str) -> str:
    """The ledger id of hold ``hold_id``'s pending transfer."""
    return f"{hold_id}.hold"


class LedgerWallet:
    """A :class:`voltpool.sharing.wallet.Wallet` on a :class:`voltpool.ledger.Ledger`.

    ``code`` is the ledger code of the holds and their resolutions (``v2v`` by default). The
    members' credit accounts must exist (V2V's ``open_accounts`` or V2G settlement create
    them); a member without one has nothing available.
    """

    def __init__(self, ledger: Ledger, code: str = "v2v") -> None:
        self.ledger = ledger
        self.code = code

    def available_millicredits(self, member: str) -> int:
        """Posted credits minus posted and pending debits of ``<member>.credits``; raises the
        ledger's ``NotFound`` for a member without a credit account. [milli-credits]"""
        return self.ledger.balance(credit_account(member)).available

    def hold(self, hold_id: str, payer: str, payee: str, amount_millicredits: int) -> bool:
        """Reserve ``amount_millicredits`` of ``payer`` for ``payee`` (:meth:`reserve`); False,
        with no transfer written, when the payer cannot cover it."""
        return self.reserve(hold_id, payer, payee, amount_millicredits).status != "refused"

    def reserve(
        self,
        hold_id: str,
        payer: str,
        payee: str,
        amount_millicredits: int,
        *,
        session: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Reservation:
        """:meth:`hold`, saying what happened; ``session`` and ``metadata`` go on the pending
        transfer. The payer's available credits are checked before writing, so a refused hold
        burns no id and the same hold may be placed later; a concurrent spender that gets
        there first makes the ledger reject it (recorded, balances untouched)."""
        if amount_millicredits < 0:
            raise InvalidInput(
                "amount_millicredits", f"{amount_millicredits} must be >= 0 (hold {hold_id!r})"
            )
        if amount_millicredits == 0:
            return Reservation("free")
        transfer_id = pending_id(hold_id)
        spec: dict[str, Any] = dict(
            transfer_id=transfer_id,
            debit_account=credit_account(payer),
            credit_account=credit_account(payee),
            amount=amount_millicredits,
            unit="credit",
            code=self.code,
            session=session,
            metadata=metadata,
            pending=True,
        )
        if find_transfer(self.ledger, transfer_id) is not None:
            self.ledger.transfer(**spec)  # "exists", or Conflict if the values changed
            return Reservation("exists")
        earlier = self.ledger.rejection(transfer_id)
        if earlier is not None:
            return Reservation("refused", f"refused earlier: {earlier.rule}")
        try:
            available = self.available_millicredits(payer)
        except NotFound:
            return Reservation("refused", f"{payer} has no credit account")
        if available < amount_millicredits:
            return Reservation(
                "refused",
                f"{payer} has {available / 1000:g} credits available, the transfer needs "
                f"{amount_millicredits / 1000:g}",
            )
        try:
            self.ledger.transfer(**spec)
        except Rejected as error:  # a concurrent spender got there first
            return Reservation("refused", str(error))
        return Reservation("reserved")

    def release(self, hold_id: str, paid_millicredits: int) -> None:
        """End a hold: ``paid_millicredits`` (0..the hold) to the payee, the rest back to the
        payer (:meth:`resolve`)."""
        self.resolve(hold_id, paid_millicredits)

    def resolve(
        self, hold_id: str, paid_millicredits: int, *, metadata: dict[str, Any] | None = None
    ) -> TransferResult | None:
        """:meth:`release`, returning the post or void written (``exists`` for a retry), or
        None for a free hold. Raises ``InvalidInput`` (nothing written) when the amount is not
        within 0..the hold, ``NotFound`` when nothing is held under ``hold_id`` but a payment
        is asked for."""
        transfer_id = pending_id(hold_id)
        pending = find_transfer(self.ledger, transfer_id)
        if pending is None:
            if paid_millicredits == 0:
                return None
            raise NotFound("hold_id", f"nothing is held under {hold_id!r}")
        if not 0 <= paid_millicredits <= pending.amount:
            raise InvalidInput(
                "paid_millicredits",
                f"{paid_millicredits} must be within 0..{pending.amount} (hold {hold_id!r})",
            )
        if paid_millicredits > 0:
            return self.ledger.post(
                f"{hold_id}.post", transfer_id, paid_millicredits, metadata=metadata
            )
        return self.ledger.void(f"{hold_id}.void", transfer_id, metadata=metadata)


def find_transfer(ledger: Ledger, transfer_id: str) -> Transfer | None:
    """The transfer ``transfer_id``, or None when there is none (or it was rejected)."""
    try:
        return ledger.get_transfer(transfer_id)
    except NotFound:
        return None
