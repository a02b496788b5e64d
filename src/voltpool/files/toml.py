"""TOML input files (scenarios, homes, circles): built-ins shipped in a package, or a path.

One place for what every such file needs: finding a built-in by name, reading a path through
the input gate (:mod:`voltpool.gate`: UTF-8, size, depth, finite bounded numbers, bounded
strings), parsing TOML with a clear error, and turning pydantic's validation errors into
:class:`FieldIssue` paths like ``events[2].car``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ValidationError

from voltpool import gate
from voltpool.errors import FieldIssue, ProblemError


def known_time_zone(value: str) -> str:
    """``value`` if it is an IANA time zone name, else a ValueError saying so."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {gate.quote(value)} (use an IANA name)") from error
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
        name = gate.check_text(str(name_or_path), self.argument, gate.PATH_CHARS_MAX)
        path = Path(name)
        if path.suffix == ".toml" or gate.exists(path):
            return gate.read_text(path, self.argument), str(path)
        if name not in self.names():
            raise ProblemError(
                [
                    FieldIssue(
                        self.argument,
                        f"{gate.quote(name)} is neither a .toml file nor a built-in {self.kind} "
                        f"({', '.join(self.names())})",
                    )
                ]
            )
        source = f"built-in {self.kind} {name!r}"
        data = resources.files(self.package).joinpath(f"builtin/{name}.toml").read_bytes()
        return gate.decode(data, source), source

    def document(self, name_or_path: str | Path) -> tuple[dict[str, Any], str]:
        """The parsed TOML of a built-in or a file (through the input gate), and its source."""
        text, source = self.text(name_or_path)
        return gate.load_toml(text, source), source


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
    if len(issues) > gate.ISSUES_MAX:
        more = len(issues) - gate.ISSUES_MAX
        issues = [
            *issues[: gate.ISSUES_MAX],
            FieldIssue(root, f"{more:,} more problem(s), not listed"),
        ]
    return issues
