"""What every request needs: the application's state, a database session, the caller.

Callers authenticate with ``Authorization: Bearer <access token>`` or ``X-API-Key: <key>``.
No credentials, a bad or expired token, a revoked key: 401. A caller whose role may not call
an endpoint: 403; an object that is not the caller's: 404, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from voltpool.api.events import EventHub
from voltpool.api.problems import ApiProblem
from voltpool.api.ratelimit import FailureLimiter
from voltpool.api.security import InvalidToken, digest, read_access_token
from voltpool.api.settings import ServeSettings
from voltpool.api.store.tables import ApiKey, User
from voltpool.ledger import Ledger

READ_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class AppState:
    settings: ServeSettings
    engine: Engine
    sessions: sessionmaker[Session]
    """Sessions whose transactions write (the planner's, and changing requests')."""
    read_sessions: sessionmaker[Session]
    """Sessions whose transactions only read (one snapshot each)."""
    ledger: Ledger
    login_limiter: FailureLimiter
    planner: object
    """The live planner (:class:`voltpool.api.planner.LivePlanner`)."""
    events: EventHub
    """The live stream's hub (the planner publishes every stored plan)."""


def app_state(request: Request) -> AppState:
    return request.app.state.voltpool


def db_session(request: Request) -> Iterator[Session]:
    """A session whose transactions are snapshots for reads and take the write lock (SQLite)
    for changes, begun at the first statement. Handlers commit what they change (anything not
    committed is rolled back), and commit before they call the ledger, whose own transaction
    needs the same write lock."""
    state = app_state(request)
    factory = state.read_sessions if request.method in READ_METHODS else state.sessions
    with factory() as session:
        yield session


_bearer = HTTPBearer(auto_error=False, description="An access token from /v1/auth/token")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="A device's API key")

Db = Annotated[Session, Depends(db_session)]
State = Annotated[AppState, Depends(app_state)]


def unauthenticated(detail: str) -> ApiProblem:
    return ApiProblem(401, detail, headers={"WWW-Authenticate": "Bearer"})


def current_user(
    request: Request,
    db: Db,
    state: State,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> User:
    if bearer is not None:
        try:
            claims = read_access_token(bearer.credentials, state.settings.secret)
        except InvalidToken as error:
            raise unauthenticated(str(error)) from None
        user = db.get(User, claims.user_id)
    elif api_key is not None:
        key = db.scalar(sa.select(ApiKey).where(ApiKey.key_hash == digest(api_key)))
        user = None if key is None or key.revoked else db.get(User, key.user_id)
    else:
        raise unauthenticated("log in first: send Authorization: Bearer <token> or X-API-Key")
    if user is None:
        raise unauthenticated("these credentials are not valid (revoked or unknown)")
    if request.method not in READ_METHODS:
        # the caller is known: no connection (nor SQLite's write lock) held until the handler
        # writes; a read goes on in the same snapshot (a commit there would cost PostgreSQL
        # a COMMIT, a pool check-in with its ROLLBACK and a new BEGIN per request)
        db.commit()
    return user


Caller = Annotated[User, Depends(current_user)]


def require_role(user: User, *roles: str) -> None:
    if user.role not in roles:
        raise ApiProblem(403, f"only a {' or '.join(roles)} may do this (you are {user.role})")
