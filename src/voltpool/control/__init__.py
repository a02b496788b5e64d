"""The one rolling-horizon controller, shared by the simulator and the live service.

    from voltpool.control import CarTable, Controller, Observation, PlanningConfig

    controller = Controller(cars, forecasts, PlanningConfig(horizon_slots=96))
    setpoints = controller.step(Observation(t, energy_kwh, on_grid, departure_slot))

- :mod:`~voltpool.control.cars`: the car table (per-car arrays);
- :mod:`~voltpool.control.forecast`: the forecast a source answers for the next slots;
- :mod:`~voltpool.control.controller`: re-plan rule, problem building, verification;
- :mod:`~voltpool.control.fallback`: the safe plan when a plan cannot be trusted.

The controller imports only the core (model, schedule): no database, plotting or web stack.
"""

from voltpool.control.cars import CarTable
from voltpool.control.controller import (
    Controller,
    InvalidPlanError,
    Observation,
    PlanningConfig,
    PlanOutcome,
    Setpoints,
    V2VInputs,
)
from voltpool.control.fallback import safe_plan_kw
from voltpool.control.forecast import Forecast, ForecastSource, ProblemForecast

__all__ = [
    "CarTable",
    "Controller",
    "Forecast",
    "ForecastSource",
    "InvalidPlanError",
    "Observation",
    "PlanOutcome",
    "PlanningConfig",
    "ProblemForecast",
    "Setpoints",
    "V2VInputs",
    "safe_plan_kw",
]
