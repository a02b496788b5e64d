"""Accounts and credentials: register, log in (OAuth2 password flow), refresh, API keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, status
from fastapi.security import OAuth2PasswordRequestForm

from voltpool.api import audit
from voltpool.api.deps import Caller, Db, State, unauthenticated
from voltpool.api.problems import ApiProblem, invalid, not_found
from voltpool.api.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    Refresh,
    Register,
    TokenOut,
    UserOut,
)
from voltpool.api.security import (
    digest,
    hash_password,
    issue_access_token,
    new_api_key,
    new_refresh_token,
    password_matches,
)
from voltpool.api.store.tables import ApiKey, RefreshToken, User
from voltpool.api.wallets import open_wallet

router = APIRouter(prefix="/v1", tags=["accounts"])


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def register(body: Register, db: Db, state: State) -> User:
    """A new owner or community operator, with a credit account of its own."""
    if len(body.password) < state.settings.password_min_length:
        raise invalid(
            "body.password", f"must be at least {state.settings.password_min_length} characters"
        )
    password_hash = hash_password(body.password)  # slow on purpose: before the write lock
    if db.scalar(sa.select(User.id).where(User.email == body.email)) is not None:
        raise ApiProblem(
            409,
            "an account with this email exists already: log in instead",
            [{"field": "body.email", "rule": "must not be registered already"}],
        )
    user = User(email=body.email, password_hash=password_hash, name=body.name, role=body.role)
    db.add(user)
    db.flush()
    audit.record(db, user.id, "register", user.id, role=user.role)
    db.commit()
    try:
        open_wallet(state.ledger, user.id)
    except BaseException:  # no account without its wallet
        db.delete(user)
        db.commit()
        raise
    return user


def _tokens(db: Db, state: State, user: User) -> TokenOut:
    settings = state.settings
    access, expires = issue_access_token(
        user.id, user.role, settings.secret, settings.access_token_lifetime
    )
    refresh = new_refresh_token()
    db.add(
        RefreshToken(
            user_id=user.id,
            token_hash=digest(refresh),
            expires_at=datetime.now(UTC) + settings.refresh_token_lifetime,
        )
    )
    db.commit()
    return TokenOut(access_token=access, expires_at=expires, refresh_token=refresh)


@router.post("/auth/token", response_model=TokenOut)
def log_in(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, db: Db, state: State
) -> TokenOut:
    """Email (as ``username``) and password for an access token and a refresh token. After
    too many failures for one email from one client: 429 with ``Retry-After``."""
    client = request.client.host if request.client else "?"
    key = f"{form.username.strip().lower()}|{client}"
    wait_s = state.login_limiter.retry_after_s(key)
    if wait_s > 0:
        raise ApiProblem(
            429,
            f"too many failed logins: try again in {wait_s:.0f} s",
            headers={"Retry-After": str(max(1, round(wait_s)))},
        )
    user = db.scalar(sa.select(User).where(User.email == form.username.strip().lower()))
    if not password_matches(form.password, None if user is None else user.password_hash):
        state.login_limiter.failed(key)
        raise unauthenticated("wrong email or password")
    assert user is not None
    state.login_limiter.succeeded(key)
    return _tokens(db, state, user)


@router.post("/auth/refresh", response_model=TokenOut)
def refresh(body: Refresh, db: Db, state: State) -> TokenOut:
    """A new token pair for a refresh token, which is used up (rotation)."""
    stored = db.scalar(
        sa.select(RefreshToken)
        .where(RefreshToken.token_hash == digest(body.refresh_token))
        .with_for_update()
    )
    if stored is None or stored.revoked or stored.expires_at <= datetime.now(UTC):
        raise unauthenticated("the refresh token is not valid (used, revoked or expired)")
    stored.revoked = True
    user = db.get(User, stored.user_id)
    if user is None:
        raise unauthenticated("the refresh token is not valid (used, revoked or expired)")
    return _tokens(db, state, user)


@router.get("/me", response_model=UserOut)
def me(user: Caller) -> User:
    return user


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, response_model=ApiKeyCreated)
def create_api_key(body: ApiKeyIn, user: Caller, db: Db) -> ApiKeyCreated:
    """A key for a device or an integration, acting as the caller; shown only in this answer."""
    secret = new_api_key()
    key = ApiKey(user_id=user.id, name=body.name, key_hash=digest(secret))
    db.add(key)
    db.flush()
    audit.record(db, user.id, "api_key.create", key.id, name=body.name)
    db.commit()
    return ApiKeyCreated(
        id=key.id, name=key.name, created_at=key.created_at, revoked=key.revoked, key=secret
    )


@router.get("/api-keys", response_model=list[ApiKeyOut])
def list_api_keys(user: Caller, db: Db) -> list[ApiKey]:
    return list(db.scalars(sa.select(ApiKey).where(ApiKey.user_id == user.id)))


@router.delete("/api-keys/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_api_key(key_id: str, user: Caller, db: Db) -> None:
    key = db.get(ApiKey, key_id)
    if key is None or key.user_id != user.id:
        raise not_found("API key")
    key.revoked = True
    audit.record(db, user.id, "api_key.revoke", key.id)
    db.commit()
