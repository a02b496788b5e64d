"""The site the vehicles are plugged in at: its base load and its grid-connection limits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from voltpool.errors import FieldIssue
from voltpool.model._checks import as_float_array


@dataclass(frozen=True, eq=False)
class Site:
    """A grid connection (a house, a car park, an LV transformer).

    Parameters
    ----------
    base_load_kw : array of length T
        Load that is not the vehicles' (houses, PV as negative load); import positive. [kW]
    import_limit_kw : float
        Maximum net import (breaker, contract, transformer rating); ``inf`` when none. [kW]
    export_limit_kw : float
        Maximum net export, as a positive number; ``inf`` when none. [kW]
    """

    base_load_kw: np.ndarray
    import_limit_kw: float = math.inf
    export_limit_kw: float = math.inf

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_load_kw", np.asarray(self.base_load_kw, dtype=float))
        object.__setattr__(self, "import_limit_kw", float(self.import_limit_kw))
        object.__setattr__(self, "export_limit_kw", float(self.export_limit_kw))

    @property
    def n_slots(self) -> int:
        return int(self.base_load_kw.size)

    def issues(self) -> list[FieldIssue]:
        issues: list[FieldIssue] = []
        base = as_float_array(issues, "site.base_load_kw", self.base_load_kw)
        if base.size == 0:
            issues.append(FieldIssue("site.base_load_kw", "must have at least one slot"))
        for name in ("import_limit_kw", "export_limit_kw"):
            value = getattr(self, name)
            if math.isnan(value) or value < 0:
                issues.append(FieldIssue(f"site.{name}", f"{value!r} must be >= 0"))
        return issues
