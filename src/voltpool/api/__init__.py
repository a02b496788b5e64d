"""``voltpool serve``: the HTTP API (FastAPI) over the service layer and the one controller.

- :mod:`~voltpool.api.app`: the application (``create_app``), migrations and the planner at
  start-up;
- :mod:`~voltpool.api.routes`: the resources (accounts, communities and homes, cars, rules and
  sessions, plans, credits, health);
- :mod:`~voltpool.api.planner`: the live planner (a controller per community, re-planned on
  a slot tick and on every event, off the event loop);
- :mod:`~voltpool.api.security`, :mod:`~voltpool.api.deps`: passwords, tokens, API keys,
  who may call what; :mod:`~voltpool.api.problems`: RFC 9457 errors;
- :mod:`~voltpool.api.store`: the application's tables and their Alembic migrations.
"""
