"""How metric values are written for people: one rule per unit, shared by every report."""

from __future__ import annotations

import math

from voltpool.simulate.metrics import METRIC_LABELS


def metric_label(key: str) -> str:
    """Human label of a metric key, with its unit in round brackets."""
    return METRIC_LABELS.get(key, key)


def format_metric(key: str, value: float) -> str:
    """``value`` of metric ``key`` as text: decimals follow the unit; NaN reads ``n/a``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    value = float(value)
    if key.endswith("_count"):
        return f"{value:,.0f}"
    if "residual" in key:
        return f"{value:.1e}"
    if key.startswith("solver_time") or key == "load_factor":
        return f"{value:,.3f}"
    if "_eur" in key or key.endswith("_h"):
        return f"{value:,.2f}"
    return f"{value:,.1f}"


__all__ = ["format_metric", "metric_label"]
