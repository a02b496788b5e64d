"""Passwords, bearer tokens and API keys.

- Passwords: Argon2id through ``pwdlib`` (the algorithm OWASP's Password Storage Cheat Sheet
  puts first), never stored or logged in clear.
- Access tokens: short-lived JWTs (RFC 7519, HS256 with the server's secret) naming the user
  and role; 15 minutes by default. An expired or forged token is a 401.
- Refresh tokens: 32 random bytes, only their SHA-256 stored, 30 days, rotated on every use
  (the old one is revoked), so a stolen refresh token works at most once.
- API keys for devices and integrations: ``vp_`` + 32 random bytes, only the SHA-256 kept.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

ALGORITHM = "HS256"
API_KEY_PREFIX = "vp_"
_hasher = PasswordHash((Argon2Hasher(),))
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password: str, password_hash: str | None) -> bool:
    """Whether ``password`` is the one hashed; with no hash (unknown user) it still spends
    the time of one verification, so timing does not tell which emails exist."""
    if password_hash is None:
        _hasher.verify(password, _DUMMY_HASH)
        return False
    return _hasher.verify(password, password_hash)


def digest(secret: str) -> str:
    """The SHA-256 (hex) under which refresh tokens and API keys are stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_refresh_token() -> str:
    return secrets.token_urlsafe(32)


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenClaims:
    user_id: str
    role: str
    expires_at: datetime


class InvalidToken(Exception):
    """The bearer token is malformed, forged or expired (the message says which)."""


def issue_access_token(
    user_id: str, role: str, secret: str, lifetime: timedelta, now: datetime | None = None
) -> tuple[str, datetime]:
    """A signed access token and its expiry (UTC)."""
    issued = now or datetime.now(UTC)
    expires = issued + lifetime
    claims = {"sub": user_id, "role": role, "iat": issued, "exp": expires, "typ": "access"}
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


def read_access_token(token: str, secret: str) -> TokenClaims:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise InvalidToken("the access token has expired: refresh it or log in again") from None
    except jwt.InvalidTokenError:
        raise InvalidToken("the access token is not valid") from None
    if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
        raise InvalidToken("the access token is not valid")
    return TokenClaims(
        claims["sub"], str(claims.get("role", "")), datetime.fromtimestamp(claims["exp"], UTC)
    )
