"""API keys and JWTs: making them, hashing them, and checking them with a pinned algorithm."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import jwt

from herald.db import utcnow
from herald.errors import Unauthorized

ALGORITHM = "HS256"
ISSUER = "herald"
KEY_PREFIX = "hk_"
TokenKind = Literal["access", "user"]


@dataclass(frozen=True)
class NewKey:
    """A freshly made API key: the plain key (shown once) and what is stored."""

    plain: str
    key_hash: str
    prefix: str


def make_api_key(*, test: bool) -> NewKey:
    """A random key ``hk_live_…`` or ``hk_test_…`` with 256 bits of entropy."""
    plain = f"{KEY_PREFIX}{'test' if test else 'live'}_{secrets.token_urlsafe(32)}"
    return NewKey(plain=plain, key_hash=hash_api_key(plain), prefix=plain[:12])


NotifyKeyType = Literal["live", "team", "test"]
NOTIFY_KEY_TYPES: tuple[NotifyKeyType, ...] = ("live", "team", "test")


@dataclass(frozen=True)
class NewNotifyKey:
    """A GOV.UK Notify-format key: ``<name>-<service id>-<secret>``, and its secret alone."""

    plain: str
    secret: str


def make_notify_key(*, name: str, account_id: uuid.UUID) -> NewNotifyKey:
    """A Notify-format key for the account (the service id), with a random UUID secret.

    Notify's clients read the service id and the secret from the key's last 73 characters,
    so the name may hold anything, dashes included.
    """
    secret = str(uuid.uuid4())
    return NewNotifyKey(plain=f"{name}-{account_id}-{secret}", secret=secret)


def hash_api_key(plain: str) -> str:
    """SHA-256 of a key: enough for 256-bit random secrets, and indexable for lookup."""
    return hashlib.sha256(plain.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    """Whether a bearer token is an API key rather than a JWT."""
    return token.startswith(KEY_PREFIX)


@dataclass(frozen=True)
class Claims:
    """What a verified JWT says."""

    kind: TokenKind
    account_id: uuid.UUID
    subject: str
    scopes: frozenset[str]
    key_id: uuid.UUID | None
    test: bool
    expires_at: datetime


def issue(
    *,
    secret: str,
    kind: TokenKind,
    account_id: uuid.UUID,
    subject: str,
    ttl: timedelta,
    scopes: frozenset[str] = frozenset(),
    key_id: uuid.UUID | None = None,
    test: bool = False,
) -> tuple[str, datetime]:
    """Sign a short-lived token; returns it with its expiry."""
    now = utcnow()
    expires = now + ttl
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "typ": kind,
        "sub": subject,
        "acc": str(account_id),
        "scope": " ".join(sorted(scopes)),
        "test": test,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": secrets.token_hex(8),
    }
    if key_id is not None:
        claims["kid"] = str(key_id)
    return jwt.encode(claims, secret, algorithm=ALGORITHM), expires


VERIFIED_TOKENS = 4096
"""How many verified tokens a process remembers (oldest forgotten first)."""
_verified: dict[tuple[str, str], Claims] = {}


def verify(token: str, *, secret: str) -> Claims:
    """Check signature, algorithm (HS256 only: ``alg=none`` and others fail), issuer and expiry.

    A token verified before under the same secret is not decoded again (~60 us of CPU per
    request, for a browser that sends the same token all day): the same bytes always verify
    the same way, and only its expiry can change, which is checked on every use.
    """
    key = (secret, token)
    claims = _verified.get(key)
    if claims is None:
        claims = _decode(token, secret=secret)
        if len(_verified) >= VERIFIED_TOKENS:
            del _verified[next(iter(_verified))]
        _verified[key] = claims
    elif claims.expires_at <= utcnow():
        _verified.pop(key, None)
        raise Unauthorized("The token has expired")
    return claims


def _decode(token: str, *, secret: str) -> Claims:
    try:
        raw = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub", "iss"]},
        )
        kind = raw["typ"]
        if kind not in ("access", "user"):
            raise Unauthorized("Unknown token type")
        return Claims(
            kind=kind,
            account_id=uuid.UUID(raw["acc"]),
            subject=str(raw["sub"]),
            scopes=frozenset(str(raw.get("scope", "")).split()),
            key_id=uuid.UUID(raw["kid"]) if raw.get("kid") else None,
            test=bool(raw.get("test", False)),
            expires_at=datetime.fromtimestamp(int(raw["exp"]), tz=utcnow().tzinfo),
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("The token has expired") from exc
    except (jwt.PyJWTError, KeyError, ValueError, TypeError) as exc:
        raise Unauthorized("The token is not valid") from exc
