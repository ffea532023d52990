"""Accounts: the signed-in account and, for a reseller, its child accounts (their children,
their limits) and making a new child. What an account sees and changes follows the tree as
``/v1/accounts`` does: itself and its descendants; limits only from above."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.accounts import service
from herald.accounts.models import Account
from herald.accounts.schemas import AccountCreate, AccountPatch
from herald.errors import HeraldError
from herald.http.deps import SessionDep
from herald.web.console.access import AnyKey, CheckedForm, Visit, console
from herald.web.console.forms import attempt, model, number, problems, text
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Writer = Annotated[Visit, Depends(console("accounts.write"))]
PER_PAGE = 50
NOTICES = {"created": "Child account created.", "saved": "Account saved."}


async def _account_page(
    request: Request,
    session: SessionDep,
    visit: Visit,
    account_id: uuid.UUID,
    *,
    page_number: int = 1,
    error: HeraldError | None = None,
    form_name: str = "",
    typed: FormData | None = None,
) -> Response:
    account = await service.visible_account(
        session, caller_id=visit.principal.account_id, account_id=account_id
    )
    offset = (page_number - 1) * PER_PAGE
    children, total = await service.children(
        session, account_id=account.id, offset=offset, limit=PER_PAGE
    )
    return page(
        request,
        "accounts.html",
        status_code=error.status_code if error else 200,
        title=account.name,
        account=account,
        own=account.id == visit.principal.account_id,
        parent_visible=account.parent_id is not None and account.id != visit.principal.account_id,
        children=children,
        total=total,
        page_number=page_number,
        more=offset + len(children) < total,
        error=error,
        problems=problems(error),
        form_name=form_name,
        typed={k: v for k, v in (typed or {}).items() if isinstance(v, str)},
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


PageNumber = Annotated[int, Query(alias="page", ge=1, le=100_000)]


@router.get("/console/accounts")
async def own_account(
    request: Request, session: SessionDep, visit: AnyKey, page_number: PageNumber = 1
) -> Response:
    """The signed-in account and its children."""
    return await _account_page(
        request, session, visit, visit.principal.account_id, page_number=page_number
    )


@router.get("/console/accounts/{account_id}")
async def show_account(
    account_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    visit: AnyKey,
    page_number: PageNumber = 1,
) -> Response:
    """A descendant account (404 for any other) and its children."""
    return await _account_page(request, session, visit, account_id, page_number=page_number)


@router.post("/console/accounts")
async def create_child(
    form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """A child of the signed-in account, as ``POST /v1/accounts`` makes it."""

    async def create() -> Account:
        body = model(AccountCreate, {"name": text(form, "name") or ""})
        return await service.create_account(
            session, name=body.name, parent_id=visit.principal.account_id
        )

    created = await attempt(session, create)
    if isinstance(created, HeraldError):
        return await _account_page(
            request,
            session,
            visit,
            visit.principal.account_id,
            error=created,
            form_name="create",
            typed=form,
        )
    return RedirectResponse(
        f"/console/accounts/{created.id}?notice=created", status_code=303, headers=PAGE_HEADERS
    )


def _patch(form: FormData) -> AccountPatch:
    """The fields given; an empty field leaves its value as it is."""
    body: dict[str, Any] = {}
    limits = {
        "rate": text(form, "rate"),
        **{n: number(form, n) for n in ("daily", "sms_allowance")},
    }
    if any(value is not None for value in limits.values()):
        body["limits"] = {name: value for name, value in limits.items() if value is not None}
    fields = {
        "name": text(form, "name"),
        "retention_days": number(form, "retention_days"),
        "default_locale": text(form, "default_locale"),
    }
    body.update((name, value) for name, value in fields.items() if value is not None)
    return model(AccountPatch, body)


@router.post("/console/accounts/{account_id}")
async def patch_account(
    account_id: uuid.UUID, form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """Change an account as ``PATCH /v1/accounts/{id}`` does: limits only for a descendant."""

    async def save() -> Account:
        account = await service.visible_account(
            session, caller_id=visit.principal.account_id, account_id=account_id
        )
        by_ancestor = account.id != visit.principal.account_id
        service.update_account(account, _patch(form), by_ancestor=by_ancestor)
        await session.flush()
        return account

    saved = await attempt(session, save)
    if isinstance(saved, HeraldError):
        return await _account_page(
            request, session, visit, account_id, error=saved, form_name="patch", typed=form
        )
    return RedirectResponse(
        f"/console/accounts/{account_id}?notice=saved", status_code=303, headers=PAGE_HEADERS
    )
