"""One end of an OCPP-J connection on the ``ocpp`` library's ChargePoint classes, with what
voltpool needs that the library (2.1.0) does not do:

- every key spelt as the schema wants it (:mod:`voltpool.ocpp.keys`), sent and answered;
- an action without a handler answered at once with ``NotImplemented`` (a known action of the
  negotiated version) or ``NotSupported`` (any other) CallError, on 2.1 too (the library
  leaves a 2.1 caller waiting for its timeout);
- a frame that is not OCPP-J (not JSON, not an array, a wrong type, a missing element, a
  non-string id or action) answered with a CallError (``FormatViolation``/``ProtocolError``/
  ``MessageTypeNotSupported``, id ``"-1"`` when none can be read) and never an exception
  out of the read loop; a payload missing a required field is an
  ``OccurrenceConstraintViolation`` (the library says ``ProtocolError``); a handler's
  unexpected error is an ``InternalError`` CallError; 1.6 peers get 1.6's spellings;
- OCPP 2.1's SEND (type 6) accepted without an answer, as the RPC framework says, and its
  CALLRESULTERROR (type 5) logged; the library knows neither (so no handler sees a SEND: a
  station's ``NotifyPeriodicEventStream`` is dropped, which costs voltpool nothing yet);
- :meth:`Peer.request`: one outstanding call per connection (the library's lock), a timeout
  per try and a bounded number of tries; OCPP 2.1's ``RateLimitExceeded`` CallError
  (:class:`RateLimitExceededError`, unknown to the library) waited out and tried again.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any

from ocpp.exceptions import (
    FormatViolationError,
    InternalError,
    NotImplementedError,
    NotSupportedError,
    OccurrenceConstraintViolationError,
    OCPPError,
    ProtocolError,
)
from ocpp.messages import Call, CallError, CallResult, MessageType, validate_payload
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16.enums import Action as Action16
from ocpp.v21 import ChargePoint as ChargePoint21
from ocpp.v21.enums import Action as Action21
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201.enums import Action as Action201
from websockets.exceptions import ConnectionClosed

from voltpool.ocpp import validation
from voltpool.ocpp.keys import schema_name, to_camel, to_snake

log = logging.getLogger("voltpool.ocpp")
validation.install()  # every peer, central system or station, checks schemas fast first

SUBPROTOCOLS = {"ocpp2.1": "2.1", "ocpp2.0.1": "2.0.1", "ocpp1.6": "1.6"}
"""WebSocket subprotocol -> the library's version string, in voltpool's order of preference."""
ACTIONS = {
    "2.1": frozenset(a.value for a in Action21),
    "2.0.1": frozenset(a.value for a in Action201),
    "1.6": frozenset(a.value for a in Action16),
}
CODES_16 = {
    "FormatViolation": "FormationViolation",
    "MessageTypeNotSupported": "ProtocolError",
    "OccurrenceConstraintViolation": "OccurenceConstraintViolation",
}
"""OCPP 1.6's names of the error codes that 2.x spells differently or lacks."""
SEND = 6
CALL_RESULT_ERROR = 5
NO_ID = "-1"
"""The message id of a CallError answering a frame whose own id cannot be read."""


class MessageTypeNotSupportedError(OCPPError):
    code = "MessageTypeNotSupported"
    default_description = "A message with a MessageTypeId this endpoint does not know"


class RateLimitExceededError(OCPPError):
    """OCPP 2.1's CallError for a call that came sooner than the receiver allows (e.g. a
    charging profile updated faster than ``ChargingProfileUpdateRateLimit``); the library
    (2.1.0) does not know the code, so its ``CallError.to_exception`` finds this class."""

    code = "RateLimitExceeded"
    default_description = "Too many calls: try again later"


def unknown_action(version: str, action: str) -> OCPPError:
    """What to answer a call of ``action`` that has no handler."""
    if action in ACTIONS[version]:
        return NotImplementedError(details={"cause": f"voltpool does not handle {action}"})
    return NotSupportedError(details={"cause": f"{action} is not an OCPP {version} action"})


def _frame(raw: str | bytes) -> list[Any]:
    try:
        frame = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise FormatViolationError(details={"cause": "the message is not JSON"}) from None
    if not isinstance(frame, list) or not frame:
        raise ProtocolError(details={"cause": "an OCPP-J message is a non-empty JSON array"})
    return frame


def _id_of(frame: Any) -> str:
    if isinstance(frame, list) and len(frame) > 1 and isinstance(frame[1], str) and frame[1]:
        return frame[1][:36]
    return NO_ID


class Peer:
    """Mixed in before one of the library's ChargePoint classes (see the module docstring)."""

    _ocpp_version: str
    _call_result: Any
    route_map: dict[str, dict[str, Any]]
    _response_queue: asyncio.Queue[Any]
    _call_lock: asyncio.Lock
    _response_timeout: float
    id: str

    async def _send(self, message: str) -> None:  # the library's, without logging payloads
        await self._connection.send(message)  # type: ignore[attr-defined]

    async def _answer_error(self, unique_id: str, error: OCPPError) -> None:
        code = error.code
        if self._ocpp_version == "1.6":  # 1.6 has its own spelling and no message-type error
            code = CODES_16.get(code, code)
        cause = (error.details or {}).get("cause")
        details = {} if cause is None else {"cause": str(cause)[:500]}
        await self._send(CallError(unique_id, code, error.description, details).to_json())

    async def route_message(self, raw_msg: str | bytes) -> None:
        """Handle one frame; nothing a peer sends raises out of here."""
        frame: Any = None
        try:
            frame = _frame(raw_msg)
            kind = frame[0]
            if kind == MessageType.Call:
                if len(frame) != 4:
                    raise ProtocolError(details={"cause": "a CALL has 4 elements"})
                _, unique_id, action, payload = frame
                if not isinstance(unique_id, str) or not unique_id or len(unique_id) > 36:
                    raise ProtocolError(details={"cause": "the message id is a string of 1-36"})
                if not isinstance(action, str) or not isinstance(payload, dict):
                    raise FormatViolationError(
                        details={"cause": "a CALL's action is a string, its payload an object"}
                    )
                await self._handle_call(Call(unique_id, action, payload))
            elif kind in (MessageType.CallResult, MessageType.CallError):
                minimum = 3 if kind == MessageType.CallResult else 5
                if len(frame) < minimum:
                    raise ProtocolError(details={"cause": "the answer lacks elements"})
                answer = CallResult(*frame[1:3]) if kind == MessageType.CallResult else None
                self._response_queue.put_nowait(answer or CallError(*frame[1:5]))
            elif kind == SEND and self._ocpp_version == "2.1":
                log.info("%s: SEND %s ignored", self.id, frame[2] if len(frame) > 2 else "?")
            elif kind == CALL_RESULT_ERROR and self._ocpp_version == "2.1":
                log.warning("%s: the station could not take our answer: %s", self.id, frame[1:])
            else:
                raise MessageTypeNotSupportedError(details={"cause": f"type {kind!r}"})
        except ConnectionClosed:
            raise  # the connection is gone: the read loop ends
        except OCPPError as error:
            log.info("%s: answered %s to %.200r", self.id, error.code, raw_msg)
            await self._answer_error(_id_of(frame), error)
        except Exception:  # a bug of ours: the connection stays up, the peer learns of it
            log.exception("%s: handling %.200r failed", self.id, raw_msg)
            await self._answer_error(_id_of(frame), InternalError())

    async def _handle_call(self, msg: Call) -> Any:
        handlers = self.route_map.get(msg.action, {})
        handler = handlers.get("_on_action")
        if handler is None:
            raise unknown_action(self._ocpp_version, msg.action)
        validate = not handlers.get("_skip_schema_validation", False)
        if validate:
            try:
                await validate_payload(msg, self._ocpp_version)
            except ProtocolError as missing:  # the library's name for a required field absent
                raise OccurrenceConstraintViolationError(details=missing.details) from None
        kwargs = to_snake(msg.payload)
        try:
            response = handler(**kwargs)
            if inspect.isawaitable(response):
                response = await response
        except OCPPError:
            raise
        except Exception:
            log.exception("%s: handling %s failed", self.id, msg.action)
            raise InternalError(details={"cause": f"voltpool failed on {msg.action}"}) from None
        payload = to_camel(
            _plain(response), self._ocpp_version, schema_name(self._ocpp_version, msg.action, True)
        )
        result = msg.create_call_result(payload)
        if validate:
            await validate_payload(result, self._ocpp_version)
        await self._send(result.to_json())
        after = handlers.get("_after_action")
        if after is not None:
            follow = after(**kwargs)
            if inspect.isawaitable(follow):
                task = asyncio.ensure_future(follow)
                task.add_done_callback(_log_failure)
        return response

    async def call(
        self,
        payload: Any,
        suppress: bool = True,
        unique_id: str | None = None,
        skip_schema_validation: bool = False,
    ) -> Any:
        """The library's ``call`` with the keys spelt by the schemas (its signature)."""
        action = type(payload).__name__
        version = self._ocpp_version
        body = to_camel(_plain(payload), version, schema_name(version, action, False))
        call = Call(unique_id or str(self._unique_id_generator()), action, body)  # type: ignore[attr-defined]
        if not skip_schema_validation:
            await validate_payload(call, version)
        async with self._call_lock:
            await self._send(call.to_json())
            response = await self._get_specific_response(  # type: ignore[attr-defined]
                call.unique_id, self._response_timeout
            )
        if response.message_type_id == MessageType.CallError:
            if suppress:
                log.warning("%s: %s answered %s", self.id, action, response.error_code)
                return None
            raise response.to_exception()
        response.action = action
        if not skip_schema_validation:
            await validate_payload(response, version)
        return getattr(self._call_result, action)(**to_snake(response.payload))

    rate_limit_wait_s = 1.0
    """After a ``RateLimitExceeded`` answer, :meth:`request` waits this long times the try."""
    rate_limit_tries = 5

    async def request(self, payload: Any, tries: int = 3, backoff_s: float = 0.5) -> Any:
        """``call`` with at most ``tries`` tries of ``response_timeout`` each, and a
        ``RateLimitExceeded`` answer waited out (``rate_limit_wait_s`` times the try) and
        tried again up to ``rate_limit_tries`` times; any other CallError is raised as its
        OCPPError, not retried; TimeoutError or the last RateLimitExceededError at the end."""
        timeouts = limited = 0
        action = type(payload).__name__
        while True:
            try:
                return await self.call(payload, suppress=False)
            except TimeoutError:
                timeouts += 1
                if timeouts >= tries:
                    raise
                log.warning("%s: %s timed out (try %d)", self.id, action, timeouts)
                await asyncio.sleep(backoff_s * timeouts)
            except RateLimitExceededError:
                limited += 1
                if limited >= self.rate_limit_tries:
                    raise
                log.info("%s: %s rate-limited, waiting (try %d)", self.id, action, limited)
                await asyncio.sleep(self.rate_limit_wait_s * limited)


def _plain(payload: Any) -> dict[str, Any]:
    """A dataclass payload (or a plain dict) as a dict without the unset fields."""
    from ocpp.charge_point import remove_nones, serialize_as_dict

    body = payload if isinstance(payload, dict) else serialize_as_dict(payload)
    return remove_nones(body)  # type: ignore[return-value]


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a follow-up failed", exc_info=task.exception())


class Peer21(Peer, ChargePoint21):
    """An OCPP 2.1 end."""


class Peer201(Peer, ChargePoint201):
    """An OCPP 2.0.1 end."""


class Peer16(Peer, ChargePoint16):
    """An OCPP 1.6 end."""
