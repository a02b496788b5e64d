"""A circle of friends who share kWh: its members, their cars (struct of arrays) and sites.

A :class:`Circle` is the in-memory form the simulator can build directly; TOML files are read
by :mod:`voltpool.files.circle`. Each car is plugged in at most once in the horizon (one site,
``plugged_from <= t < plugged_until``); an empty ``site`` means not plugged in.

Times are timezone-aware and stored in UTC. The core works on slots of the clock
(:class:`voltpool.model.SlotGrid`) whose origin is *now* rounded up to the next slot boundary,
so no slot starts in the past. Windows are rounded inwards: a window or a plug-in session
covers only the slots that lie wholly inside it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model._checks import check_elements
from voltpool.model.clock import SlotGrid, as_utc

MAX_HORIZON_DAYS = 7
"""Windows and plug-in sessions must end within a week of now (keeps every LP small)."""
ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,32}")
ID_RULE = "must be 1-32 characters of A-Z a-z 0-9 _ -"

CAR_FLOAT_FIELDS = (
    "capacity_kwh",
    "charge_efficiency",
    "discharge_efficiency",
    "max_charge_kw",
    "max_discharge_kw",
    "soc",
    "soc_min",
    "soc_max",
)


def _float_array(values: Sequence[float] | np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float).reshape(-1)


def _times(values: Sequence[object] | pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """UTC times (NaT for None); naive times are local to ``timezone``."""
    if isinstance(values, pd.DatetimeIndex):  # the simulator's path: no per-car loop
        local = values.tz_localize(timezone) if values.tz is None else values
        return local.tz_convert("UTC").as_unit("ns")
    out = [pd.NaT if v is None or pd.isna(v) else as_utc(v, timezone) for v in values]  # type: ignore[arg-type]
    return pd.DatetimeIndex(out, dtype="datetime64[ns, UTC]")


def id_issues(prefix: str, ids: Sequence[object]) -> list[FieldIssue]:
    """``prefix[i].id`` for every id that breaks :data:`ID_RULE` or repeats an earlier one."""
    issues: list[FieldIssue] = []
    seen: dict[str, int] = {}
    for i, value in enumerate(ids):
        if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
            issues.append(FieldIssue(f"{prefix}[{i}].id", f"{value!r} {ID_RULE}"))
        elif value in seen:
            issues.append(
                FieldIssue(f"{prefix}[{i}].id", f"{value!r} repeats {prefix}[{seen[value]}].id")
            )
        seen.setdefault(str(value), i)
    return issues


@dataclass(frozen=True, eq=False)
class Cars:
    """N cars as a struct of arrays.

    Parameters
    ----------
    ids, owner : sequence of str
        Car identifiers and the member who owns each car.
    capacity_kwh : array
        Usable battery capacity. [kWh]
    charge_efficiency, discharge_efficiency : array
        AC-to-battery and battery-to-AC efficiency. [0..1]
    max_charge_kw, max_discharge_kw : array
        Charger limits at the AC side; ``max_discharge_kw = 0`` is a one-way charger. [kW]
    soc, soc_min, soc_max : array
        State of charge now, the owner's reserve (never given away) and the ceiling. [0..1]
    site : sequence of str
        Where each car is plugged in; ``""`` when it is not.
    plugged_from, plugged_until : sequence of datetimes
        The plug-in session (``None``/NaT when not plugged in); naive times are local to
        ``timezone``.
    """

    ids: tuple[str, ...]
    owner: tuple[str, ...]
    capacity_kwh: np.ndarray
    charge_efficiency: np.ndarray
    discharge_efficiency: np.ndarray
    max_charge_kw: np.ndarray
    max_discharge_kw: np.ndarray
    soc: np.ndarray
    soc_min: np.ndarray
    soc_max: np.ndarray = field(default=None)  # type: ignore[assignment]
    site: tuple[str, ...] = ()
    plugged_from: pd.DatetimeIndex = field(default=None)  # type: ignore[assignment]
    plugged_until: pd.DatetimeIndex = field(default=None)  # type: ignore[assignment]
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        n = len(self.ids)
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        object.__setattr__(self, "owner", tuple(str(o) for o in self.owner))
        if self.soc_max is None:
            object.__setattr__(self, "soc_max", np.ones(n))
        for name in CAR_FLOAT_FIELDS:
            object.__setattr__(self, name, _float_array(getattr(self, name)))
        site = tuple(str(s or "") for s in self.site) if self.site else ("",) * n
        object.__setattr__(self, "site", site)
        for name in ("plugged_from", "plugged_until"):
            values = getattr(self, name)
            object.__setattr__(
                self, name, _times([None] * n if values is None else values, self.timezone)
            )
        issues = self.issues()
        if issues:
            raise ProblemError(issues)

    @property
    def n_cars(self) -> int:
        return len(self.ids)

    @property
    def energy_kwh(self) -> np.ndarray:
        """Stored energy now. [kWh]"""
        return self.soc * self.capacity_kwh

    @property
    def room_kwh(self) -> np.ndarray:
        """Energy that still fits below ``soc_max``. [kWh]"""
        return (self.soc_max - self.soc) * self.capacity_kwh

    @property
    def at_site(self) -> np.ndarray:
        """True where a car names a site (it should then have a plug-in session)."""
        return np.array(self.site, dtype=str) != ""

    @property
    def plugged(self) -> np.ndarray:
        """True where a car is plugged in (has a site and a session)."""
        return self.at_site & ~self.plugged_from.isna() & ~self.plugged_until.isna()

    def row(self, car_id: str) -> int:
        return self.ids.index(car_id)

    def plug_slots(self, grid: SlotGrid) -> tuple[np.ndarray, np.ndarray]:
        """First plugged-in slot and first slot after it, per car (equal when not plugged)."""
        plugged = self.plugged
        first = np.zeros(self.n_cars, dtype=np.int64)
        end = np.zeros(self.n_cars, dtype=np.int64)
        first[plugged] = grid.first_slot(self.plugged_from[plugged])
        end[plugged] = np.maximum(grid.end_slot(self.plugged_until[plugged]), first[plugged])
        return first, end

    def issues(self, prefix: str = "cars") -> list[FieldIssue]:
        """Every broken rule, named by path (``cars[2].soc``)."""
        n = len(self.ids)
        issues: list[FieldIssue] = []
        sizes = {name: getattr(self, name).size for name in CAR_FLOAT_FIELDS}
        sizes |= {"owner": len(self.owner), "site": len(self.site)}
        sizes |= {"plugged_from": len(self.plugged_from), "plugged_until": len(self.plugged_until)}
        for name, size in sizes.items():
            if size != n:
                issues.append(FieldIssue(f"{prefix}[*].{name}", f"has {size} values for {n} cars"))
        if issues:
            return issues
        issues += id_issues(prefix, self.ids)

        def check(name: str, bad: np.ndarray, rule: str | Callable[[int], str]) -> None:
            check_elements(issues, prefix, name, getattr(self, name), bad, rule)

        for name in CAR_FLOAT_FIELDS:
            check(name, ~np.isfinite(getattr(self, name)), "must be a finite number")
        check("capacity_kwh", ~(self.capacity_kwh > 0), "must be > 0")
        for name in ("charge_efficiency", "discharge_efficiency"):
            values = getattr(self, name)
            check(name, ~((values > 0) & (values <= 1)), "must be within (0, 1]")
        for name in ("max_charge_kw", "max_discharge_kw"):
            check(name, getattr(self, name) < 0, "must be >= 0")
        for name in ("soc", "soc_min"):
            values = getattr(self, name)
            check(name, ~((values >= 0) & (values <= 1)), "must be within [0, 1]")
        check("soc_max", ~((self.soc_max > 0) & (self.soc_max <= 1)), "must be within (0, 1]")
        for name in ("soc", "soc_min"):
            check(
                name,
                getattr(self, name) > self.soc_max,
                lambda i: f"must be <= soc_max ({self.soc_max[i].item()!r})",
            )
        plugged = self.plugged
        backwards = plugged & (self.plugged_until <= self.plugged_from)
        for i in np.flatnonzero((self.at_site & ~plugged) | backwards):
            start, until = self.plugged_from[i], self.plugged_until[i]
            rule = (
                f"{until.isoformat()} must be after plugged_from ({start.isoformat()})"
                if plugged[i]
                else "a plugged-in car needs from/until"
            )
            issues.append(FieldIssue(f"{prefix}[{i}].plugged_until", rule))
        return issues


@dataclass(frozen=True, eq=False)
class Sites:
    """Homes and other places with chargers (struct of arrays).

    Parameters
    ----------
    ids : sequence of str
    import_limit_kw, export_limit_kw : array
        Grid-connection limits (``inf`` when none), export as a positive number. [kW]
    base_load_kw : array
        Constant load that is not the cars' (import positive). [kW]
    """

    ids: tuple[str, ...]
    import_limit_kw: np.ndarray
    export_limit_kw: np.ndarray
    base_load_kw: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        object.__setattr__(self, "ids", tuple(str(i) for i in self.ids))
        if self.base_load_kw is None:
            object.__setattr__(self, "base_load_kw", np.zeros(len(self.ids)))
        for name in ("import_limit_kw", "export_limit_kw", "base_load_kw"):
            object.__setattr__(self, name, _float_array(getattr(self, name)))
        issues = self.issues()
        if issues:
            raise ProblemError(issues)

    @property
    def n_sites(self) -> int:
        return len(self.ids)

    def row(self, site_id: str) -> int:
        return self.ids.index(site_id)

    def issues(self, prefix: str = "sites") -> list[FieldIssue]:
        issues: list[FieldIssue] = []
        n = len(self.ids)
        for name in ("import_limit_kw", "export_limit_kw", "base_load_kw"):
            values = getattr(self, name)
            if values.size != n:
                issues.append(
                    FieldIssue(f"{prefix}[*].{name}", f"has {values.size} values for {n}")
                )
            elif name == "base_load_kw":
                check_elements(
                    issues, prefix, name, values, ~np.isfinite(values), "must be a finite number"
                )
            else:
                check_elements(
                    issues, prefix, name, values, np.isnan(values) | (values < 0), "must be >= 0"
                )
        return issues + id_issues(prefix, self.ids)


@dataclass(frozen=True, eq=False)
class Circle:
    """Friends who share kWh: members, their cars and the sites the cars are plugged in at.

    ``starting_millicredits`` is granted once to each member from the circle's pool account
    (:func:`voltpool.settlement.open_accounts`); members may also hold credits earned elsewhere
    (V2G settlement uses the same ``<member>.credits`` account).
    """

    id: str
    members: tuple[str, ...]
    cars: Cars
    sites: Sites
    timezone: str = "UTC"
    starting_millicredits: dict[str, int] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", tuple(str(m) for m in self.members))
        issues = self.issues()
        if issues:
            raise ProblemError(issues)

    def issues(self) -> list[FieldIssue]:
        """Cross-references: owners are members, cars are plugged in at known sites."""
        issues: list[FieldIssue] = []
        if not ID_PATTERN.fullmatch(self.id):
            issues.append(FieldIssue("name", f"{self.id!r} {ID_RULE}"))
        issues += id_issues("members", self.members)
        members, sites = set(self.members), set(self.sites.ids)
        for i, owner in enumerate(self.cars.owner):
            if owner not in members:
                issues.append(
                    FieldIssue(f"cars[{i}].owner", f"{owner!r} is not a member of the circle")
                )
        for i, site in enumerate(self.cars.site):
            if site and site not in sites:
                issues.append(
                    FieldIssue(f"cars[{i}].site", f"{site!r} is not a site of the circle")
                )
        for member, amount in self.starting_millicredits.items():
            if member not in members:
                issues.append(FieldIssue("starting_millicredits", f"{member!r} is not a member"))
            elif isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
                issues.append(
                    FieldIssue(
                        f"members[{self.members.index(member)}].starting_credits",
                        f"{amount!r} must be >= 0",
                    )
                )
        return issues
