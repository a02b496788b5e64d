"""Errors voltpool raises at its edges.

Every error names the field it is about and the rule that field broke, so a user can fix the input
without reading code. Validation collects *all* problems of an input before raising, so one run
shows everything that needs fixing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldIssue:
    """One broken rule: ``field`` is a path such as ``vehicles[3].soc_target``."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field}: {self.rule}"


class ProblemError(ValueError):
    """The input breaks one or more rules; ``issues`` lists each (field, rule)."""

    def __init__(self, issues: list[FieldIssue]) -> None:
        if not issues:
            raise ValueError("ProblemError needs at least one issue")
        self.issues = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues)
        super().__init__(f"{len(self.issues)} problem(s) in the input:\n{lines}")


class SolverError(RuntimeError):
    """The optimizer failed for a reason other than the input (e.g. a time limit)."""
