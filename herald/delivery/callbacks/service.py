"""Status callbacks: what the sender hears back, POSTed signed (Standard Webhooks) or in
GOV.UK Notify's format.

An account registers one endpoint (``PUT /v1/callbacks``) with the events it wants:
``delivery.<status>`` for each delivery status and ``notification.action`` for inbox
actions. Each event is a ``CallbackJob`` written in the transaction that caused it and
sent by the workers through the same queue, lease and retry policy as deliveries; the
job's id is the ``webhook-id``, the same on every retry, so receivers can de-duplicate.

An endpoint in the ``notify`` format gets each delivery status as Notify's delivery
receipt (``herald.delivery.callbacks.notify_receipt``), with ``Authorization: Bearer <its token>``;
it hears every final status unless it names its events (delivery events only).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from herald.bus import Bus
from herald.db import utcnow
from herald.delivery.callbacks.notify_receipt import FINAL_EVENTS
from herald.delivery.models import CallbackEndpoint, CallbackJob
from herald.delivery.queue import wake_workers
from herald.delivery.sealing import seal
from herald.delivery.status import DeliveryStatus
from herald.errors import ErrorDetail, NotFound, ValidationFailed
from herald.http.ssrf import check_url
from herald.inbox.schemas import rfc3339
from herald.webhooks.signing import generate_secret

ACTION_EVENT = "notification.action"
DELIVERY_EVENTS = frozenset(f"delivery.{s.value}" for s in DeliveryStatus)
EVENTS = frozenset({*DELIVERY_EVENTS, ACTION_EVENT})
"""Every event an endpoint may subscribe to."""
STANDARD, NOTIFY = "standard", "notify"
_ENDPOINTS = "herald.delivery.callbacks.endpoints"


async def put_endpoint(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    url: str,
    events: list[str] | None,
    allow_private: bool,
    sealing_key: str,
    format: str = STANDARD,
    bearer_token: str | None = None,
) -> tuple[CallbackEndpoint, str | None]:
    """Set the account's endpoint; returns it and, for the standard format, its new signing
    secret (shown once). The ``notify`` format posts with the caller's ``bearer_token``."""
    wanted = _events(format, events, bearer_token)
    await check_url(url, allow_private=allow_private, pointer="/url")
    endpoint = await session.get(CallbackEndpoint, account_id)
    if endpoint is None:
        endpoint = CallbackEndpoint(account_id=account_id)
        session.add(endpoint)
    plain = generate_secret() if format == STANDARD else None
    endpoint.url = url
    endpoint.events = wanted
    endpoint.format = format
    endpoint.secret = seal(sealing_key, plain or bearer_token or "")
    endpoint.updated_at = utcnow()
    session.info.pop(_ENDPOINTS, None)
    await session.flush()
    return endpoint, plain


def _events(format: str, events: list[str] | None, bearer_token: str | None) -> list[str]:
    """The events an endpoint of ``format`` hears; 422 for what that format cannot carry."""
    allowed = EVENTS if format == STANDARD else DELIVERY_EVENTS
    if format == NOTIFY and not bearer_token:
        raise ValidationFailed.at("/bearer_token", "the notify format needs a bearer token")
    if format == STANDARD and bearer_token is not None:
        raise ValidationFailed.at("/bearer_token", "only the notify format takes a bearer token")
    if events is None:
        if format == STANDARD:
            raise ValidationFailed.at("/events", "name the events to post")
        return sorted(FINAL_EVENTS)
    unknown = [ErrorDetail(f"/events/{i}", f"Unknown event {e}") for i, e in enumerate(events)
               if e not in allowed]  # fmt: skip
    if unknown:
        raise ValidationFailed("Unknown callback events", details=unknown)
    return sorted(set(events))


async def get_endpoint(session: AsyncSession, *, account_id: uuid.UUID) -> CallbackEndpoint:
    """The account's endpoint, or 404."""
    endpoint = await session.get(CallbackEndpoint, account_id)
    if endpoint is None:
        raise NotFound("No callback endpoint is set")
    return endpoint


async def delete_endpoint(session: AsyncSession, *, account_id: uuid.UUID) -> None:
    """Stop callbacks: remove the endpoint (jobs already queued end cancelled)."""
    await session.delete(await get_endpoint(session, account_id=account_id))
    session.info.pop(_ENDPOINTS, None)


async def enqueue_callback(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    event: str,
    data: Mapping[str, Any],
    bus: Bus | None = None,
    at: datetime | None = None,
) -> CallbackJob | None:
    """Queue ``event`` for the account's endpoint, if it has one that wants this event.

    Call it in the transaction that made the event happen, so the callback is sent if and
    only if that commits; ``bus`` wakes the workers after the commit. For an endpoint in the
    ``notify`` format, ``data`` is the whole body (Notify's receipt), without an envelope.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown callback event {event}")
    if not await wants(session, account_id=account_id, event=event):
        return None
    now = at or utcnow()
    envelope = {"type": event, "timestamp": rfc3339(now), "data": dict(data)}
    notify = await format_of(session, account_id=account_id) == NOTIFY
    job = CallbackJob(
        account_id=account_id,
        event=event,
        payload=dict(data) if notify else envelope,
        due_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    if bus is not None:
        wake_workers(session, bus)
    return job


def action_data(
    *,
    notification_id: uuid.UUID,
    item_id: uuid.UUID | None,
    recipient: str | None,
    action_type: str,
    action_note: str | None,
    performed_by: str,
    performed_at: datetime,
) -> dict[str, Any]:
    """The ``data`` of a ``notification.action`` callback (API.md); ``recipient`` is the
    user's external id (``item_id`` and ``recipient`` are null for an action on the
    notification as a whole)."""
    return {
        "notification_id": str(notification_id),
        "item_id": str(item_id) if item_id else None,
        "recipient": recipient,
        "actionType": action_type,
        "actionNote": action_note,
        "performedBy": performed_by,
        "performedAt": rfc3339(performed_at),
    }


async def wants(session: AsyncSession, *, account_id: uuid.UUID, event: str) -> bool:
    """Whether the account's endpoint wants ``event``."""
    return event in (await _endpoint(session, account_id))[0]


async def format_of(session: AsyncSession, *, account_id: uuid.UUID) -> str:
    """The format of the account's endpoint (``standard`` when it has none)."""
    return (await _endpoint(session, account_id))[1]


async def _endpoint(session: AsyncSession, account_id: uuid.UUID) -> tuple[frozenset[str], str]:
    """The account's endpoint's events and format, read once per transaction (a worker's
    batch may raise many events for the same account)."""
    cache: dict[uuid.UUID, tuple[frozenset[str], str]] = session.info.setdefault(_ENDPOINTS, {})
    if account_id not in cache:
        found = (
            await session.execute(
                select(CallbackEndpoint.events, CallbackEndpoint.format).where(
                    CallbackEndpoint.account_id == account_id
                )
            )
        ).first()
        cache[account_id] = (
            (frozenset(found[0] or ()), found[1]) if found else (frozenset(), STANDARD)
        )
    return cache[account_id]
