"""The delivery log: deliveries (filtered), one delivery with its attempts, receipt and rendered
content, a letter's PDF, and the SMTP log (the emails that were tried, with the server's reply)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from herald.delivery import service
from herald.delivery.composers.letter import documents
from herald.delivery.status import DeliveryStatus
from herald.errors import NotFound
from herald.http.deps import RuntimeDep, SessionDep
from herald.web.console.access import Visit, console
from herald.web.console.queries import (
    PAGE_SIZE,
    Blank,
    Day,
    ListQuery,
    Word,
    day_start,
    next_cursor,
)
from herald.web.console.rendering import page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Visit, Depends(console("deliveries.read"))]
CHANNELS = ("in_app", "email", "sms", "push", "webhook", "letter", "chat")


class DeliveryQuery(ListQuery):
    """The log's filters, as ``GET /v1/deliveries`` takes them."""

    channel: Word = None
    status: Annotated[DeliveryStatus | None, Blank] = None
    notification_id: Annotated[uuid.UUID | None, Blank] = None
    since: Day = None


async def _page(
    session: SessionDep,
    visit: Visit,
    query: DeliveryQuery,
    channel: str | None,
    *,
    attempted: bool = False,
) -> tuple[list[service.Logged], int]:
    filters = service.Filters(
        query.notification_id,
        channel,
        query.status.value if query.status else None,
        day_start(query.since),
        attempted=attempted,
    )
    return await service.list_deliveries(
        session,
        account_id=visit.principal.account_id,
        filters=filters,
        offset=0,
        limit=PAGE_SIZE,
        before=query.before(),
    )


@router.get("/console/deliveries")
async def list_deliveries(
    request: Request,
    session: SessionDep,
    visit: Reader,
    query: Annotated[DeliveryQuery, Query()],
) -> Response:
    """The account's deliveries, newest first."""
    rows, total = await _page(session, visit, query, query.channel)
    return page(
        request,
        "deliveries.html",
        title="Deliveries",
        rows=rows,
        total=total,
        filters=query.present(),
        cursor=next_cursor([r.delivery.id for r in rows], PAGE_SIZE),
        statuses=[s.value for s in DeliveryStatus],
        channels=CHANNELS,
    )


@router.get("/console/smtp-log")
async def smtp_log(
    request: Request,
    session: SessionDep,
    visit: Reader,
    query: Annotated[DeliveryQuery, Query()],
) -> Response:
    """Every email tried and what the SMTP server answered (seed 002's SMTP log): subject,
    sender, recipients, receipt."""
    rows, total = await _page(session, visit, query, "email", attempted=True)
    return page(
        request,
        "smtp_log.html",
        title="SMTP log",
        rows=rows,
        total=total,
        filters=query.present(),
        cursor=next_cursor([r.delivery.id for r in rows], PAGE_SIZE),
        statuses=[s.value for s in DeliveryStatus],
    )


@router.get("/console/deliveries/{delivery_id}")
async def show_delivery(
    delivery_id: uuid.UUID, request: Request, session: SessionDep, visit: Reader
) -> Response:
    """One delivery: status, every attempt with the provider's answer, receipt, content."""
    found = await service.get_delivery(
        session, account_id=visit.principal.account_id, delivery_id=delivery_id
    )
    return page(
        request,
        "delivery.html",
        title=f"Delivery {found.delivery.id}",
        delivery=found.delivery,
        attempts=found.attempts,
    )


@router.get("/console/deliveries/{delivery_id}/pdf")
async def delivery_pdf(
    delivery_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, visit: Reader
) -> Response:
    """A letter's PDF, as ``GET /v1/deliveries/{id}/pdf`` gives it."""
    found = await service.get_delivery(
        session, account_id=visit.principal.account_id, delivery_id=delivery_id
    )
    if found.delivery.document_id is None:
        raise NotFound("This delivery has no PDF")
    pdf = await documents(runtime.settings).get(found.delivery.document_id)
    return Response(pdf, media_type="application/pdf", headers={"Cache-Control": "no-store"})
