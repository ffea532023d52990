"""HTTP routes of the inbox, as the user (``/v1/me``) and as the server
(``/v1/users/{external_id}/notifications``, alias ``.../inbox``, ``inbox.*`` scopes); seed 001's
``/notifications`` is in ``herald.compat.crm``.

Each handler is mounted under every prefix; ``inbox_owner`` decides whose inbox it is from
the credential and the path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response, status

from herald.accounts.auth import PrincipalDep
from herald.directory import service as directory
from herald.errors import Forbidden
from herald.http.deps import RuntimeDep, SessionDep
from herald.http.openapi import raises
from herald.http.pagination import Page, Paging, page_body
from herald.http.responses import OrjsonResponse
from herald.inbox import service
from herald.inbox.schemas import (
    ActionIn,
    AuditEntryOut,
    InboxCountOut,
    InboxItemOut,
    InboxPage,
    audit_document,
    item_document,
    item_values,
)
from herald.inbox.service import Owner

router = APIRouter(tags=["inbox"])
PREFIXES = (
    "/v1/me/notifications",
    "/v1/users/{external_id}/notifications",
    "/v1/users/{external_id}/inbox",
)
NO_CONTENT = status.HTTP_204_NO_CONTENT


@raises(Forbidden("This route takes a user token: POST /v1/users/{external_id}/tokens"))
async def inbox_owner(request: Request, principal: PrincipalDep, session: SessionDep) -> Owner:
    """A user token owns ``/v1/me``; a server key with ``inbox.*`` reaches any of its users."""
    external_id = request.path_params.get("external_id")
    if external_id is None:
        if principal.user_id is None:
            raise Forbidden("This route takes a user token: POST /v1/users/{external_id}/tokens")
        return Owner(principal.account_id, principal.user_id, principal.actor, by_user=True)
    if principal.is_user:
        raise Forbidden("User tokens may only use the /v1/me routes")
    principal.require("inbox.read" if request.method == "GET" else "inbox.write")
    user = await directory.get_user(
        session, account_id=principal.account_id, external_id=external_id
    )
    return Owner(principal.account_id, user.id, principal.actor)


OwnerDep = Annotated[Owner, Depends(inbox_owner)]
Handler = Callable[..., Any]


def mount(
    method: str, suffix: str, *, status_code: int = 200, response_model: Any = None
) -> Callable[[Handler], Handler]:
    """Register a handler under every inbox prefix."""

    def register(handler: Handler) -> Handler:
        for prefix in PREFIXES:
            router.add_api_route(
                prefix + suffix,
                handler,
                methods=[method],
                status_code=status_code,
                response_model=response_model,
            )
        return handler

    return register


@mount("GET", "", response_model=InboxPage)
async def list_items(
    request: Request,
    paging: Paging,
    session: SessionDep,
    runtime: RuntimeDep,
    owner: OwnerDep,
    show: Literal["all", "unread"] = "all",
) -> OrjsonResponse:
    """The inbox, newest first; ``show=unread`` for unread items only."""
    page = await service.list_items(
        session,
        owner=owner,
        unread_only=show == "unread",
        offset=paging.offset,
        limit=paging.per_page,
        before=paging.cursor,
        bus=runtime.bus,
    )
    body = page_body(
        request,
        paging,
        data=page.documents,
        total=page.total,
        next_id=page.next_id,
        cursor_paging=True,
        unread=page.unread,
    )
    return OrjsonResponse(body)


@mount("GET", "/count", response_model=InboxCountOut)
async def count(session: SessionDep, owner: OwnerDep) -> OrjsonResponse:
    """How many items are unread and unseen: ``{"unread", "unseen"}``."""
    return OrjsonResponse(await service.count(session, owner=owner))


@mount("PUT", "/read", status_code=NO_CONTENT)
async def read_all(session: SessionDep, runtime: RuntimeDep, owner: OwnerDep) -> Response:
    """Mark every item read."""
    await service.mark_all_read(session, owner=owner, bus=runtime.bus)
    return Response(status_code=NO_CONTENT)


@mount("GET", "/{item_id}", response_model=InboxItemOut)
async def get_item(item_id: uuid.UUID, session: SessionDep, owner: OwnerDep) -> OrjsonResponse:
    """One item."""
    item = await service.get_item(session, owner=owner, item_id=item_id)
    return OrjsonResponse(item_document(item_values(item)))


@mount("PUT", "/{item_id}/read", status_code=NO_CONTENT)
async def read_one(
    item_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, owner: OwnerDep
) -> Response:
    """Mark one item read."""
    await service.mark_read(session, owner=owner, item_id=item_id, bus=runtime.bus)
    return Response(status_code=NO_CONTENT)


@mount("PATCH", "/{item_id}", response_model=InboxItemOut)
async def act(
    item_id: uuid.UUID, body: ActionIn, session: SessionDep, runtime: RuntimeDep, owner: OwnerDep
) -> OrjsonResponse:
    """Record an action (Initiated, Approved, Validate, Rejected, IsRead) with its note."""
    item = await service.act(session, owner=owner, item_id=item_id, action=body, bus=runtime.bus)
    return OrjsonResponse(item_document(item_values(item)))


@mount("GET", "/{item_id}/audit", response_model=Page[AuditEntryOut])
async def audit(
    item_id: uuid.UUID, request: Request, paging: Paging, session: SessionDep, owner: OwnerDep
) -> OrjsonResponse:
    """The item's audit trail, oldest first."""
    entries, total = await service.audit_trail(
        session, owner=owner, item_id=item_id, offset=paging.offset, limit=paging.per_page
    )
    data = [audit_document(e) for e in entries]
    return OrjsonResponse(page_body(request, paging, data=data, total=total))


@mount("DELETE", "/{item_id}", status_code=NO_CONTENT)
async def delete_item(
    item_id: uuid.UUID, session: SessionDep, runtime: RuntimeDep, owner: OwnerDep
) -> Response:
    """Remove an item from the inbox."""
    await service.delete_item(session, owner=owner, item_id=item_id, bus=runtime.bus)
    return Response(status_code=NO_CONTENT)
