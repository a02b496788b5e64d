"""The community's headroom now: what its plugged-in cars could draw more or less than the
plan has them draw, within their limits, floors and the owners' "no discharge"."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from voltpool.api.flexibility import CarNow, headroom

NOW = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)
CAR = CarNow(
    planned_kw=7.0,
    max_charge_kw=11.0,
    max_discharge_kw=10.0,
    capacity_kwh=60.0,
    soc_now=0.5,
    soc_min=0.2,
    soc_max=1.0,
    v2g_floor_soc=0.4,
    charge_efficiency=0.9,
    discharge_efficiency=0.9,
    no_discharge_until=None,
)


def test_a_charging_car_can_charge_faster_or_stop_and_give_above_its_floor() -> None:
    found = headroom([CAR], NOW)
    assert found.up_kw == pytest.approx(4.0)
    assert found.down_kw == pytest.approx(7.0 + 10.0)
    assert found.up_energy_kwh == pytest.approx(0.5 * 60 / 0.9)
    assert found.down_energy_kwh == pytest.approx((0.5 - 0.4) * 60 * 0.9)  # the floor, not 0.2
    assert found.down_hours == pytest.approx(5.4 / 10.0)


def test_a_giving_car_can_stop_and_charge_or_give_the_rest_of_its_power() -> None:
    found = headroom([replace(CAR, planned_kw=-6.0)], NOW)
    assert found.up_kw == pytest.approx(6.0 + 11.0)
    assert found.down_kw == pytest.approx(4.0)


def test_no_discharge_until_later_leaves_only_stopping_the_charge() -> None:
    paused = replace(CAR, no_discharge_until=NOW + timedelta(hours=5))
    found = headroom([paused, replace(CAR, soc_now=0.35)], NOW)  # the second is below its floor
    assert found.down_kw == pytest.approx(7.0 + 7.0)
    assert found.down_energy_kwh == 0.0 and found.down_hours is None
    over = headroom([replace(paused, no_discharge_until=NOW - timedelta(minutes=1))], NOW)
    assert over.down_kw == pytest.approx(17.0)


def test_a_full_car_cannot_take_more() -> None:
    found = headroom([replace(CAR, soc_now=1.0, planned_kw=0.0)], NOW)
    assert found.up_kw == 0.0 and found.up_energy_kwh == 0.0
    assert headroom([], NOW).cars == 0
