"""A scheduling problem: a fleet at a site under a tariff over T slots of ``dt_h`` hours."""

from __future__ import annotations

import math
from dataclasses import dataclass

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.fleet import Fleet
from voltpool.model.site import Site
from voltpool.model.tariff import Tariff
from voltpool.model.transfers import Transfers

DEFAULT_UNMET_PENALTY_PER_KWH = 100.0


@dataclass(frozen=True, eq=False)
class Problem:
    """Everything a scheduler needs; validated on construction (all issues reported at once).

    Parameters
    ----------
    fleet, site, tariff
        The vehicles, the grid connection and the prices.
    slot_minutes : int
        Slot length; ``dt_h = slot_minutes / 60``. [min]
    unmet_penalty_per_kwh : float
        Cost of each kWh a vehicle misses of its departure target, and of each kWh of an agreed
        V2V transfer left undelivered. [currency/kWh]
    transfers : Transfers, optional
        V2V transfers between vehicles of the fleet (:mod:`voltpool.model.transfers`).
    """

    fleet: Fleet
    site: Site
    tariff: Tariff
    slot_minutes: int = 15
    unmet_penalty_per_kwh: float = DEFAULT_UNMET_PENALTY_PER_KWH
    transfers: Transfers | None = None

    def __post_init__(self) -> None:
        issues: list[FieldIssue] = []
        if not (isinstance(self.slot_minutes, int) and 0 < self.slot_minutes <= 1440):
            issues.append(
                FieldIssue(
                    "slot_minutes", f"{self.slot_minutes!r} must be a whole number in 1..1440"
                )
            )
        penalty = self.unmet_penalty_per_kwh
        if not (isinstance(penalty, int | float) and math.isfinite(penalty) and penalty >= 0):
            issues.append(FieldIssue("unmet_penalty_per_kwh", f"{penalty!r} must be >= 0"))
        issues += self.site.issues()
        n_slots = self.site.n_slots
        issues += self.tariff.issues(n_slots)
        issues += self.fleet.check_horizon(n_slots)
        if self.transfers is not None:
            issues += self.transfers.issues(self.fleet.n_vehicles, n_slots)
        if issues:
            raise ProblemError(issues)

    @property
    def n_slots(self) -> int:
        return self.site.n_slots

    @property
    def n_vehicles(self) -> int:
        return self.fleet.n_vehicles

    @property
    def n_transfers(self) -> int:
        return 0 if self.transfers is None else self.transfers.n_transfers

    @property
    def dt_h(self) -> float:
        return self.slot_minutes / 60.0
