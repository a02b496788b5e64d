"""The library's schema checks with the fast validator in front: every message still checked,
valid ones pass, invalid ones raise exactly the library's own error (so the same CallError)."""

from __future__ import annotations

import asyncio
import copy
import random
from datetime import UTC, datetime

import jsonschema
import ocpp.messages as messages
import pytest
from ocpp.messages import Call, validate_payload

import voltpool.ocpp.peer  # installs the fast validators
from voltpool.ocpp.keys import schema_name, to_camel
from voltpool.ocpp.profiles import Setpoints, charging_profile
from voltpool.ocpp.validation import _FastFirst

KEY = "SetChargingProfileRequest_2.1"
"""The library's cache key of the schema."""
assert voltpool.ocpp.peer.validation is not None


def profile_request(seed: int) -> dict:
    rng = random.Random(seed)
    plan = Setpoints(
        datetime(2026, 12, 4, tzinfo=UTC),
        15,
        tuple(rng.choice([-7.4, -3.0, 0.0, 1.5, 11.0]) for _ in range(96)),
    )
    snake = charging_profile(plan, "2.1", 1, bidirectional=True)
    return to_camel(snake, "2.1", schema_name("2.1", "SetChargingProfile", False))


def outcome(payload: dict) -> str | None:
    try:
        asyncio.run(validate_payload(Call("1", "SetChargingProfile", payload), "2.1"))
    except Exception as error:  # the library's error, by type and text
        return f"{type(error).__name__}: {error}"
    return None


def reference(payload: dict) -> bool:
    return jsonschema.Draft4Validator(messages._validators[KEY].schema).is_valid(payload)


def spoiled(payload: dict, how: int) -> dict:
    bad = copy.deepcopy(payload)
    period = bad["chargingProfile"]["chargingSchedule"][0]["chargingSchedulePeriod"][0]
    if how == 0:
        bad["evseId"] = "one"  # type
    elif how == 1:
        del bad["chargingProfile"]["stackLevel"]  # required
    elif how == 2:
        period["surprise"] = 1  # additionalProperties
    elif how == 3:
        period["operationMode"] = "Sideways"  # enum
    elif how == 4:
        bad["chargingProfile"]["chargingSchedule"] = []  # minItems
    return bad


@pytest.mark.parametrize("seed", range(5))
def test_valid_profiles_pass_and_spoiled_ones_fail_as_the_library_says(seed: int) -> None:
    good = profile_request(seed)
    asyncio.run(validate_payload(Call("1", "SetChargingProfile", good), "2.1"))
    assert outcome(good) is None and reference(good)
    fast = messages._validators[KEY]
    assert isinstance(fast, _FastFirst)
    for how in range(5):
        bad = spoiled(good, how)
        said = outcome(bad)
        assert not reference(bad) and said is not None
        # the library's own validator, alone, says the same
        with pytest.raises(jsonschema.ValidationError):
            fast._slow.validate(bad)
