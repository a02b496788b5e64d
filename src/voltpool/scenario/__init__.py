"""Scenarios: what to simulate, as TOML files (built-ins ship in ``builtin/``)."""

from voltpool.scenario.model import (
    POLICIES,
    Scenario,
    builtin_names,
    load_scenario,
    scenario_from_dict,
    scenario_text,
)

__all__ = [
    "POLICIES",
    "Scenario",
    "builtin_names",
    "load_scenario",
    "scenario_from_dict",
    "scenario_text",
]
