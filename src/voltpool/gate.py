"""The input gate: every file, document and command-line value from outside passes here first.

One set of limits for every entry point (the CLI today, the HTTP API next), each refusal a
:class:`~voltpool.errors.FieldIssue` naming the field path and the rule, raised together as a
:class:`~voltpool.errors.ProblemError` before anything is parsed further or written:

    text = read_text(path, "PROBLEM.json")         # UTF-8 only, at most FILE_BYTES_MAX
    document = load_json(text, "PROBLEM.json")     # depth, integer digits, then check_document
    document = load_toml(text, source)             # the same rules for TOML
    value = parse_decimal("5000", "--amount")      # plain decimal digits, finite, bounded

:func:`check_document` walks a parsed document: every number finite and within the limit of the
unit its key names (``*_kw``, ``*_kwh``, ``*_per_kwh``: see :data:`UNIT_LIMITS`), every string
short and free of control characters and lone surrogates, every array and object at most
:data:`ITEMS_MAX` long. Messages quote at most :data:`QUOTE_CHARS` characters of what they refuse
(:func:`quote`). The limits and why each has its value: ``docs/input-limits.md``.

This module imports nothing of voltpool but its errors: the core, the CLI, the ledger and the
API can all use it.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
import tempfile
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from voltpool.errors import FieldIssue, ProblemError

FILE_BYTES_MAX = 50 * 1024 * 1024
"""An input file: 50 MiB holds a problem of 20,000 cars x 96 slots (about 15 MB) three times."""
DEPTH_MAX = 64
"""Nesting of arrays and objects; voltpool's own formats nest at most 5 levels."""
ITEMS_MAX = 1_000_000
"""Elements of one array or keys of one object: 28 years of 15-minute slots, 50x the largest
fleet measured (20,000 cars)."""
INT_DIGITS_MAX = 18
"""Digits of an integer without a unit: any such integer fits a signed 64-bit integer."""
FLOAT_ABS_MAX = 1e15
"""A float without a unit in its key: below 2**53, where floats still count in whole units."""
UNIT_LIMITS: tuple[tuple[str, float, str], ...] = (
    ("_per_kwh", 1e6, "a price or cost per kWh"),
    ("_per_kw", 1e6, "a price per kW"),
    ("_kwh", 1e7, "an energy [kWh] (10 GWh)"),
    ("_kw", 1e6, "a power [kW] (1 GW)"),
)
"""(key suffix, largest magnitude, what it is) of numbers under a key with a unit
(docs/conventions.md, "Units in names"); the first matching suffix applies, also to every
number in an array under that key."""
NAME_CHARS_MAX = 200
"""An id, a name, a time zone, any string that is not free text."""
TEXT_CHARS_MAX = 4000
"""Free text: the values of :data:`FREE_TEXT_KEYS` (tabs and line breaks allowed)."""
FREE_TEXT_KEYS = frozenset({"description", "reason", "notes", "site_notes"})
PATH_CHARS_MAX = 4096
"""A file name as given, the whole path (Linux's PATH_MAX)."""
NAME_BYTES_MAX = 255
"""One part of a path, in bytes (Linux's NAME_MAX)."""
QUOTE_CHARS = 40
"""Characters of a refused value a message shows."""
PATH_QUOTE_CHARS = 300
"""Characters of a refused file name a message shows (the end of a path matters too)."""
MESSAGE_CHARS_MAX = 1000
"""A field or a rule as printed (:func:`printable`)."""
ISSUES_MAX = 20
"""Issues of one document listed; more are summed up in one last issue."""
PathKind = Literal["file", "folder"]

_NAME_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_REFUSED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_EMPTY_PAIR = re.compile(r"\[\]|\{\}")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")
_BOMS = ((b"\xef\xbb\xbf", ""), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
UTF8_BOM = _BOMS[0][0]


@dataclass(frozen=True)
class _LongInteger:
    """What :func:`load_json` keeps of an integer with more than :data:`INT_DIGITS_MAX` digits
    (never converted: a 5,000-digit integer costs time and Python refuses it)."""

    digits: int


# --- quoting and printing ------------------------------------------------------------------------


def quote(value: object, chars: int = QUOTE_CHARS) -> str:
    """``value`` for a message: at most ``chars`` characters of it, escaped (``repr``), and its
    length when cut; a long integer, an array or an object as what it is."""
    if isinstance(value, _LongInteger):
        return f"an integer of {value.digits:,} digits"
    if type(value) is int and abs(value) >= 10**INT_DIGITS_MAX:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"
    if isinstance(value, list | tuple):
        return f"an array of {_count(len(value), 'item')}"
    if isinstance(value, dict):
        return f"an object of {_count(len(value), 'key')}"
    text = value if isinstance(value, str) else repr(value)
    shown = repr(text[:chars]) if isinstance(value, str) else printable(text[:chars])
    return shown if len(text) <= chars else f"{shown}…({len(text):,} chars)"


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


def printable(text: str, chars: int = MESSAGE_CHARS_MAX) -> str:
    """``text`` safe to print: control characters and lone surrogates escaped, cut at ``chars``."""
    escaped = _NAME_REFUSED.sub(lambda m: ascii(m.group())[1:-1], text[:chars])
    return escaped if len(text) <= chars else f"{escaped}…({len(text):,} chars)"


# --- files ---------------------------------------------------------------------------------------


def exists(path: Path) -> bool:
    """Whether ``path`` exists; False for a name the system refuses (too long, say), where
    :meth:`pathlib.Path.exists` would raise."""
    try:
        return path.exists() or path.is_symlink()
    except (OSError, ValueError):
        return False


def read_bytes(path: str | Path, field: str, max_bytes: int = FILE_BYTES_MAX) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``; a folder, a device or pipe, a
    missing or unreadable file, a name that is not text or a larger file is refused naming
    ``field`` (a pipe is never opened: it could block)."""
    name_issue = _name_issue(str(path))
    if name_issue:
        raise ProblemError([FieldIssue(field, f"the file name {name_issue}")])
    path = Path(path)
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            raise ProblemError([FieldIssue(field, f"{path} is a folder, not a file")])
        if not stat.S_ISREG(mode):
            raise ProblemError([FieldIssue(field, f"{path} is not a regular file")])
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ProblemError(
            [FieldIssue(field, f"{path} is not a readable file ({reason})")]
        ) from None
    if len(data) > max_bytes:
        raise ProblemError(
            [FieldIssue(field, f"{path} is larger than {max_bytes:,} bytes (the input limit)")]
        )
    return data


def decode(data: bytes, source: str) -> str:
    """``data`` as text: UTF-8 (a leading byte-order mark is dropped), no NUL bytes."""
    for mark, encoding in _BOMS:
        if data.startswith(mark):
            if encoding:
                raise ProblemError(
                    [FieldIssue(source, f"is {encoding} text: save it as UTF-8 and try again")]
                )
            data = data[len(mark) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        byte = data[error.start]
        raise ProblemError(
            [FieldIssue(source, f"is not UTF-8 text (byte 0x{byte:02x} at offset {error.start})")]
        ) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise ProblemError(
            [FieldIssue(source, f"is not text (a NUL byte at offset {nul}: binary data?)")]
        )
    return text


def read_text(path: str | Path, field: str, max_bytes: int = FILE_BYTES_MAX) -> str:
    """A text file (UTF-8, at most ``max_bytes``); every refusal names ``field``."""
    return decode(read_bytes(path, field, max_bytes), field)


# --- documents -----------------------------------------------------------------------------------


def load_json(text: str, source: str, root: str = "") -> Any:
    """Parse JSON and pass it through :func:`check_document`; ``source`` names the document
    (``root`` starts every field path, as in :func:`document_issues`).

    Nesting is measured before the parser recurses; NaN and Infinity literals, numbers that
    overflow a float (``1e400``) and integers of more than :data:`INT_DIGITS_MAX` digits are
    refused with their field path.
    """
    depth = _json_depth(text)
    if depth > DEPTH_MAX:
        raise ProblemError([FieldIssue(source, _depth_rule(depth))])
    try:
        document = json.loads(text, parse_int=_json_int)
    except RecursionError:  # only if the count above missed a level: never a traceback
        raise ProblemError([FieldIssue(source, _depth_rule(None))]) from None
    except json.JSONDecodeError as error:
        raise ProblemError(
            [
                FieldIssue(
                    source,
                    f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
                )
            ]
        ) from None
    check_document(document, source, root)
    return document


def load_toml(text: str, source: str) -> dict[str, Any]:
    """Parse TOML and pass it through :func:`check_document` (the rules of :func:`load_json`;
    TOML's own ``inf`` and ``nan`` are refused the same way)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProblemError([FieldIssue(source, f"is not valid TOML: {error}")]) from None
    except RecursionError:
        raise ProblemError([FieldIssue(source, _depth_rule(None))]) from None
    except ValueError:  # Python's own limit on the digits of an integer
        raise ProblemError(
            [FieldIssue(source, f"holds an integer of more than {INT_DIGITS_MAX} digits")]
        ) from None
    depth = _document_depth(document)
    if depth > DEPTH_MAX:
        raise ProblemError([FieldIssue(source, _depth_rule(depth))])
    check_document(document, source)
    return document


def check_document(document: Any, source: str, root: str = "") -> None:
    """Raise :class:`ProblemError` listing what in ``document`` breaks the gate's rules (at
    most :data:`ISSUES_MAX` of them, then one issue counting the rest)."""
    issues: list[FieldIssue] = []
    more = 0
    for issue in document_issues(document, source, root):
        if len(issues) < ISSUES_MAX:
            issues.append(issue)
        else:
            more += 1
    if more:
        issues.append(FieldIssue(source, f"{more:,} more problem(s) like these, not listed"))
    if issues:
        raise ProblemError(issues)


def document_issues(document: Any, source: str, root: str = "") -> Iterator[FieldIssue]:
    """Every rule of the gate ``document`` breaks, in document order, as (field path, rule).

    ``source`` is the field of an issue about the document as a whole; ``root`` starts every
    path (``--metadata`` gives ``--metadata.key``; by default a path starts at a top-level key).
    The walk keeps its own stack (a deep document cannot overflow Python's) and does not enter
    a refused array.
    """
    stack: list[FieldIssue | tuple[Any, str, str | None]] = [(document, root, None)]
    while stack:
        item = stack.pop()
        if isinstance(item, FieldIssue):
            yield item
            continue
        value, path, key = item
        field = path or source
        if isinstance(value, dict):
            stack.extend(reversed(list(_object_children(value, path, field))))
        elif isinstance(value, list):
            if len(value) > ITEMS_MAX:
                yield FieldIssue(field, f"has {len(value):,} items; at most {ITEMS_MAX:,}")
                continue
            numbers = _number_issues(value, path, key)
            if numbers is not None:
                yield from numbers
                continue
            stack.extend((value[i], f"{path}[{i}]", key) for i in reversed(range(len(value))))
        else:
            rule = value_rule(value, key)
            if rule:
                yield FieldIssue(field, rule)


def value_rule(value: Any, key: str | None) -> str | None:
    """The rule a single value (not an array or object) under ``key`` breaks, or None."""
    if isinstance(value, str):
        return text_rule(value, free_text=key in FREE_TEXT_KEYS)
    if isinstance(value, _LongInteger):
        return f"is an integer of {value.digits:,} digits; at most {INT_DIGITS_MAX}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return number_rule(value, key)
    return None


def number_rule(value: float, key: str | None) -> str | None:
    """Why a number under ``key`` is refused (not finite, too large for its unit), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number (NaN and infinities are refused)"
    limit, what = number_limit(key, isinstance(value, float))
    if abs(value) <= limit:
        return None
    if isinstance(value, int) and what == "":
        return f"is {quote(value)}; an integer has at most {INT_DIGITS_MAX} digits"
    return f"{quote(value)} is beyond ±{limit:g}, the limit for {what}"


def number_limit(key: str | None, is_float: bool) -> tuple[float, str]:
    """The largest magnitude of a number under ``key``, and what it is ("" for an integer
    without a unit)."""
    for suffix, limit, what in UNIT_LIMITS:
        if key is not None and key.endswith(suffix):
            return limit, what
    if is_float:
        return FLOAT_ABS_MAX, "a number without a unit"
    return 10**INT_DIGITS_MAX - 1, ""


def text_rule(value: str, free_text: bool = False, max_chars: int | None = None) -> str | None:
    """Why a string is refused (too long, a control character, a lone surrogate), or None.

    Names (``free_text=False``) hold at most :data:`NAME_CHARS_MAX` characters and no control
    character; free text at most :data:`TEXT_CHARS_MAX`, tabs and line breaks allowed.
    """
    limit = max_chars or (TEXT_CHARS_MAX if free_text else NAME_CHARS_MAX)
    if len(value) > limit:
        return f"{quote(value)} is {len(value):,} characters long; at most {limit:,}"
    return character_rule(value, free_text)


def character_rule(value: str, free_text: bool = False) -> str | None:
    """Why a string's characters are refused (a control character, a lone surrogate), or None:
    :func:`text_rule` without the length."""
    found = (_TEXT_REFUSED if free_text else _NAME_REFUSED).search(value)
    if found is None:
        return None
    char = found.group()
    what = "a lone surrogate (not Unicode text)" if char >= "\ud800" else "a control character"
    return f"{quote(value)} holds {what}: U+{ord(char):04X} at position {found.start()}"


def _object_children(
    value: dict[Any, Any], path: str, field: str
) -> Iterator[FieldIssue | tuple[Any, str, str]]:
    """An object's issues (too many keys, a refused key) and its children to walk."""
    if len(value) > ITEMS_MAX:
        yield FieldIssue(field, f"has {len(value):,} keys; at most {ITEMS_MAX:,}")
        return
    for name, item in value.items():
        rule = text_rule(name) if isinstance(name, str) else f"is not a string ({quote(name)})"
        if rule:
            yield FieldIssue(field, f"key {rule}")
            continue
        yield item, f"{path}.{name}" if path else name, name


def _number_issues(items: list[Any], path: str, key: str | None) -> Iterator[FieldIssue] | None:
    """The issues of an array that holds only numbers (a fast path for slot arrays), or None
    when it holds anything else."""
    if not all(type(x) is float or type(x) is int for x in items):
        return None
    limits = {float: number_limit(key, is_float=True)[0], int: number_limit(key, False)[0]}
    return (
        FieldIssue(f"{path}[{i}]", number_rule(x, key) or "")
        for i, x in enumerate(items)
        if not -limits[type(x)] <= x <= limits[type(x)]  # False for NaN too
    )


def _json_int(text: str) -> int | _LongInteger:
    digits = len(text) - (text[0] in "+-")
    return int(text) if digits <= INT_DIGITS_MAX else _LongInteger(digits)


def _json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in JSON text (strings skipped), counted up to
    one past :data:`DEPTH_MAX`, without parsing: innermost ``[]`` and ``{}`` pairs are removed
    level by level (each round at the regex engine's speed), then what is left is counted."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    removed = 0
    while brackets and removed <= DEPTH_MAX:
        inner = _EMPTY_PAIR.sub("", brackets)
        if len(inner) == len(brackets):
            break
        brackets, removed = inner, removed + 1
    depth = deepest = removed
    for char in brackets:
        depth += 1 if char in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > DEPTH_MAX or depth < 0:  # a stray closing bracket: the parser stops there
            break
    return deepest


def _document_depth(document: Any) -> int:
    """The deepest nesting of a parsed document (its own stack), up to one past the limit."""
    stack = [(document, 0)]
    deepest = 0
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            depth += 1
            if depth > DEPTH_MAX:
                return depth
            deepest = max(deepest, depth)
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth) for item in items if isinstance(item, dict | list))
    return deepest


def _depth_rule(depth: int | None) -> str:
    return f"nests arrays and tables (objects) deeper than {DEPTH_MAX} levels" + (
        "" if depth is None else f" (at least {depth})"
    )


def _name_issue(name: str) -> str | None:
    """Why a file name is refused (not printable, longer than :data:`PATH_CHARS_MAX`), or None."""
    if len(name) > PATH_CHARS_MAX:
        return f"{quote(name)} is {len(name):,} characters long; at most {PATH_CHARS_MAX:,}"
    found = _NAME_REFUSED.search(name)
    return None if found is None else f"{quote(name, PATH_QUOTE_CHARS)} is not printable text"


# --- command-line values -------------------------------------------------------------------------


def parse_decimal(
    text: str, field: str, minimum: float | None = None, maximum: float | None = None
) -> float:
    """A number written in plain decimal digits (``12``, ``-0.5``, ``1e3``): no ``nan``, ``inf``
    or ``5_000``, finite, within [``minimum``, ``maximum``] (default ±:data:`FLOAT_ABS_MAX`)."""
    value = text.strip()
    if not _DECIMAL.fullmatch(value):
        raise ProblemError([FieldIssue(field, f"{quote(text)} is not a number in decimal digits")])
    number = float(value)
    _check_range(number, field, minimum, maximum, FLOAT_ABS_MAX)
    return number


def parse_whole(
    text: str, field: str, minimum: int | None = None, maximum: int | None = None
) -> int:
    """A whole number in plain decimal digits (``5000``; not ``5_000``, ``5e3`` or ``5.0``), at
    most :data:`INT_DIGITS_MAX` digits, within [``minimum``, ``maximum``]."""
    value = text.strip()
    if not _WHOLE.fullmatch(value):
        raise ProblemError(
            [FieldIssue(field, f"{quote(text)} is not a whole number in decimal digits")]
        )
    if len(value.lstrip("+-")) > INT_DIGITS_MAX:
        raise ProblemError(
            [FieldIssue(field, f"{quote(value)} has more than {INT_DIGITS_MAX} digits")]
        )
    number = int(value)
    _check_range(number, field, minimum, maximum, 10**INT_DIGITS_MAX - 1)
    return number


def _check_range(
    number: float, field: str, minimum: float | None, maximum: float | None, bound: float
) -> None:
    low = -bound if minimum is None else minimum
    high = bound if maximum is None else maximum
    if not low <= number <= high:
        shown = [f"{x:g}" if isinstance(x, float) else f"{x:,}" for x in (number, low, high)]
        raise ProblemError([FieldIssue(field, "{} must be in {}..{}".format(*shown))])


def check_text(value: str, field: str, max_chars: int = NAME_CHARS_MAX) -> str:
    """``value`` if it is a name of at most ``max_chars`` printable characters, else refused."""
    rule = text_rule(value, max_chars=max_chars)
    if rule:
        raise ProblemError([FieldIssue(field, rule)])
    return value


# --- outputs -------------------------------------------------------------------------------------


def check_output(path: str | Path, field: str, kind: PathKind) -> Path:
    """Refuse, before any work, an output ``path`` that cannot be written: a folder where a file
    goes (or a file where a folder goes), a parent that is a file, a place nothing can be
    created in (tried with a temporary file, removed at once), a name that is not text or that
    the system refuses (longer than :data:`NAME_BYTES_MAX` bytes)."""
    name_issue = _name_issue(str(path)) or ("is empty" if not str(path) else None)
    path = Path(path)
    if not name_issue and any(len(part.encode()) > NAME_BYTES_MAX for part in path.parts):
        name_issue = f"has a part longer than {NAME_BYTES_MAX} bytes"
    if name_issue:
        raise ProblemError([FieldIssue(field, f"the path {name_issue}")])
    _check_output_kind(path, field, kind)
    parent = path if kind == "folder" and path.is_dir() else path.parent
    while not exists(parent):
        parent = parent.parent
    if not parent.is_dir():
        raise ProblemError([FieldIssue(field, f"{parent} is a file, not a folder")])
    try:
        with tempfile.TemporaryFile(dir=parent, prefix=".voltpool-probe-"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ProblemError([FieldIssue(field, f"cannot write in {parent} ({reason})")]) from None
    return path


def _check_output_kind(path: Path, field: str, kind: PathKind) -> None:
    if not exists(path):
        return
    if kind == "file" and path.is_dir():
        raise ProblemError([FieldIssue(field, f"{path} is a folder; give a file name")])
    if kind == "folder" and not path.is_dir():
        raise ProblemError([FieldIssue(field, f"{path} is a file; give a folder")])


def new_file_mode() -> int:
    """The mode a new file gets under the current umask (``0o666 & ~umask``): what a file written
    through a private temporary file (``tempfile.mkstemp``, mode 0600) is given before it is
    renamed into place."""
    return 0o666 & ~_umask()


def new_folder_mode() -> int:
    """The mode a new folder gets under the current umask (``0o777 & ~umask``): what a folder
    made by ``tempfile.mkdtemp`` (mode 0700) is given before it is renamed into place."""
    return 0o777 & ~_umask()


def _umask() -> int:
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


__all__ = [
    "DEPTH_MAX",
    "FILE_BYTES_MAX",
    "FLOAT_ABS_MAX",
    "FREE_TEXT_KEYS",
    "INT_DIGITS_MAX",
    "ISSUES_MAX",
    "ITEMS_MAX",
    "MESSAGE_CHARS_MAX",
    "NAME_BYTES_MAX",
    "NAME_CHARS_MAX",
    "PATH_CHARS_MAX",
    "PATH_QUOTE_CHARS",
    "QUOTE_CHARS",
    "TEXT_CHARS_MAX",
    "UNIT_LIMITS",
    "UTF8_BOM",
    "PathKind",
    "character_rule",
    "check_document",
    "check_output",
    "check_text",
    "decode",
    "document_issues",
    "exists",
    "load_json",
    "load_toml",
    "new_file_mode",
    "new_folder_mode",
    "number_limit",
    "number_rule",
    "parse_decimal",
    "parse_whole",
    "printable",
    "quote",
    "read_bytes",
    "read_text",
    "text_rule",
    "value_rule",
]
