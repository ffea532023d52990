"""Seed 004 (the Relatel SMS gateway) at ``/``: ``POST /messages``,
``POST /employees/{id}/message``, ``POST /employee_groups/{id}/message`` and ``GET /messages``.

A server key (``notifications.sms.write`` to send, ``deliveries.read`` to list) or a user token,
which acts as the seed's authenticated employee: it sends from its user's number and lists the
messages sent by or for that user. Answers are the seed's message objects (``shapes``); an
exhausted allowance is the seed's ``rate_limit_reached.overuse_full``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import JSONResponse

from herald.accounts.auth import Principal, PrincipalDep
from herald.compat.relatel_shapes import message_object
from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import TooManyRequests, ValidationFailed
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.pagination import MAX_PER_PAGE
from herald.sms import records, service
from herald.sms.allowance import OveruseFull
from herald.sms.schemas import MessageIn, MessagesIn
from herald.sms.service import MessageFilters, Recipient

router = APIRouter(tags=["seed 004"], include_in_schema=False)
ExternalId = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
ACCEPTED = status.HTTP_202_ACCEPTED
READ_SCOPE = "deliveries.read"
# A page is merged from the newest rows of every source, so a deep page costs its depth:
# further back, a client narrows by time (created_at_lt_or_eq) instead.
MAX_DEPTH = 10_000


class AllowanceUsedUp(TooManyRequests):
    """The seed's name for an exhausted Web SMS allowance (Herald's ``overuse_full``)."""

    code = "rate_limit_reached.overuse_full"


async def _send(
    session: SessionDep, runtime: RuntimeDep, caller: Principal, body: MessageIn,
    recipients: list[Recipient], targets: dict[str, Any],
) -> JSONResponse:  # fmt: skip
    """Send through the service and answer ``{"sent", "failed_numbers"}`` in the seed's shapes."""
    try:
        sent = await service.send(
            session, principal=caller, message=body.message, recipients=recipients,
            targets=targets, throttle=runtime.throttle, bus=runtime.bus,
        )  # fmt: skip
    except OveruseFull as exc:
        raise AllowanceUsedUp(exc.message, headers=exc.headers) from exc
    accepted, refused = records.sent_records(sent)
    failed = [{**message_object(r), "error": r.error} for r in refused]
    return JSONResponse({"sent": len(accepted), "failed_numbers": failed}, status_code=ACCEPTED)


@router.post("/messages", status_code=ACCEPTED)
async def send_messages(
    body: MessagesIn, session: SessionDep, runtime: RuntimeDep, caller: PrincipalDep
) -> JSONResponse:
    """One SMS to each of ``to_numbers``."""
    numbers = [str(n) for n in body.to_numbers]
    recipients = [Recipient(n) for n in numbers]
    return await _send(session, runtime, caller, body, recipients, {"phones": numbers})


@router.post("/employees/{id}/message", status_code=ACCEPTED)
async def message_employee(
    id: ExternalId, body: MessageIn, session: SessionDep, runtime: RuntimeDep, caller: PrincipalDep
) -> JSONResponse:
    """One SMS to the employee's (user's) mobile number."""
    found = await service.user_recipients(session, account_id=caller.account_id, external_id=id)
    return await _send(session, runtime, caller, body, found, {"users": [id]})


@router.post("/employee_groups/{id}/message", status_code=ACCEPTED)
async def message_group(
    id: ExternalId, body: MessageIn, session: SessionDep, runtime: RuntimeDep, caller: PrincipalDep
) -> JSONResponse:
    """One SMS to each member of the employee group (team); ``sent`` counts those reached."""
    found = await service.team_recipients(session, account_id=caller.account_id, key=id)
    return await _send(session, runtime, caller, body, found, {"teams": [id]})


def _utc(moment: datetime | None) -> datetime | None:
    """A filter time; one without an offset is read as UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@router.get("/messages")
async def list_messages(
    session: SessionDep,
    caller: PrincipalDep,
    created_at_gt_or_eq: datetime | None = None,
    created_at_lt_or_eq: datetime | None = None,
    endpoint: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
    page: Annotated[int, Query(ge=1, le=MAX_DEPTH)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = MAX_PER_PAGE,
) -> dict[str, Any]:
    """``{"messages": [...]}``, newest first (``page``/``per_page`` are Herald's, 100 a page;
    at most 10,000 messages deep)."""
    if not caller.is_user:
        caller.require(READ_SCOPE)
    if (page - 1) * per_page >= MAX_DEPTH:
        message = f"At most {MAX_DEPTH} messages deep: narrow by created_at_lt_or_eq"
        raise ValidationFailed.at("/query/page", message)
    filters = MessageFilters(
        _utc(created_at_gt_or_eq), _utc(created_at_lt_or_eq), endpoint,
        employee=caller.user_external_id,  # a user token lists its own user's messages
    )  # fmt: skip
    found = await records.list_records(
        session,
        account_id=caller.account_id,
        filters=filters,
        offset=(page - 1) * per_page,
        limit=per_page,
    )
    return {"messages": [message_object(r) for r in found]}
