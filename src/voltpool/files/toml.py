"""TOML input files (scenarios, homes, circles): built-ins shipped in a package, or a path.

One place for what every such file needs: finding a built-in by name, reading a path, parsing
TOML with a clear error, and turning pydantic's validation errors into :class:`FieldIssue`
paths like ``events[2].car``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ValidationError

from voltpool.errors import FieldIssue, ProblemError


def known_time_zone(value: str) -> str:
    """``value`` if it is an IANA time zone name, else a ValueError saying so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from error
    return value


TimeZone = Annotated[str, AfterValidator(known_time_zone)]
"""A pydantic field type: an IANA time zone name (``Europe/Amsterdam``)."""


@dataclass(frozen=True)
class TomlLibrary:
    """The built-in files of one kind: ``<package>/builtin/<name>.toml``.

    ``kind`` names them in messages ("scenario"); ``argument`` is the command-line argument a
    wrong name is reported against ("SCENARIO", "--scenario").
    """

    package: str
    kind: str
    argument: str

    def names(self) -> list[str]:
        folder = resources.files(self.package).joinpath("builtin")
        return sorted(
            p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
        )

    def text(self, name_or_path: str | Path) -> tuple[str, str]:
        """The TOML text of a built-in (by name) or a file, and where it came from."""
        path = Path(name_or_path)
        if path.suffix == ".toml" or path.exists():
            if not path.is_file():
                raise ProblemError([FieldIssue(self.argument, f"{path} is not a readable file")])
            return path.read_text(), str(path)
        name = str(name_or_path)
        if name not in self.names():
            raise ProblemError(
                [
                    FieldIssue(
                        self.argument,
                        f"{name!r} is neither a .toml file nor a built-in {self.kind} "
                        f"({', '.join(self.names())})",
                    )
                ]
            )
        text = resources.files(self.package).joinpath(f"builtin/{name}.toml").read_text()
        return text, f"built-in {self.kind} {name!r}"

    def document(self, name_or_path: str | Path) -> tuple[dict[str, Any], str]:
        """The parsed TOML of a built-in or a file, and where it came from."""
        text, source = self.text(name_or_path)
        try:
            return tomllib.loads(text), source
        except tomllib.TOMLDecodeError as error:
            raise ProblemError([FieldIssue(source, f"is not valid TOML: {error}")]) from None


def validation_issues(
    error: ValidationError,
    root: str,
    unknown_key_hint: str,
    skip: Collection[str] = (),
    renamed: Mapping[str, str] | None = None,
) -> list[FieldIssue]:
    """pydantic's errors as field paths (``vehicles.soc_min``, ``cars[1].min_range_km``).

    ``root`` names an error about the whole document; ``skip`` lists location parts that are
    not keys of the file (a discriminated union's tag); ``unknown_key_hint`` tells the user
    where the valid keys are listed; ``renamed`` maps keys of an older file format to their
    new names, which an unknown old key's message adds (``renamed to soc_min``).
    """
    renamed = renamed or {}
    issues = []
    for item in error.errors():
        path = ""
        for part in item["loc"]:
            if part in skip:
                continue
            path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown key (check its spelling; {unknown_key_hint})"
            key = item["loc"][-1] if item["loc"] else None
            if isinstance(key, str) and key in renamed:
                message += f"; renamed to {renamed[key]}"
        elif item["type"] == "missing":
            message = "is required"
        issues.append(FieldIssue(path or root, message))
    return issues
