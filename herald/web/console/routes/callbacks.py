"""Status callbacks (where delivery statuses and inbox actions are posted back) and the webhook
channel's endpoints: setting them (the new signing secret shown once) and removing them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.delivery.callbacks import service as callbacks
from herald.delivery.schemas import CallbackIn
from herald.endpoints import service as endpoints
from herald.endpoints.schemas import NAME_PATTERN, EndpointIn
from herald.errors import HeraldError, NotFound
from herald.http.deps import RuntimeDep, SessionDep
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.forms import attempt, identifier, model, problems, text, words
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Admin = Annotated[Visit, Depends(console("admin"))]
EndpointName = Annotated[str, Path(pattern=NAME_PATTERN)]
NOTICES = {
    "callbacks-set": "Status callbacks set.",
    "callbacks-off": "Status callbacks stopped.",
    "endpoint-deleted": "Endpoint removed.",
}


async def _page(
    request: Request,
    session: SessionDep,
    visit: Visit,
    *,
    error: HeraldError | None = None,
    form_name: str = "",
    typed: FormData | None = None,
    secret: dict[str, Any] | None = None,
) -> Response:
    account_id = visit.principal.account_id
    try:
        endpoint = await callbacks.get_endpoint(session, account_id=account_id)
    except NotFound:
        endpoint = None
    status_code = error.status_code if error else (201 if secret else 200)
    return page(
        request,
        "callbacks.html",
        status_code=status_code,
        title="Callbacks and endpoints",
        callback=endpoint,
        events=sorted(callbacks.EVENTS),
        endpoints=await endpoints.list_endpoints(session, account_id=account_id),
        error=error,
        problems=problems(error),
        form_name=form_name,
        typed={k: v for k, v in (typed or {}).items() if isinstance(v, str)},
        secret=secret,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get("/console/callbacks")
async def show_callbacks(request: Request, session: SessionDep, visit: Admin) -> Response:
    """The callback endpoint and the webhook endpoints (without their secrets)."""
    return await _page(request, session, visit)


@router.post("/console/callbacks")
async def put_callbacks(
    form: CheckedForm, request: Request, session: SessionDep, runtime: RuntimeDep, visit: Admin
) -> Response:
    """Set where status callbacks go, as ``PUT /v1/callbacks`` does: a new secret, shown once."""

    async def save() -> str | None:
        fields = {
            "url": text(form, "url") or "",
            "events": form.getlist("events") or None,
            "format": text(form, "format") or "standard",
            "bearer_token": text(form, "bearer_token"),
        }
        body = model(CallbackIn, {k: v for k, v in fields.items() if v is not None})
        _endpoint, secret = await callbacks.put_endpoint(
            session,
            account_id=visit.principal.account_id,
            url=body.url,
            events=body.events,
            allow_private=runtime.settings.allow_private_urls,
            sealing_key=runtime.secret,
            format=body.format,
            bearer_token=body.bearer_token,
        )
        return secret

    done = await attempt(session, save)
    if isinstance(done, HeraldError):
        return await _page(request, session, visit, error=done, form_name="callbacks", typed=form)
    if done is None:  # Notify's format: the receiver's own bearer token, nothing to show
        return RedirectResponse(
            "/console/callbacks?notice=callbacks-set", status_code=303, headers=PAGE_HEADERS
        )
    shown = {"what": "status callbacks", "value": done}
    return await _page(request, session, visit, secret=shown)


@router.post("/console/callbacks/delete")
async def delete_callbacks(form: CheckedForm, session: SessionDep, visit: Admin) -> Response:
    """Stop status callbacks."""
    await callbacks.delete_endpoint(session, account_id=visit.principal.account_id)
    return RedirectResponse(
        "/console/callbacks?notice=callbacks-off", status_code=303, headers=PAGE_HEADERS
    )


@router.post("/console/endpoints")
async def put_endpoint(
    form: CheckedForm, request: Request, session: SessionDep, runtime: RuntimeDep, visit: Admin
) -> Response:
    """Add or replace a webhook endpoint, as ``PUT /v1/endpoints/{name}`` does."""

    async def save() -> tuple[str, str]:
        name = identifier(form, "name", label="The endpoint's name")
        types = words(text(form, "types")) or ["*"]
        body = model(EndpointIn, {"url": text(form, "url") or "", "types": types})
        endpoint, secret = await endpoints.put_endpoint(
            session,
            account_id=visit.principal.account_id,
            name=name,
            url=body.url,
            types=body.types,
            allow_private=runtime.settings.allow_private_urls,
            sealing_key=runtime.secret,
        )
        return endpoint.name, secret

    done = await attempt(session, save)
    if isinstance(done, HeraldError):
        return await _page(request, session, visit, error=done, form_name="endpoint", typed=form)
    shown = {"what": f"the endpoint {done[0]}", "value": done[1]}
    return await _page(request, session, visit, secret=shown)


@router.post("/console/endpoints/{name}/delete")
async def delete_endpoint(
    name: EndpointName, form: CheckedForm, session: SessionDep, visit: Admin
) -> Response:
    """Remove a webhook endpoint."""
    await endpoints.delete_endpoint(session, account_id=visit.principal.account_id, name=name)
    return RedirectResponse(
        "/console/callbacks?notice=endpoint-deleted", status_code=303, headers=PAGE_HEADERS
    )
