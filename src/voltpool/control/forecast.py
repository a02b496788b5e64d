"""What the controller knows of the next slots: the forecast source it is given.

A :class:`ForecastSource` answers, at slot ``t``, the homes' base load, the import and export
prices and the site's import and export limits for slots ``t .. t + H - 1`` *as known at t*.
The simulator implements it from its world (persistence or perfect foresight); the live service
will implement it from price feeds, OpenADR events and metered load.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model import Problem

FIELDS = (
    "base_load_kw",
    "import_price_per_kwh",
    "export_price_per_kwh",
    "import_limit_kw",
    "export_limit_kw",
)


@dataclass(frozen=True, eq=False)
class Forecast:
    """H slots ahead, one array of length H per quantity.

    ``base_load_kw`` is the site's load without the cars (positive for import) [kW]; prices
    in currency per kWh; limits in kW (``inf`` for none).
    """

    base_load_kw: np.ndarray
    import_price_per_kwh: np.ndarray
    export_price_per_kwh: np.ndarray
    import_limit_kw: np.ndarray
    export_limit_kw: np.ndarray

    def __post_init__(self) -> None:
        issues: list[FieldIssue] = []
        length = np.asarray(self.base_load_kw).size
        for name in FIELDS:
            values = np.asarray(getattr(self, name), dtype=float).reshape(-1)
            object.__setattr__(self, name, values)
            if values.size != length:
                issues.append(
                    FieldIssue(f"forecast.{name}", f"has {values.size} slots, expected {length}")
                )
            elif name.endswith("_limit_kw"):
                if (np.isnan(values) | (values < 0)).any():
                    issues.append(FieldIssue(f"forecast.{name}", "must be >= 0 (inf for none)"))
            elif not np.isfinite(values).all():
                issues.append(FieldIssue(f"forecast.{name}", "must be finite numbers"))
        if issues:
            raise ProblemError(issues)

    @property
    def n_slots(self) -> int:
        return int(self.base_load_kw.size)


@runtime_checkable
class ForecastSource(Protocol):
    """Anything that can tell the controller the next ``horizon_slots`` slots at slot ``t``."""

    def forecast(self, t: int, horizon_slots: int) -> Forecast: ...


class ProblemForecast:
    """A problem's site and tariff as a forecast source, its slots coming round again (the
    problem's day, then the same day again): a fixed problem under the controller, as the
    benchmarks and tests run it. Slot ``t`` of the forecast is slot ``t mod n_slots`` of the
    problem; what is known at ``t`` is the problem itself (perfect foresight)."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem

    def forecast(self, t: int, horizon_slots: int) -> Forecast:
        slots = np.arange(t, t + horizon_slots)
        site, tariff = self.problem.site, self.problem.tariff

        def ahead(values: np.ndarray) -> np.ndarray:
            return np.take(values, slots, mode="wrap")

        return Forecast(
            ahead(site.base_load_kw),
            ahead(tariff.import_price_per_kwh),
            ahead(tariff.export_price_per_kwh),
            ahead(site.import_limit_slots_kw),
            ahead(site.export_limit_slots_kw),
        )
