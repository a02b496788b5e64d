"""The use cases, as plain functions: what the command line, the API and the web app call.

Each takes plain values (names, paths, URLs, times), returns a frozen result object and raises
the domain's errors (:class:`~voltpool.errors.ProblemError` naming every bad field, with
nothing written; :class:`~voltpool.errors.SolverError`; the ledger's ``Conflict`` and
``Rejected``). Nothing here parses a command line or draws to a terminal.

- :mod:`~voltpool.service.simulation`: simulate a scenario and write its files and report;
- :mod:`~voltpool.service.sharing`: check a V2V circle, or match, book, settle and explain it;
- :mod:`~voltpool.service.backup`: plan a home's outage (V2H) or its overload window;
- :mod:`~voltpool.service.scheduling`: schedule one problem, verified, beside the baseline.

The modules are imported by name (``from voltpool.service import sharing``), so that using one
use case does not load the others' dependencies.
"""
