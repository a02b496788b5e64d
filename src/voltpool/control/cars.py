"""The car table the controller plans for: per-car arrays, live-friendly.

One row per car the controller may set the power of (struct of arrays, the problem format's
names and units). What changes every slot (stored energy, plugged in or not, expected
departure) is not here: it arrives with each :class:`~voltpool.control.Observation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.fleet import Fleet, check_car_values
from voltpool.model.rules import OwnerRules
from voltpool.model.wear import BatteryWear

PREFIX = "cars"
FLOAT_FIELDS = (
    "capacity_kwh",
    "max_charge_kw",
    "max_discharge_kw",
    "charge_efficiency",
    "discharge_efficiency",
    "soc_min",
    "soc_max",
    "soc_target",
    "degradation_cost_per_kwh",
)


@dataclass(frozen=True, eq=False)
class CarTable:
    """N cars, each attribute a length-N array.

    Parameters
    ----------
    ids : sequence of str
        Unique car identifiers.
    capacity_kwh : array
        Usable battery capacity. [kWh]
    max_charge_kw, max_discharge_kw : array
        Charger limits at the AC side; 0 discharge is a one-way charger. [kW]
    charge_efficiency, discharge_efficiency : array
        Grid-to-battery and battery-to-grid efficiency. [0..1]
    soc_min, soc_max, soc_target : array
        The driver's reserve, the ceiling and the wished level at departure. [0..1]
    degradation_cost_per_kwh : array
        Flat wear cost per kWh discharged at the AC side. [currency/kWh]
    wear : BatteryWear, optional
        Calibrated cycle-depth and SoC-dwell costs, computed once (replaces the flat cost).
    rules : OwnerRules, optional
        The owners' rules for V2G and V2V (:mod:`voltpool.model.rules`); their history
        (energy given today and on the six days before) arrives with each observation.
    """

    ids: tuple[str, ...]
    capacity_kwh: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_target: np.ndarray
    degradation_cost_per_kwh: np.ndarray = field(default=None)  # type: ignore[assignment]
    wear: BatteryWear | None = None
    rules: OwnerRules | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        n = len(self.ids)
        if self.degradation_cost_per_kwh is None:
            object.__setattr__(self, "degradation_cost_per_kwh", np.zeros(n))
        issues: list[FieldIssue] = []
        for name in FLOAT_FIELDS:
            values = np.asarray(getattr(self, name), dtype=float).reshape(-1)
            if values.size != n:
                issues.append(
                    FieldIssue(f"{PREFIX}.{name}", f"has {values.size} values for {n} cars")
                )
            object.__setattr__(self, name, values)
        if self.rules is not None and self.rules.n_cars != n:
            issues.append(
                FieldIssue(f"{PREFIX}.rules", f"rules given for {self.rules.n_cars} of {n} cars")
            )
        if not issues:
            check_car_values(self, PREFIX, self.ids, issues, FLOAT_FIELDS)
        if issues:
            raise ProblemError(issues)

    @property
    def n_cars(self) -> int:
        return len(self.ids)

    @classmethod
    def from_fleet(cls, fleet: Fleet) -> CarTable:
        """The cars of a problem's fleet (its per-session fields left behind)."""
        return cls(
            ids=fleet.ids,
            wear=fleet.wear,
            rules=fleet.rules,
            **{name: getattr(fleet, name) for name in FLOAT_FIELDS},
        )
