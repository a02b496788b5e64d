"""``/healthz``: the database answers and the schema is at head; ``now`` is the service's
clock (the demo's runs fast), which clients use to tell "today" and "tonight". ``worker``
names the process that answered (its id, whether it leads: runs the live planner, and how
many times it took the lead) for a deployment of several (``voltpool serve --workers``)."""

from __future__ import annotations

import os

import sqlalchemy as sa
from fastapi import APIRouter

from voltpool.api.deps import Db, State

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(db: Db, state: State) -> dict[str, object]:
    db.execute(sa.text("SELECT 1"))
    return {
        "status": "ok",
        "database": state.engine.dialect.name,
        "plans_made": state.planner.plans_made,  # type: ignore[attr-defined]
        "now": state.settings.clock.now().isoformat(),
        "worker": {
            "pid": os.getpid(),
            "leading": state.planner.leading,  # type: ignore[attr-defined]
            "terms": state.planner.terms,  # type: ignore[attr-defined]
        },
    }
