"""One-click unsubscribe (RFC 8058): a signed, expiring token naming an account, a user and a
category, the URL each non-mandatory email carries, and turning that category's email off.

The token is ``<payload>.<signature>``: the payload base64url JSON, the signature an HMAC-SHA256
of it with the deployment's secret (the key that signs user tokens), so every process checks it
without storage and nobody can forge one for another user or category.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import utcnow
from herald.rules.models import Preference

LIFETIME = timedelta(days=90)
"""How long a link works: mail is read, and unsubscribed from, long after it is sent."""
_PURPOSE = b"herald-unsubscribe:"


class BadToken(ValueError):
    """A token that was not made here, was altered, or has expired."""


@dataclass(frozen=True)
class Unsubscribe:
    """What a valid token lets its holder turn off."""

    account_id: uuid.UUID
    user_id: uuid.UUID
    category: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: str, payload: str) -> str:
    digest = hmac.new(secret.encode(), _PURPOSE + payload.encode(), hashlib.sha256).digest()
    return _b64(digest)


def make_token(secret: str, target: Unsubscribe, *, now: datetime | None = None) -> str:
    """A token for ``target`` that expires after ``LIFETIME``."""
    expires = int(((now or utcnow()) + LIFETIME).timestamp())
    document = {
        "a": str(target.account_id),
        "u": str(target.user_id),
        "c": target.category,
        "e": expires,
    }
    payload = _b64(json.dumps(document, separators=(",", ":")).encode())
    return f"{payload}.{_signature(secret, payload)}"


def read_token(secret: str, token: str, *, now: datetime | None = None) -> Unsubscribe:
    """What ``token`` names, or BadToken when it is forged, altered, malformed or expired."""
    payload, _, signature = token.partition(".")
    if not payload or not hmac.compare_digest(signature, _signature(secret, payload)):
        raise BadToken("This unsubscribe link is not valid")
    try:
        document = json.loads(_unb64(payload))
        target = Unsubscribe(uuid.UUID(document["a"]), uuid.UUID(document["u"]), str(document["c"]))
        expires = int(document["e"])
    except (ValueError, KeyError, TypeError) as exc:
        raise BadToken("This unsubscribe link is not valid") from exc
    if (now or utcnow()).timestamp() >= expires:
        raise BadToken("This unsubscribe link has expired")
    return target


def unsubscribe_url(public_url: str, token: str) -> str:
    """Where mail clients POST ``List-Unsubscribe=One-Click`` (and people's browsers GET)."""
    return f"{public_url.rstrip('/')}/unsubscribe/{token}"


async def turn_off_email(session: AsyncSession, target: Unsubscribe) -> None:
    """Turn ``target.category``'s email off in the user's own preferences (the rest kept)."""
    subject = str(target.user_id)
    row = await session.get(Preference, (target.account_id, subject))
    if row is None:
        row = Preference(
            account_id=target.account_id, subject=subject, user_id=target.user_id, document={}
        )
        session.add(row)
    categories = {k: dict(v) for k, v in (row.document.get("categories") or {}).items()}
    categories.setdefault(target.category, {})["email"] = False
    row.document = {**row.document, "categories": categories}
    row.updated_at = utcnow()
    await session.flush()
