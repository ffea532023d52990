"""HTTP routes of direct SMS (seed 004), of HTTP providers' delivery receipts, and of the
messages people send to an account's number (received SMS).

``POST /v1/messages`` (alias ``/v1/messages/sms``), ``/v1/users/{external_id}/message``
and ``/v1/teams/{key}/message`` need ``notifications.sms.write``; the seed's own paths
(``/messages``, ``/employees/{id}/message``, ``/employee_groups/{id}/message``) are in
``herald.compat.relatel``.
"""

from __future__ import annotations

import hmac
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse
from sqlalchemy import select

from herald.accounts.auth import Principal, server
from herald.channels.sms.http import HttpSmsSettings, parse_inbound, parse_receipt, signed_by
from herald.delivery.models import AccountProvider
from herald.delivery.providers import receipt_token
from herald.delivery.sealing import unseal
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import Forbidden, NotFound, ValidationFailed
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.openapi import raises
from herald.http.pagination import Paging, page_body
from herald.http.times import Rfc3339
from herald.sms import inbound, service
from herald.sms.allowance import OveruseFull
from herald.sms.receipts import apply_receipt
from herald.sms.schemas import MessageIn, MessagesIn, message_document, received_document
from herald.sms.senders import SenderNotApproved
from herald.sms.service import SMS_SCOPE, Recipient

router = APIRouter(tags=["sms"])
Texter = Annotated[Principal, Depends(server(SMS_SCOPE))]
Reader = Annotated[Principal, Depends(server("deliveries.read"))]
ExternalId = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
ACCEPTED = status.HTTP_202_ACCEPTED
SMS_ERRORS = raises(
    SenderNotApproved("The sender name 'Herald' is not approved (pending)"),
    OveruseFull("The SMS allowance cannot hold these messages"),
)
TWIML = "application/xml"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _send(
    session: SessionDep, runtime: RuntimeDep, caller: Principal, body: MessageIn,
    recipients: list[Recipient], targets: dict[str, Any],
) -> JSONResponse:  # fmt: skip
    sent = await service.send(
        session, principal=caller, message=body.message, recipients=recipients,
        targets=targets, throttle=runtime.throttle, bus=runtime.bus,
    )  # fmt: skip
    return JSONResponse(sent.body(), status_code=ACCEPTED)


@router.post("/v1/messages", status_code=ACCEPTED)
@router.post("/v1/messages/sms", status_code=ACCEPTED)
@SMS_ERRORS
async def send_messages(
    body: MessagesIn, session: SessionDep, runtime: RuntimeDep, caller: Texter
) -> JSONResponse:
    """One SMS to each number: ``{"sent", "failed_numbers", "messages"}``."""
    numbers = [str(n) for n in body.to_numbers]
    recipients = [Recipient(number) for number in numbers]
    return await _send(session, runtime, caller, body, recipients, {"phones": numbers})


@router.post("/v1/users/{external_id}/message", status_code=ACCEPTED)
@SMS_ERRORS
async def message_user(
    external_id: ExternalId, body: MessageIn, session: SessionDep, runtime: RuntimeDep,
    caller: Texter,
) -> JSONResponse:  # fmt: skip
    """One SMS to the user's phone."""
    recipients = await service.user_recipients(
        session, account_id=caller.account_id, external_id=external_id
    )
    return await _send(session, runtime, caller, body, recipients, {"users": [external_id]})


@router.post("/v1/teams/{key}/message", status_code=ACCEPTED)
@SMS_ERRORS
async def message_team(
    key: ExternalId, body: MessageIn, session: SessionDep, runtime: RuntimeDep, caller: Texter
) -> JSONResponse:
    """One SMS to each member of the team; members without a phone are listed as failed."""
    recipients = await service.team_recipients(session, account_id=caller.account_id, key=key)
    return await _send(session, runtime, caller, body, recipients, {"teams": [key]})


@router.get("/v1/messages")
async def list_messages(
    request: Request,
    paging: Paging,
    session: SessionDep,
    caller: Reader,
    created_at_gt_or_eq: Rfc3339 | None = None,
    created_at_lt_or_eq: Rfc3339 | None = None,
    endpoint: str | None = None,
    direction: Literal["outgoing", "incoming"] = "outgoing",
) -> dict[str, Any]:
    """The account's SMS, newest first: those it sent, or (``direction=incoming``) those it
    received."""
    if direction == "incoming":
        return await _received(request, paging, session, caller, created_at_gt_or_eq,
                               created_at_lt_or_eq)  # fmt: skip
    filters = service.MessageFilters(created_at_gt_or_eq, created_at_lt_or_eq, endpoint)
    rows, total = await service.list_messages(
        session, account_id=caller.account_id, filters=filters, offset=paging.offset,
        limit=paging.per_page, before=paging.cursor,
    )  # fmt: skip
    next_id = rows[-1].id if len(rows) == paging.per_page else None
    data = [message_document(row) for row in rows]
    return page_body(request, paging, data=data, total=total, next_id=next_id, cursor_paging=True)


async def _received(
    request: Request, paging: Paging, session: SessionDep, caller: Principal,
    created_from: datetime | None, created_to: datetime | None,
) -> dict[str, Any]:  # fmt: skip
    filters = inbound.ReceivedFilters(created_from, created_to)
    rows = await inbound.list_received(
        session, account_id=caller.account_id, older_than=paging.cursor, offset=paging.offset,
        limit=paging.per_page, filters=filters,
    )  # fmt: skip
    total = await inbound.count_received(session, account_id=caller.account_id, filters=filters)
    next_id = rows[-1].id if len(rows) == paging.per_page else None
    data = [received_document(row) for row in rows]
    return page_body(request, paging, data=data, total=total, next_id=next_id, cursor_paging=True)


@router.post(
    "/v1/providers/sms/{provider}/inbound",
    response_class=Response,
    responses={200: {"content": {TWIML: {}}, "description": "An empty TwiML answer"}},
)
async def sms_inbound(
    provider: Annotated[str, Path(max_length=64)],
    account: Annotated[uuid.UUID, Query()],
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
) -> Response:
    """A message someone sent to the account's number, as its HTTP SMS provider posts it.

    Twilio's incoming-message webhook, signed with ``X-Twilio-Signature`` (403 otherwise).
    """
    if provider != "http":
        raise NotFound("Only the HTTP provider posts messages here (SMPP's come on its session)")
    row = await session.scalar(
        select(AccountProvider).where(
            AccountProvider.account_id == account,
            AccountProvider.channel == "sms",
            AccountProvider.provider == "http",
        )
    )
    if row is None:
        raise NotFound("This account has no HTTP SMS provider")
    settings = HttpSmsSettings.model_validate(orjson.loads(unseal(runtime.secret, row.settings)))
    fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    query = f"?{request.url.query}" if request.url.query else ""
    urls = [f"{runtime.settings.public_url.rstrip('/')}{request.url.path}{query}", str(request.url)]
    given = request.headers.get("x-twilio-signature")
    if not signed_by(settings, urls=urls, fields=fields, given=given):
        raise Forbidden("The request does not carry the provider's signature")
    try:
        message = parse_inbound(fields)
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    await inbound.record_received(session, account_id=account, provider="http", message=message)
    return Response(EMPTY_TWIML, media_type=TWIML)


@router.post("/v1/receipts/sms/{provider_id}/{token}", status_code=status.HTTP_204_NO_CONTENT)
async def sms_receipt(
    provider_id: uuid.UUID, token: str, request: Request, session: SessionDep, runtime: RuntimeDep
) -> Response:
    """A delivery receipt from an account's HTTP SMS provider (the URL is its credential)."""
    row = await session.get(AccountProvider, provider_id)
    expected = receipt_token(runtime.secret, provider_id)
    if row is None or (row.channel, row.provider) != ("sms", "http"):
        raise NotFound("No such receipt URL")
    if not hmac.compare_digest(token, expected):
        raise NotFound("No such receipt URL")
    settings = HttpSmsSettings.model_validate(orjson.loads(unseal(runtime.secret, row.settings)))
    try:
        receipt = parse_receipt(settings, await _fields(request))
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from exc
    found = await apply_receipt(
        session, account_id=row.account_id, provider="http", receipt=receipt, bus=runtime.bus
    )
    if not found:
        raise NotFound("No message has this id")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


async def _fields(request: Request) -> dict[str, Any]:
    """A receipt's fields, posted as a form (Twilio) or as JSON."""
    if request.headers.get("content-type", "").startswith("application/json"):
        body = orjson.loads(await request.body())
        return body if isinstance(body, dict) else {}
    return {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
