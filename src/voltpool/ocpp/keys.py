"""JSON key spelling, from the ``ocpp`` library's own bundled schemas.

The library turns its snake_case dataclass fields into the wire's camelCase with string
rules that get 43 of OCPP 2.1's property names wrong (``limit_L2`` becomes ``limitL2``,
``LimitAtSoC.soc`` becomes ``SoC``, ``receiptUrl`` becomes ``receiptURL``, ...), so such a
message fails the schema, on both sides. Two wire names even share one snake name in
different objects (``soc``/``soC``, ``priceScheduleId``/``priceScheduleID``), so no single
table can fix it: :func:`to_camel` walks the message's schema beside the payload and spells
every key as the schema at that place does (matching without underscores and case, too: three
of the library's own dataclass fields are not its rule's snake names, e.g.
``prioritized_emaids`` for ``prioritizedEMAIDs``). :func:`to_snake` is the library's own rule (the
dataclasses' field names are made with it), and ``to_camel(to_snake(x)) == x`` for every
property of every schema of 1.6, 2.0.1 and 2.1 (``tests/test_ocpp_keys.py``).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import ocpp
from ocpp.charge_point import camel_to_snake_case, snake_to_camel_case

SCHEMA_ROOT = Path(ocpp.__file__).resolve().parent
VERSIONS = {"2.1": "v21", "2.0.1": "v201", "1.6": "v16"}
"""The OCPP versions voltpool speaks, by the library's version string: their schema folder."""


def schema_name(version: str, action: str, response: bool) -> str:
    """The bundled schema file's stem of ``action``'s request or response."""
    if response:
        return f"{action}Response"
    return action if version == "1.6" else f"{action}Request"


@functools.cache
def load_schema(version: str, name: str) -> dict[str, Any]:
    """A bundled schema by its file stem (``SetChargingProfileRequest``); KeyError if none."""
    path = SCHEMA_ROOT / VERSIONS[version] / "schemas" / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"OCPP {version} has no schema {name}")
    return json.loads(path.read_text(encoding="utf-8-sig"))


def snake_name(camel: str) -> str:
    """The library's snake_case of one wire name (its dataclasses' field names)."""
    return next(iter(camel_to_snake_case({camel: None})))


def _library_camel(snake: str) -> str:
    return next(iter(snake_to_camel_case({snake: None})))


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/definitions/"):
            raise ValueError(f"unsupported $ref {ref!r}")
        node = root["definitions"][ref.removeprefix("#/definitions/")]
    return node


def _loose(key: str) -> str:
    return key.replace("_", "").lower()


@functools.cache
def _names(version: str, name: str, pointer: str) -> dict[str, str]:
    """Wire name by snake name for the object schema at ``pointer`` (cached per schema), and
    by its loose form (no underscores, lower case): a few of the library's dataclass fields
    are not its own rule's snake names (``iso_15118_certificate_hash_data``,
    ``prioritized_emaids``)."""
    properties = _node_at(version, name, pointer).get("properties", {})
    names = {_loose(camel): camel for camel in properties}
    if len(names) != len(properties):
        raise AssertionError(f"{name} {pointer}: two properties differ only in case")
    return names | {snake_name(camel): camel for camel in properties}


def wire_name(version: str, name: str, pointer: str, key: str) -> str | None:
    """The schema's spelling of ``key`` in the object at ``pointer`` (None: not a property)."""
    known = _names(version, name, pointer)
    return known.get(key) or known.get(_loose(key))


@functools.cache
def _node_at(version: str, name: str, pointer: str) -> dict[str, Any]:
    root = load_schema(version, name)
    node = _resolve(root, root)
    for step in filter(None, pointer.split("/")):
        node = _resolve(node["items"] if step == "[]" else node["properties"][step], root)
    return node


def to_camel(payload: Any, version: str, name: str, pointer: str = "") -> Any:
    """``payload`` (snake_case keys, as the library's dataclasses serialize) with every key
    spelt as schema ``name`` of ``version`` spells it at that place; keys the schema does not
    name (a vendor's ``customData``) get the library's rule."""
    if isinstance(payload, list):
        return [to_camel(item, version, name, f"{pointer}/[]") for item in payload]
    if not isinstance(payload, dict):
        return payload
    node = _node_at(version, name, pointer)
    out = {}
    for key, value in payload.items():
        camel = wire_name(version, name, pointer, key) if "properties" in node else None
        if camel is None:
            out[_library_camel(key)] = value  # not in the schema: validation will say so
            continue
        out[camel] = to_camel(value, version, name, f"{pointer}/{camel}")
    return out


def to_snake(payload: Any) -> Any:
    """The wire payload with snake_case keys (the library's rule, the handlers' kwargs)."""
    return camel_to_snake_case(payload)


def property_names(version: str) -> dict[str, set[str]]:
    """Every property name of every bundled schema of ``version``, with the schemas using it."""
    found: dict[str, set[str]] = {}

    def walk(node: Any, schema: str) -> None:
        if isinstance(node, dict):
            for key, child in node.get("properties", {}).items():
                found.setdefault(key, set()).add(schema)
                walk(child, schema)
            for key, child in node.items():
                if key != "properties":
                    walk(child, schema)
        elif isinstance(node, list):
            for child in node:
                walk(child, schema)

    for path in sorted((SCHEMA_ROOT / VERSIONS[version] / "schemas").glob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8-sig")), path.stem)
    return found


def wrong_in_library(version: str) -> dict[str, str]:
    """The wire names the library's own rule spells wrongly after a round trip through its
    snake_case, with what it makes of them (``{"limit_L2": "limitL2", ...}``)."""
    wrong = {}
    for camel in property_names(version):
        back = _library_camel(snake_name(camel))
        if back != camel:
            wrong[camel] = back
    return wrong
