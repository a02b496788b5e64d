"""Vehicle-to-vehicle (V2V) energy transfers between two cars of one problem's fleet.

A transfer moves ``energy_kwh`` of AC energy from a giver's charger to a receiver's charger
within slots ``start_slot <= t < end_slot``, simultaneously: in every slot the power moved is at
most what the giver discharges and at most what the receiver charges. Whether the two chargers
share a site (*direct*) or stand at two homes (*through the grid*) is the caller's label; the
scheduler sees the same rule either way, and the site balance carries the flows.

Battery energy, with the fleet's efficiencies: the giver's battery loses
``energy_kwh / eta_discharge[giver]`` and the receiver's gains ``eta_charge[receiver] *
energy_kwh``; the difference is the conversion loss.

``giver_floor_kwh`` is the giver's "keep me above" rule for this transfer: during the window the
giver's stored energy never drops below it (nor below the fleet's own floor).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voltpool.errors import FieldIssue
from voltpool.model._checks import check_elements

PREFIX = "transfers"


@dataclass(frozen=True, eq=False)
class Transfers:
    """L transfers, struct of arrays (vehicle indices are fleet rows).

    Parameters
    ----------
    ids : sequence of str
        Unique transfer identifiers.
    giver, receiver : int array
        Fleet rows of the car that gives and the car that receives.
    start_slot, end_slot : int array
        Window of the transfer (``end_slot`` exclusive). [slot index]
    energy_kwh : array
        AC energy to move from the giver's charger to the receiver's. [kWh]
    giver_floor_kwh : array
        Stored energy the giver keeps during the window. [kWh]
    """

    ids: tuple[str, ...]
    giver: np.ndarray
    receiver: np.ndarray
    start_slot: np.ndarray
    end_slot: np.ndarray
    energy_kwh: np.ndarray
    giver_floor_kwh: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        for name in ("giver", "receiver", "start_slot", "end_slot"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=np.int64))
        for name in ("energy_kwh", "giver_floor_kwh"):
            object.__setattr__(self, name, np.asarray(getattr(self, name), dtype=float))

    @property
    def n_transfers(self) -> int:
        return len(self.ids)

    def issues(self, n_vehicles: int, n_slots: int) -> list[FieldIssue]:
        """Every broken rule, named by path (``transfers[2].end_slot``)."""
        issues: list[FieldIssue] = []
        n = self.n_transfers
        for name in ("giver", "receiver", "start_slot", "end_slot", "energy_kwh"):
            size = getattr(self, name).size
            if size != n:
                issues.append(
                    FieldIssue(f"{PREFIX}.{name}", f"must have {n} values (one per id), got {size}")
                )
        if self.giver_floor_kwh.size != n:
            issues.append(FieldIssue(f"{PREFIX}.giver_floor_kwh", f"must have {n} values"))
        if issues:
            return issues
        if len(set(self.ids)) != n:
            issues.append(FieldIssue(f"{PREFIX}.ids", "must be unique"))

        def check(name: str, values: np.ndarray, bad: np.ndarray, rule: str) -> None:
            check_elements(issues, PREFIX, name, values, bad, rule, self.ids)

        for name in ("giver", "receiver"):
            values = getattr(self, name)
            check(
                name,
                values,
                (values < 0) | (values >= n_vehicles),
                f"must be in 0..{n_vehicles - 1}",
            )
        check("receiver", self.receiver, self.receiver == self.giver, "must differ from giver")
        check("start_slot", self.start_slot, self.start_slot < 0, "must be >= 0")
        check(
            "end_slot",
            self.end_slot,
            (self.end_slot <= self.start_slot) | (self.end_slot > n_slots),
            f"must be after start_slot and <= {n_slots} (the horizon)",
        )
        energy = self.energy_kwh
        check("energy_kwh", energy, ~np.isfinite(energy) | (energy < 0), "must be >= 0")
        floor = self.giver_floor_kwh
        check("giver_floor_kwh", floor, ~np.isfinite(floor) | (floor < 0), "must be >= 0")
        return issues
