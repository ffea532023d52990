"""Console sessions: signing in with an API key, finding the session of a cookie, signing out.

The browser keeps a random 256-bit token; the database keeps its SHA-256, the key's id and an
expiry, never the key. CSRF tokens are derived from the session token with the deployment's
secret (HMAC), so they need no storage and change with every sign-in. Never commits.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal, authenticate
from herald.accounts.tokens import looks_like_api_key
from herald.db import utcnow
from herald.errors import Unauthorized
from herald.runtime import Runtime
from herald.web.console.models import ConsoleSession


class SignedOut(Unauthorized):
    """No session, an expired one, or one whose key was revoked: sign in again."""

    code = "signed_out"


@dataclass(frozen=True)
class Opened:
    """A new session: the token for the cookie (never stored) and its row."""

    token: str
    row: ConsoleSession
    principal: Principal


def token_hash(token: str) -> str:
    """What the database keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token(secret: str, token: str, *, purpose: str = "session") -> str:
    """The CSRF token of a session (or of a sign-in form's pre-session cookie)."""
    message = f"herald-console-csrf:{purpose}:{token}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def csrf_matches(secret: str, token: str, given: str | None, *, purpose: str = "session") -> bool:
    """Whether a form's or header's CSRF token is the one of this session, in constant time."""
    return given is not None and hmac.compare_digest(
        csrf_token(secret, token, purpose=purpose), given
    )


async def open_session(session: AsyncSession, *, api_key: str, runtime: Runtime) -> Opened:
    """Sign in with an API key (401 for anything else, or a revoked key); expired sessions of
    every account are removed on the way."""
    if not looks_like_api_key(api_key):
        raise Unauthorized("Sign in with an API key (hk_live_... or hk_test_...)")
    principal = await authenticate(api_key, session=session, runtime=runtime)
    assert principal.key_id is not None  # an API key always names itself
    now = utcnow()
    await session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=token_hash(token),
        key_id=principal.key_id,
        account_id=principal.account_id,
        created_at=now,
        expires_at=now + timedelta(seconds=runtime.settings.console_session_ttl_seconds),
    )
    session.add(row)
    await session.flush()
    return Opened(token, row, principal)


async def find_session(session: AsyncSession, *, token: str | None) -> ConsoleSession:
    """The live session of a cookie's token, or ``SignedOut``."""
    if not token:
        raise SignedOut("Sign in to use the console")
    row = await session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
    )
    if row is None or row.expires_at <= utcnow():
        raise SignedOut("The session has ended; sign in again")
    return row


async def end_session(session: AsyncSession, *, token: str | None) -> None:
    """Sign out: the session's row is removed, so its cookie opens nothing any more."""
    if token:
        await session.execute(
            delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
        )


async def end_sessions_of_key(session: AsyncSession, *, key_id: uuid.UUID) -> None:
    """Remove every session opened with a key (it was revoked)."""
    await session.execute(delete(ConsoleSession).where(ConsoleSession.key_id == key_id))
