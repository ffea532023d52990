"""Seed 002's messages: the API key exchange (``PUT /api_auth``), the SMTP log of an account's
emails, and the reseller's customer update to the accounts below it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from herald.accounts import service as accounts
from herald.compat.kazoo import PREFIX
from herald.compat.kazoo.auth import Broadcaster, LogReader, path_account
from herald.compat.kazoo.bodies import json_data, validated
from herald.compat.kazoo.documents import inline_parts, smtp_log_doc
from herald.compat.kazoo.envelope import envelope
from herald.compat.kazoo.ids import kazoo_id, parse_id
from herald.compat.kazoo.openapi import (
    API_AUTH_EXAMPLE,
    CUSTOMER_UPDATE_EXAMPLE,
    ERRORS,
    KazooRoute,
    data_body,
)
from herald.compat.kazoo.schemas import (
    ApiAuthData,
    ApiAuthOut,
    CustomerUpdateData,
    CustomerUpdateOut,
    Envelope,
    SmtpLogDoc,
)
from herald.delivery import service as deliveries
from herald.errors import ErrorDetail, NotFound, ValidationFailed
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.pagination import decode_cursor, encode_cursor
from herald.notifications.broadcast import BroadcastRequest, broadcast

router = APIRouter(prefix=PREFIX, tags=["kazoo"], responses=ERRORS, route_class=KazooRoute)
DEFAULT_TEMPLATE = "customer_update"
PageSize = Annotated[int, Query(ge=1, le=100)]
StartKey = Annotated[str | None, Query(max_length=64)]


@router.put(
    "/api_auth",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ApiAuthOut],
    openapi_extra=data_body(ApiAuthData, API_AUTH_EXAMPLE),
)
async def api_auth(request: Request, session: SessionDep, runtime: RuntimeDep) -> Response:
    """Trade the account's API key for a token to send as X-Auth-Token."""
    data = validated(ApiAuthData, await json_data(request))
    ttl = timedelta(seconds=runtime.settings.access_token_ttl_seconds)
    token, key = await accounts.token_for_key(
        session, api_key=data.api_key, secret=runtime.secret, ttl=ttl
    )
    account = await accounts.visible_account(
        session, caller_id=key.account_id, account_id=key.account_id
    )
    _rows, children = await accounts.children(session, account_id=account.id, offset=0, limit=1)
    answer = {
        "account_id": kazoo_id(account.id),
        "account_name": account.name,
        "apps": [],
        "is_reseller": children > 0,
        "language": account.default_locale,
    }
    if account.parent_id is not None:
        answer["reseller_id"] = kazoo_id(account.parent_id)
    return envelope(request.scope, answer, status_code=status.HTTP_201_CREATED, token=token)


@router.get(
    "/accounts/{account_id}/notifications/smtplog",
    response_model=Envelope[list[SmtpLogDoc]],
)
async def smtp_log(
    account_id: str,
    request: Request,
    session: SessionDep,
    caller: LogReader,
    page_size: PageSize = 50,
    start_key: StartKey = None,
) -> Response:
    """The account's emails, newest first, without their bodies; ``next_start_key`` pages."""
    account = await path_account(session, caller, account_id)
    before = decode_cursor(start_key) if start_key else None
    rows, _total = await deliveries.list_deliveries(
        session,
        account_id=account.id,
        filters=deliveries.Filters(channel="email", attempted=True),
        offset=0,
        limit=page_size,
        before=before,
    )
    data = [smtp_log_doc(r.delivery, r.attempts, full=False) for r in rows]
    paging: dict[str, object] = {"page_size": len(data)}
    if start_key:
        paging["start_key"] = start_key
    if len(rows) == page_size:
        paging["next_start_key"] = encode_cursor(rows[-1].delivery.id)
    return envelope(request.scope, data, extra=paging)


@router.get(
    "/accounts/{account_id}/notifications/smtplog/{smtplog_id}",
    response_model=Envelope[SmtpLogDoc],
)
async def smtp_log_item(
    account_id: str, smtplog_id: str, request: Request, session: SessionDep, caller: LogReader
) -> Response:
    """One email as it was sent: rendered bodies, addresses, the server's reply."""
    account = await path_account(session, caller, account_id)
    found = await deliveries.get_delivery(
        session, account_id=account.id, delivery_id=parse_id(smtplog_id, what="SMTP log")
    )
    if found.delivery.channel != "email":  # another channel's delivery is no SMTP log entry
        raise NotFound(f"No SMTP log {smtplog_id[:64]}")
    return envelope(request.scope, smtp_log_doc(found.delivery, found.attempts, full=True))


@router.post(
    "/accounts/{account_id}/notifications/customer_update/message",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[CustomerUpdateOut],
    openapi_extra=data_body(CustomerUpdateData, CUSTOMER_UPDATE_EXAMPLE),
)
async def customer_update(
    account_id: str,
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    caller: Broadcaster,
) -> Response:
    """Email the accounts below A (or ``recipient_id`` alone): their admins, every user, or
    one user (``user_type``), with the ``customer_update`` template or the document given."""
    account = await path_account(session, caller, account_id)
    data = validated(CustomerUpdateData, await json_data(request, optional=True))
    done = await broadcast(
        session,
        principal=caller,
        account_id=account.id,
        request=BroadcastRequest(
            template=data.id or DEFAULT_TEMPLATE,
            user_type=data.user_type,
            recipient_id=_recipient(data.recipient_id),
            personalisation={"databag": data.databag} if data.databag is not None else {},
            channels=["email"],
            parts=inline_parts(data),
        ),
        throttle=runtime.throttle,
        bus=runtime.bus,
    )
    answer = {
        "accounts": done.accounts,
        "recipients": done.recipients,
        "ids": [kazoo_id(i) for i in done.ids],
    }
    return envelope(request.scope, answer, status_code=status.HTTP_202_ACCEPTED)


def _recipient(recipient_id: str | None) -> uuid.UUID | None:
    if recipient_id is None:
        return None
    try:
        return uuid.UUID(recipient_id)
    except ValueError:
        detail = ErrorDetail("/data/recipient_id", "not an account id", rule="format")
        raise ValidationFailed("recipient_id is not an account id", details=[detail]) from None
