"""A car's charger limits for the stay it is in: the car's own, lowered by what its station
and EV allow this plug-in session (:class:`~voltpool.api.store.tables.PlugSession`
``max_charge_kw`` / ``max_discharge_kw``, from OCPP; a charge-only station's discharge is 0).
The car's own limits stay as its owner set them: a stay at a one-way station does not make
the car one-way at the next."""

from __future__ import annotations

from voltpool.api.store.tables import Car, PlugSession


def limits_kw(car: Car, plug: PlugSession | None) -> tuple[float, float]:
    """``(max_charge_kw, max_discharge_kw)`` for ``car`` in the stay ``plug`` (None: away,
    the car's own). [kW]"""
    charge, discharge = car.max_charge_kw, car.max_discharge_kw
    if plug is not None and plug.max_charge_kw is not None:
        charge = min(charge, plug.max_charge_kw)
    if plug is not None and plug.max_discharge_kw is not None:
        discharge = min(discharge, plug.max_discharge_kw)
    return charge, discharge
