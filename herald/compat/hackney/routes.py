"""Seed 003's routes at ``/hackney``: create, list, act on and delete notifications, and read
what was sent on a channel. Each calls the services ``/v1`` uses and shapes the answer."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal, server
from herald.compat.hackney import requests
from herald.compat.hackney.records import SERVICES, message_status, notify_status, record
from herald.delivery.composers.letter import documents
from herald.delivery.provider_view import provider_record
from herald.errors import BadRequest, Conflict, ErrorDetail, HeraldError, NotFound, ValidationFailed
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.openapi import raises
from herald.http.responses import OrjsonResponse
from herald.inbox.schemas import ActionIn
from herald.notifications import actions
from herald.notifications import service as notifications
from herald.notifications.models import Notification
from herald.notifications.routes import SEND_ERRORS
from herald.runtime import Runtime
from herald.templates.service import load_account

PREFIX = "/hackney"
router = APIRouter(prefix=PREFIX, tags=["seed 003"])
Reader = Annotated[Principal, Depends(server("notifications.read"))]
Writer = Annotated[Principal, Depends(server("notifications.write"))]
Sender = Annotated[Principal, Depends(server())]
MAX_LISTED = 1000
ID_MISMATCH = "The body's id is not the id in the path"
KIND = ("custom", "message")  # what the dialect sends, and so what it lists


async def _records(session: AsyncSession, found: list[Notification]) -> list[dict[str, Any]]:
    """The notifications as seed records: deliveries, actions and reads in three statements."""
    ids = [n.id for n in found]
    deliveries = await notifications.deliveries_of_each(session, notification_ids=ids)
    recorded = await actions.actions_of(session, ids)
    read = await actions.read_by_someone(session, ids)
    return [
        record(n, deliveries[n.id], actions.state_of(recorded[n.id], items_read=n.id in read))
        for n in found
    ]


async def _one(
    session: AsyncSession, caller: Principal, notification_id: uuid.UUID
) -> Notification:
    found = await notifications.get_notification(
        session, account_id=caller.account_id, notification_id=notification_id
    )
    if (found.type, found.sub_type) != KIND:
        raise NotFound("No such notification")
    return found


def _in_seed_terms(error: HeraldError) -> HeraldError:
    """The same error, its pointers into Herald's envelope turned into the seed's fields."""
    error.details = [
        replace(detail, path=requests.seed_pointer(detail.path)) for detail in error.details
    ]
    return error


async def _accept(
    session: AsyncSession, runtime: Runtime, caller: Principal, form: requests.HackneyIn
) -> uuid.UUID:
    account = await load_account(session, account_id=caller.account_id)
    envelope = requests.envelope_of(
        form, region=account.default_region, notify_url=runtime.settings.govuk_notify_url
    )
    accepted = await notifications.accept(
        session, principal=caller, envelope=envelope, throttle=runtime.throttle, bus=runtime.bus,
        sending=notifications.Sending(sealing_key=runtime.secret),
    )  # fmt: skip
    return accepted.id


@router.post("/notifications", status_code=status.HTTP_201_CREATED)
@SEND_ERRORS
async def create(
    body: Annotated[dict[str, Any], Body(examples=[requests.EXAMPLE])],
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Sender,
) -> OrjsonResponse:
    """Create a notification and send it: 201 with the seed's record."""
    form = requests.parse(body)
    try:
        notification_id = await _accept(session, runtime, caller, form)
    except HeraldError as exc:
        raise _in_seed_terms(exc) from None
    [created] = await _records(session, [await _one(session, caller, notification_id)])
    return OrjsonResponse(created, status_code=status.HTTP_201_CREATED)


def _channel(notification_type: str | None) -> str | None:
    if notification_type is None:
        return None
    channel = requests.CHANNELS.get(notification_type.strip().lower())
    if channel is None:
        raise ValidationFailed.at(
            "/query/notificationType", "notificationType is one of Screen, Email, Text, Letter"
        )
    return channel


@router.get("/notifications")
@raises(ValidationFailed.at("/query/notificationType", "notificationType is one of Screen, ..."))
async def list_notifications(
    session: SessionDep,
    caller: Reader,
    notificationType: Annotated[str | None, Query(max_length=16)] = None,
    targetId: Annotated[str | None, Query(max_length=255)] = None,
    targetType: Annotated[str | None, Query(max_length=255)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
) -> OrjsonResponse:
    """The account's seed notifications, newest first: an array of records."""
    filters = notifications.Filters(
        type=KIND[0], sub_type=KIND[1], channel=_channel(notificationType),
        about_id=targetId, about_type=targetType,
    )  # fmt: skip
    found, _total = await notifications.list_notifications(
        session, account_id=caller.account_id, filters=filters, offset=0, limit=limit, before=None
    )
    return OrjsonResponse(await _records(session, found))


@router.get("/message-status/{service}/{notificationId}")
async def get_message_status(
    service: Annotated[str, Path(max_length=16)],
    notificationId: uuid.UUID,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Reader,
) -> OrjsonResponse:
    """What was sent on one channel (``email``, ``text``, ``letter``), within retention: as
    GOV.UK Notify tells it when the message went through a Notify key given with it."""
    channel = SERVICES.get(service.lower())
    if channel is None:
        raise NotFound("The service is email, text or letter")
    found = await _one(session, caller, notificationId)
    sent = [
        d
        for d in await notifications.deliveries_of(session, notification_id=found.id)
        if d.channel == channel
    ]
    if not sent:
        raise NotFound(f"Nothing was sent by {service} for this notification")
    if found.purged_at is not None or sent[0].purged_at is not None:
        raise NotFound("The message is past the account's retention period")
    # Nothing more is read or written: end the transaction before asking another service, so
    # that no lock (SQLite's one writer) is held while it answers.
    await session.commit()
    notify = await provider_record(sent[0], secret=runtime.secret, settings=runtime.settings)
    if notify is not None:
        return OrjsonResponse(notify_status(notify, sent[0]))
    base = runtime.settings.public_url.rstrip("/")
    return OrjsonResponse(message_status(found, sent[0], base_url=base))


def _same(given: str, id: uuid.UUID) -> bool:
    try:
        return uuid.UUID(given) == id
    except ValueError:
        return False


@router.patch("/notifications/{id}")
@raises(BadRequest(ID_MISMATCH, details=[ErrorDetail("/id", ID_MISMATCH)]))
async def act(
    id: uuid.UUID,
    action: ActionIn,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Writer,
) -> OrjsonResponse:
    """Record an action (audited, posted to the account's callbacks): the record."""
    if action.id is not None and not _same(action.id, id):
        raise BadRequest(ID_MISMATCH, details=[ErrorDetail("/id", ID_MISMATCH)])
    await _one(session, caller, id)
    found = await actions.act(
        session, account_id=caller.account_id, notification_id=id, actor=caller.actor,
        action=action, bus=runtime.bus,
    )  # fmt: skip
    [shown] = await _records(session, [found])
    return OrjsonResponse(shown)


@router.delete("/notifications/{id}", status_code=status.HTTP_204_NO_CONTENT)
@raises(Conflict("This notification requires an action first: it cannot be removed"))
async def delete(
    id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, caller: Writer
) -> Response:
    """Delete the notification and its personal data at once: 204, then 404."""
    await _one(session, caller, id)
    await actions.erase(
        session, account_id=caller.account_id, notification_id=id,
        documents=documents(runtime.settings), bus=runtime.bus,
    )  # fmt: skip
    return Response(status_code=status.HTTP_204_NO_CONTENT)
