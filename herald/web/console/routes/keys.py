"""API keys: the account's keys, making one (shown once, never wider than the signed-in key),
and revoking one (its tokens and console sessions stop working at once)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.accounts import scopes as scope_rules
from herald.accounts import service
from herald.accounts.service import IssuedKey
from herald.errors import HeraldError, ValidationFailed
from herald.http.deps import SessionDep
from herald.web.console.access import COOKIE, CheckedForm, Visit, console
from herald.web.console.forms import attempt, checked, text
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute
from herald.web.console.sessions import end_sessions_of_key

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Admin = Annotated[Visit, Depends(console("admin"))]


async def _keys_page(
    request: Request, session: SessionDep, visit: Visit, *, error: HeraldError | None = None
) -> Response:
    keys = await service.list_keys(session, account_id=visit.principal.account_id)
    offered = [s for s in scope_rules.BASE_SCOPES if visit.can(s)]
    extra = sorted(s for s in visit.principal.scopes if s not in scope_rules.BASE_SCOPES)
    return page(
        request,
        "keys.html",
        status_code=error.status_code if error else 200,
        title="Keys",
        keys=keys,
        offered=offered + extra,
        error=error,
        notice="Key revoked." if request.query_params.get("notice") == "revoked" else None,
    )


@router.get("/console/keys")
async def list_keys(request: Request, session: SessionDep, visit: Admin) -> Response:
    """The account's keys (prefixes only) and a form for a new one."""
    return await _keys_page(request, session, visit)


@router.post("/console/keys")
async def create_key(
    form: CheckedForm, request: Request, session: SessionDep, visit: Admin
) -> Response:
    """A new key, as ``POST /v1/keys`` makes it: each scope must be one the signed-in key holds
    (403 otherwise), and the key is shown on this page only."""
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]

    async def create() -> IssuedKey:
        if not scopes:
            raise ValidationFailed.at("/scopes", "Choose at least one scope")
        for scope in scopes:
            visit.principal.require(scope)
        return await service.create_key(
            session,
            account_id=visit.principal.account_id,
            scopes=scopes,
            test=checked(form, "test"),
            name=text(form, "name") or "",
        )

    issued = await attempt(session, create)
    if isinstance(issued, HeraldError):
        return await _keys_page(request, session, visit, error=issued)
    return page(request, "key_created.html", status_code=201, title="New key", issued=issued)


@router.post("/console/keys/{key_id}/revoke")
async def revoke_key(
    key_id: uuid.UUID, form: CheckedForm, request: Request, session: SessionDep, visit: Admin
) -> Response:
    """Revoke a key now, as ``DELETE /v1/keys/{id}`` does; its console sessions end with it."""
    await service.revoke_key(session, account_id=visit.principal.account_id, key_id=key_id)
    await end_sessions_of_key(session, key_id=key_id)
    if key_id == visit.principal.key_id:
        response = RedirectResponse(
            "/console/sign-in?ended=1", status_code=303, headers=PAGE_HEADERS
        )
        response.delete_cookie(COOKIE, path="/console", httponly=True, samesite="strict")
        return response
    return RedirectResponse("/console/keys?notice=revoked", status_code=303, headers=PAGE_HEADERS)
