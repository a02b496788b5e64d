"""``/healthz``: the database answers and the schema is at head; ``now`` is the service's
clock (the demo's runs fast), which clients use to tell "today" and "tonight"."""

from __future__ import annotations

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
    }
