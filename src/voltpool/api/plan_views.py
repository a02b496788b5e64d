"""What the API shows of a stored plan, computed once when the plan is stored (not on every
fetch): the owner's view of each car and the operator's view of the site, in clock time.

Both are built from the plan's problem (v1) and schedule (v1) documents, so a replayed plan
gives the same views.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SHORTFALL_SHOWN_KWH = 1e-6
"""A car counts as short of its target above this. [kWh]"""


def _stamp(start: datetime, step: timedelta, slot: int, zone: ZoneInfo) -> tuple[str, str]:
    at = start + slot * step
    return at.isoformat(), at.astimezone(zone).isoformat(timespec="minutes")


def _limit(value: Any, k: int) -> float | None:
    """A slot's limit from a v1 site limit (absent, one number, or per slot with nulls)."""
    if value is None:
        return None
    slot = value[k] if isinstance(value, list) else value
    return None if slot is None else float(slot)


def _transfers(problem: dict[str, Any], schedule: dict[str, Any]) -> list[dict[str, Any]]:
    """Each V2V agreement's planned AC flow per slot, what it delivers and what it cannot."""
    agreed = {t["id"]: t for t in problem.get("transfers", [])}
    return [
        {
            "id": flow["id"],
            "giver_car_id": agreed[flow["id"]]["giver"],
            "receiver_car_id": agreed[flow["id"]]["receiver"],
            "transfer_kw": flow["transfer_kw"],
            "delivered_kwh": flow["delivered_kwh"],
            "shortfall_kwh": flow["shortfall_kwh"],
            "reason": flow.get("reason"),
        }
        for flow in schedule.get("transfers", [])
    ]


def car_views(
    problem: dict[str, Any], schedule: dict[str, Any], start: datetime, zone: ZoneInfo
) -> dict[str, dict[str, Any]]:
    """Per car id: power, SoC and prices per plugged-in slot, its discharges with their
    worth against their wear, its shortfall and reason, the rule notes about it and the V2V
    agreements it gives or receives in."""
    step = timedelta(minutes=int(problem["slot_minutes"]))
    tariff = problem["tariff"]
    blocks: dict[str, list[dict[str, Any]]] = {}
    for block in schedule.get("discharge_blocks", []):
        begin, begin_local = _stamp(start, step, block["start_slot"], zone)
        end, end_local = _stamp(start, step, block["end_slot"], zone)
        blocks.setdefault(block["vehicle_id"], []).append(
            {
                "start": begin,
                "end": end,
                "from_local": begin_local,
                "to_local": end_local,
                "energy_kwh": block["energy_kwh"],
                "worth_per_kwh": block["worth_per_kwh"],
                "wear_per_kwh": block["wear_per_kwh"],
            }
        )
    transfers = _transfers(problem, schedule)
    views = {}
    for inputs, planned in zip(problem["vehicles"], schedule["vehicles"], strict=True):
        car_id = planned["id"]
        plugged = int(inputs["departure_slot"])
        slots = []
        for k in range(plugged):
            at, local = _stamp(start, step, k, zone)
            slots.append(
                {
                    "start": at,
                    "start_local": local,
                    "power_kw": planned["power_kw"][k],
                    "soc_end": planned["soc"][k + 1],
                    "import_price_per_kwh": tariff["import_price_per_kwh"][k],
                    "export_price_per_kwh": tariff["export_price_per_kwh"][k],
                }
            )
        views[car_id] = {
            "status": schedule.get("status", "unknown"),
            "departure_local": planned.get("departure_local"),
            "soc_target": inputs["soc_target"],
            "shortfall_kwh": planned["shortfall_kwh"],
            "shortfall_reason": planned.get("reason"),
            "slots": slots,
            "discharges": blocks.get(car_id, []),
            "notes": [note for note in schedule.get("rule_notes", []) if car_id in note],
            "transfers": [
                {**flow, "role": "gives" if flow["giver_car_id"] == car_id else "receives"}
                for flow in transfers
                if car_id in (flow["giver_car_id"], flow["receiver_car_id"])
            ],
        }
    return views


def shortfall_groups(schedule: dict[str, Any]) -> list[dict[str, Any]]:
    """The cars the plan leaves short of their target, counted by reason (the operator sees
    how many and why, not whose), the most energy short first."""
    groups: dict[str, dict[str, Any]] = {}
    for planned in schedule.get("vehicles", []):
        short_kwh = float(planned.get("shortfall_kwh", 0.0))
        if short_kwh <= SHORTFALL_SHOWN_KWH:
            continue
        reason = planned.get("reason") or "not given"
        group = groups.setdefault(reason, {"reason": reason, "cars": 0, "shortfall_kwh": 0.0})
        group["cars"] += 1
        group["shortfall_kwh"] += short_kwh
    return sorted(groups.values(), key=lambda g: -g["shortfall_kwh"])


def site_view(
    problem: dict[str, Any], schedule: dict[str, Any], start: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    """The site's planned import per slot (cars and homes), against its limits, and the
    AC flow of every V2V agreement per slot from ``start`` (``transfers``)."""
    step = timedelta(minutes=int(problem.get("slot_minutes", 15)))
    site = problem.get("site", {})
    base = site.get("base_load_kw", [])
    net = schedule.get("site_net_load_kw", [])
    slots = []
    for k, load in enumerate(net):
        at, local = _stamp(start, step, k, zone)
        slots.append(
            {
                "start": at,
                "start_local": local,
                "site_import_kw": load,
                "cars_kw": load - base[k],
                "import_limit_kw": _limit(site.get("import_limit_kw"), k),
                "export_limit_kw": _limit(site.get("export_limit_kw"), k),
            }
        )
    return {
        "status": schedule.get("status", "unknown"),
        "cars_planned": len(schedule.get("vehicles", [])),
        "shortfalls": shortfall_groups(schedule),
        "transfers": _transfers(problem, schedule),
        "objective": float(schedule.get("objective", 0.0)),
        "slots": slots,
        "notes": list(schedule.get("site_notes", [])),
    }
