"""Settlement: the adapter that books credits and energy in the ledger (``voltpool.ledger``).

Everything that writes the ledger lives here, around the pure core (the credit rules of
:mod:`voltpool.credits`, the V2V matching and meters of :mod:`voltpool.sharing`):

- :mod:`~voltpool.settlement.sessions`: a simulated run's V2G sessions (pending at plug-in,
  posted with the metered credits or voided), the households' use of V2G energy, and its V2V
  agreements;
- :mod:`~voltpool.settlement.v2v`: two-phase V2V booking, live or simulated (hold at
  acceptance, post with the metered Wh or void);
- :mod:`~voltpool.settlement.wallet`: :class:`LedgerWallet`, the V2V desk's "available
  credits" port (:class:`voltpool.sharing.wallet.Wallet`) on the ledger;
- :mod:`~voltpool.settlement.accounts`: the account names they share (``<member>.credits``...).

    ledger = Ledger.open("sqlite:///ledger.sqlite")
    open_accounts(ledger, circle)
    accepted = [a.match for a in open_pending(ledger, matches) if a.accepted]
    results = settle(ledger, accepted, plan.metered(), policy)
"""

from voltpool.settlement.accounts import credit_account, energy_account, pool_account
from voltpool.settlement.sessions import (
    FEES,
    GRID_ENERGY,
    POOL,
    SettlementContext,
    settle_run,
    settle_simulation,
    settlement_context,
)
from voltpool.settlement.v2v import cancel, open_accounts, open_pending, settle
from voltpool.settlement.wallet import LedgerWallet, Reservation

__all__ = [
    "FEES",
    "GRID_ENERGY",
    "POOL",
    "LedgerWallet",
    "Reservation",
    "SettlementContext",
    "cancel",
    "credit_account",
    "energy_account",
    "open_accounts",
    "open_pending",
    "pool_account",
    "settle",
    "settle_run",
    "settle_simulation",
    "settlement_context",
]
