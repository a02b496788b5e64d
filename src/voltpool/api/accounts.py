"""Accounts made outside the API: the admin of a new installation."""

from __future__ import annotations

import sqlalchemy as sa

from voltpool.api.security import hash_password
from voltpool.api.settings import ServeSettings
from voltpool.api.store.schema import open_engine, sessions, upgrade
from voltpool.api.store.tables import User
from voltpool.api.wallets import open_wallet
from voltpool.ledger import Ledger


def ensure_admin(settings: ServeSettings, email: str, password: str) -> str:
    """The admin ``email`` (created with ``password`` when missing); its user id."""
    engine = open_engine(settings.db)
    ledger = Ledger.open(settings.db)
    try:
        upgrade(engine)
        with sessions(engine)() as db:
            user = db.scalar(sa.select(User).where(User.email == email.strip().lower()))
            if user is None:
                user = User(
                    email=email.strip().lower(),
                    password_hash=hash_password(password),
                    role="admin",
                    name="admin",
                )
                db.add(user)
                db.commit()
            elif user.role != "admin":
                raise ValueError(f"--admin: {email} is a {user.role}'s account, not an admin")
            open_wallet(ledger, user.id)
            return user.id
    finally:
        ledger.close()
        engine.dispose()
