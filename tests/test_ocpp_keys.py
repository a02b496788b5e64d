"""The ``ocpp`` 2.1.0 library's known defects, shown on the installed version, and voltpool's
fixes: JSON keys spelt from the bundled schemas (:mod:`voltpool.ocpp.keys`), and an answer
to every call (:mod:`voltpool.ocpp.peer`)."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import typing
from typing import Any

import pytest
from ocpp.charge_point import snake_to_camel_case
from ocpp.v21 import ChargePoint as LibraryChargePoint21
from ocpp.v21 import call as call21
from ocpp.v21 import datatypes as datatypes21

from voltpool.ocpp.keys import (
    VERSIONS,
    load_schema,
    property_names,
    schema_name,
    snake_name,
    to_camel,
    to_snake,
    wire_name,
    wrong_in_library,
)
from voltpool.ocpp.peer import Peer21

WRONG_21 = wrong_in_library("2.1")


def test_the_library_misspells_these_21_keys_and_none_of_201_or_16() -> None:
    assert len(WRONG_21) == 43
    assert WRONG_21["limit_L2"] == "limitL2"
    assert WRONG_21["setpoint_L3"] == "setpointL3"
    assert WRONG_21["soc"] == "SoC"  # LimitAtSoC.soc
    assert WRONG_21["maxDischargePower_L2"] == "maxDischargePowerL2"
    assert wrong_in_library("2.0.1") == {} and wrong_in_library("1.6") == {}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_property_of_every_schema_is_spelt_back_as_its_schema_spells_it(
    version: str,
) -> None:
    """Each property name, at its place in each schema that has it, survives snake_case."""
    from voltpool.ocpp.keys import SCHEMA_ROOT

    checked = 0
    for path in sorted((SCHEMA_ROOT / VERSIONS[version] / "schemas").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8-sig"))
        for pointer, names in _objects(schema, schema, ""):
            payload = _nest(pointer, {snake_name(n): 1 for n in names})
            assert _dig(to_camel(payload, version, path.stem), pointer) == dict.fromkeys(names, 1)
            checked += len(names)
    assert checked >= len(property_names(version))


@pytest.mark.parametrize("field", sorted(WRONG_21))
def test_each_field_the_library_misspells_is_spelt_right_in_a_real_message(field: str) -> None:
    """For every misspelt 2.1 name: a schema that has it, a payload holding it, and the wire
    spelling voltpool sends (the library's would fail validation)."""
    from voltpool.ocpp.keys import SCHEMA_ROOT

    schema_file = sorted(property_names("2.1")[field])[0]
    schema = json.loads(
        (SCHEMA_ROOT / "v21" / "schemas" / f"{schema_file}.json").read_text(encoding="utf-8-sig")
    )
    pointer = next(p for p, names in _objects(schema, schema, "") if field in names)
    payload = _nest(pointer, {snake_name(field): 1})
    assert _dig(to_camel(payload, "2.1", schema_file), pointer) == {field: 1}
    assert _dig(snake_to_camel_case(payload), _library_pointer(pointer)) != {field: 1}


def test_a_v2x_profile_from_the_librarys_own_dataclasses_is_schema_valid() -> None:
    """A SetChargingProfile with per-phase setpoints and a LimitAtSoC, built from the
    library's dataclasses: voltpool's spelling validates, the library's does not."""
    from ocpp.charge_point import remove_nones, serialize_as_dict

    from ocpp_helpers import schema_errors

    period = datatypes21.ChargingSchedulePeriodType(
        start_period=0,
        operation_mode="CentralSetpoint",
        setpoint=-3000.0,
        setpoint_l2=-3000.0,
        setpoint_l3=-3000.0,
        discharge_limit_l2=-3500.0,
    )
    schedule = datatypes21.ChargingScheduleType(
        id=1,
        charging_rate_unit="W",
        charging_schedule_period=[period],
        limit_at_soc=datatypes21.LimitAtSoCType(soc=80, limit=2000.0),
    )
    profile = datatypes21.ChargingProfileType(
        id=1,
        stack_level=0,
        charging_profile_purpose="TxDefaultProfile",
        charging_profile_kind="Absolute",
        charging_schedule=[schedule],
        max_offline_duration=300,
        invalid_after_offline_duration=True,
    )
    body = remove_nones(
        serialize_as_dict(call21.SetChargingProfile(evse_id=1, charging_profile=profile))
    )
    name = schema_name("2.1", "SetChargingProfile", False)
    assert schema_errors("2.1", name, to_camel(body, "2.1", name)) == []
    assert schema_errors("2.1", name, snake_to_camel_case(body)) != []
    assert to_camel(to_snake(to_camel(body, "2.1", name)), "2.1", name) == to_camel(
        body, "2.1", name
    )


def test_the_librarys_dataclass_fields_are_the_snake_names_of_the_schema() -> None:
    """Every field of every 2.1 request dataclass is found by the key map (none falls back to
    the library's rule): the map covers what the library can build."""
    missing = []
    for name, cls in vars(call21).items():
        if not dataclasses.is_dataclass(cls) or not isinstance(cls, type):
            continue
        schema = f"{name}Request"
        missing += [f"{name}.{f}" for f in _unknown_fields(cls, "2.1", schema, "")]
    assert missing == []


def test_the_library_leaves_an_unhandled_21_call_unanswered_and_voltpool_answers_it() -> None:
    frame = json.dumps([2, "1", "NotifyDisplayMessages", {"requestId": 1}])
    unknown = json.dumps([2, "2", "NoSuchAction", {}])

    async def answers(cls: type) -> list[Any]:
        sent: list[str] = []

        class Socket:
            async def send(self, message: str) -> None:
                sent.append(message)

        peer = cls("cs", Socket())
        await peer.route_message(frame)
        await peer.route_message(unknown)
        return [json.loads(m) for m in sent]

    assert asyncio.run(answers(LibraryChargePoint21)) == []  # the caller waits for its timeout
    (one, two) = asyncio.run(answers(Peer21))
    assert one[:3] == [4, "1", "NotImplemented"]
    assert two[:3] == [4, "2", "NotSupported"]


# --- walking schemas ---------------------------------------------------------------------


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = root["definitions"][node["$ref"].split("/")[-1]]
    return node


def _objects(node: dict[str, Any], root: dict[str, Any], pointer: str, depth: int = 0):
    """(pointer, property names) of every object schema reachable from ``node``."""
    node = _resolve(node, root)
    if depth > 12:
        return
    if "properties" in node:
        yield pointer, list(node["properties"])
        for name, child in node["properties"].items():
            yield from _objects(child, root, f"{pointer}/{name}", depth + 1)
    if "items" in node:
        yield from _objects(node["items"], root, f"{pointer}/[]", depth + 1)


def _steps(pointer: str) -> list[str]:
    return [step for step in pointer.split("/") if step]


def _nest(pointer: str, leaf: dict[str, Any]) -> Any:
    value: Any = leaf
    for step in reversed(_steps(pointer)):
        value = [value] if step == "[]" else {snake_name(step): value}
    return value


def _dig(value: Any, pointer: str) -> Any:
    for step in _steps(pointer):
        value = value[0] if step == "[]" else value[step]
    return value


def _library_pointer(pointer: str) -> str:
    steps = [
        s if s == "[]" else snake_to_camel_case({snake_name(s): 0}).popitem()[0]
        for s in _steps(pointer)
    ]
    return "/".join(steps)


def _unknown_fields(
    cls: type, version: str, schema: str, pointer: str, depth: int = 0
) -> list[str]:
    try:
        load_schema(version, schema)
    except KeyError:
        return []  # no such schema (a response-only or a legacy class)
    found = []
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        step = wire_name(version, schema, pointer, field.name)
        if step is None:
            found.append(field.name)
            continue
        inner = _dataclass_in(hints[field.name])
        if inner is not None and depth < 8:
            child = f"{pointer}/{step}"
            if _is_list(hints[field.name]):
                child += "/[]"
            found += [
                f"{field.name}.{f}"
                for f in _unknown_fields(inner, version, schema, child, depth + 1)
            ]
    return found


def _dataclass_in(hint: Any) -> type | None:
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    for arg in typing.get_args(hint):
        found = _dataclass_in(arg)
        if found is not None:
            return found
    return None


def _is_list(hint: Any) -> bool:
    if typing.get_origin(hint) is list:
        return True
    return any(_is_list(arg) for arg in typing.get_args(hint))
