"""HTTP routes of sending: ``POST /v1/notifications``, reading notifications back, and
cancelling them (seed 000/001's ``POST /notifications`` is in ``herald.compat.reapit``)."""

from __future__ import annotations

import email.message
import inspect
import json
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import ClientDisconnect

from herald.accounts.auth import Principal, server, server_credential
from herald.errors import Conflict, MissingPersonalisation, TooManyRequests, ValidationFailed
from herald.events.schemas import Channel, Envelope
from herald.http.deps import OnDemand, RuntimeDep, SessionDep, transaction
from herald.http.openapi import raises
from herald.http.pagination import Page, Paging, page_body
from herald.http.responses import OrjsonResponse
from herald.http.times import Rfc3339
from herald.inbox.schemas import ActionIn, AuditEntryOut, audit_document
from herald.notifications import actions, batch, grouping, service
from herald.notifications.idempotency import Answer, fingerprint, run_once
from herald.notifications.schemas import AcceptedOut, NotificationOut, notification_document
from herald.runtime import Runtime
from herald.throttling.service import AccountLimits, known_limits, remember_limits

router = APIRouter(tags=["notifications"])
Sender = Annotated[Principal, Depends(server())]
Reader = Annotated[Principal, Depends(server("notifications.read"))]
Writer = Annotated[Principal, Depends(server("notifications.write"))]
MAX_KEY_LENGTH = 255
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=MAX_KEY_LENGTH)
]
JSON = "application/json"
KEYWORD = inspect.Parameter.KEYWORD_ONLY
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
    session: AsyncSession | None,
    runtime: Runtime,
    caller: Principal,
    key: str | None,
    limits: AccountLimits | None = None,
) -> Response:
    """Accept under the idempotency key: 202 ``{"id", "queued": true, "recipients"}``, whose
    bytes are what a replay returns.

    ``session`` is the request's transaction, if it has one (a dialect's route); ``limits``
    are the caller's account's, if known (else those ``session`` read along with the key).
    With group commit (the default) the work runs in the process's next group transaction
    (``herald.notifications.grouping``), and this answers once that has committed.
    """
    # Only a key's replays are told apart by the digest: without a key none is compared.
    digest = fingerprint(envelope.model_dump_json()) if key is not None else ""
    if limits is None and session is not None:
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
        if session is not None:
            # Whatever authenticating read is committed now: on SQLite this request's
            # transaction would otherwise hold the one connection the group needs.
            await session.commit()
        send = batch.Send(
            principal=caller, envelope=envelope, sending=sending, key=key, digest=digest,
            respond=accepted_answer, throttle=runtime.throttle, bus=runtime.bus, limits=limits,
        )  # fmt: skip
        answer = await grouping.committer(runtime.extras, runtime.db).run(work, send)
    elif session is not None:
        answer = await work(session)
    else:
        async with transaction(runtime.db) as into:
            answer = await work(into)
    return Response(answer.body, status_code=answer.status_code, media_type=JSON)


_ENVELOPE = TypeAdapter(Envelope)
_KEY = TypeAdapter(Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH)])
_NO_BODY = object()


def _decoded(body: bytes) -> Any:
    """The JSON of a body as FastAPI reads it (``json.loads``): orjson's answer when it has one,
    which is the same and ~4x faster; ``json`` decides what orjson refuses (NaN, integers past
    64 bits, UTF-16 bodies), and whether it is JSON at all (400)."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        error = {
            "type": "json_invalid", "loc": ("body", exc.pos), "msg": "JSON decode error",
            "input": {}, "ctx": {"error": exc.msg},
        }  # fmt: skip
        raise RequestValidationError([error], body=exc.doc) from exc
    except ValueError as exc:  # not UTF-8 or UTF-16/32: FastAPI's "error parsing the body"
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc


async def _body(request: Request) -> Any:
    """The body as FastAPI passes it to validation: JSON when declared so, else the bytes
    (which then fail as "not an object"), ``_NO_BODY`` when empty."""
    try:
        raw = await request.body()
    except ClientDisconnect as exc:  # HttpFront has answered 413 already
        raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
    if not raw:
        return _NO_BODY
    content_type = request.headers.get("content-type")
    if content_type == JSON:
        return _decoded(raw)
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        ):
            return _decoded(raw)
    return raw


def _located(adapter: TypeAdapter[Any], value: Any, loc: tuple[str, ...]) -> list[Any]:
    """Pydantic's errors of ``value`` under FastAPI's ``loc`` prefix (``("body",)``, ...)."""
    try:
        adapter.validate_python(value, from_attributes=True)
    except ValidationError as exc:
        return [{**e, "loc": (*loc, *e["loc"])} for e in exc.errors(include_url=False)]
    return []


@SEND_ERRORS
async def send(request: Request) -> Response:
    """Accept a notification: 202 ``{"id", "queued": true, "recipients"}``."""
    # What FastAPI would solve from the documented signature below, read directly in the
    # order it would (a body that is not JSON; the credential; the header and the body's
    # fields, in one 422): dependency solving was a quarter of an accept's CPU.
    body = await _body(request)
    runtime: Runtime = request.app.state.runtime
    # A cached credential needs no session: one is opened only to read an unknown one, and
    # committed before the group runs (on SQLite it would hold the connection the group needs).
    async with OnDemand(runtime.db) as reads:
        known = await server_credential(request, reads=reads, runtime=runtime)
    errors: list[Any] = []
    key = request.headers.get("idempotency-key")
    if key is not None and not 0 < len(key) <= MAX_KEY_LENGTH:
        errors += _located(_KEY, key, ("header", "Idempotency-Key"))
    if body is _NO_BODY:
        errors.append({"type": "missing", "loc": ("body",), "msg": "Field required", "input": None})
    else:
        try:
            envelope = _ENVELOPE.validate_python(body, from_attributes=True)
        except ValidationError as exc:
            errors += [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
    if errors:
        raise RequestValidationError(errors, body=body)
    return await send_envelope(
        envelope, session=None, runtime=runtime, caller=known.principal, key=key,
        limits=known.limits,
    )  # fmt: skip


# FastAPI documents (and never solves) this signature: ``AcceptRoute`` answers with ``send``.
setattr(  # noqa: B010 - a function's own attribute, which mypy does not know
    send,
    "__signature__",
    inspect.Signature(
        [
            inspect.Parameter("envelope", KEYWORD, annotation=Envelope),
            inspect.Parameter("caller", KEYWORD, annotation=Sender),
            inspect.Parameter("idempotency_key", KEYWORD, annotation=IdempotencyKey, default=None),
        ]
    ),
)


class AcceptRoute(APIRoute):
    """``POST /v1/notifications``, documented from ``send``'s declared signature and answered
    by ``send`` itself with the request."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """``send``, instead of FastAPI's handler that solves its dependencies first."""
        return send


router.add_api_route(
    "/v1/notifications", send, methods=["POST"], status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut, route_class_override=AcceptRoute,
)  # fmt: skip


# The hot route again, for the application to match before every other router's (~30 routes
# ahead of this router's were tried on each accept, ~8-12% of its HTTP work under py-spy); out
# of the OpenAPI document, which lists the route above where its router stands.
hot_router = APIRouter(tags=["notifications"], include_in_schema=False)
hot_router.add_api_route(
    "/v1/notifications", send, methods=["POST"], status_code=status.HTTP_202_ACCEPTED,
    response_model=AcceptedOut, route_class_override=AcceptRoute,
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
