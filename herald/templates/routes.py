"""HTTP routes of templates: list, read (JSON or an email body by Accept), write, versions,
preview."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response, status

from herald.accounts.auth import Principal, server
from herald.directory.contact import EXTERNAL_ID_PATTERN, Locale
from herald.errors import NotAcceptable
from herald.http.bounds import INT32_MAX
from herald.http.deps import SessionDep
from herald.http.openapi import raises
from herald.http.pagination import Paging, page_body
from herald.templates import service
from herald.templates.catalogue import type_catalogue
from herald.templates.inheritance import Resolved
from herald.templates.negotiation import HTML, JSON, negotiate
from herald.templates.preview import preview
from herald.templates.schemas import PreviewIn, PreviewOut, TemplateIn, TemplateOut, VersionOut
from herald.templates.views import template_view, version_view

router = APIRouter(tags=["templates"])
Reader = Annotated[Principal, Depends(server("templates.read"))]
Writer = Annotated[Principal, Depends(server("templates.write"))]
TemplateIdPath = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
NO_CONTENT = status.HTTP_204_NO_CONTENT
BODY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {HTML: {"schema": {"type": "string"}}, "text/plain": {}}},
}
# A tenant's HTML must not run as a page of Herald's origin if a browser opens the URL.
BODY_HEADERS = {
    "Vary": "Accept",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}


async def _view(session: SessionDep, caller: Principal, resolved: Resolved) -> TemplateOut:
    account = await service.load_account(session, account_id=caller.account_id)
    return template_view(resolved, await type_catalogue(session, account=account))


@router.get("/v1/templates")
async def list_templates(
    request: Request,
    paging: Paging,
    session: SessionDep,
    caller: Reader,
    type: str | None = None,
    subType: str | None = None,
    category: str | None = None,
    account_overridden: bool | None = None,
) -> dict[str, object]:
    """System defaults, inherited and own templates, each as this account gets it."""
    account = await service.load_account(session, account_id=caller.account_id)
    found = await service.list_templates(
        session,
        account=account,
        filters=service.ListFilters(type, subType, category, account_overridden),
    )
    types = await type_catalogue(session, account=account)
    page = found[paging.offset : paging.offset + paging.per_page]
    data = [template_view(r, types).model_dump(mode="json") for r in page]
    return page_body(request, paging, data=data, total=len(found))


@router.post("/v1/templates", status_code=status.HTTP_201_CREATED, response_model=TemplateOut)
async def create_template(body: TemplateIn, session: SessionDep, caller: Writer) -> TemplateOut:
    """Create the account's own template (its id chosen, or made by Herald)."""
    account = await service.load_account(session, account_id=caller.account_id)
    resolved = await service.create_template(
        session, account=account, body=body, actor=caller.actor
    )
    return await _view(session, caller, resolved)


@router.get("/v1/templates/{template_id}", response_model=TemplateOut, responses=BODY_RESPONSES)
@raises(
    NotAcceptable(
        "Cannot answer as 'image/png'; use one of application/json, text/html, text/plain"
    )
)
async def get_template(
    template_id: TemplateIdPath,
    session: SessionDep,
    caller: Reader,
    accept: Annotated[str | None, Header()] = None,
    accept_override: Annotated[str | None, Query(alias="accept", max_length=255)] = None,
    locale: Annotated[Locale | None, Query()] = None,
) -> TemplateOut | Response:
    """The template as JSON, or the source of its email HTML or text body.

    Chosen by Accept (or ``?accept=``); any other type is 406."""
    media_type = negotiate(accept, accept_override)
    account = await service.load_account(session, account_id=caller.account_id)
    resolved = await service.get_template(session, account=account, template_id=template_id)
    if media_type == JSON:
        return template_view(resolved, await type_catalogue(session, account=account))
    source = service.email_source(
        resolved, media_type=media_type, locale=locale, default_locale=account.default_locale
    )
    charset = resolved.row.body.get("template_charset", "utf-8")
    return Response(source, media_type=f"{media_type}; charset={charset}", headers=BODY_HEADERS)


@router.put("/v1/templates/{template_id}", response_model=TemplateOut)
async def put_template(
    template_id: TemplateIdPath,
    body: TemplateIn,
    session: SessionDep,
    caller: Writer,
    response: Response,
) -> TemplateOut:
    """Override an inherited template for this account, or replace the account's own.

    201 when the account's template was made."""
    account = await service.load_account(session, account_id=caller.account_id)
    resolved, created = await service.put_template(
        session, account=account, template_id=template_id, body=body, actor=caller.actor
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return await _view(session, caller, resolved)


@router.delete("/v1/templates/{template_id}", status_code=NO_CONTENT)
async def delete_template(
    template_id: TemplateIdPath, session: SessionDep, caller: Writer
) -> Response:
    """Remove the account's own template or override; the parent's or system's shows again."""
    account = await service.load_account(session, account_id=caller.account_id)
    await service.delete_template(session, account=account, template_id=template_id)
    return Response(status_code=NO_CONTENT)


@router.get("/v1/templates/{template_id}/versions")
async def list_versions(
    template_id: TemplateIdPath,
    request: Request,
    paging: Paging,
    session: SessionDep,
    caller: Reader,
) -> dict[str, object]:
    """Every saved version of the template this account gets, newest first."""
    account = await service.load_account(session, account_id=caller.account_id)
    resolved, rows, total = await service.list_versions(
        session,
        account=account,
        template_id=template_id,
        offset=paging.offset,
        limit=paging.per_page,
    )
    data = [version_view(resolved, v).model_dump(mode="json") for v in rows]
    return page_body(request, paging, data=data, total=total)


@router.get("/v1/templates/{template_id}/versions/{version}", response_model=VersionOut)
async def get_version(
    template_id: TemplateIdPath,
    version: Annotated[int, Path(ge=1, le=INT32_MAX)],
    session: SessionDep,
    caller: Reader,
) -> VersionOut:
    """One saved version: old versions stay readable."""
    account = await service.load_account(session, account_id=caller.account_id)
    resolved, found = await service.get_version(
        session, account=account, template_id=template_id, version=version
    )
    return version_view(resolved, found)


@router.post("/v1/templates/{template_id}/preview", response_model=PreviewOut)
async def preview_template(
    template_id: TemplateIdPath,
    session: SessionDep,
    caller: Reader,
    body: PreviewIn | None = None,
) -> PreviewOut:
    """Render every part with the given values, unsaved parts included, without saving."""
    account = await service.load_account(session, account_id=caller.account_id)
    return await preview(
        session, account=account, template_id=template_id, request=body or PreviewIn()
    )
