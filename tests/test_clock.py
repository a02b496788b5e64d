"""The slot clock: times onto slots of 15, 30 and 60 minutes, periods that are not aligned."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from voltpool.model import SlotGrid, as_utc

TZ = "Europe/Amsterdam"
ORIGIN = pd.Timestamp("2025-01-15 10:00", tz="UTC")


@pytest.mark.parametrize(
    ("minutes", "dt_h", "per_hour", "per_day"),
    [(15, 0.25, 4.0, 96), (30, 0.5, 2.0, 48), (60, 1.0, 1.0, 24), (120, 2.0, 0.5, 12)],
)
def test_slot_lengths(minutes: int, dt_h: float, per_hour: float, per_day: int) -> None:
    grid = SlotGrid(ORIGIN, minutes)
    assert (grid.dt_h, grid.slots_per_hour, grid.slots_per_day) == (dt_h, per_hour, per_day)
    assert grid.time(3) == ORIGIN + pd.Timedelta(minutes=3 * minutes)
    index = grid.index(4)
    assert index.tz is not None and str(index.tz) == "UTC" and index.name == "time_utc"
    assert list(index) == [grid.time(k) for k in range(4)]


def test_at_rounds_now_up_to_the_next_boundary() -> None:
    now = "2025-01-15 11:07"  # local, 10:07 UTC
    assert SlotGrid.at(now, TZ).origin == pd.Timestamp("2025-01-15 10:15", tz="UTC")
    assert SlotGrid.at(now, TZ, slot_minutes=30).origin == pd.Timestamp("2025-01-15 10:30Z")
    assert SlotGrid.at(now, TZ, slot_minutes=60).origin == pd.Timestamp("2025-01-15 11:00Z")
    on_boundary = SlotGrid.at(pd.Timestamp("2025-01-15 10:30", tz="UTC"), slot_minutes=30)
    assert on_boundary.origin == pd.Timestamp("2025-01-15 10:30", tz="UTC")
    assert SlotGrid.at(now, TZ).slot_minutes == 15


def test_a_naive_origin_is_utc_and_an_aware_one_is_converted() -> None:
    assert SlotGrid(pd.Timestamp("2025-01-15 10:00")).origin == ORIGIN
    assert SlotGrid(pd.Timestamp("2025-01-15 11:00", tz=TZ)).origin == ORIGIN
    assert as_utc("2025-07-01 12:00", TZ) == pd.Timestamp("2025-07-01 10:00", tz="UTC")


@pytest.mark.parametrize("minutes", [0, -15, 7, 1441, 2.5, True])
def test_slot_length_must_divide_a_day(minutes: object) -> None:
    with pytest.raises(ValueError, match="slot_minutes"):
        SlotGrid(ORIGIN, minutes)  # type: ignore[arg-type]


def test_first_and_end_slot_round_inwards() -> None:
    grid = SlotGrid(ORIGIN, 30)
    assert grid.first_slot(ORIGIN + pd.Timedelta(minutes=31)) == 2
    assert grid.first_slot(ORIGIN + pd.Timedelta(minutes=30)) == 1
    assert grid.end_slot(ORIGIN + pd.Timedelta(minutes=59)) == 1
    assert grid.end_slot(ORIGIN + pd.Timedelta(minutes=60)) == 2
    assert grid.first_slot(ORIGIN - pd.Timedelta(hours=2)) == 0  # never below 0
    stamps = pd.DatetimeIndex([ORIGIN + pd.Timedelta(minutes=m) for m in (0, 45, 90)])
    np.testing.assert_array_equal(grid.first_slot(stamps), [0, 2, 3])
    np.testing.assert_array_equal(grid.end_slot(stamps), [0, 1, 3])


@pytest.mark.parametrize(
    ("minutes", "start", "duration", "whole", "touched"),
    [
        # an OCPP charging-schedule period of 25 minutes from 10:05
        (15, "10:05", "25min", range(1, 2), range(0, 2)),
        (30, "10:05", "25min", range(1, 1), range(0, 1)),
        (60, "10:05", "25min", range(1, 1), range(0, 1)),
        # an OpenADR interval of one hour from 10:30
        (15, "10:30", "1h", range(2, 6), range(2, 6)),
        (30, "10:30", "1h", range(1, 3), range(1, 3)),
        (60, "10:30", "1h", range(1, 1), range(0, 2)),
        # a 5-minute interval inside one slot
        (15, "10:20", "5min", range(2, 2), range(1, 2)),
        # aligned periods are the same both ways
        (60, "11:00", "3h", range(1, 4), range(1, 4)),
        # partly before the origin: cut off at slot 0
        (30, "09:40", "1h", range(0, 1), range(0, 2)),
        # wholly before the origin, and an empty period
        (15, "08:00", "1h", range(0, 0), range(0, 0)),
        (15, "10:20", "0min", range(2, 2), range(2, 2)),
    ],
)
def test_slots_covering(
    minutes: int, start: str, duration: str, whole: range, touched: range
) -> None:
    grid = SlotGrid(ORIGIN, minutes)
    begin = pd.Timestamp(f"2025-01-15 {start}", tz="UTC")
    assert grid.slots_covering(begin, duration) == whole
    assert grid.slots_covering(begin, duration, partial=True) == touched


def test_slots_covering_takes_datetimes_and_timedeltas() -> None:
    grid = SlotGrid(ORIGIN)
    local = dt.datetime(2025, 1, 15, 11, 30, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    assert grid.slots_covering(local, dt.timedelta(minutes=45)) == range(2, 5)
    assert grid.slots_covering("2025-01-15T10:30:00", "45min") == range(2, 5)  # naive = UTC
    with pytest.raises(ValueError, match="duration"):
        grid.slots_covering(ORIGIN, "-15min")


def test_is_boundary() -> None:
    grid = SlotGrid(ORIGIN, 30)
    assert grid.is_boundary(ORIGIN + pd.Timedelta(hours=5, minutes=30))
    assert grid.is_boundary(ORIGIN - pd.Timedelta(minutes=30))
    assert not grid.is_boundary(ORIGIN + pd.Timedelta(minutes=15))


@given(
    minutes=st.sampled_from([5, 15, 30, 60, 240]),
    offset_s=st.integers(-3 * 3600, 2 * 86_400),
    length_s=st.integers(0, 86_400),
)
def test_whole_slots_lie_inside_the_period_and_touched_slots_cover_it(
    minutes: int, offset_s: int, length_s: int
) -> None:
    grid = SlotGrid(ORIGIN, minutes)
    start = ORIGIN + pd.Timedelta(seconds=offset_s)
    end = start + pd.Timedelta(seconds=length_s)
    whole = grid.slots_covering(start, pd.Timedelta(seconds=length_s))
    touched = grid.slots_covering(start, pd.Timedelta(seconds=length_s), partial=True)
    assert not whole or (touched.start <= whole.start and whole.stop <= touched.stop)
    for k in whole:
        assert start <= grid.time(k) and grid.time(k + 1) <= end
    for k in touched:
        assert grid.time(k) < end and start < grid.time(k + 1)
    if length_s and end > ORIGIN:  # every instant of the period after the origin is touched
        assert grid.time(touched.start) <= max(start, ORIGIN)
        assert grid.time(touched.stop) >= end
