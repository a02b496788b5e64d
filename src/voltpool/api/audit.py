"""The audit trail: one row per change and per credit movement, in the change's transaction."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from voltpool.api.store.tables import AuditEntry


def record(db: Session, user_id: str | None, action: str, object_id: str, **detail: Any) -> None:
    db.add(AuditEntry(user_id=user_id, action=action, object_id=object_id, detail=detail))


def record_once(
    db: Session, user_id: str | None, action: str, object_id: str, **detail: Any
) -> None:
    """Record unless ``object_id`` has its ``action`` row already (a retried credit movement
    whose first attempt reached the ledger but not the audit)."""
    exists = db.scalar(
        sa.select(AuditEntry.id).where(
            AuditEntry.object_id == object_id, AuditEntry.action == action
        )
    )
    if exists is None:
        record(db, user_id, action, object_id, **detail)
