"""A home's circuits for backup (:class:`voltpool.backup.home.Circuit`), as the API stores
them (JSON records) and checks them: by the backup model's own rules, each broken one named
as a ``body.circuits[i]`` field."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from voltpool.api.problems import ApiProblem
from voltpool.backup.home import Circuit, House, Window
from voltpool.backup.home import Home as BackupHome
from voltpool.errors import ProblemError

WHOLE_HOUSE = (Circuit("house", share=1.0, critical=True),)
"""No circuits given: the whole house is one critical circuit."""


def to_circuits(records: list[dict[str, Any]]) -> tuple[Circuit, ...]:
    """The stored records as circuits (``[]``: :data:`WHOLE_HOUSE`)."""
    if not records:
        return WHOLE_HOUSE
    return tuple(
        Circuit(
            **{
                **record,
                **{
                    key: dt.time.fromisoformat(record[key])
                    for key in ("runs_from", "runs_until")
                    if record.get(key) is not None
                },
            }
        )
        for record in records
    )


def checked(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` if the backup model accepts them as a home's circuits, else a 422 naming
    every broken rule (shares that do not add up to 1, a repeated name, a window on a share)."""
    if not records:
        return records
    start = pd.Timestamp("2026-01-01", tz="UTC")
    try:
        BackupHome(
            name="check",
            breaker_kw=1.0,
            house=House(annual_kwh=1.0),
            circuits=to_circuits(records),
            outage=Window(start, start + pd.Timedelta(hours=1)),
        )
    except ProblemError as error:
        errors = [
            {"field": f"body.{issue.field}", "rule": issue.rule}
            for issue in error.issues
            if issue.field.startswith("circuits")
        ]
        raise ApiProblem(422, f"{errors[0]['field']}: {errors[0]['rule']}", errors) from None
    return records
