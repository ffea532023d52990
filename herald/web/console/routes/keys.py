"""API keys: the account's keys, making one (shown once, never wider than the signed-in key; a
Herald key or a GOV.UK Notify-format one), and revoking one (its tokens and console sessions
stop working at once)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.accounts import scopes as scope_rules
from herald.accounts import service
from herald.accounts.schemas import KeyCreate
from herald.accounts.service import IssuedKey
from herald.errors import HeraldError, ValidationFailed
from herald.http.deps import RuntimeDep, SessionDep
from herald.web.console.access import COOKIE, CheckedForm, Visit, console
from herald.web.console.forms import attempt, model, text
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute
from herald.web.console.sessions import end_sessions_of_key

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Admin = Annotated[Visit, Depends(console("admin"))]
# The kinds of key the form offers, as POST /v1/keys's fields.
KINDS: dict[str, dict[str, object]] = {
    "live": {},
    "test": {"test": True},
    "notify-live": {"notify": True, "type": "live"},
    "notify-team": {"notify": True, "type": "team"},
    "notify-test": {"notify": True, "type": "test"},
}


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
    form: CheckedForm, request: Request, session: SessionDep, runtime: RuntimeDep, visit: Admin
) -> Response:
    """A new key, as ``POST /v1/keys`` makes it: each scope must be one the signed-in key holds
    (403 otherwise), and the key is shown on this page only."""

    async def create() -> IssuedKey:
        scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
        if not scopes:
            raise ValidationFailed.at("/scopes", "Choose at least one scope")
        kind = KINDS.get(text(form, "kind") or "live")
        if kind is None:
            raise ValidationFailed.at("/kind", "Choose the kind of key")
        fields = {"name": text(form, "name") or "", "scopes": scopes, **kind}
        return await service.issue_key(
            session,
            account_id=visit.principal.account_id,
            held=visit.principal.scopes,
            body=model(KeyCreate, fields),
            sealing_key=runtime.secret,
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
