"""The account's providers: the list (secrets masked), adding or replacing one with settings the
provider checks, and removing one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.delivery import providers
from herald.delivery.models import AccountProvider
from herald.delivery.routes import registry
from herald.errors import HeraldError, ValidationFailed
from herald.http.deps import RuntimeDep, SessionDep
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.forms import attempt, checked, json_object, problems, text
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Admin = Annotated[Visit, Depends(console("admin"))]
Name = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9_-]+$")]
NOTICES = {"saved": "Provider saved.", "deleted": "Provider removed."}


async def _providers_page(
    request: Request,
    session: SessionDep,
    runtime: RuntimeDep,
    visit: Visit,
    *,
    error: HeraldError | None = None,
    typed: FormData | None = None,
) -> Response:
    rows = await providers.list_providers(session, account_id=visit.principal.account_id)
    shown = [
        (row, providers.masked_settings(row, registry=registry(), secret=runtime.secret))
        for row in rows
    ]
    return page(
        request,
        "providers.html",
        status_code=error.status_code if error else 200,
        title="Providers",
        shown=shown,
        installed=registry().list(),
        defaults=runtime.settings.smtp_url is not None,
        error=error,
        problems=problems(error),
        typed={k: v for k, v in (typed or {}).items() if isinstance(v, str)},
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@router.get("/console/providers")
async def list_providers(
    request: Request, session: SessionDep, runtime: RuntimeDep, visit: Admin
) -> Response:
    """The account's providers by channel and priority."""
    return await _providers_page(request, session, runtime, visit)


@router.post("/console/providers")
async def put_provider(
    form: CheckedForm, request: Request, session: SessionDep, runtime: RuntimeDep, visit: Admin
) -> Response:
    """Add or replace a provider, as ``PUT /v1/providers/{channel}/{provider}`` does."""

    async def save() -> AccountProvider:
        channel, _, name = (text(form, "provider") or "").partition(".")
        if not channel or not name:
            raise ValidationFailed.at("/provider", "Choose a provider")
        priority = text(form, "priority") or "1"
        if not priority.isdigit() or int(priority) > 1000:
            raise ValidationFailed.at("/priority", "A whole number from 0 to 1000")
        return await providers.put_provider(
            session,
            account_id=visit.principal.account_id,
            channel=channel,
            name=name,
            config=json_object(form, "settings", default={}),
            priority=int(priority),
            active=checked(form, "active"),
            registry=registry(),
            secret=runtime.secret,
        )

    saved = await attempt(session, save)
    if isinstance(saved, HeraldError):
        return await _providers_page(request, session, runtime, visit, error=saved, typed=form)
    return RedirectResponse(
        "/console/providers?notice=saved", status_code=303, headers=PAGE_HEADERS
    )


@router.post("/console/providers/{channel}/{provider}/delete")
async def delete_provider(
    channel: Name, provider: Name, form: CheckedForm, session: SessionDep, visit: Admin
) -> Response:
    """Remove one of the account's providers."""
    await providers.delete_provider(
        session, account_id=visit.principal.account_id, channel=channel, name=provider
    )
    return RedirectResponse(
        "/console/providers?notice=deleted", status_code=303, headers=PAGE_HEADERS
    )
