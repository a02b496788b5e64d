"""Circle files (TOML): members, sites, cars, where they are plugged in, requests and offers.

Validated with pydantic like the scenario files: unknown keys, wrong types and missing keys are
named by path (``cars[2].capacity_kwh``), then the references (``plugged[1].site``,
``offers[0].consent[1]``...) and the rules of :func:`voltpool.sharing.requests.resolve`; every
issue is reported at once in one :class:`~voltpool.errors.ProblemError`. Built-in circles ship
in ``voltpool/sharing/builtin/`` (``voltpool share show friends`` prints one).

Cars use the problem format's names (``soc_min``, ``soc_max``, ``charge_efficiency``...); a key
of the older circle format (``reserve_soc``, ``max_soc``) is an unknown key whose message names
its new name. Times without an offset are local to the circle's ``timezone``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voltpool import gate
from voltpool.credits import CreditPolicy
from voltpool.errors import FieldIssue, ProblemError
from voltpool.files.toml import TimeZone, TomlLibrary, validation_issues
from voltpool.model import DEFAULT_CHARGE_EFFICIENCY, DEFAULT_DISCHARGE_EFFICIENCY, as_utc
from voltpool.sharing.circle import CAR_FLOAT_FIELDS, Cars, Circle, Sites
from voltpool.sharing.requests import Offer, Request, resolve, to_millicredits

DEFAULT_CIRCLE = "friends"
RENAMED_KEYS = {"reserve_soc": "soc_min", "max_soc": "soc_max"}
"""Car keys of the older circle format and their names now."""
Number = int | float | str


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class MemberSpec(Section):
    id: str
    starting_credits: Number = 0


class SiteSpec(Section):
    id: str
    import_limit_kw: float | None = None
    export_limit_kw: float | None = None
    base_load_kw: float = 0.0


class CarSpec(Section):
    id: str
    owner: str
    capacity_kwh: float
    soc: float
    soc_min: float = 0.2
    soc_max: float = 1.0
    charge_efficiency: float = DEFAULT_CHARGE_EFFICIENCY
    discharge_efficiency: float = DEFAULT_DISCHARGE_EFFICIENCY
    max_charge_kw: float = 11.0
    max_discharge_kw: float = 0.0


class PlugSpec(Section):
    car: str
    site: str
    start: Annotated[dt.datetime | None, Field(alias="from")] = None
    until: dt.datetime


class RequestSpec(Section):
    id: str
    member: str
    car: str
    energy_kwh: float
    deadline: dt.datetime
    earliest_start: dt.datetime | None = None
    max_price_credits_per_kwh: Number | None = None


class OfferSpec(Section):
    id: str
    member: str
    car: str
    energy_kwh: float
    end: dt.datetime
    start: dt.datetime | None = None
    keep_above_soc: float = 0.0
    price_credits_per_kwh: Number = 0
    consent: Literal["circle"] | list[str] = "circle"


class CreditsSpec(Section):
    v2v_losses: Literal["giver", "receiver", "split"] = "giver"


class CircleDocument(Section):
    """The TOML file's shape (see ``builtin/friends.toml`` for a commented example)."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    timezone: TimeZone = "UTC"
    now: dt.datetime | None = None
    members: Annotated[list[MemberSpec], Field(min_length=1)]
    sites: list[SiteSpec] = []
    cars: list[CarSpec] = []
    plugged: list[PlugSpec] = []
    requests: list[RequestSpec] = []
    offers: list[OfferSpec] = []
    credits: CreditsSpec = CreditsSpec()


@dataclass(frozen=True, eq=False)
class CircleFile:
    """A checked circle file: the circle, its requests and offers, the clock and the policy."""

    circle: Circle
    requests: tuple[Request, ...]
    offers: tuple[Offer, ...]
    now: pd.Timestamp
    policy: CreditPolicy
    source: str = ""


def _collect(issues: list[FieldIssue], build):  # type: ignore[no-untyped-def]
    try:
        return build()
    except ProblemError as error:
        issues.extend(error.issues)
        return None


def circle_from_dict(
    document: dict[str, object],
    now: dt.datetime | pd.Timestamp | str | None = None,
    source: str = "",
) -> CircleFile:
    """Validate a parsed circle document; ``now`` overrides the file's ``now`` (default: the
    file's, else the current time). Raises ProblemError with every issue found."""
    gate.check_document(document, "(circle)")
    try:
        doc = CircleDocument.model_validate(document)
    except ValidationError as error:
        raise ProblemError(
            validation_issues(
                error, "(circle)", "`voltpool share show` prints an example", renamed=RENAMED_KEYS
            )
        ) from None
    tz = doc.timezone
    clock = now if now is not None else doc.now
    now_utc = pd.Timestamp.now(tz="UTC") if clock is None else as_utc(clock, tz)
    issues: list[FieldIssue] = []

    member_ids = [m.id for m in doc.members]
    starting: dict[str, int] = {}
    for i, member in enumerate(doc.members):
        amount = to_millicredits(member.starting_credits)
        if amount is None or amount < 0:
            issues.append(
                FieldIssue(
                    f"members[{i}].starting_credits",
                    f"{gate.quote(member.starting_credits)} must be credits >= 0 with at most "
                    "3 decimals",
                )
            )
        else:
            starting[member.id] = amount

    car_ids = [c.id for c in doc.cars]
    site_ids = [s.id for s in doc.sites]
    plug_of: dict[str, int] = {}
    bad_plugs: set[int] = set()
    for k, plug in enumerate(doc.plugged):
        if plug.car not in car_ids:
            issues.append(
                FieldIssue(
                    f"plugged[{k}].car", f"{gate.quote(plug.car)} is not a car of the circle"
                )
            )
        elif plug.car in plug_of:
            issues.append(
                FieldIssue(
                    f"plugged[{k}].car",
                    f"{gate.quote(plug.car)} is already plugged in by plugged[{plug_of[plug.car]}] "
                    "(a car is plugged in at one site at most)",
                )
            )
        else:
            plug_of[plug.car] = k
        if plug.site not in site_ids:
            issues.append(
                FieldIssue(
                    f"plugged[{k}].site", f"{gate.quote(plug.site)} is not a site of the circle"
                )
            )
        start = now_utc if plug.start is None else as_utc(plug.start, tz)
        until = as_utc(plug.until, tz)
        if until <= start:
            bad_plugs.add(k)
            issues.append(
                FieldIssue(f"plugged[{k}].until", f"{plug.until} must be after from ({start})")
            )
        elif until <= now_utc:
            issues.append(
                FieldIssue(
                    f"plugged[{k}].until",
                    f"{plug.until} is in the past (now is {now_utc.tz_convert(tz).isoformat()})",
                )
            )

    good_plug = {doc.plugged[k].car: doc.plugged[k] for k in plug_of.values() if k not in bad_plugs}

    def make_cars() -> Cars:
        columns = {name: [getattr(c, name) for c in doc.cars] for name in CAR_FLOAT_FIELDS}
        plugs = [good_plug.get(c) for c in car_ids]
        return Cars(
            ids=tuple(car_ids),
            owner=tuple(c.owner for c in doc.cars),
            site=tuple(p.site if p and p.site in site_ids else "" for p in plugs),
            plugged_from=[None if p is None else (p.start or now_utc) for p in plugs],
            plugged_until=[None if p is None else p.until for p in plugs],
            timezone=tz,
            **columns,  # type: ignore[arg-type]
        )

    def make_sites() -> Sites:
        def limit(value: float | None) -> float:
            return math.inf if value is None else value

        return Sites(
            ids=tuple(site_ids),
            import_limit_kw=[limit(s.import_limit_kw) for s in doc.sites],
            export_limit_kw=[limit(s.export_limit_kw) for s in doc.sites],
            base_load_kw=[s.base_load_kw for s in doc.sites],
        )

    cars = _collect(issues, make_cars)
    sites = _collect(issues, make_sites)
    circle = None
    if cars is not None and sites is not None:
        circle = _collect(
            issues,
            lambda: Circle(doc.name, tuple(member_ids), cars, sites, tz, starting, doc.description),
        )
    # RequestSpec and OfferSpec have exactly the fields of Request and Offer
    requests = tuple(Request(**r.model_dump()) for r in doc.requests)
    offers = tuple(Offer(**o.model_dump()) for o in doc.offers)
    if circle is not None:
        _collect(issues, lambda: resolve(circle, requests, offers, now_utc))
    if issues:
        raise ProblemError(issues)
    assert circle is not None
    policy = CreditPolicy(v2v_losses=doc.credits.v2v_losses)
    return CircleFile(circle, requests, offers, now_utc, policy, source)


CIRCLES = TomlLibrary("voltpool.sharing", "circle", "CIRCLE")


def circle_text(name_or_path: str | Path) -> tuple[str, str]:
    """The TOML text of a built-in circle (by name) or a file, and where it came from."""
    return CIRCLES.text(name_or_path)


def load_circle(
    name_or_path: str | Path = DEFAULT_CIRCLE, now: dt.datetime | pd.Timestamp | str | None = None
) -> CircleFile:
    """Read and validate a circle by built-in name or TOML path (raises ProblemError)."""
    document, source = CIRCLES.document(name_or_path)
    return circle_from_dict(document, now=now, source=source)
