"""The fleet model: vehicles (struct of arrays), the site, the tariff, the problem and the
slot clock."""

from voltpool.model.clock import DEFAULT_SLOT_MINUTES, SlotGrid, as_utc
from voltpool.model.fleet import DEFAULT_CHARGE_EFFICIENCY, DEFAULT_DISCHARGE_EFFICIENCY, Fleet
from voltpool.model.physics import energy_trajectory_kwh, soc_trajectory
from voltpool.model.problem import DEFAULT_UNMET_PENALTY_PER_KWH, Problem
from voltpool.model.site import Site
from voltpool.model.tariff import PeakBilling, PeakPeriod, Tariff
from voltpool.model.transfers import Transfers

__all__ = [
    "DEFAULT_CHARGE_EFFICIENCY",
    "DEFAULT_DISCHARGE_EFFICIENCY",
    "DEFAULT_SLOT_MINUTES",
    "DEFAULT_UNMET_PENALTY_PER_KWH",
    "Fleet",
    "PeakBilling",
    "PeakPeriod",
    "Problem",
    "Site",
    "SlotGrid",
    "Tariff",
    "Transfers",
    "as_utc",
    "energy_trajectory_kwh",
    "soc_trajectory",
]
