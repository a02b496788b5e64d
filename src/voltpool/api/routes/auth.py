"""Accounts and credentials: register, log in (OAuth2 password flow), refresh, log out, the
caller's own account (name, email, password) and API keys.

A changed password revokes every refresh token of the account, the caller's own included: the
call carries an access token, which does not say which refresh token is the caller's, so the
answer is a fresh token pair instead. Every other session (another browser, a stolen refresh
token) ends when its access token expires (15 minutes at most). API keys stay: they are the
devices' own credentials, listed and revoked one by one (``DELETE /v1/api-keys/{id}``), and a
password change should not cut a charger off.
"""

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
    MeUpdate,
    PasswordChange,
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
    _strong_enough(state, "body.password", body.password)
    password_hash = hash_password(body.password)  # slow on purpose: before the write lock
    if db.scalar(sa.select(User.id).where(User.email == body.email)) is not None:
        raise _email_taken()
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


def _strong_enough(state: State, field: str, password: str) -> None:
    """The one strength rule of every new password (registration and change): its length."""
    if len(password) < state.settings.password_min_length:
        raise invalid(field, f"must be at least {state.settings.password_min_length} characters")


def _email_taken() -> ApiProblem:
    return ApiProblem(
        409,
        "an account with this email exists already: log in instead",
        [{"field": "body.email", "rule": "must not be registered already"}],
    )


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
        db.rollback()  # the limiter writes in its own transaction (SQLite: one writer at a time)
        state.login_limiter.failed(key)
        raise unauthenticated("wrong email or password")
    assert user is not None
    tokens = _tokens(db, state, user)  # committed
    state.login_limiter.succeeded(key)
    return tokens


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


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(body: Refresh, db: Db) -> None:
    """Revoke the refresh token presented (this session's); its access token ends by itself
    within minutes. An unknown or used-up token answers the same (nothing to tell)."""
    stored = db.scalar(
        sa.select(RefreshToken)
        .where(RefreshToken.token_hash == digest(body.refresh_token))
        .with_for_update()
    )
    if stored is not None and not stored.revoked:
        stored.revoked = True
        audit.record(db, stored.user_id, "auth.logout", stored.id)
    db.commit()


@router.get("/me", response_model=UserOut)
def me(user: Caller) -> User:
    return user


def _current_password(state: State, user: User, password: str | None, why: str) -> str:
    """Check ``password`` is the caller's (at most ``login_failures_max`` wrong ones a window
    per account, then 429); the hash it matched, for the write to compare against."""
    field = "body.current_password"
    if password is None:
        raise invalid(field, f"is required to {why}")
    key = f"account|{user.id}"
    wait_s = state.login_limiter.retry_after_s(key)
    if wait_s > 0:
        raise ApiProblem(
            429,
            f"too many wrong passwords: try again in {wait_s:.0f} s",
            [{"field": field, "rule": "too many wrong attempts"}],
            headers={"Retry-After": str(max(1, round(wait_s)))},
        )
    checked = user.password_hash
    if not password_matches(password, checked):  # slow on purpose: no transaction open
        state.login_limiter.failed(key)
        raise invalid(field, "is not your current password")
    state.login_limiter.succeeded(key)
    return checked


@router.patch("/me", response_model=UserOut)
def change_me(body: MeUpdate, user: Caller, db: Db, state: State) -> User:
    """The caller's display name and email. A new email needs ``current_password`` (it is
    what one logs in with) and must not be another account's (409)."""
    changes: dict[str, str] = {}
    if body.name is not None and body.name != user.name:
        changes["name"] = body.name
    if body.email is not None and body.email != user.email:
        _current_password(state, user, body.current_password, "change the email")
        if db.scalar(sa.select(User.id).where(User.email == body.email)) is not None:
            raise _email_taken()
        changes["email"] = body.email
    if not changes:
        return user
    detail: dict[str, str] = dict(changes)
    if "email" in changes:
        detail["email_was"] = user.email
    for name, value in changes.items():
        setattr(user, name, value)
    audit.record(db, user.id, "account.change", user.id, **detail)
    try:
        db.commit()
    except sa.exc.IntegrityError:  # the same email registered meanwhile
        db.rollback()
        raise _email_taken() from None
    return user


@router.post("/me/password", response_model=TokenOut)
def change_password(body: PasswordChange, user: Caller, db: Db, state: State) -> TokenOut:
    """A new password for the caller's account (``current_password`` first; the same rule
    as registration). Every refresh token of the account is revoked, so every other session
    ends; the answer is a new token pair for this one. API keys stay (revoke them one by one)."""
    _strong_enough(state, "body.new_password", body.new_password)
    checked = _current_password(state, user, body.current_password, "change the password")
    if body.new_password == body.current_password:
        raise invalid("body.new_password", "must not be the current password")
    password_hash = hash_password(body.new_password)  # slow on purpose: before the write lock
    changed = db.execute(
        sa.update(User)
        .where(User.id == user.id, User.password_hash == checked)
        .values(password_hash=password_hash)
    )
    if changed.rowcount != 1:
        db.rollback()
        raise ApiProblem(409, "the password was changed meanwhile: log in with the new one")
    revoked = db.execute(
        sa.update(RefreshToken)
        .where(RefreshToken.user_id == user.id, RefreshToken.revoked.is_(False))
        .values(revoked=True)
    ).rowcount
    audit.record(db, user.id, "account.password", user.id, refresh_tokens_revoked=revoked)
    return _tokens(db, state, user)  # commits the change with the new pair


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
