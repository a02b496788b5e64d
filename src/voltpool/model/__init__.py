"""The fleet model: vehicles (struct of arrays), the site, the tariff and the problem."""

from voltpool.model.fleet import Fleet
from voltpool.model.physics import energy_trajectory_kwh, soc_trajectory
from voltpool.model.problem import DEFAULT_UNMET_PENALTY_PER_KWH, Problem
from voltpool.model.site import Site
from voltpool.model.tariff import Tariff
from voltpool.model.transfers import Transfers

__all__ = [
    "DEFAULT_UNMET_PENALTY_PER_KWH",
    "Fleet",
    "Problem",
    "Site",
    "Tariff",
    "Transfers",
    "energy_trajectory_kwh",
    "soc_trajectory",
]
