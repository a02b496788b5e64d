"""Tariffs as data: a retail contract (:class:`RetailTariff`) turned into the per-slot prices
the scheduler takes (:class:`~voltpool.model.tariff.Tariff`), and the presets voltpool ships.

The import price of a slot is

    (energy + network_fee_per_kwh + energy_tax_per_kwh) * (1 + vat_rate)

with ``energy`` per ``energy``: ``fixed`` (``energy_price_per_kwh``), ``time_of_use`` (bands of
local time of day and weekday in the tariff's ``timezone``, ``energy_price_per_kwh`` outside
them) or ``day_ahead`` (the day-ahead price plus ``markup_per_kwh``). VAT applies to the whole
sum, network fee and energy tax included, as in the Netherlands, Belgium and Great Britain, and
to the capacity charge. The export price follows the scheme ``export``:

- ``net_metering``: the import price, tax and VAT included (Dutch *salderen*, until 2027);
- ``day_ahead``: the day-ahead price, plus the energy tax with its VAT when
  ``export_tax_refund``, minus ``export_fee_per_kwh``;
- ``flat``: ``export_price_per_kwh`` in every slot (a UK export rate);
- ``none``: nothing.

In every slot the export price is at most the import price, the scheduler's rule (with a kWh
sold dearer than one bought, an LP would import and export at once). Where a scheme pays more
(a flat export rate above a cheap night rate, day-ahead export in hours of deeply negative
prices) the export price is capped at the import price, and :attr:`SlotPrices.export_capped`
says where.

A capacity tariff charges ``capacity_price_per_kw_month`` (plus VAT) per kW of the calendar
month's highest 15-minute import, at least ``capacity_min_kw`` (Flanders' *capaciteitstarief*).
For the scheduler it is :class:`~voltpool.model.tariff.Tariff`'s demand charge: every kW above
the peak the month has already reached (``peak_baseline_kw``, at least the minimum) costs the
monthly price, and a horizon reaching into the next month bills that month on its own
(``Tariff.next_period``). The simulator bills every calendar month's peak;
:func:`billing_months` prorates a month it covers in part.

Money is in the tariff's ``currency`` (ISO 4217); a problem has one currency, so its other
money figures (battery wear, the unmet-target penalty) are read in it too. Fixed daily or
yearly charges change no decision and are not modelled.

Presets (``tariff_presets.toml`` beside this module; values as of 2024, approximate, excluding
VAT unless said; docs/tariffs.md gives the details):

- ``day-ahead-plus-fee``: voltpool's reference and the default, day-ahead + 0.12 EUR/kWh,
  export at the bare day-ahead price (the built-in neighbourhood scenario; ENTSO-E
  Transparency Platform, Netherlands day-ahead prices).
- ``nl-net-metering-2024``: fixed 0.13 EUR/kWh + energy tax 0.1088 EUR/kWh + 21 % VAT
  (0.2889 EUR/kWh), export credited at the same price (Belastingdienst energy tax tables 2024;
  salderen under the Elektriciteitswet 1998 until 1 January 2027).
- ``nl-dynamic-2024``: day-ahead + 0.02 markup + 0.1088 energy tax, + 21 % VAT; export at the
  bare day-ahead price, no tax refund: the Dutch case after net metering ends in 2027
  (Belastingdienst 2024; ENTSO-E; markup typical of 2024 dynamic suppliers).
- ``be-flanders-capacity-2024``: fixed 0.12 + 0.055 network + 0.05 excise, + 6 % VAT
  (0.2385 EUR/kWh); capacity 3.75 EUR/kW/month (45 EUR/kW/year) on the monthly peak, at least
  2.5 kW; injection 0.03 EUR/kWh (Fluvius distribution tariffs 2024, approved by VREG).
- ``uk-flat-export-2024``: GBP, 0.2381 day rate and 0.081 from 00:30 to 05:30 (Europe/London),
  + 5 % VAT (25 p and 8.5 p); flat export 15 p/kWh (Octopus Energy, Octopus Go and Outgoing
  Octopus Fixed, 2024; HMRC VAT on domestic fuel and power).
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from voltpool.errors import FieldIssue, ProblemError
from voltpool.model.clock import MINUTES_PER_DAY
from voltpool.model.problem import timezone_issue
from voltpool.model.tariff import PeakPeriod, Tariff

EnergyKind = Literal["fixed", "time_of_use", "day_ahead"]
ExportScheme = Literal["net_metering", "day_ahead", "flat", "none"]
ENERGY_KINDS: tuple[str, ...] = get_args(EnergyKind)
EXPORT_SCHEMES: tuple[str, ...] = get_args(ExportScheme)
DEFAULT_PRESET = "day-ahead-plus-fee"
"""Today's tariff: what a scenario or plan without a preset is priced by."""
PRESETS_FILE = "tariff_presets.toml"
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])|24:00")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
QUOTE_CHARS = 40

NUMBER_MINIMUM: dict[str, float] = {
    "energy_price_per_kwh": -math.inf,
    "markup_per_kwh": -math.inf,
    "network_fee_per_kwh": 0.0,
    "energy_tax_per_kwh": 0.0,
    "vat_rate": 0.0,
    "export_fee_per_kwh": 0.0,
    "export_price_per_kwh": -math.inf,
    "capacity_price_per_kw_month": 0.0,
    "capacity_min_kw": 0.0,
}
"""Every number of a tariff and its least value (``vat_rate`` is also below 1)."""
TEXTS = ("description", "source", "currency", "timezone")
REQUIRED = ("description", "source", "currency", "energy", "export")
APPLIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "energy_price_per_kwh": ("energy", ("fixed", "time_of_use")),
    "time_of_use": ("energy", ("time_of_use",)),
    "timezone": ("energy", ("time_of_use",)),
    "markup_per_kwh": ("energy", ("day_ahead",)),
    "export_tax_refund": ("export", ("day_ahead",)),
    "export_fee_per_kwh": ("export", ("day_ahead",)),
    "export_price_per_kwh": ("export", ("flat",)),
}
"""Keys that belong to one kind of energy or export, and the kinds they belong to."""
REQUIRED_WHERE_THEY_APPLY = (
    "energy_price_per_kwh",
    "time_of_use",
    "timezone",
    "export_price_per_kwh",
)
KEYS = frozenset({*NUMBER_MINIMUM, *TEXTS, *REQUIRED, *APPLIES})
"""Every key of a tariff's document."""


def _quote(value: object) -> str:
    text = repr(value)
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 3] + "..."


def _path(root: str, key: str) -> str:
    return f"{root}.{key}"


@dataclass(frozen=True)
class TimeBand:
    """A time-of-use band: local minutes of the day ``[start_minute, end_minute)`` on
    ``weekdays`` (0 is Monday). A band whose end is not after its start runs past midnight;
    each slot is judged by its own local date's weekday."""

    start_minute: int
    end_minute: int
    price_per_kwh: float
    """Energy price in the band, without VAT. [currency/kWh]"""
    weekdays: tuple[int, ...] = tuple(range(7))

    def holds(self, minute_of_day: np.ndarray, weekday: np.ndarray) -> np.ndarray:
        """Where the band applies, for slots starting at local ``minute_of_day`` on ``weekday``."""
        if self.start_minute < self.end_minute:
            hours = (minute_of_day >= self.start_minute) & (minute_of_day < self.end_minute)
        else:
            hours = (minute_of_day >= self.start_minute) | (minute_of_day < self.end_minute)
        return hours & np.isin(weekday, self.weekdays)


@dataclass(frozen=True, eq=False)
class SlotPrices:
    """A tariff's prices on T slots (export already capped at import)."""

    import_price_per_kwh: np.ndarray
    """Paid per kWh imported, VAT included. [currency/kWh]"""
    export_price_per_kwh: np.ndarray
    """Earned per kWh exported, at most the import price. [currency/kWh]"""
    export_capped: np.ndarray
    """Slots where the export scheme paid more than the import price and was capped."""


@dataclass(frozen=True)
class RetailTariff:
    """A retail contract: how the per-slot import and export prices and the demand charge are
    made (the module's docstring gives the rules). Build one from data with
    :func:`tariff_preset` or :func:`tariff_with`, which check every rule."""

    name: str
    description: str
    source: str
    energy: EnergyKind
    export: ExportScheme
    currency: str = "EUR"
    timezone: str = "UTC"
    """Where the time-of-use bands are read (an IANA name)."""
    energy_price_per_kwh: float = 0.0
    """Fixed energy price, or the time-of-use price outside the bands. [currency/kWh]"""
    time_of_use: tuple[TimeBand, ...] = ()
    markup_per_kwh: float = 0.0
    """Supplier's markup on the day-ahead price. [currency/kWh]"""
    network_fee_per_kwh: float = 0.0
    energy_tax_per_kwh: float = 0.0
    vat_rate: float = 0.0
    """VAT on the import price and the capacity charge. [fraction]"""
    export_tax_refund: bool = False
    """Day-ahead export also earns the energy tax back, with its VAT."""
    export_fee_per_kwh: float = 0.0
    """Taken off the day-ahead export price. [currency/kWh]"""
    export_price_per_kwh: float = 0.0
    """The flat export rate. [currency/kWh]"""
    capacity_price_per_kw_month: float = 0.0
    """Capacity charge on the month's highest 15-min import, without VAT. [currency/kW/month]"""
    capacity_min_kw: float = 0.0
    """The least monthly peak billed. [kW]"""

    @property
    def needs_day_ahead(self) -> bool:
        """Whether the prices are made from the day-ahead price."""
        return "day_ahead" in (self.energy, self.export)

    @property
    def capacity_price_billed_per_kw_month(self) -> float:
        """The capacity charge with VAT. [currency/kW/month]"""
        return self.capacity_price_per_kw_month * (1.0 + self.vat_rate)

    def _energy_per_kwh(
        self, n_slots: int, day_ahead: np.ndarray, slot_start_utc: pd.DatetimeIndex | None
    ) -> np.ndarray:
        if self.energy == "day_ahead":
            return day_ahead + self.markup_per_kwh
        price = np.full(n_slots, self.energy_price_per_kwh)
        if self.energy == "time_of_use":
            local = slot_start_utc.tz_convert(self.timezone)
            minute = np.asarray(local.hour * 60 + local.minute)
            weekday = np.asarray(local.day_of_week)
            for band in self.time_of_use:
                price[band.holds(minute, weekday)] = band.price_per_kwh
        return price

    def _input_issues(
        self, n_slots: int, day_ahead: np.ndarray | None, slot_start_utc: pd.DatetimeIndex | None
    ) -> list[FieldIssue]:
        issues = []
        if self.needs_day_ahead:
            field = "tariff.day_ahead_price_per_kwh"
            what = " and ".join(k for k in ("energy", "export") if getattr(self, k) == "day_ahead")
            if day_ahead is None:
                issues.append(
                    FieldIssue(field, f"is required: {self.name!r} prices its {what} at it")
                )
            elif day_ahead.shape != (n_slots,) or not np.isfinite(day_ahead).all():
                issues.append(
                    FieldIssue(field, f"must have {n_slots} finite values (one per slot)")
                )
        if self.energy == "time_of_use" and (
            slot_start_utc is None or len(slot_start_utc) != n_slots
        ):
            issues.append(
                FieldIssue(
                    "start",
                    f"is required: {self.name!r} prices energy by the local time of day "
                    "(give a valid start)",
                )
            )
        return issues

    def prices(
        self,
        n_slots: int,
        day_ahead_per_kwh: np.ndarray | None = None,
        slot_start_utc: pd.DatetimeIndex | None = None,
    ) -> SlotPrices:
        """The import and export prices of ``n_slots`` slots.

        Parameters
        ----------
        day_ahead_per_kwh : array of length T, optional
            The day-ahead price of each slot, needed when :attr:`needs_day_ahead`.
            [currency/kWh]
        slot_start_utc : DatetimeIndex of length T, optional
            Start of each slot (timezone-aware), needed for time-of-use energy.

        Raises :class:`ProblemError` naming ``tariff.day_ahead_price_per_kwh`` or ``start``
        when what the tariff needs is missing.
        """
        day_ahead = None if day_ahead_per_kwh is None else np.asarray(day_ahead_per_kwh, float)
        issues = self._input_issues(n_slots, day_ahead, slot_start_utc)
        if issues:
            raise ProblemError(issues)
        buy = (
            self._energy_per_kwh(n_slots, day_ahead, slot_start_utc)
            + self.network_fee_per_kwh
            + self.energy_tax_per_kwh
        ) * (1.0 + self.vat_rate)
        if self.export == "net_metering":
            sell = buy.copy()
        elif self.export == "day_ahead":
            refund = self.energy_tax_per_kwh * (1.0 + self.vat_rate) * self.export_tax_refund
            sell = day_ahead + refund - self.export_fee_per_kwh
        elif self.export == "flat":
            sell = np.full(n_slots, self.export_price_per_kwh)
        else:
            sell = np.zeros(n_slots)
        capped = sell > buy
        return SlotPrices(buy, np.minimum(sell, buy), capped)

    def peak_price_issue(self, peak_price_per_kw: float, field: str) -> FieldIssue | None:
        """Why a demand charge ``peak_price_per_kw`` cannot go with this tariff, or None."""
        if peak_price_per_kw > 0 and self.capacity_price_per_kw_month > 0:
            return FieldIssue(
                field,
                f"{self.name!r} has a capacity tariff, its demand charge "
                f"(capacity_price_per_kw_month {self.capacity_price_per_kw_month:g}): leave "
                "the demand charge out, or set capacity_price_per_kw_month = 0",
            )
        return None

    def tariff(
        self,
        n_slots: int,
        day_ahead_per_kwh: np.ndarray | None = None,
        slot_start_utc: pd.DatetimeIndex | None = None,
        peak_price_per_kw: float = 0.0,
        peak_baseline_kw: float = 0.0,
        zone: str | None = None,
    ) -> Tariff:
        """The scheduler's tariff over ``n_slots`` slots (:meth:`prices`).

        With a capacity tariff the demand charge is the monthly capacity price with VAT, on the
        increase above ``peak_baseline_kw`` (the month's peak so far) or the minimum billed kW,
        whichever is higher; a horizon from ``slot_start_utc`` that reaches into the next month
        (in the site's time ``zone``, by default the tariff's) bills that month's peak on its
        own (``Tariff.next_period``). Otherwise it is
        ``peak_price_per_kw`` above ``peak_baseline_kw``. Raises :class:`ProblemError` listing
        every issue.
        """
        conflict = self.peak_price_issue(peak_price_per_kw, "tariff.peak_price_per_kw")
        issues = [conflict] if conflict else []
        try:
            slots = self.prices(n_slots, day_ahead_per_kwh, slot_start_utc)
        except ProblemError as error:
            raise ProblemError(issues + error.issues) from None
        if issues:
            raise ProblemError(issues)
        next_period = None
        if self.capacity_price_per_kw_month > 0:
            peak_price_per_kw = self.capacity_price_billed_per_kw_month
            peak_baseline_kw = max(peak_baseline_kw, self.capacity_min_kw)
            month_start = (
                None
                if slot_start_utc is None
                else next_month_slot(slot_start_utc, zone or self.timezone)
            )
            if month_start is not None:
                next_period = PeakPeriod(month_start, peak_price_per_kw, self.capacity_min_kw)
        return Tariff(
            slots.import_price_per_kwh,
            slots.export_price_per_kwh,
            peak_price_per_kw,
            peak_baseline_kw,
            next_period,
        )


def next_month_slot(slot_start_utc: pd.DatetimeIndex, zone: str) -> int | None:
    """The first slot in the next month of time ``zone`` (a capacity tariff's new billing
    period), or None when every slot lies in the first slot's month."""
    local = slot_start_utc.tz_convert(zone)
    months = np.asarray(local.year * 12 + local.month)
    later = np.flatnonzero(months != months[0])
    return int(later[0]) if later.size else None


def billing_months(first_day: date, days: int) -> float:
    """How many monthly billing periods ``days`` local days from ``first_day`` make up: each
    day counts one over the number of days of its month (a week of January is 7/31). [months]"""
    calendar_days = pd.date_range(first_day, periods=days, freq="D")
    return float((1.0 / np.asarray(calendar_days.days_in_month, dtype=float)).sum())


def _clock_minute(value: object, path: str, issues: list[FieldIssue]) -> int:
    if isinstance(value, str) and CLOCK_TIME.fullmatch(value):
        hours, minutes = value.split(":")
        return int(hours) * 60 + int(minutes)
    issues.append(FieldIssue(path, f"{_quote(value)} must be a local time HH:MM (00:00..24:00)"))
    return 0


def _bands(value: object, path: str, issues: list[FieldIssue]) -> tuple[TimeBand, ...]:
    """The time-of-use bands of a document: a non-empty list of tables ``start``, ``end``
    (HH:MM), ``price_per_kwh`` and optional ``weekdays`` (``["mon", ...]``), not overlapping."""
    if not isinstance(value, list) or not value:
        issues.append(
            FieldIssue(path, "must be a non-empty list of bands {start, end, price_per_kwh}")
        )
        return ()
    bands = []
    for k, item in enumerate(value):
        where = f"{path}[{k}]"
        if not isinstance(item, Mapping):
            issues.append(FieldIssue(where, "must be a table {start, end, price_per_kwh}"))
            continue
        for key in sorted(set(item) - {"start", "end", "price_per_kwh", "weekdays"}):
            issues.append(
                FieldIssue(f"{where}.{key}", "unknown key (start, end, price_per_kwh, weekdays)")
            )
        start = _clock_minute(item.get("start"), f"{where}.start", issues)
        end = _clock_minute(item.get("end"), f"{where}.end", issues)
        if start == end:
            issues.append(FieldIssue(f"{where}.end", "must differ from start"))
        price = _number(item.get("price_per_kwh"), f"{where}.price_per_kwh", -math.inf, issues)
        days = item.get("weekdays", list(WEEKDAYS))
        if not isinstance(days, list) or not days or not set(days) <= set(WEEKDAYS):
            issues.append(
                FieldIssue(
                    f"{where}.weekdays", f"{_quote(days)} must be a list of {', '.join(WEEKDAYS)}"
                )
            )
            days = []
        bands.append(
            TimeBand(start, end % MINUTES_PER_DAY, price, tuple(WEEKDAYS.index(d) for d in days))
        )
    week = np.arange(7 * MINUTES_PER_DAY)
    held = sum(
        (band.holds(week % MINUTES_PER_DAY, week // MINUTES_PER_DAY) for band in bands),
        np.zeros(week.size, int),
    )
    both = np.flatnonzero(held > 1)
    if both.size:
        minute = int(both[0])
        day, time = divmod(minute, MINUTES_PER_DAY)
        issues.append(
            FieldIssue(
                path,
                f"bands overlap (first on {WEEKDAYS[day]} at {time // 60:02d}:{time % 60:02d})",
            )
        )
    return tuple(bands)


def _number(value: object, path: str, minimum: float, issues: list[FieldIssue]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        issues.append(FieldIssue(path, f"{_quote(value)} must be a finite number"))
        return 0.0
    if value < minimum:
        issues.append(FieldIssue(path, f"{value!r} must be >= {minimum:g}"))
    return float(value)


def _from_document(name: str, document: Mapping[str, Any], root: str) -> RetailTariff:
    """The tariff a document describes (a preset's table, merged with any overrides); raises
    :class:`ProblemError` listing every broken rule, each with its path under ``root``."""
    issues: list[FieldIssue] = []
    for key in sorted(set(document) - KEYS):
        issues.append(FieldIssue(_path(root, key), "unknown key (the keys are in docs/tariffs.md)"))
    for key in REQUIRED:
        if key not in document:
            issues.append(FieldIssue(_path(root, key), "is required"))
    kinds = {"energy": ENERGY_KINDS, "export": EXPORT_SCHEMES}
    for key, allowed in kinds.items():
        if key in document and document[key] not in allowed:
            issues.append(
                FieldIssue(
                    _path(root, key), f"{_quote(document[key])} must be one of {', '.join(allowed)}"
                )
            )
    values: dict[str, Any] = {}
    for key, (kind, allowed) in APPLIES.items():
        actual = document.get(kind)
        if actual not in kinds[kind]:
            continue
        if key in document and actual not in allowed:
            issues.append(
                FieldIssue(
                    _path(root, key),
                    f"applies only with {kind} = {' or '.join(map(repr, allowed))}; "
                    f"{name!r} has {kind} = {actual!r}",
                )
            )
        elif key not in document and actual in allowed and key in REQUIRED_WHERE_THEY_APPLY:
            issues.append(FieldIssue(_path(root, key), f"is required with {kind} = {actual!r}"))
    if "capacity_min_kw" in document and "capacity_price_per_kw_month" not in document:
        issues.append(
            FieldIssue(
                _path(root, "capacity_min_kw"), "applies only with capacity_price_per_kw_month"
            )
        )
    for key, minimum in NUMBER_MINIMUM.items():
        if key in document:
            values[key] = _number(document[key], _path(root, key), minimum, issues)
    if values.get("vat_rate", 0.0) >= 1.0:
        issues.append(
            FieldIssue(_path(root, "vat_rate"), f"{values['vat_rate']!r} must be below 1")
        )
    for key in TEXTS:
        if key in document:
            if isinstance(document[key], str) and document[key]:
                values[key] = document[key]
            else:
                issues.append(
                    FieldIssue(_path(root, key), f"{_quote(document[key])} must be a text")
                )
    if "currency" in values and not CURRENCY_CODE.fullmatch(values["currency"]):
        issues.append(
            FieldIssue(
                _path(root, "currency"),
                f"{_quote(values['currency'])} must be an ISO 4217 code (EUR, GBP)",
            )
        )
    if "timezone" in values and (
        issue := timezone_issue(values["timezone"], _path(root, "timezone"))
    ):
        issues.append(issue)
    if "export_tax_refund" in document:
        if isinstance(document["export_tax_refund"], bool):
            values["export_tax_refund"] = document["export_tax_refund"]
        else:
            issues.append(FieldIssue(_path(root, "export_tax_refund"), "must be true or false"))
    if "time_of_use" in document:
        values["time_of_use"] = _bands(document["time_of_use"], _path(root, "time_of_use"), issues)
    if issues:
        raise ProblemError(issues)
    return RetailTariff(name=name, energy=document["energy"], export=document["export"], **values)


@cache
def _documents() -> dict[str, dict[str, Any]]:
    """The presets file's tables, by name, in file order."""
    text = resources.files("voltpool.model").joinpath(PRESETS_FILE).read_text(encoding="utf-8")
    return tomllib.loads(text)


@cache
def tariff_presets() -> dict[str, RetailTariff]:
    """Every shipped preset by name, in the file's order (the default first)."""
    return {
        name: _from_document(name, document, f"{PRESETS_FILE}.{name}")
        for name, document in _documents().items()
    }


def preset_values(name: str) -> dict[str, Any]:
    """A preset's values as the presets file gives them (for showing)."""
    return dict(_documents()[tariff_preset(name).name])


def tariff_preset(name: str, field: str = "tariff.preset") -> RetailTariff:
    """The shipped preset ``name``; refused naming ``field`` when there is none."""
    presets = tariff_presets()
    if name not in presets:
        raise ProblemError(
            [FieldIssue(field, f"{_quote(name)} is not a tariff preset ({', '.join(presets)})")]
        )
    return presets[name]


def tariff_with(preset: str, overrides: Mapping[str, Any], root: str = "tariff") -> RetailTariff:
    """Preset ``preset`` with some of its values replaced: every override must be a value the
    preset's kind of energy and export uses. Refused (ProblemError) naming ``root.preset`` or
    ``root.<key>`` and the rule."""
    base = tariff_preset(preset, _path(root, "preset"))
    if not overrides:
        return base
    return _from_document(preset, {**_documents()[preset], **overrides}, root)
