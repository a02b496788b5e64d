"""Vectorized rule checks shared by the model classes.

Each check looks at a whole array at once and appends one :class:`FieldIssue` per offending
element (capped, so a 10,000-vehicle fleet with one systematic error yields a readable message).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from voltpool.errors import FieldIssue

MAX_ISSUES_PER_RULE = 5


def field_path(prefix: str, index: int | None, name: str) -> str:
    """``vehicles[3].soc_min`` for an element, ``site.import_limit_kw`` for a scalar."""
    return f"{prefix}[{index}].{name}" if index is not None else f"{prefix}.{name}"


def check_elements(
    issues: list[FieldIssue],
    prefix: str,
    name: str,
    values: np.ndarray,
    bad: np.ndarray,
    rule: str | Callable[[int], str],
    labels: Sequence[str] | None = None,
) -> None:
    """Record an issue for every element where ``bad`` is true.

    ``rule`` is the text of the rule or a function of the element index returning it.
    ``labels`` (e.g. vehicle ids) are quoted after the path to make the message findable.
    """
    where = np.flatnonzero(np.asarray(bad))
    for index in where[:MAX_ISSUES_PER_RULE]:
        text = rule(int(index)) if callable(rule) else rule
        label = f" (id {labels[index]!r})" if labels is not None else ""
        issues.append(
            FieldIssue(
                f"{field_path(prefix, int(index), name)}{label}",
                f"{np.asarray(values)[index].item()!r} {text}",
            )
        )
    if where.size > MAX_ISSUES_PER_RULE:
        issues.append(
            FieldIssue(
                f"{prefix}[*].{name}",
                f"... and {where.size - MAX_ISSUES_PER_RULE} more element(s) break the same rule",
            )
        )


def as_float_array(
    issues: list[FieldIssue], path: str, values: object, length: int | None = None
) -> np.ndarray:
    """Convert to a 1-D float array, recording an issue for a wrong shape or non-finite value."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        issues.append(FieldIssue(path, f"must be a 1-D array, got shape {array.shape}"))
        return np.zeros(length or 0)
    if length is not None and array.size != length:
        issues.append(
            FieldIssue(path, f"must have {length} values (one per slot), got {array.size}")
        )
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        issues.append(FieldIssue(f"{path}[{bad[0]}]", "must be a finite number"))
    return array
