"""Ledger account names shared by V2G and V2V settlement and the ledger wallet.

- ``<member>.credits`` (owner, unit credit = milli-credits, no overdraft): what a household or
  circle member earns (V2G, V2V given) and spends (V2V received, V2G energy used);
- ``<member>.v2v-energy`` (owner, unit energy = Wh, overdraft allowed): the member's V2V energy
  position, + what they gave, - what they received (a circle sums to zero);
- ``<circle>.pool`` (pool): grants each circle member's starting credits once;
- a community's ``<community>.grid-energy`` (grid, Wh) and ``<community>.fees`` (fees), and an
  owner's ``<owner>.energy-imported`` / ``<owner>.energy-exported`` (Wh metered at their stations,
  :mod:`voltpool.ocpp.settlement`).
"""

from __future__ import annotations


def credit_account(member: str) -> str:
    """The member's credit account (milli-credits)."""
    return f"{member}.credits"


def energy_account(member: str) -> str:
    """The member's V2V energy account (Wh given minus Wh received)."""
    return f"{member}.v2v-energy"


def pool_account(circle_id: str) -> str:
    """The circle's pool account (starting credits come from it)."""
    return f"{circle_id}.pool"


def grid_account(community_id: str) -> str:
    return f"{community_id}.grid-energy"


def fees_account(community_id: str) -> str:
    return f"{community_id}.fees"


def imported_account(owner_id: str) -> str:
    """Wh the owner's cars took at their stations."""
    return f"{owner_id}.energy-imported"


def exported_account(owner_id: str) -> str:
    """Wh the owner's cars gave back at their stations."""
    return f"{owner_id}.energy-exported"
