"""Notifications: the filtered list, one notification with its deliveries (their attempts and
rendered content when the key may read deliveries), and cancelling one."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.delivery import service as deliveries
from herald.events.schemas import Channel
from herald.http.deps import RuntimeDep, SessionDep
from herald.notifications import service
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.queries import (
    PAGE_SIZE,
    Blank,
    Day,
    ListQuery,
    Word,
    day_end,
    day_start,
    next_cursor,
)
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Visit, Depends(console("notifications.read"))]
Writer = Annotated[Visit, Depends(console("notifications.write"))]
STATUSES = ("queued", "sending", "delivered", "partially-delivered", "failed", "cancelled")
CHANNELS = ("in_app", "email", "sms", "push", "webhook", "letter", "chat")
Status = Literal["queued", "sending", "delivered", "partially-delivered", "failed", "cancelled"]


class NotificationQuery(ListQuery):
    """The list's filters, as ``GET /v1/notifications`` takes them."""

    type: Word = None
    subType: Word = None
    channel: Annotated[Channel | None, Blank] = None
    target: Word = None
    status: Annotated[Status | None, Blank] = None
    since: Day = None
    until: Day = None


@router.get("/console/notifications")
async def list_notifications(
    request: Request,
    session: SessionDep,
    visit: Reader,
    query: Annotated[NotificationQuery, Query()],
) -> Response:
    """The account's notifications, newest first."""
    filters = service.Filters(
        query.type,
        query.subType,
        query.channel,
        query.target,
        query.status,
        day_start(query.since),
        day_end(query.until),
    )
    rows, total = await service.list_notifications(
        session,
        account_id=visit.principal.account_id,
        filters=filters,
        offset=0,
        limit=PAGE_SIZE,
        before=query.before(),
    )
    return page(
        request,
        "notifications.html",
        title="Notifications",
        rows=rows,
        total=total,
        query=query,
        filters=query.present(),
        cursor=next_cursor([r.id for r in rows], PAGE_SIZE),
        statuses=STATUSES,
        channels=CHANNELS,
    )


@router.get("/console/notifications/{notification_id}")
async def show_notification(
    notification_id: uuid.UUID, request: Request, session: SessionDep, visit: Reader
) -> Response:
    """One notification; its deliveries in full when the key holds ``deliveries.read``."""
    account_id = visit.principal.account_id
    found = await service.get_notification(
        session, account_id=account_id, notification_id=notification_id
    )
    logged = None
    if visit.can("deliveries.read"):
        logged, _total = await deliveries.list_deliveries(
            session,
            account_id=account_id,
            filters=deliveries.Filters(notification_id=found.id),
            offset=0,
            limit=100,
            before=None,
        )
    summary = await service.deliveries_of(session, notification_id=found.id)
    return page(
        request,
        "notification.html",
        title=f"Notification {found.id}",
        notification=found,
        summary=summary,
        logged=logged,
        notice="Cancelled." if request.query_params.get("notice") == "cancelled" else None,
    )


@router.post("/console/notifications/{notification_id}/cancel")
async def cancel_notification(
    notification_id: uuid.UUID,
    form: CheckedForm,
    session: SessionDep,
    runtime: RuntimeDep,
    visit: Writer,
) -> Response:
    """Cancel what is not sent yet and withdraw the inbox items, as ``DELETE`` does."""
    await service.cancel(
        session,
        account_id=visit.principal.account_id,
        notification_id=notification_id,
        bus=runtime.bus,
    )
    location = f"/console/notifications/{notification_id}?notice=cancelled"
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)
