"""The ``ocpp`` library's schema validation, made fast for valid messages.

The library checks every message it sends and receives against its bundled JSON schema with
``jsonschema``'s pure-Python ``Draft4Validator``: 8.9 ms for one 2.1 ``SetChargingProfile`` of
71 periods on this machine, on both ends of each push, which made a fleet-wide push to 200
stations take seconds (``bench/bench_ocpp.py``). :func:`install` puts a validator in front of
each of the library's: the same schema compiled by ``jsonschema_rs`` (Rust, a Draft 4
validator, formats not asserted, as ``jsonschema`` does not by default) answers first; a
message it finds valid is valid, and any other goes to the library's own validator, which
raises exactly the error it always raised (and so the same CallError). Nothing is skipped:
every message is still checked against its schema.

The 1.6 schemas the library reads with ``Decimal`` floats (``multipleOf 0.1``) keep the
library's validator alone.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

import jsonschema_rs
import ocpp.messages as messages

_installed = False


class _FastFirst:
    """``validate(payload)``: ``jsonschema_rs`` first; the library's validator for anything it
    does not accept (its errors are the library's)."""

    def __init__(self, slow: Any) -> None:
        self._slow = slow
        self._fast = jsonschema_rs.Draft4Validator(slow.schema, validate_formats=False)
        self.schema = slow.schema

    def validate(self, payload: Any) -> None:
        if not self._fast.is_valid(payload):
            self._slow.validate(payload)


def install() -> None:
    """Wrap the library's validators (once per process; see the module docstring)."""
    global _installed
    if _installed:
        return
    original: Callable[..., Any] = messages.get_validator

    def get_validator(
        message_type_id: int,
        action: str,
        ocpp_version: str,
        parse_float: Callable[[str], Any] = float,
    ) -> Any:
        validator = original(message_type_id, action, ocpp_version, parse_float=parse_float)
        if parse_float is decimal.Decimal or isinstance(validator, _FastFirst):
            return validator
        fast = _FastFirst(validator)
        for key, cached in messages._validators.items():  # the library's cache: keep ours
            if cached is validator:
                messages._validators[key] = fast  # type: ignore[assignment]
        return fast

    messages.get_validator = get_validator  # type: ignore[assignment]
    _installed = True
