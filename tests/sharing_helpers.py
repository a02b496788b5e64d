"""Small in-memory circles for the V2V sharing tests (no TOML needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from voltpool.ledger import Ledger
from voltpool.settlement import credit_account, energy_account
from voltpool.sharing import Cars, Circle, Sites

TZ = "Europe/Amsterdam"
NOW = pd.Timestamp("2025-01-14 18:00", tz=TZ)

CAR_DEFAULTS: dict[str, Any] = {
    "capacity_kwh": 60.0,
    "soc": 0.5,
    "soc_min": 0.2,
    "soc_max": 1.0,
    "charge_efficiency": 0.92,
    "discharge_efficiency": 0.9,
    "max_charge_kw": 11.0,
    "max_discharge_kw": 11.0,
    "site": "home-a",
    "plugged_from": NOW,
    "plugged_until": NOW + pd.Timedelta(hours=12),
}


def at(hours: float) -> pd.Timestamp:
    """``NOW`` plus some hours."""
    return NOW + pd.Timedelta(hours=hours)


def make_circle(
    cars: list[dict[str, Any]],
    members: tuple[str, ...] | None = None,
    credits: dict[str, int] | None = None,
    circle_id: str = "c",
    sites: tuple[str, ...] = ("home-a", "home-b", "home-c"),
    import_limit_kw: float = np.inf,
) -> Circle:
    """A circle from per-car dicts (``id`` and ``owner`` required, the rest defaulted).

    ``credits`` are starting credits in milli-credits; members default to the car owners.
    """
    rows = [CAR_DEFAULTS | car for car in cars]
    owners = tuple(dict.fromkeys(r["owner"] for r in rows))
    columns = {
        name: [r[name] for r in rows]
        for name in CAR_DEFAULTS
        if name not in ("site", "plugged_from", "plugged_until")
    }
    fleet = Cars(
        ids=tuple(r["id"] for r in rows),
        owner=tuple(r["owner"] for r in rows),
        site=tuple(r["site"] for r in rows),
        plugged_from=[r["plugged_from"] if r["site"] else None for r in rows],
        plugged_until=[r["plugged_until"] if r["site"] else None for r in rows],
        timezone=TZ,
        **columns,
    )
    places = Sites(
        ids=sites,
        import_limit_kw=np.full(len(sites), import_limit_kw),
        export_limit_kw=np.full(len(sites), np.inf),
        base_load_kw=np.zeros(len(sites)),
    )
    return Circle(circle_id, members or owners, fleet, places, TZ, dict(credits or {}))


def open_ledger(folder: Path | str, name: str = "l") -> Ledger:
    return Ledger.open(f"sqlite:///{folder}/{name}.sqlite")


def member_balances(ledger: Ledger, circle: Circle) -> dict[str, int]:
    """Net credits (milli-credits) of every member."""
    return {m: ledger.balance(credit_account(m)).net for m in circle.members}


def everything(ledger: Ledger, circle: Circle) -> tuple[dict[str, Any], int]:
    """All member balances (credit and energy, pending included) and the transfer count."""
    state = {}
    for m in circle.members:
        state[credit_account(m)] = ledger.balance(credit_account(m))
        state[energy_account(m)] = ledger.balance(energy_account(m))
    return state, ledger.verify().transfers
