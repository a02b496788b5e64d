"""Grid events in a community's forecast (:mod:`voltpool.api.forecast`): an event posted now,
mid-slot, caps the slot under way (the car's power is held for the whole slot); its price and
an outage's load count by the share of the slot the event covers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from voltpool.api.forecast import CommunityForecast, EventWindow
from voltpool.model import SlotGrid
from voltpool.model.tariffs import tariff_preset

ORIGIN = pd.Timestamp("2024-03-05T03:45Z")


def forecast(*events: EventWindow, horizon_slots: int = 4):
    community = CommunityForecast(
        clock=SlotGrid(ORIGIN, 15),
        prices=tariff_preset("uk-flat-export-2024"),  # no day-ahead: flat prices to compare
        house_load_kw=6.0,
        import_limit_kw=math.inf,
        export_limit_kw=50.0,
        events=events,
    )
    return community.forecast(0, horizon_slots)


def at(minutes: float) -> pd.Timestamp:
    return ORIGIN + pd.Timedelta(minutes=minutes)


def test_a_limit_posted_mid_slot_caps_the_slot_under_way_and_ends_with_its_slot() -> None:
    # from 03:55 to 04:20: a third of the first slot, the second, a third of the third
    event = EventWindow(at(10), at(35), import_limit_kw=0.0, export_limit_kw=3.0)
    got = forecast(event)
    np.testing.assert_array_equal(got.import_limit_kw, [0.0, 0.0, 0.0, math.inf])
    np.testing.assert_array_equal(got.export_limit_kw, [3.0, 3.0, 3.0, 50.0])


def test_an_event_that_ends_at_a_slot_boundary_leaves_the_next_slot_alone() -> None:
    got = forecast(EventWindow(at(0), at(15), import_limit_kw=2.0))
    np.testing.assert_array_equal(got.import_limit_kw, [2.0, math.inf, math.inf, math.inf])


def test_the_lower_of_two_overlapping_limits_wins() -> None:
    got = forecast(
        EventWindow(at(0), at(30), import_limit_kw=4.0),
        EventWindow(at(20), at(60), import_limit_kw=1.0),
    )
    np.testing.assert_array_equal(got.import_limit_kw, [4.0, 1.0, 1.0, 1.0])


def test_a_price_counts_by_the_share_of_the_slot_it_covers() -> None:
    plain = forecast()
    got = forecast(EventWindow(at(10), at(35), price_per_kwh=1.0))
    share = np.array([1 / 3, 1.0, 1 / 3, 0.0])
    expected_buy = (1 - share) * plain.import_price_per_kwh + share * 1.0
    np.testing.assert_allclose(got.import_price_per_kwh, expected_buy, rtol=1e-12)
    capped = np.minimum(plain.export_price_per_kwh, 1.0)
    expected_sell = (1 - share) * plain.export_price_per_kwh + share * capped
    np.testing.assert_allclose(got.export_price_per_kwh, expected_sell, rtol=1e-12)


def test_an_outage_takes_its_homes_load_off_by_the_share_it_covers() -> None:
    got = forecast(EventWindow(at(5), at(30), house_load_off_kw=3.0))
    assert got.base_load_kw == pytest.approx([6.0 - 2.0, 3.0, 6.0, 6.0])
