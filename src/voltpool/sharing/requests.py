"""Requests ("I need 12 kWh by 07:30") and offers ("I can give up to 15 kWh tonight"), checked.

:func:`resolve` checks every request and offer against the circle and the clock, collects
*all* broken rules (each a :class:`~voltpool.errors.FieldIssue` with a path such as
``offers[1].keep_above_soc``) and raises one :class:`~voltpool.errors.ProblemError`; nothing is
matched or booked then. On success it returns a :class:`Book`: the requests and offers as
struct-of-arrays on the slot grid, ready for :func:`voltpool.sharing.match`.

Prices are credits per kWh given as an integer or a decimal (``25``, ``22.5``, ``"19.125"``)
and converted exactly to integer milli-credits per kWh; more than three decimals is an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from voltpool.credits import MILLI
from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.clock import DEFAULT_SLOT_MINUTES, SlotGrid, as_utc
from voltpool.sharing.circle import MAX_HORIZON_DAYS, Circle, id_issues

Price = int | float | Decimal | str
CIRCLE_CONSENT = "circle"
NO_PRICE_LIMIT = 2**62


@dataclass(frozen=True)
class Request:
    """A member asks for energy into one of their cars' battery.

    ``energy_kwh`` is what should arrive in the battery (after charging losses), by
    ``deadline``, not before ``earliest_start`` (None: now), at most
    ``max_price_credits_per_kwh`` per kWh delivered at the charger (None: any price).
    Naive times are local to the circle's time zone.
    """

    id: str
    member: str
    car: str
    energy_kwh: float
    deadline: datetime | pd.Timestamp | str
    earliest_start: datetime | pd.Timestamp | str | None = None
    max_price_credits_per_kwh: Price | None = None


@dataclass(frozen=True)
class Offer:
    """A member offers energy out of one of their cars' battery.

    At most ``energy_kwh`` leaves the battery between ``start`` (None: now) and ``end``, never
    taking it below ``keep_above_soc`` (nor the car's reserve), for ``price_credits_per_kwh``
    per kWh delivered at the charger. ``consent`` is whom the giver agrees to give to:
    ``"circle"`` (every member) or a list of member ids.
    """

    id: str
    member: str
    car: str
    energy_kwh: float
    end: datetime | pd.Timestamp | str
    start: datetime | pd.Timestamp | str | None = None
    keep_above_soc: float = 0.0
    price_credits_per_kwh: Price = 0
    consent: str | Sequence[str] = CIRCLE_CONSENT


def to_millicredits(value: object) -> int | None:
    """``value`` credits as exact integer milli-credits; None if not a number with <= 3
    decimals (floats are read through their shortest decimal text, so ``22.1`` is 22,100)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)  # type: ignore[arg-type]
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not number.is_finite():
        return None
    scaled = number * MILLI
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


@dataclass(frozen=True, eq=False)
class Book:
    """Checked requests and offers as struct-of-arrays on ``grid`` (car = row in the circle).

    Requests: ``req_*`` arrays over R requests; offers: ``off_*`` over O offers. Slots are
    ``[start, end)``; ``off_floor_kwh`` is max(reserve, keep_above) as stored energy;
    ``off_consent`` holds, per offer, the member ids it may give to.
    """

    grid: SlotGrid
    req_ids: tuple[str, ...]
    req_member: tuple[str, ...]
    req_car: np.ndarray
    req_energy_kwh: np.ndarray
    req_start_slot: np.ndarray
    req_end_slot: np.ndarray
    req_max_price_mc: np.ndarray
    off_ids: tuple[str, ...]
    off_member: tuple[str, ...]
    off_car: np.ndarray
    off_energy_kwh: np.ndarray
    off_start_slot: np.ndarray
    off_end_slot: np.ndarray
    off_price_mc: np.ndarray
    off_floor_kwh: np.ndarray
    off_consent: tuple[frozenset[str], ...]


class _Checker:
    """Collects issues for one list (``requests`` or ``offers``)."""

    def __init__(
        self, circle: Circle, grid: SlotGrid, now: pd.Timestamp, issues: list[FieldIssue]
    ) -> None:
        self.circle = circle
        self.now = now
        self.issues = issues
        self.grid = grid
        self.latest = now + pd.Timedelta(days=MAX_HORIZON_DAYS)

    def add(self, path: str, rule: str) -> None:
        self.issues.append(FieldIssue(path, rule))

    def car(self, path: str, member: str, car: str) -> int | None:
        """The car's row, if the member and the car are known and the member owns it."""
        circle = self.circle
        known_member = member in circle.members
        if not known_member:
            self.add(
                f"{path}.member",
                f"{member!r} is not a member of the circle ({', '.join(circle.members)})",
            )
        if car not in circle.cars.ids:
            self.add(f"{path}.car", f"{car!r} is not a car of the circle")
            return None
        row = circle.cars.row(car)
        owner = circle.cars.owner[row]
        if known_member and owner != member:
            self.add(f"{path}.car", f"{car!r} belongs to {owner!r}, not to {member!r}")
            return None
        return row if known_member else None

    def energy(self, path: str, value: object) -> float | None:
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            self.add(f"{path}.energy_kwh", f"{value!r} must be a number of kWh")
            return None
        if value <= 0:
            self.add(f"{path}.energy_kwh", f"{value!r} must be > 0")
            return None
        return float(value)

    def price(self, path: str, value: object) -> int | None:
        millicredits = to_millicredits(value)
        if millicredits is None:
            self.add(path, f"{value!r} must be a number of credits with at most 3 decimals")
        elif millicredits < 0:
            self.add(path, f"{value!r} must be >= 0 (a price below zero is not allowed)")
            return None
        return millicredits

    def window(
        self, path: str, start: object, start_name: str, end: object, end_name: str
    ) -> tuple[int, int] | None:
        """The window's slots, or None after recording why it is unusable."""
        tz = self.circle.timezone
        try:
            begin = self.now if start is None else as_utc(start, tz)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            self.add(f"{path}.{start_name}", f"{start!r} is not a date and time")
            return None
        try:
            finish = as_utc(end, tz)  # type: ignore[arg-type]
        except (ValueError, TypeError):
            self.add(f"{path}.{end_name}", f"{end!r} is not a date and time")
            return None
        local_now = self.now.tz_convert(tz).isoformat()
        if finish <= self.now:
            self.add(
                f"{path}.{end_name}", f"{_local(finish, tz)} is in the past (now is {local_now})"
            )
            return None
        if finish <= begin:
            self.add(
                f"{path}.{end_name}",
                f"{_local(finish, tz)} must be after {start_name} ({_local(begin, tz)})",
            )
            return None
        if finish > self.latest:
            self.add(
                f"{path}.{end_name}",
                f"{_local(finish, tz)} must be within {MAX_HORIZON_DAYS} days of now ({local_now})",
            )
            return None
        first, last = self.grid.first_slot(begin), self.grid.end_slot(finish)
        if last <= first:
            self.add(
                f"{path}.{end_name}",
                f"the window {_local(begin, tz)} - {_local(finish, tz)} holds no whole "
                f"{self.grid.slot_minutes}-minute slot after now",
            )
            return None
        return first, last


def _local(stamp: pd.Timestamp, timezone: str) -> str:
    return stamp.tz_convert(timezone).strftime("%Y-%m-%d %H:%M")


def resolve(
    circle: Circle,
    requests: Sequence[Request],
    offers: Sequence[Offer],
    now: datetime | pd.Timestamp | str,
    slot_minutes: int = DEFAULT_SLOT_MINUTES,
) -> Book:
    """Check every request and offer; return them on the slot grid or raise ProblemError.

    The grid's slot 0 is the first whole slot of ``slot_minutes`` at or after ``now``
    (:meth:`voltpool.model.SlotGrid.at`).

    Rules (paths ``requests[i].*`` / ``offers[j].*``): unique ids; the member exists and owns
    the car; ``energy_kwh`` > 0 and, for a request, fits in the battery below ``soc_max``; the
    receiving charger can charge; prices >= 0 with at most 3 decimals; windows end after now,
    after their start and within a week, and hold at least one whole slot; an offering car has a
    two-way charger, is above its reserve, and ``keep_above_soc`` is below its SoC now; every
    consented friend is another member; no car offers and requests in overlapping windows.
    """
    now_utc = as_utc(now, circle.timezone)
    issues: list[FieldIssue] = []
    check = _Checker(circle, SlotGrid.at(now_utc, slot_minutes=slot_minutes), now_utc, issues)
    cars = circle.cars
    room_kwh = cars.room_kwh
    issues += id_issues("requests", [r.id for r in requests])
    issues += id_issues("offers", [o.id for o in offers])

    req_rows: list[tuple[int, float, int, int, int]] = []
    for i, request in enumerate(requests):
        path = f"requests[{i}]"
        row = check.car(path, request.member, request.car)
        energy = check.energy(path, request.energy_kwh)
        window = check.window(
            path, request.earliest_start, "earliest_start", request.deadline, "deadline"
        )
        price = (
            NO_PRICE_LIMIT
            if request.max_price_credits_per_kwh is None
            else check.price(f"{path}.max_price_credits_per_kwh", request.max_price_credits_per_kwh)
        )
        if row is not None:
            if energy is not None and energy > room_kwh[row] + 1e-9:
                check.add(
                    f"{path}.energy_kwh",
                    f"{energy:g} kWh does not fit: {request.car!r} has room for "
                    f"{room_kwh[row]:.2f} kWh "
                    f"(SoC {cars.soc[row]:.0%} of max {cars.soc_max[row]:.0%})",
                )
            if cars.max_charge_kw[row] <= 0:
                check.add(f"{path}.car", f"{request.car!r} has a charger that cannot charge")
        if row is not None and energy is not None and window is not None and price is not None:
            req_rows.append((row, energy, window[0], window[1], price))

    off_rows: list[tuple[int, float, int, int, int, float, frozenset[str]]] = []
    for j, offer in enumerate(offers):
        path = f"offers[{j}]"
        row = check.car(path, offer.member, offer.car)
        energy = check.energy(path, offer.energy_kwh)
        window = check.window(path, offer.start, "start", offer.end, "end")
        price = check.price(f"{path}.price_credits_per_kwh", offer.price_credits_per_kwh)
        keep = offer.keep_above_soc
        keep_ok = isinstance(keep, int | float) and not isinstance(keep, bool) and 0 <= keep <= 1
        if not keep_ok:
            check.add(f"{path}.keep_above_soc", f"{keep!r} must be within [0, 1]")
        floor = None
        if row is not None:
            soc, reserve = cars.soc[row], cars.soc_min[row]
            if cars.max_discharge_kw[row] <= 0:
                check.add(
                    f"{path}.car",
                    f"{offer.car!r} has a one-way charger (max_discharge_kw = 0): it cannot give",
                )
            if reserve >= soc:
                check.add(
                    f"{path}.car",
                    f"{offer.car!r} is at {soc:.0%}, at or below its reserve of {reserve:.0%}: "
                    "it has nothing to give",
                )
            if keep_ok and keep >= soc:
                check.add(
                    f"{path}.keep_above_soc",
                    f"{keep:.0%} must be below the car's current SoC ({soc:.0%})",
                )
            floor = max(reserve, keep if keep_ok else 0.0) * cars.capacity_kwh[row]
        consent = _consent(check, path, offer)
        if None not in (row, energy, window, price, floor, consent):
            off_rows.append((row, energy, window[0], window[1], price, floor, consent))  # type: ignore[arg-type,index]
    if issues:
        raise ProblemError(issues)

    def column(rows: list[tuple], k: int, dtype: type) -> np.ndarray:
        return np.array([r[k] for r in rows], dtype=dtype)

    book = Book(
        grid=check.grid,
        req_ids=tuple(r.id for r in requests),
        req_member=tuple(r.member for r in requests),
        req_car=column(req_rows, 0, np.int64),
        req_energy_kwh=column(req_rows, 1, float),
        req_start_slot=column(req_rows, 2, np.int64),
        req_end_slot=column(req_rows, 3, np.int64),
        req_max_price_mc=column(req_rows, 4, np.int64),
        off_ids=tuple(o.id for o in offers),
        off_member=tuple(o.member for o in offers),
        off_car=column(off_rows, 0, np.int64),
        off_energy_kwh=column(off_rows, 1, float),
        off_start_slot=column(off_rows, 2, np.int64),
        off_end_slot=column(off_rows, 3, np.int64),
        off_price_mc=column(off_rows, 4, np.int64),
        off_floor_kwh=column(off_rows, 5, float),
        off_consent=tuple(r[6] for r in off_rows),
    )
    _overlapping_roles(check, book)
    if issues:
        raise ProblemError(issues)
    return book


def _consent(check: _Checker, path: str, offer: Offer) -> frozenset[str] | None:
    members = check.circle.members
    consent = offer.consent
    if consent == CIRCLE_CONSENT:
        return frozenset(m for m in members if m != offer.member)
    if isinstance(consent, str) or not isinstance(consent, Sequence) or not consent:
        check.add(
            f"{path}.consent",
            f"{consent!r} must be {CIRCLE_CONSENT!r} (every member) or a non-empty list of members",
        )
        return None
    ok = True
    for k, friend in enumerate(consent):
        if friend not in members:
            check.add(
                f"{path}.consent[{k}]", f"{friend!r} is not a member of the circle (unknown friend)"
            )
            ok = False
        elif friend == offer.member:
            check.add(f"{path}.consent[{k}]", f"{friend!r} is the giver: nobody gives to themself")
            ok = False
    return frozenset(consent) if ok else None


def _overlapping_roles(check: _Checker, book: Book) -> None:
    """A car cannot give and receive in overlapping windows (its charger runs one way)."""
    clash = (
        (book.off_car[:, None] == book.req_car[None, :])
        & (book.off_start_slot[:, None] < book.req_end_slot[None, :])
        & (book.req_start_slot[None, :] < book.off_end_slot[:, None])
    )
    cars = check.circle.cars
    for j, i in zip(*np.nonzero(clash), strict=True):
        check.add(
            f"offers[{j}].car",
            f"{cars.ids[book.off_car[j]]!r} also asks for energy in requests[{i}] "
            f"({book.req_ids[i]!r}) in an overlapping window: a car gives or receives, "
            "not both at once",
        )
