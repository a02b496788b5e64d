"""Fleet of vehicles as a struct of arrays: one numpy array per attribute over N vehicles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model._checks import check_elements
from voltpool.model.rules import OwnerRules
from voltpool.model.wear import BatteryWear

FLOAT_FIELDS = (
    "capacity_kwh",
    "soc_initial",
    "soc_min",
    "soc_max",
    "soc_target",
    "max_charge_kw",
    "max_discharge_kw",
    "charge_efficiency",
    "discharge_efficiency",
    "degradation_cost_per_kwh",
)
INT_FIELDS = ("arrival_slot", "departure_slot")
DEFAULT_CHARGE_EFFICIENCY = 0.9
DEFAULT_DISCHARGE_EFFICIENCY = 0.9
"""A car's AC-side efficiencies when its owner gives none (circle and home files; the problem
format requires them): the 3-phase 16 A charging efficiency of the V2G-capable models shipped
in ``voltpool/data/files/ev_models_v2g.csv`` (0.90 for all but one)."""


def check_car_values(
    cars: Any,
    prefix: str,
    ids: Sequence[str],
    issues: list[FieldIssue],
    finite_fields: Sequence[str],
) -> None:
    """The rules every car record keeps, wherever it is held (a problem's fleet, the
    controller's car table): ``finite_fields`` finite, capacity > 0, ``soc_min``,
    ``soc_max`` and ``soc_target`` within [0, 1] and not above ``soc_max``, charger limits and
    flat wear >= 0, efficiencies within (0, 1]. Issues are named ``prefix[i].field``."""

    def check(name: str, bad: np.ndarray, rule: str | object) -> None:
        check_elements(issues, prefix, name, getattr(cars, name), bad, rule, ids)  # type: ignore[arg-type]

    for name in finite_fields:
        check(name, ~np.isfinite(getattr(cars, name)), "must be a finite number")
    check("capacity_kwh", ~(cars.capacity_kwh > 0), "must be > 0")
    soc_max = cars.soc_max
    for name in ("soc_min", "soc_max", "soc_target"):
        values = getattr(cars, name)
        check(name, ~((values >= 0) & (values <= 1)), "must be within [0, 1]")
    for name in ("soc_min", "soc_target"):
        check(
            name,
            getattr(cars, name) > soc_max,
            lambda i: f"must be <= soc_max ({soc_max[i].item()!r})",
        )
    for name in ("max_charge_kw", "max_discharge_kw", "degradation_cost_per_kwh"):
        check(name, getattr(cars, name) < 0, "must be >= 0")
    for name in ("charge_efficiency", "discharge_efficiency"):
        values = getattr(cars, name)
        check(name, ~((values > 0) & (values <= 1)), "must be within (0, 1]")


@dataclass(frozen=True, eq=False)
class Fleet:
    """N vehicles, each attribute a length-N array.

    A vehicle is plugged in for slots ``arrival_slot <= t < departure_slot``. Power at the AC
    side is positive when charging. The battery's energy changes by
    ``charge_efficiency * p_charge * dt_h - p_discharge * dt_h / discharge_efficiency``.

    Parameters
    ----------
    ids : sequence of str
        Unique vehicle identifiers.
    capacity_kwh : array
        Usable battery capacity. [kWh]
    soc_initial, soc_min, soc_max, soc_target : array
        State of charge at arrival, reserve floor, ceiling, and wished level at departure. [0..1]
    arrival_slot, departure_slot : int array
        First plugged-in slot and first slot after leaving. [slot index]
    max_charge_kw, max_discharge_kw : array
        Charger limits at the AC side; ``max_discharge_kw = 0`` is a one-way charger. [kW]
    charge_efficiency, discharge_efficiency : array
        Grid-to-battery and battery-to-grid efficiency. [0..1]
    degradation_cost_per_kwh : array
        Wear cost per kWh discharged at the AC side (throughput cost). [currency/kWh]
    wear : BatteryWear, optional
        Cycle-depth and SoC-dwell costs (the optional per-vehicle ``battery`` block).
    rules : OwnerRules, optional
        The owners' rules for V2G and V2V (the optional per-vehicle ``rules`` block,
        :mod:`voltpool.model.rules`).
    """

    ids: tuple[str, ...]
    capacity_kwh: np.ndarray
    soc_initial: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray
    soc_target: np.ndarray
    arrival_slot: np.ndarray
    departure_slot: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    degradation_cost_per_kwh: np.ndarray = field(default=None)  # type: ignore[assignment]
    wear: BatteryWear | None = None
    rules: OwnerRules | None = None

    def __post_init__(self) -> None:
        ids = tuple(str(i) for i in self.ids)
        object.__setattr__(self, "ids", ids)
        n = len(ids)
        if self.degradation_cost_per_kwh is None:
            object.__setattr__(self, "degradation_cost_per_kwh", np.zeros(n))
        issues: list[FieldIssue] = []
        for name in FLOAT_FIELDS:
            array = np.asarray(getattr(self, name), dtype=float).reshape(-1)
            object.__setattr__(self, name, array)
        for name in INT_FIELDS:
            raw = np.asarray(getattr(self, name))
            array = raw.astype(np.int64).reshape(-1)
            if raw.size and not np.array_equal(array, raw):
                issues.append(FieldIssue(f"vehicles[*].{name}", "must be whole slot numbers"))
            object.__setattr__(self, name, array)
        for name in FLOAT_FIELDS + INT_FIELDS:
            size = getattr(self, name).size
            if size != n:
                issues.append(
                    FieldIssue(f"vehicles[*].{name}", f"has {size} values for {n} vehicles")
                )
        if self.wear is not None and self.wear.cycle_depth_cost_per_kwh.shape[0] != n:
            issues.append(
                FieldIssue(
                    "vehicles[*].battery",
                    f"wear costs given for "
                    f"{self.wear.cycle_depth_cost_per_kwh.shape[0]} of {n} vehicles",
                )
            )
        if self.rules is not None and self.rules.n_cars != n:
            issues.append(
                FieldIssue("vehicles[*].rules", f"rules given for {self.rules.n_cars} of {n}")
            )
        if issues:
            raise ProblemError(issues)
        self._validate_values()

    @property
    def n_vehicles(self) -> int:
        return len(self.ids)

    @property
    def energy_initial_kwh(self) -> np.ndarray:
        return self.soc_initial * self.capacity_kwh

    @property
    def energy_target_kwh(self) -> np.ndarray:
        return self.soc_target * self.capacity_kwh

    @property
    def discharge_floor_soc(self) -> np.ndarray:
        """What V2G and V2V never discharge below: the reserve ``soc_min`` or the owner's
        ``v2g_floor_soc``, whichever is higher. [0..1]"""
        if self.rules is None:
            return self.soc_min
        return np.maximum(self.soc_min, self.rules.v2g_floor_soc)

    @property
    def energy_floor_kwh(self) -> np.ndarray:
        """Lowest allowed stored energy: the discharge floor (:attr:`discharge_floor_soc`), or
        the arrival level if it is below it."""
        return np.minimum(self.discharge_floor_soc, self.soc_initial) * self.capacity_kwh

    @property
    def energy_ceiling_kwh(self) -> np.ndarray:
        return self.soc_max * self.capacity_kwh

    @property
    def plugged_slots(self) -> np.ndarray:
        """Number of slots each vehicle is plugged in. [slots]"""
        return self.departure_slot - self.arrival_slot

    def plugged_mask(self, n_slots: int) -> np.ndarray:
        """Boolean ``[N, T]``: true where vehicle n is plugged in during slot t."""
        slots = np.arange(n_slots)
        return (self.arrival_slot[:, None] <= slots) & (slots < self.departure_slot[:, None])

    def check_horizon(self, n_slots: int) -> list[FieldIssue]:
        """Rules that depend on the horizon length T."""
        issues: list[FieldIssue] = []
        check_elements(
            issues,
            "vehicles",
            "arrival_slot",
            self.arrival_slot,
            self.arrival_slot >= n_slots,
            f"must be < the number of slots ({n_slots})",
            self.ids,
        )
        check_elements(
            issues,
            "vehicles",
            "departure_slot",
            self.departure_slot,
            self.departure_slot > n_slots,
            f"must be <= the number of slots ({n_slots})",
            self.ids,
        )
        return issues

    def _validate_values(self) -> None:
        issues: list[FieldIssue] = []
        ids = self.ids
        seen: dict[str, int] = {}
        for index, vehicle_id in enumerate(ids):
            if vehicle_id in seen:
                issues.append(
                    FieldIssue(
                        f"vehicles[{index}].id",
                        f"{vehicle_id!r} repeats vehicles[{seen[vehicle_id]}].id; ids must be "
                        "unique",
                    )
                )
            seen.setdefault(vehicle_id, index)

        check_car_values(self, "vehicles", ids, issues, FLOAT_FIELDS)

        def check(name: str, bad: np.ndarray, rule: str | object) -> None:
            check_elements(issues, "vehicles", name, getattr(self, name), bad, rule, ids)  # type: ignore[arg-type]

        values = self.soc_initial
        check("soc_initial", ~((values >= 0) & (values <= 1)), "must be within [0, 1]")
        check(
            "soc_initial",
            self.soc_initial > self.soc_max,
            lambda i: f"must be <= soc_max ({self.soc_max[i].item()!r})",
        )
        check("arrival_slot", self.arrival_slot < 0, "must be >= 0")
        check(
            "departure_slot",
            self.departure_slot <= self.arrival_slot,
            lambda i: f"must be after arrival_slot ({self.arrival_slot[i]})",
        )
        if issues:
            raise ProblemError(issues)

    @classmethod
    def from_records(cls, records: Sequence[dict[str, object]]) -> Fleet:
        """Build from a list of per-vehicle dicts (the JSON problem's ``vehicles``)."""
        columns: dict[str, list[object]] = {name: [] for name in FLOAT_FIELDS + INT_FIELDS}
        for record in records:
            for name in columns:
                default = 0.0 if name == "degradation_cost_per_kwh" else None
                columns[name].append(record.get(name, default))
        return cls(
            ids=tuple(str(r["id"]) for r in records),
            **{k: np.asarray(v) for k, v in columns.items()},
            wear=BatteryWear.from_records(records),
            rules=OwnerRules.from_records([r.get("rules") for r in records]),  # type: ignore[misc]
        )

    def to_records(self) -> list[dict[str, object]]:
        """The inverse of :meth:`from_records`, with plain Python numbers."""
        records: list[dict[str, object]] = []
        for index, vehicle_id in enumerate(self.ids):
            record: dict[str, object] = {"id": vehicle_id}
            for name in FLOAT_FIELDS:
                record[name] = float(getattr(self, name)[index])
            for name in INT_FIELDS:
                record[name] = int(getattr(self, name)[index])
            if self.wear is not None and (block := self.wear.to_record(index)):
                record["battery"] = block
            if self.rules is not None and (rules := self.rules.to_record(index)):
                record["rules"] = rules
            records.append(record)
        return records
