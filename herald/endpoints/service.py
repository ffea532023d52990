"""An account's webhook endpoints: set (SSRF-checked, a new secret each time), list, delete.

The secret is sealed at rest with the deployment's key, as status callbacks' are, and
shown only in the answer to ``PUT``. Setting an endpoint again re-enables it after a
receiver's 410 disabled it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.db import utcnow
from herald.delivery.sealing import seal
from herald.endpoints.models import WebhookEndpoint
from herald.errors import NotFound
from herald.http.ssrf import check_url
from herald.webhooks.signing import generate_secret


async def put_endpoint(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    name: str,
    url: str,
    types: list[str],
    allow_private: bool,
    sealing_key: str,
) -> tuple[WebhookEndpoint, str]:
    """Create or replace the endpoint ``name``; returns it and its new secret (shown once)."""
    await check_url(url, allow_private=allow_private, pointer="/url")
    endpoint = await find(session, account_id=account_id, name=name)
    if endpoint is None:
        endpoint = WebhookEndpoint(account_id=account_id, name=name)
        session.add(endpoint)
    plain = generate_secret()
    endpoint.url = url
    endpoint.types = list(dict.fromkeys(types))
    endpoint.secret = seal(sealing_key, plain)
    endpoint.disabled_at = None
    endpoint.updated_at = utcnow()
    await session.flush()
    return endpoint, plain


async def find(
    session: AsyncSession, *, account_id: uuid.UUID, name: str
) -> WebhookEndpoint | None:
    """The account's endpoint ``name``, if it exists."""
    found: WebhookEndpoint | None = await session.scalar(
        select(WebhookEndpoint).where(
            WebhookEndpoint.account_id == account_id, WebhookEndpoint.name == name
        )
    )
    return found


async def get_endpoint(
    session: AsyncSession, *, account_id: uuid.UUID, name: str
) -> WebhookEndpoint:
    """The account's endpoint ``name``, or 404."""
    endpoint = await find(session, account_id=account_id, name=name)
    if endpoint is None:
        raise NotFound("No such endpoint")
    return endpoint


async def list_endpoints(session: AsyncSession, *, account_id: uuid.UUID) -> list[WebhookEndpoint]:
    """The account's endpoints, by name."""
    rows = await session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.account_id == account_id)
        .order_by(WebhookEndpoint.name)
    )
    return list(rows)


async def delete_endpoint(session: AsyncSession, *, account_id: uuid.UUID, name: str) -> None:
    """Remove the endpoint ``name`` (deliveries already queued to it fail permanently)."""
    await session.delete(await get_endpoint(session, account_id=account_id, name=name))
