"""HTTP routes of sending: ``POST /v1/notifications``, reading notifications back, and
cancelling them (seed 000/001's ``POST /notifications`` is in ``herald.compat.reapit``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.auth import Principal, server
from herald.errors import Conflict, MissingPersonalisation, TooManyRequests, ValidationFailed
from herald.events.schemas import Channel, Envelope
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.openapi import raises
from herald.http.pagination import Page, Paging, page_body
from herald.http.responses import OrjsonResponse
from herald.http.times import Rfc3339
from herald.inbox.schemas import ActionIn, AuditEntryOut, audit_document
from herald.notifications import actions, batch, grouping, service
from herald.notifications.idempotency import Answer, fingerprint, run_once
from herald.notifications.schemas import AcceptedOut, NotificationOut, notification_document
from herald.throttling.service import known_limits, remember_limits

router = APIRouter(tags=["notifications"])
Sender = Annotated[Principal, Depends(server())]
Reader = Annotated[Principal, Depends(server("notifications.read"))]
Writer = Annotated[Principal, Depends(server("notifications.write"))]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
JSON = "application/json"
# Seed 000's envelope and seed 001's short form, as their documents write them.
SEED_EXAMPLES: dict[str, Any] = {
    "incomingCall": {
        "summary": "Seed 000: an incoming call for one negotiator",
        "value": Envelope.model_json_schema()["examples"][0],
    },
    "message": {
        "summary": "Seed 001: a message to users and teams",
        "value": {"message": "The quarterly figures are in.", "notify": {"users": [1, 54]}},
    },
}
# What accepting can refuse beyond the request's shape: the idempotency key's rules, the
# account's daily cap, a template's missing personalisation.
SEND_ERRORS = raises(
    Conflict("A request with this Idempotency-Key is still in flight"),
    ValidationFailed.at(
        "/header/Idempotency-Key",
        "This Idempotency-Key was used with a different request",
        code="idempotency_key_mismatch",
    ),
    TooManyRequests(
        "The daily limit of 250000 messages is reached for this account",
        code="daily_limit_reached",
    ),
    MissingPersonalisation("Missing personalisation: name"),
)


def accepted_answer(accepted: service.Accepted) -> Answer:
    """The 202 of an accepted notification, whose bytes a replay returns."""
    body = {"id": str(accepted.id), "queued": True, "recipients": accepted.recipients}
    return Answer(status.HTTP_202_ACCEPTED, orjson.dumps(body))


async def send_envelope(
    envelope: Envelope,
    *,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Principal,
    key: str | None,
) -> Response:
    """Accept under the idempotency key: 202 ``{"id", "queued": true, "recipients"}``, whose
    bytes are what a replay returns.

    With group commit (the default) the work runs in the process's next group transaction
    (``herald.notifications.grouping``), and this answers once that has committed.
    """
    digest = fingerprint(envelope.model_dump_json())
    limits = known_limits(session, account_id=caller.account_id)
    sending = service.Sending(sealing_key=runtime.secret)

    async def work(into: AsyncSession) -> Answer:
        if limits is not None:
            remember_limits(into, account_id=caller.account_id, limits=limits)

        async def accept() -> Answer:
            accepted = await service.accept(
                into, principal=caller, envelope=envelope, throttle=runtime.throttle,
                bus=runtime.bus, sending=sending,
            )  # fmt: skip
            return accepted_answer(accepted)

        return await run_once(
            accept, session=into, account_id=caller.account_id, key=key, digest=digest
        )

    if runtime.settings.group_commit:
        # Whatever authenticating read is committed now: on SQLite this request's transaction
        # would otherwise hold the one connection the group needs.
        await session.commit()
        send = batch.Send(
            principal=caller, envelope=envelope, sending=sending, key=key, digest=digest,
            respond=accepted_answer, throttle=runtime.throttle, bus=runtime.bus, limits=limits,
        )  # fmt: skip
        answer = await grouping.committer(runtime.extras, runtime.db).run(work, send)
    else:
        answer = await work(session)
    return Response(answer.body, status_code=answer.status_code, media_type=JSON)


@router.post("/v1/notifications", status_code=status.HTTP_202_ACCEPTED, response_model=AcceptedOut)
@SEND_ERRORS
async def send(
    envelope: Envelope,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Sender,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Accept a notification: 202 ``{"id", "queued": true, "recipients"}``."""
    return await send_envelope(
        envelope, session=session, runtime=runtime, caller=caller, key=idempotency_key
    )


# The hot route again, for the application to match before every other router's (~30 routes
# ahead of this router's were tried on each accept, ~8-12% of its HTTP work under py-spy); out
# of the OpenAPI document, which lists the route above where its router stands.
hot_router = APIRouter(tags=["notifications"], include_in_schema=False)
hot_router.add_api_route(
    "/v1/notifications", send, methods=["POST"], status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut,
)  # fmt: skip


@router.get("/v1/notifications/{notification_id}", response_model=NotificationOut)
async def get_notification(
    notification_id: uuid.UUID, session: SessionDep, caller: Reader
) -> OrjsonResponse:
    """A notification with its deliveries."""
    found = await service.get_notification(
        session, account_id=caller.account_id, notification_id=notification_id
    )
    deliveries = await service.deliveries_of(session, notification_id=found.id)
    return OrjsonResponse(notification_document(found, deliveries))


@router.get("/v1/notifications", response_model=Page[NotificationOut])
async def list_notifications(
    request: Request,
    paging: Paging,
    session: SessionDep,
    caller: Reader,
    type: Annotated[str | None, Query(max_length=64)] = None,
    subType: Annotated[str | None, Query(max_length=255)] = None,
    channel: Channel | None = None,
    target: Annotated[str | None, Query(max_length=320)] = None,
    status: Annotated[str | None, Query(max_length=32)] = None,
    created_at_gt_or_eq: Rfc3339 | None = None,
    created_at_lt_or_eq: Rfc3339 | None = None,
    about_id: Annotated[str | None, Query(max_length=255)] = None,
    about_type: Annotated[str | None, Query(max_length=255)] = None,
) -> OrjsonResponse:
    """The account's notifications, newest first, filtered."""
    filters = service.Filters(
        type, subType, channel, target, status, created_at_gt_or_eq, created_at_lt_or_eq,
        about_id, about_type,
    )  # fmt: skip
    rows, total = await service.list_notifications(
        session,
        account_id=caller.account_id,
        filters=filters,
        offset=paging.offset,
        limit=paging.per_page,
        before=paging.cursor,
    )
    next_id = rows[-1].id if len(rows) == paging.per_page else None
    data = [notification_document(n) for n in rows]
    body = page_body(request, paging, data=data, total=total, next_id=next_id, cursor_paging=True)
    return OrjsonResponse(body)


@router.delete("/v1/notifications/{notification_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_notification(
    notification_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, caller: Writer
) -> Response:
    """Cancel what is not sent yet and remove the inbox items."""
    await service.cancel(
        session, account_id=caller.account_id, notification_id=notification_id, bus=runtime.bus
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/v1/notifications/{notification_id}/actions", response_model=AuditEntryOut)
async def act(
    notification_id: uuid.UUID, action: ActionIn, session: SessionDep, runtime: RuntimeDep,
    caller: Writer,
) -> OrjsonResponse:  # fmt: skip
    """Record an action on the notification as a whole; posted to the account's callbacks."""
    await actions.act(
        session, account_id=caller.account_id, notification_id=notification_id,
        actor=caller.actor, action=action, bus=runtime.bus,
    )  # fmt: skip
    recorded = (await actions.actions_of(session, [notification_id]))[notification_id]
    return OrjsonResponse(audit_document(recorded[-1]))


@router.get("/v1/notifications/{notification_id}/actions", response_model=Page[AuditEntryOut])
async def list_actions(
    notification_id: uuid.UUID, request: Request, paging: Paging, session: SessionDep,
    caller: Reader,
) -> OrjsonResponse:  # fmt: skip
    """The actions on the notification as a whole, oldest first."""
    found = await service.get_notification(
        session, account_id=caller.account_id, notification_id=notification_id
    )
    recorded = (await actions.actions_of(session, [found.id]))[found.id]
    page = recorded[paging.offset : paging.offset + paging.per_page]
    data = [audit_document(entry) for entry in page]
    return OrjsonResponse(page_body(request, paging, data=data, total=len(recorded)))
