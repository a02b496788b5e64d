"""What energy costs at the site: import and export prices per slot and a demand charge."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voltpool.errors import FieldIssue
from voltpool.model._checks import as_float_array


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
    """

    import_price_per_kwh: np.ndarray
    export_price_per_kwh: np.ndarray | None = None
    peak_price_per_kw: float = 0.0
    peak_baseline_kw: float = 0.0

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
        return issues
