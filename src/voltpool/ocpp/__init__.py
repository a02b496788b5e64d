"""voltpool's OCPP adapter: a central system (CSMS) for real bidirectional chargers, and a
station simulator to test it against.

- :mod:`~voltpool.ocpp.csms`: the WebSocket server (``ocpp2.1``, ``ocpp2.0.1``,
  ``ocpp1.6``), basic auth per station, one connection per station, profiles pushed on
  every stored plan and re-pushed on boot and reconnect;
- :mod:`~voltpool.ocpp.handlers`: what each message a station sends does;
- :mod:`~voltpool.ocpp.carsessions`: a station's transaction and EV needs as the car's
  plug-in session, through the API's own functions;
- :mod:`~voltpool.ocpp.profiles`: a car's plan as a ``SetChargingProfile`` (2.1
  ``CentralSetpoint`` with ``maxOfflineDuration``; charge-only limits for 2.0.1 and 1.6);
- :mod:`~voltpool.ocpp.records`: what is kept in the database;
- :mod:`~voltpool.ocpp.peer` and :mod:`~voltpool.ocpp.keys`: the ``ocpp`` library's
  ChargePoint with its 2.1.0 defects handled (key spelling, unhandled actions, bad frames);
- :mod:`~voltpool.ocpp.simulator`: ``voltpool station-sim``, an EV and its charger;
- :mod:`~voltpool.ocpp.service`: the CSMS inside ``voltpool serve`` or on its own.

docs/ocpp.md tells how to point a charger at voltpool.
"""

from voltpool.ocpp.csms import CentralSystem, CsmsOptions
from voltpool.ocpp.service import CsmsService, csms_service

__all__ = ["CentralSystem", "CsmsOptions", "CsmsService", "csms_service"]
