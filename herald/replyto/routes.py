"""HTTP routes of reply-to addresses (scope ``admin``, like sender names)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from herald.accounts.auth import Principal, server
from herald.http.deps import SessionDep
from herald.http.pagination import Paging, page_body
from herald.replyto import service
from herald.replyto.schemas import ReplyToIn, reply_to_document

router = APIRouter(tags=["email reply-to"])
Admin = Annotated[Principal, Depends(server("admin"))]


@router.post("/v1/email-reply-to", status_code=status.HTTP_201_CREATED)
async def add_reply_to(body: ReplyToIn, session: SessionDep, caller: Admin) -> dict[str, Any]:
    """Register a reply-to address; its ``id`` is what sends name as ``email_reply_to_id``."""
    row = await service.add(session, account_id=caller.account_id, email_address=body.email_address)
    return reply_to_document(row)


@router.get("/v1/email-reply-to")
async def list_reply_to(
    request: Request, paging: Paging, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """The account's reply-to addresses."""
    rows = await service.list_all(session, account_id=caller.account_id)
    page = rows[paging.offset : paging.offset + paging.per_page]
    return page_body(request, paging, data=[reply_to_document(r) for r in page], total=len(rows))


@router.get("/v1/email-reply-to/{reply_to_id}")
async def get_reply_to(
    reply_to_id: uuid.UUID, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """One reply-to address."""
    row = await service.get(session, account_id=caller.account_id, reply_to_id=reply_to_id)
    return reply_to_document(row)


@router.delete("/v1/email-reply-to/{reply_to_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_reply_to(reply_to_id: uuid.UUID, session: SessionDep, caller: Admin) -> Response:
    """Remove a reply-to address; sends naming it are refused from then on."""
    await service.remove(session, account_id=caller.account_id, reply_to_id=reply_to_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
