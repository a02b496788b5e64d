"""JSON in and out: problem format v1 and schedules, each validated against its shipped JSON Schema.

Every document passes the input gate (:mod:`voltpool.gate`: UTF-8, size, depth, finite bounded
numbers, bounded strings and arrays) before its schema; every refusal names the field path.
Every document written names its maker (``"generator": "voltpool X.Y.Z"``). A problem with a
``start`` gives its schedule clock times: the start, the time zone and local RFC 3339 times
beside the slot numbers (``docs/problem-format.md``).
"""

from __future__ import annotations

import itertools
import json
import math
import re
from datetime import datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd

from voltpool import GENERATOR, gate
from voltpool.errors import FieldIssue, ProblemError
from voltpool.model import (
    DEFAULT_UNMET_PENALTY_PER_KWH,
    Fleet,
    PeakPeriod,
    Problem,
    Site,
    Tariff,
    Transfers,
)
from voltpool.model.problem import DEFAULT_TIMEZONE, start_issue, timezone_issue
from voltpool.model.tariffs import tariff_preset
from voltpool.schedule import Schedule
from voltpool.schedule.explain import discharge_blocks, local_time

FORMAT_VERSION = 1
JSON_DECIMALS = 6
SCHEMA_ERRORS_MAX = 1000
"""Schema errors looked at (sorted by path, the first :data:`~voltpool.gate.ISSUES_MAX` shown)."""
SCHEMA_MESSAGE_CHARS = 300
RFC_3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
"""An RFC 3339 date and time (seconds may be left out; a missing offset is refused by the
:class:`Problem` with its own message)."""


@cache
def _schema(name: str) -> dict[str, Any]:
    text = resources.files("voltpool").joinpath(f"schemas/{name}.schema.json").read_text()
    return json.loads(text)


def problem_schema() -> dict[str, Any]:
    """The JSON Schema of problem format v1 (``voltpool/schemas/problem-v1.schema.json``)."""
    return _schema("problem-v1")


def schedule_schema() -> dict[str, Any]:
    """The JSON Schema of the schedule file (``voltpool/schemas/schedule-v1.schema.json``)."""
    return _schema("schedule-v1")


def _path(parts: Any) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def schema_issues(document: Any, schema: dict[str, Any] | None = None) -> list[FieldIssue]:
    """What in ``document`` breaks ``schema`` (default: the problem's), by field path; at most
    :data:`~voltpool.gate.ISSUES_MAX` of them, each message quoting a bounded part of the value."""
    validator = jsonschema.Draft202012Validator(schema or problem_schema())
    found = itertools.islice(validator.iter_errors(document), SCHEMA_ERRORS_MAX)
    errors = sorted(found, key=lambda e: list(map(str, e.path)))
    issues = []
    for error in errors[: gate.ISSUES_MAX]:
        if error.validator in ("oneOf", "anyOf") and error.context:
            # "one number or an array", "the prices or a preset": report why an alternative
            # failed
            relevant = [e for e in error.context if e.validator != "type"]
            error = relevant[0] if relevant else jsonschema.exceptions.best_match(error.context)
        issues.append(FieldIssue(_path(error.absolute_path), _schema_message(error)))
    if len(errors) > gate.ISSUES_MAX:
        issues.append(FieldIssue("(document)", "more problems like these, not listed"))
    return issues


def _schema_message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, with the value it quotes bounded (it would repeat a whole array)."""
    if error.validator == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        return f"{gate.quote(error.instance)} is not of type {' or '.join(map(repr, names))}"
    return gate.printable(error.message, SCHEMA_MESSAGE_CHARS)


def problem_from_dict(document: Any) -> Problem:
    """Validate a parsed v1 document (the input gate's rules, the schema, the rules between
    fields) and build the :class:`Problem`.

    Raises :class:`ProblemError` listing every broken rule.
    """
    gate.check_document(document, "(problem)")
    return _problem(document)


def _problem(document: Any) -> Problem:
    """The problem of a document that passed the gate (raises ProblemError)."""
    issues = schema_issues(document)
    if issues:
        raise ProblemError(issues)
    start, issues = _start_from(document.get("start"))
    timezone = document.get("timezone", DEFAULT_TIMEZONE)
    issues += [i for i in (timezone_issue(timezone), start_issue(start) if start else None) if i]
    if not issues:
        return _built(document, start, timezone)
    try:  # every other problem of the document too, all at once
        _built(document, None, DEFAULT_TIMEZONE)
    except ProblemError as error:
        issues += error.issues
    raise ProblemError(issues)


def _start_from(text: str | None) -> tuple[datetime | None, list[FieldIssue]]:
    """The document's ``start`` read as RFC 3339, or the issue when it is no date and time."""
    if text is None:
        return None, []
    if RFC_3339.fullmatch(text):
        try:
            return datetime.fromisoformat(text), []
        except ValueError:  # a month 13, a 25th hour
            pass
    rule = f"{gate.quote(text)} is not an RFC 3339 date and time (e.g. 2024-01-16T17:00:00Z)"
    return None, [FieldIssue("start", rule)]


def _built(document: dict[str, Any], start: datetime | None, timezone: str) -> Problem:
    """The problem of a document that passed its schema (raises ProblemError listing the
    tariff's issues with every other)."""
    site = document["site"]
    base_load_kw = np.asarray(site["base_load_kw"], dtype=float)
    slot_minutes = document.get("slot_minutes", 15)
    tariff_issues: list[FieldIssue] = []
    try:
        tariff = _tariff_from(document["tariff"], base_load_kw.size, start, slot_minutes, timezone)
    except ProblemError as error:
        tariff_issues = error.issues
        tariff = Tariff(np.zeros(base_load_kw.size))
    try:
        fleet = Fleet.from_records(document["vehicles"])
        problem = Problem(
            fleet=fleet,
            site=Site(
                base_load_kw=base_load_kw,
                import_limit_kw=_limit_from(site.get("import_limit_kw")),
                export_limit_kw=_limit_from(site.get("export_limit_kw")),
            ),
            tariff=tariff,
            slot_minutes=slot_minutes,
            unmet_penalty_per_kwh=float(
                document.get("unmet_penalty_per_kwh", DEFAULT_UNMET_PENALTY_PER_KWH)
            ),
            transfers=_transfers_from(document.get("transfers"), fleet.ids),
            start=start,
            timezone=timezone,
        )
    except ProblemError as error:
        raise ProblemError(tariff_issues + error.issues) from None
    if tariff_issues:
        raise ProblemError(tariff_issues)
    return problem


def _limit_from(value: Any) -> np.ndarray:
    """A site limit as read: absent or a slot's null is unlimited (inf)."""
    if value is None:
        return np.asarray(math.inf)
    if isinstance(value, list):
        return np.array([math.inf if v is None else v for v in value], dtype=float)
    return np.asarray(value, dtype=float)


def _tariff_from(
    tariff: dict[str, Any],
    n_slots: int,
    start: datetime | None,
    slot_minutes: int,
    timezone: str,
) -> Tariff:
    """The problem's tariff: its price arrays, or its preset expanded into them on the
    problem's slots (:meth:`voltpool.model.tariffs.RetailTariff.tariff`; raises ProblemError).
    """
    peak = {
        "peak_price_per_kw": tariff.get("peak_price_per_kw", 0.0),
        "peak_baseline_kw": tariff.get("peak_baseline_kw", 0.0),
    }
    later = tariff.get("next_period")
    if "preset" not in tariff:
        if "day_ahead_price_per_kwh" in tariff:
            rule = "is read only with a tariff preset (tariff.preset)"
            raise ProblemError([FieldIssue("tariff.day_ahead_price_per_kwh", rule)])
        export = tariff.get("export_price_per_kwh")
        return Tariff(
            import_price_per_kwh=np.asarray(tariff["import_price_per_kwh"], dtype=float),
            export_price_per_kwh=None if export is None else np.asarray(export, dtype=float),
            **peak,
            next_period=None if later is None else PeakPeriod(**later),
        )
    issues = [
        FieldIssue(f"tariff.{key}", "give either the price arrays or tariff.preset, not both")
        for key in ("import_price_per_kwh", "export_price_per_kwh")
        if key in tariff
    ]
    if later is not None:
        rule = "is set by the preset from the problem's start (its billing months)"
        issues.append(FieldIssue("tariff.next_period", rule))
    try:
        preset = tariff_preset(tariff["preset"])
    except ProblemError as error:
        raise ProblemError(issues + error.issues) from None
    day_ahead = tariff.get("day_ahead_price_per_kwh")
    if day_ahead is not None and not preset.needs_day_ahead:
        uses = f"its energy is {preset.energy}, its export {preset.export}"
        rule = f"is not used by {preset.name!r} ({uses})"
        issues.append(FieldIssue("tariff.day_ahead_price_per_kwh", rule))
    slot_start = None
    if start is not None:
        first = pd.Timestamp(start).tz_convert("UTC")
        slot_start = pd.date_range(first, periods=n_slots, freq=f"{slot_minutes}min")
    try:
        expanded = preset.tariff(
            n_slots,
            None if day_ahead is None else np.asarray(day_ahead, float),
            slot_start,
            **peak,
            zone=timezone,
        )
    except ProblemError as error:
        issues += error.issues
    if issues:
        raise ProblemError(issues)
    return expanded


def _transfers_from(records: list[dict[str, Any]] | None, ids: tuple[str, ...]) -> Transfers | None:
    """The optional ``transfers`` block, vehicle ids resolved to fleet rows."""
    if not records:
        return None
    row = {vehicle_id: n for n, vehicle_id in enumerate(ids)}
    issues = [
        FieldIssue(f"transfers[{k}].{role}", f"{gate.quote(record[role])} is not a vehicle id")
        for k, record in enumerate(records)
        for role in ("giver", "receiver")
        if record[role] not in row
    ]
    if issues:
        raise ProblemError(issues)
    return Transfers(
        ids=tuple(r["id"] for r in records),
        giver=[row[r["giver"]] for r in records],
        receiver=[row[r["receiver"]] for r in records],
        start_slot=[r["start_slot"] for r in records],
        end_slot=[r["end_slot"] for r in records],
        energy_kwh=[r["energy_kwh"] for r in records],
        giver_floor_kwh=[r.get("giver_floor_kwh", 0.0) for r in records],
    )


def _transfers_to(problem: Problem) -> dict[str, Any]:
    transfers = problem.transfers
    if transfers is None:
        return {}
    ids = problem.fleet.ids
    return {
        "transfers": [
            {
                "id": transfer_id,
                "giver": ids[int(transfers.giver[k])],
                "receiver": ids[int(transfers.receiver[k])],
                "start_slot": int(transfers.start_slot[k]),
                "end_slot": int(transfers.end_slot[k]),
                "energy_kwh": float(transfers.energy_kwh[k]),
                "giver_floor_kwh": float(transfers.giver_floor_kwh[k]),
            }
            for k, transfer_id in enumerate(transfers.ids)
        ]
    }


def load_problem(path: str | Path, field: str = "PROBLEM.json") -> Problem:
    """Read and validate a v1 problem file (``field`` names the file in a refusal)."""
    return _problem(gate.load_json(gate.read_text(path, field), field))


def load_schedule_document(path: str | Path, field: str = "SCHEDULE.json") -> Any:
    """A schedule file parsed through the input gate (its shape is checked against the problem
    by :func:`schedule_from_dict`)."""
    return gate.load_json(gate.read_text(path, field), field)


def _rounded(values: np.ndarray) -> list[Any]:
    return np.round(values, JSON_DECIMALS).tolist()


def utc_text(stamp: pd.Timestamp) -> str:
    """A UTC time as RFC 3339 with ``Z`` (``2024-01-16T17:00:00Z``)."""
    return f"{stamp.tz_convert('UTC'):%Y-%m-%dT%H:%M:%S}Z"


def _clock_fields(problem: Problem) -> dict[str, Any]:
    """``start`` (UTC) and ``timezone`` when the problem has them; nothing otherwise."""
    fields: dict[str, Any] = {}
    if problem.start is not None:
        fields["start"] = utc_text(problem.start)
    if problem.start is not None or problem.timezone != DEFAULT_TIMEZONE:
        fields["timezone"] = problem.timezone
    return fields


def _local_fields(problem: Problem, slots: dict[str, int]) -> dict[str, str]:
    """Each named slot's local start time (RFC 3339 with the local offset), when the problem
    has a start; nothing otherwise."""
    times = {name: local_time(problem, slot) for name, slot in slots.items()}
    return {name: stamp.isoformat() for name, stamp in times.items() if stamp is not None}


def problem_to_dict(problem: Problem, **extra: Any) -> dict[str, Any]:
    """The v1 document of ``problem`` (``extra`` top-level fields such as ``name`` beside)."""
    site: dict[str, Any] = {"base_load_kw": _rounded(problem.site.base_load_kw)}
    for name in ("import_limit_kw", "export_limit_kw"):
        value = getattr(problem.site, name)
        if isinstance(value, np.ndarray):
            if np.isfinite(value).any():  # all unlimited: absent; an unlimited slot: null
                site[name] = [None if math.isinf(v) else v for v in _rounded(value)]
        elif math.isfinite(value):
            site[name] = value
    return {
        "format_version": FORMAT_VERSION,
        "generator": GENERATOR,
        **extra,
        **_clock_fields(problem),
        "slot_minutes": problem.slot_minutes,
        "unmet_penalty_per_kwh": problem.unmet_penalty_per_kwh,
        "site": site,
        "tariff": {
            "import_price_per_kwh": _rounded(problem.tariff.import_price_per_kwh),
            "export_price_per_kwh": _rounded(problem.tariff.export_price_per_kwh),
            "peak_price_per_kw": problem.tariff.peak_price_per_kw,
            "peak_baseline_kw": problem.tariff.peak_baseline_kw,
            **_next_period_to(problem.tariff),
        },
        "vehicles": problem.fleet.to_records(),
        **_transfers_to(problem),
    }


def _next_period_to(tariff: Tariff) -> dict[str, Any]:
    later = tariff.next_period
    if later is None:
        return {}
    return {
        "next_period": {
            "start_slot": later.start_slot,
            "price_per_kw": later.price_per_kw,
            "baseline_kw": later.baseline_kw,
        }
    }


def schedule_to_dict(problem: Problem, schedule: Schedule) -> dict[str, Any]:
    """The v1 schedule output: status, objective and its terms, site load, per-vehicle results."""
    info = schedule.solver
    fleet = problem.fleet
    return {
        "format_version": FORMAT_VERSION,
        "generator": GENERATOR,
        **_clock_fields(problem),
        "method": schedule.method,
        "status": schedule.status,
        "objective": schedule.objective,
        "objective_terms": schedule.objective_terms,
        "solver": {
            "name": info.name,
            "status": info.status,
            "build_time_s": info.build_time_s,
            "solve_time_s": info.solve_time_s,
            "iterations": info.iterations,
            "gap": info.gap,
            "start": info.start,
            "notes": list(info.notes),
        },
        "site_notes": schedule.site_notes,
        "rule_notes": schedule.rule_notes,
        "discharge_blocks": [
            {
                "vehicle_id": b.vehicle_id,
                "start_slot": b.start_slot,
                "end_slot": b.end_slot,
                "energy_kwh": round(b.energy_kwh, JSON_DECIMALS),
                "worth_per_kwh": round(b.worth_per_kwh, JSON_DECIMALS),
                "wear_per_kwh": round(b.wear_per_kwh, JSON_DECIMALS),
                **_local_fields(problem, {"from_local": b.start_slot, "to_local": b.end_slot}),
            }
            for b in discharge_blocks(problem, schedule.power_kw, schedule.site_net_load_kw)
        ],
        "site_net_load_kw": _rounded(schedule.site_net_load_kw),
        "vehicles": [
            {
                "id": vehicle_id,
                "power_kw": _rounded(schedule.power_kw[n]),
                "soc": _rounded(schedule.soc[n]),
                "shortfall_kwh": round(float(schedule.shortfall_kwh[n]), JSON_DECIMALS),
                "reason": schedule.reasons[n] or None,
                **_local_fields(problem, {"departure_local": int(fleet.departure_slot[n])}),
            }
            for n, vehicle_id in enumerate(fleet.ids)
        ],
        **(
            {}
            if problem.transfers is None
            else {
                "transfers": [
                    {
                        "id": transfer_id,
                        "transfer_kw": _rounded(schedule.transfer_kw[k]),
                        "delivered_kwh": round(float(schedule.transferred_kwh[k]), JSON_DECIMALS),
                        "shortfall_kwh": round(
                            float(schedule.transfer_shortfall_kwh[k]), JSON_DECIMALS
                        ),
                        "reason": schedule.transfer_reasons[k] or None,
                    }
                    for k, transfer_id in enumerate(problem.transfers.ids)
                ]
            }
        ),
    }


def schedule_issues(problem: Problem, document: Any) -> list[FieldIssue]:
    """What makes ``document`` no schedule of ``problem``: the gate's rules, the schema, then
    every array's length (T slots, T+1 SoC values)."""
    issues = list(itertools.islice(gate.document_issues(document, "(schedule)"), gate.ISSUES_MAX))
    issues = issues or schema_issues(document, schedule_schema())
    if issues:
        return issues
    n_slots = problem.n_slots
    arrays = [("site_net_load_kw", document["site_net_load_kw"], n_slots)]
    for k, vehicle in enumerate(document["vehicles"]):
        arrays.append((f"vehicles[{k}].power_kw", vehicle["power_kw"], n_slots))
        arrays.append((f"vehicles[{k}].soc", vehicle["soc"], n_slots + 1))
    for k, transfer in enumerate(document.get("transfers", [])):
        arrays.append((f"transfers[{k}].transfer_kw", transfer["transfer_kw"], n_slots))
    return [
        FieldIssue(field, f"has {len(values):,} values; the problem needs {expected:,}")
        for field, values, expected in arrays
        if len(values) != expected
    ][: gate.ISSUES_MAX]


def schedule_from_dict(problem: Problem, document: Any) -> Schedule:
    """Read a schedule written by :func:`schedule_to_dict` back (to verify it); a document that
    is not one raises :class:`ProblemError` naming each field (:func:`schedule_issues`)."""
    from voltpool.schedule.result import SolverInfo

    issues = schedule_issues(problem, document)
    if issues:
        raise ProblemError(issues)
    by_id = {v["id"]: v for v in document["vehicles"]}
    missing = [i for i in problem.fleet.ids if i not in by_id]
    if missing:
        shown = ", ".join(gate.quote(i) for i in missing[:5])
        raise ProblemError([FieldIssue("vehicles", f"schedule lacks vehicle(s) {shown}")])
    rows = [by_id[i] for i in problem.fleet.ids]
    solver = document.get("solver", {})
    return Schedule(
        method=document.get("method", "unknown"),
        status=document["status"],
        dt_h=problem.dt_h,
        power_kw=np.array([r["power_kw"] for r in rows], dtype=float).reshape(
            problem.n_vehicles, -1
        ),
        soc=np.array([r["soc"] for r in rows], dtype=float).reshape(problem.n_vehicles, -1),
        site_net_load_kw=np.asarray(document["site_net_load_kw"], dtype=float),
        objective_terms=dict(document["objective_terms"]),
        shortfall_kwh=np.array([r["shortfall_kwh"] for r in rows], dtype=float),
        reasons=[r.get("reason") or "" for r in rows],
        solver=SolverInfo(name=solver.get("name", ""), status=solver.get("status", "")),
        site_notes=list(document.get("site_notes", [])),
        rule_notes=list(document.get("rule_notes", [])),
        **_transfer_results(problem, document),
    )


def _transfer_results(problem: Problem, document: dict[str, Any]) -> dict[str, Any]:
    """The schedule's V2V flows, in the problem's transfer order (empty without transfers)."""
    if problem.transfers is None:
        return {}
    by_id = {t["id"]: t for t in document.get("transfers", [])}
    missing = [i for i in problem.transfers.ids if i not in by_id]
    if missing:
        shown = ", ".join(gate.quote(i) for i in missing[:5])
        raise ProblemError([FieldIssue("transfers", f"schedule lacks transfer(s) {shown}")])
    rows = [by_id[i] for i in problem.transfers.ids]
    return {
        "transfer_kw": np.array([r["transfer_kw"] for r in rows], dtype=float).reshape(
            problem.n_transfers, -1
        ),
        "transfer_shortfall_kwh": np.array([r["shortfall_kwh"] for r in rows], dtype=float),
        "transfer_reasons": [r.get("reason") or "" for r in rows],
    }
