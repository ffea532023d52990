"""HTTP routes of sender names: registered by an account, decided by an ancestor's admin."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from herald.accounts.auth import Principal, server
from herald.http.deps import SessionDep
from herald.http.pagination import Paging, page_body
from herald.sms import senders
from herald.sms.schemas import sender_document
from herald.sms.senders import SenderStatus

router = APIRouter(tags=["sms"])
Admin = Annotated[Principal, Depends(server("admin"))]
Name = Annotated[str, Path(min_length=1, max_length=32)]


@router.put("/v1/senders/{name}")
async def put_sender(name: Name, session: SessionDep, caller: Admin) -> dict[str, Any]:
    """Register a sender name: pending, or rejected at once if it names a well-known brand."""
    return sender_document(await senders.register(session, account_id=caller.account_id, name=name))


@router.get("/v1/senders")
async def list_senders(
    request: Request, paging: Paging, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """The account's sender names."""
    rows = await senders.list_senders(session, account_id=caller.account_id)
    page = rows[paging.offset : paging.offset + paging.per_page]
    return page_body(request, paging, data=[sender_document(s) for s in page], total=len(rows))


async def _decide(
    session: SessionDep, caller: Principal, account_id: uuid.UUID, name: str, status: SenderStatus
) -> dict[str, Any]:
    sender = await senders.decide_for(
        session, caller_id=caller.account_id, account_id=account_id, name=name, status=status
    )
    return sender_document(sender)


@router.post("/v1/accounts/{account_id}/senders/{name}/approve")
async def approve_sender(
    account_id: uuid.UUID, name: Name, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """Approve a descendant account's sender name."""
    return await _decide(session, caller, account_id, name, SenderStatus.APPROVED)


@router.post("/v1/accounts/{account_id}/senders/{name}/reject")
async def reject_sender(
    account_id: uuid.UUID, name: Name, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """Reject a descendant account's sender name."""
    return await _decide(session, caller, account_id, name, SenderStatus.REJECTED)
