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
    import_limit_kw : float or array of length T
        Maximum net import (breaker, contract, transformer rating), one value or one per slot
        (a grid operator's congestion event); ``inf`` when none. [kW]
    export_limit_kw : float or array of length T
        Maximum net export, as a positive number; ``inf`` when none. [kW]
    """

    base_load_kw: np.ndarray
    import_limit_kw: float | np.ndarray = math.inf
    export_limit_kw: float | np.ndarray = math.inf

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_load_kw", np.asarray(self.base_load_kw, dtype=float))
        for name in ("import_limit_kw", "export_limit_kw"):
            value = np.asarray(getattr(self, name), dtype=float)
            object.__setattr__(self, name, float(value) if value.ndim == 0 else value)

    @property
    def n_slots(self) -> int:
        return int(self.base_load_kw.size)

    @property
    def import_limit_slots_kw(self) -> np.ndarray:
        """The import limit of every slot. [kW]"""
        return np.broadcast_to(self.import_limit_kw, self.base_load_kw.shape)

    @property
    def export_limit_slots_kw(self) -> np.ndarray:
        """The export limit of every slot. [kW]"""
        return np.broadcast_to(self.export_limit_kw, self.base_load_kw.shape)

    def issues(self) -> list[FieldIssue]:
        issues: list[FieldIssue] = []
        base = as_float_array(issues, "site.base_load_kw", self.base_load_kw)
        if base.size == 0:
            issues.append(FieldIssue("site.base_load_kw", "must have at least one slot"))
        for name in ("import_limit_kw", "export_limit_kw"):
            value = np.asarray(getattr(self, name))
            if value.ndim == 1 and value.size != base.size:
                issues.append(
                    FieldIssue(
                        f"site.{name}",
                        f"must be one number or {base.size} values (one per slot), "
                        f"got {value.size}",
                    )
                )
                continue
            bad = np.flatnonzero(np.isnan(value.reshape(-1)) | (value.reshape(-1) < 0))
            if bad.size:
                where = f"site.{name}" + (f"[{bad[0]}]" if value.ndim else "")
                issues.append(
                    FieldIssue(where, f"{value.reshape(-1)[bad[0]].item()!r} must be >= 0")
                )
        return issues
