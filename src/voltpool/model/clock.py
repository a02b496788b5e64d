"""The slot clock: any time mapped onto slots of a fixed length, counted from an origin.

The core works on slot indices; a :class:`SlotGrid` is what turns times into slots and back.
Slot ``k`` is ``[origin + k * slot, origin + (k + 1) * slot)`` with ``slot = slot_minutes``
minutes. Times from outside - a plug-in session, an owner's deadline, an OCPP
charging-schedule period, an OpenADR interval - are mapped onto the grid by
:meth:`SlotGrid.first_slot`, :meth:`SlotGrid.end_slot` and :meth:`SlotGrid.slots_covering`:
rounded inwards by default (a period covers the slots that lie wholly inside it), outwards on
request (every slot it touches). Slot numbers are never negative: what lies before the origin
is cut off.

Times are timezone-aware and UTC inside; a naive time is local to the time zone it is read in
(:func:`as_utc`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

DEFAULT_SLOT_MINUTES = 15
MINUTES_PER_DAY = 24 * 60
_ROUND_OFF = 1e-9
"""Slot counts this close to a whole number are that number (float division of times)."""

Time = datetime | pd.Timestamp | str
Duration = timedelta | pd.Timedelta | str


def as_utc(value: Time, timezone: str = "UTC") -> pd.Timestamp:
    """A timestamp in UTC; a naive one is read as local time in ``timezone``."""
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(timezone)
    return stamp.tz_convert("UTC")


@dataclass(frozen=True)
class SlotGrid:
    """Slots of ``slot_minutes`` from ``origin``: slot k is
    ``[origin + k * slot_minutes, origin + (k + 1) * slot_minutes)``.

    ``origin`` is stored in UTC (a naive origin is read as UTC). ``slot_minutes`` must divide a
    day, so the slot boundaries fall at the same clock times every day.
    """

    origin: pd.Timestamp
    slot_minutes: int = DEFAULT_SLOT_MINUTES

    def __post_init__(self) -> None:
        minutes = self.slot_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int | np.integer):
            raise ValueError(f"slot_minutes: {minutes!r} must be a whole number of minutes")
        if not (0 < minutes <= MINUTES_PER_DAY and MINUTES_PER_DAY % minutes == 0):
            raise ValueError(f"slot_minutes: {minutes} must divide a day ({MINUTES_PER_DAY} min)")
        object.__setattr__(self, "slot_minutes", int(minutes))
        object.__setattr__(self, "origin", as_utc(self.origin))

    @classmethod
    def at(
        cls, now: Time, timezone: str = "UTC", slot_minutes: int = DEFAULT_SLOT_MINUTES
    ) -> SlotGrid:
        """The grid whose slot 0 is the first whole slot at or after ``now`` (so no slot starts
        in the past); boundaries are whole multiples of the slot length since midnight UTC."""
        return cls(as_utc(now, timezone).ceil(f"{slot_minutes}min"), slot_minutes)

    @property
    def slot(self) -> pd.Timedelta:
        """The length of one slot."""
        return pd.Timedelta(minutes=self.slot_minutes)

    @property
    def dt_h(self) -> float:
        """Hours per slot. [h]"""
        return self.slot_minutes / 60.0

    @property
    def slots_per_hour(self) -> float:
        """Slots in an hour (below 1 for slots longer than an hour)."""
        return 60.0 / self.slot_minutes

    @property
    def slots_per_day(self) -> int:
        return MINUTES_PER_DAY // self.slot_minutes

    def time(self, slot: int) -> pd.Timestamp:
        """Start of ``slot`` (UTC); ``time(n)`` is the end of slot ``n - 1``."""
        return self.origin + self.slot * int(slot)

    def index(self, n_slots: int, name: str = "time_utc") -> pd.DatetimeIndex:
        """UTC start of slots ``0 .. n_slots - 1``."""
        return pd.date_range(self.origin, periods=int(n_slots), freq=self.slot, name=name)

    def _slots(self, stamp: pd.Timestamp | pd.DatetimeIndex) -> np.ndarray:
        """Slots from the origin to ``stamp``, fractional."""
        return np.asarray((stamp - self.origin) / self.slot)

    def is_boundary(self, stamp: Time) -> bool:
        """True when ``stamp`` (naive = UTC) is where a slot of this grid starts or ends."""
        slots = float(self._slots(as_utc(stamp)))
        return abs(slots - round(slots)) < _ROUND_OFF

    def first_slot(self, stamp: pd.Timestamp | pd.DatetimeIndex) -> int | np.ndarray:
        """First slot starting at or after ``stamp`` (never below 0); per element of an index."""
        return _slot_number(np.ceil(self._slots(stamp) - _ROUND_OFF))

    def end_slot(self, stamp: pd.Timestamp | pd.DatetimeIndex) -> int | np.ndarray:
        """One past the last slot ending at or before ``stamp`` (never below 0); per element of
        an index."""
        return _slot_number(np.floor(self._slots(stamp) + _ROUND_OFF))

    def slots_covering(self, start: Time, duration: Duration, *, partial: bool = False) -> range:
        """The slots the period ``[start, start + duration)`` covers (``start`` naive = UTC).

        By default only the slots that lie wholly inside the period (a 25-minute OCPP period
        from 10:05 on a 15-minute grid covers 10:15-10:30); with ``partial=True`` every slot the
        period overlaps (10:00-10:30), e.g. to apply an OpenADR limit wherever it is in force.
        Slots before the origin are left out; the range is empty when no slot qualifies.
        """
        begin = as_utc(start)
        length = pd.Timedelta(duration)
        if length < pd.Timedelta(0):
            raise ValueError(f"duration: {length} must not be negative")
        first, end = self._slots(begin), self._slots(begin + length)
        if partial and length > pd.Timedelta(0):
            first_slot = _slot_number(np.floor(first + _ROUND_OFF))
            end_slot = _slot_number(np.ceil(end - _ROUND_OFF))
        else:
            first_slot, end_slot = self.first_slot(begin), self.end_slot(begin + length)
        return range(int(first_slot), max(int(first_slot), int(end_slot)))


def _slot_number(slots: np.ndarray) -> int | np.ndarray:
    """Whole slot numbers, never below 0: an int for one time, an int64 array for an index."""
    whole = np.maximum(slots, 0).astype(np.int64)
    return int(whole) if whole.ndim == 0 else whole
