"""Senders: the account's sender names (registering one), those of the accounts below it, which
an ancestor's admin key approves or rejects as ``/v1/accounts/{id}/senders/{name}/approve`` and
``/reject`` do, and the email reply-to addresses that Notify-style sends name by id."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.errors import HeraldError, ValidationFailed
from herald.http.deps import SessionDep
from herald.replyto import service as replyto
from herald.replyto.models import EmailReplyTo
from herald.replyto.schemas import ReplyToIn
from herald.sms import senders
from herald.sms.models import SmsSender
from herald.sms.senders import SenderStatus
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.forms import attempt, model, text
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Admin = Annotated[Visit, Depends(console("admin"))]
Name = Annotated[str, Path(min_length=1, max_length=32)]
DECISIONS = {"approve": SenderStatus.APPROVED, "reject": SenderStatus.REJECTED}
NOTICES = {
    "registered": "Sender name registered.",
    "approved": "Sender name approved.",
    "rejected": "Sender name rejected.",
    "reply-to-added": "Reply-to address added.",
    "reply-to-removed": "Reply-to address removed.",
}


async def _senders_page(
    request: Request, session: SessionDep, visit: Visit, *, error: HeraldError | None = None
) -> Response:
    own = await senders.list_senders(session, account_id=visit.principal.account_id)
    below = await senders.list_senders_below(session, account=visit.account)
    reply_to = await replyto.list_all(session, account_id=visit.principal.account_id)
    return page(
        request,
        "senders.html",
        status_code=error.status_code if error else 200,
        title="Sender names",
        own=own,
        below=below,
        reply_to=reply_to,
        error=error,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get("/console/senders")
async def list_senders(request: Request, session: SessionDep, visit: Admin) -> Response:
    """The account's sender names and those waiting for its decision below it."""
    return await _senders_page(request, session, visit)


@router.post("/console/senders")
async def register_sender(
    form: CheckedForm, request: Request, session: SessionDep, visit: Admin
) -> Response:
    """Register a sender name, as ``PUT /v1/senders/{name}`` does."""

    async def register() -> SmsSender:
        name = text(form, "name")
        if name is None:
            raise ValidationFailed.at("/name", "Give the sender name")
        return await senders.register(session, account_id=visit.principal.account_id, name=name)

    done = await attempt(session, register)
    if isinstance(done, HeraldError):
        return await _senders_page(request, session, visit, error=done)
    return RedirectResponse(
        "/console/senders?notice=registered", status_code=303, headers=PAGE_HEADERS
    )


@router.post("/console/accounts/{account_id}/senders/{name}/{decision}")
async def decide_sender(
    account_id: uuid.UUID,
    name: Name,
    decision: Annotated[str, Path(pattern="^(approve|reject)$")],
    form: CheckedForm,
    session: SessionDep,
    visit: Admin,
) -> Response:
    """Approve or reject a descendant account's sender name (404 for an account not below)."""
    status = DECISIONS[decision]
    await senders.decide_for(
        session,
        caller_id=visit.principal.account_id,
        account_id=account_id,
        name=name,
        status=status,
    )
    return RedirectResponse(
        f"/console/senders?notice={status.value}", status_code=303, headers=PAGE_HEADERS
    )


@router.post("/console/reply-to")
async def add_reply_to(
    form: CheckedForm, request: Request, session: SessionDep, visit: Admin
) -> Response:
    """Register a reply-to address, as ``POST /v1/email-reply-to`` does."""

    async def add() -> EmailReplyTo:
        body = model(ReplyToIn, {"email_address": text(form, "email_address") or ""})
        return await replyto.add(
            session, account_id=visit.principal.account_id, email_address=body.email_address
        )

    done = await attempt(session, add)
    if isinstance(done, HeraldError):
        return await _senders_page(request, session, visit, error=done)
    return RedirectResponse(
        "/console/senders?notice=reply-to-added", status_code=303, headers=PAGE_HEADERS
    )


@router.post("/console/reply-to/{reply_to_id}/delete")
async def remove_reply_to(
    reply_to_id: uuid.UUID, form: CheckedForm, session: SessionDep, visit: Admin
) -> Response:
    """Remove a reply-to address; sends naming it are refused from then on."""
    await replyto.remove(session, account_id=visit.principal.account_id, reply_to_id=reply_to_id)
    return RedirectResponse(
        "/console/senders?notice=reply-to-removed", status_code=303, headers=PAGE_HEADERS
    )
