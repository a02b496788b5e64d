"""What energy costs at the site: import and export prices per slot and a demand charge.

A demand charge (a capacity tariff's monthly peak, a utility's demand charge) is billed per
*billing period* on the period's highest net import above a baseline. A horizon lies in one
period, or crosses into the next one (a plan made on the 31st that reaches into the 1st):
``Tariff.next_period`` then says where the new period starts, with its own price and baseline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voltpool.errors import FieldIssue
from voltpool.model._checks import as_float_array


@dataclass(frozen=True)
class PeakPeriod:
    """The next billing period of a demand charge, starting inside the horizon.

    Parameters
    ----------
    start_slot : int
        Its first slot (0 < start_slot < T): from here on imports count toward its peak.
    price_per_kw : float
        Its demand charge. [currency/kW]
    baseline_kw : float
        The import billed in it anyway (a capacity tariff's minimum): the charge applies only to
        the increase above it. [kW]
    """

    start_slot: int
    price_per_kw: float
    baseline_kw: float = 0.0

    def issues(self, n_slots: int) -> list[FieldIssue]:
        issues = []
        if not 0 < self.start_slot < n_slots:
            issues.append(
                FieldIssue(
                    "tariff.next_period.start_slot",
                    f"{self.start_slot!r} must be a slot inside the horizon (1..{n_slots - 1})",
                )
            )
        for name in ("price_per_kw", "baseline_kw"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                issues.append(FieldIssue(f"tariff.next_period.{name}", f"{value!r} must be >= 0"))
        return issues


@dataclass(frozen=True, eq=False)
class Tariff:
    """Prices per slot; ``export_price_per_kwh`` defaults to the import price.

    Parameters
    ----------
    import_price_per_kwh : array of length T
        Paid per kWh imported; may be negative. [currency/kWh]
    export_price_per_kwh : array of length T, optional
        Earned per kWh exported; must not exceed the import price in the same slot (otherwise
        importing and exporting at once would be a money pump). [currency/kWh]
    peak_price_per_kw : float
        Demand charge on the highest net import over the horizon. [currency/kW]
    peak_baseline_kw : float
        Highest import already reached in the billing period: the demand charge applies only to
        the increase above it (as FlexMeasures' ``site-peak-consumption``). [kW]
    next_period : PeakPeriod, optional
        The billing period that starts inside the horizon; ``peak_price_per_kw`` and
        ``peak_baseline_kw`` then bill the slots before ``next_period.start_slot`` only.
    """

    import_price_per_kwh: np.ndarray
    export_price_per_kwh: np.ndarray | None = None
    peak_price_per_kw: float = 0.0
    peak_baseline_kw: float = 0.0
    next_period: PeakPeriod | None = None

    @property
    def has_peak(self) -> bool:
        """Whether a demand charge applies in any slot of the horizon."""
        later = self.next_period.price_per_kw if self.next_period else 0.0
        return self.peak_price_per_kw > 0 or later > 0

    def peak_periods(self, n_slots: int) -> list[tuple[slice, float, float]]:
        """The billing periods over ``n_slots`` slots: (slots, price per kW, baseline kW)."""
        if self.next_period is None:
            return [(slice(0, n_slots), self.peak_price_per_kw, self.peak_baseline_kw)]
        later = self.next_period
        return [
            (slice(0, later.start_slot), self.peak_price_per_kw, self.peak_baseline_kw),
            (slice(later.start_slot, n_slots), later.price_per_kw, later.baseline_kw),
        ]

    def peak_cost(self, net_kw: np.ndarray) -> float:
        """The demand charge of a site net load ``net_kw`` [T]: per billing period, its price
        times the increase of the period's highest import above its baseline. [currency]"""
        return sum(
            price * max(0.0, float(net_kw[slots].max()) - baseline)
            for slots, price, baseline in self.peak_periods(net_kw.size)
        )

    def __post_init__(self) -> None:
        import_price = np.asarray(self.import_price_per_kwh, dtype=float)
        object.__setattr__(self, "import_price_per_kwh", import_price)
        export = self.export_price_per_kwh
        export_price = import_price.copy() if export is None else np.asarray(export, dtype=float)
        object.__setattr__(self, "export_price_per_kwh", export_price)
        object.__setattr__(self, "peak_price_per_kw", float(self.peak_price_per_kw))
        object.__setattr__(self, "peak_baseline_kw", float(self.peak_baseline_kw))

    def issues(self, n_slots: int) -> list[FieldIssue]:
        issues: list[FieldIssue] = []
        buy = as_float_array(
            issues, "tariff.import_price_per_kwh", self.import_price_per_kwh, n_slots
        )
        sell = as_float_array(
            issues, "tariff.export_price_per_kwh", self.export_price_per_kwh, n_slots
        )
        if buy.shape == sell.shape:
            above = np.flatnonzero(sell > buy + 1e-12)
            if above.size:
                t = int(above[0])
                issues.append(
                    FieldIssue(
                        f"tariff.export_price_per_kwh[{t}]",
                        f"{sell[t].item()!r} must be <= import_price_per_kwh[{t}] "
                        f"({buy[t].item()!r})"
                        + (f"; {above.size} slots break this rule" if above.size > 1 else ""),
                    )
                )
        peak = self.peak_price_per_kw
        if not np.isfinite(peak) or peak < 0:
            issues.append(FieldIssue("tariff.peak_price_per_kw", f"{peak!r} must be >= 0"))
        baseline = self.peak_baseline_kw
        if not np.isfinite(baseline) or baseline < 0:
            issues.append(FieldIssue("tariff.peak_baseline_kw", f"{baseline!r} must be >= 0"))
        if self.next_period is not None:
            issues += self.next_period.issues(n_slots)
        return issues


@dataclass(frozen=True, eq=False)
class PeakBilling:
    """A demand charge billed per period over a run (a capacity tariff's calendar months).

    Period p covers the slots from ``start_slot[p]`` to ``start_slot[p + 1] - 1`` (the last
    one to the run's end) and is billed ``price_per_kw[p]`` per kW of its highest net import,
    at least ``min_kw``; slots before ``start_slot[0]`` are not billed.

    Parameters
    ----------
    start_slot : array [P] of int
        First slot of each period, increasing.
    price_per_kw : array [P]
        Each period's demand charge (a month's capacity price, prorated when the run covers
        part of the month). [currency/kW]
    min_kw : float
        The least peak billed in a period (a capacity tariff's minimum). [kW]
    """

    start_slot: np.ndarray
    price_per_kw: np.ndarray
    min_kw: float = 0.0

    def __post_init__(self) -> None:
        start = np.asarray(self.start_slot, dtype=np.int64).reshape(-1)
        price = np.asarray(self.price_per_kw, dtype=float).reshape(-1)
        if start.size != price.size or (np.diff(start) <= 0).any():
            raise ValueError("start_slot must increase and match price_per_kw one to one")
        object.__setattr__(self, "start_slot", start)
        object.__setattr__(self, "price_per_kw", price)

    @classmethod
    def single(cls, price_per_kw: float, start_slot: int = 0) -> PeakBilling:
        """One period from ``start_slot`` on (a demand charge on the run's highest import)."""
        return cls(np.array([start_slot]), np.array([price_per_kw]))

    def period_of(self, slot: int) -> int:
        """The period slot ``slot`` is billed in (-1 before the first)."""
        return int(np.searchsorted(self.start_slot, slot, side="right")) - 1

    def starts_period(self, slot: int) -> bool:
        """Whether a billing period starts at ``slot`` (the peak so far is reset)."""
        return bool(np.isin(slot, self.start_slot))

    def horizon(self, slot: int, n_slots: int, peak_so_far_kw: float) -> dict[str, object]:
        """The demand-charge fields of a :class:`Tariff` for ``n_slots`` slots from ``slot``,
        given the highest import of the current period so far."""
        p = self.period_of(slot)
        fields: dict[str, object] = {
            "peak_price_per_kw": float(self.price_per_kw[p]) if p >= 0 else 0.0,
            "peak_baseline_kw": max(peak_so_far_kw, self.min_kw),
        }
        if p + 1 < self.start_slot.size and self.start_slot[p + 1] < slot + n_slots:
            fields["next_period"] = PeakPeriod(
                int(self.start_slot[p + 1] - slot), float(self.price_per_kw[p + 1]), self.min_kw
            )
        return fields

    def bill(self, net_kw: np.ndarray, first_slot: int = 0) -> np.ndarray:
        """``[P]`` each period's charge on a net load ``net_kw`` whose element 0 is slot
        ``first_slot`` (a period outside it costs nothing). [currency]"""
        end = first_slot + net_kw.size
        bounds = np.append(self.start_slot, max(end, int(self.start_slot[-1]) + 1))
        cost = np.zeros(self.start_slot.size)
        for p in range(self.start_slot.size):
            lo, hi = max(bounds[p], first_slot), min(bounds[p + 1], end)
            if lo < hi:
                peak_kw = max(self.min_kw, float(net_kw[lo - first_slot : hi - first_slot].max()))
                cost[p] = self.price_per_kw[p] * peak_kw
        return cost
