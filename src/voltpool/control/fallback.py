"""The safe plan the controller follows when a new plan cannot be trusted.

Charge on arrival towards the target (never discharging, so no car goes below its reserve or
the floor it arrived with), scaled down per slot so the site stays under its import limit
wherever the base load alone leaves room. It knows nothing of prices: it is what a charger
does with no central system, kept within the site's fuse.
"""

from __future__ import annotations

import numpy as np

from voltpool.model import Problem
from voltpool.schedule.uncontrolled import uncontrolled_power_kw


def safe_plan_kw(problem: Problem) -> np.ndarray:
    """AC power ``[N, T]``: charge-on-arrival within the import limit, no discharge. [kW]"""
    power_kw = uncontrolled_power_kw(problem)
    headroom_kw = np.maximum(problem.site.import_limit_slots_kw - problem.site.base_load_kw, 0.0)
    wanted_kw = power_kw.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(wanted_kw > headroom_kw, headroom_kw / wanted_kw, 1.0)
    return power_kw * scale[None, :]
