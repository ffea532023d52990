"""Templates: the list with inheritance, the editor with a live preview of every channel, saving
(a new version each time), reverting an override, and the versions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from herald.directory.contact import EXTERNAL_ID_PATTERN
from herald.errors import HeraldError
from herald.http.deps import SessionDep
from herald.templates import service
from herald.templates.catalogue import type_catalogue
from herald.templates.inheritance import Resolved
from herald.templates.preview import preview
from herald.templates.schemas import PreviewOut
from herald.templates.views import macros_of
from herald.web.console.access import CheckedForm, Visit, console
from herald.web.console.forms import attempt, problems, raw
from herald.web.console.rendering import PAGE_HEADERS, page
from herald.web.console.routing import ConsoleRoute
from herald.web.console.template_forms import (
    new_template_body,
    preview_request,
    sample_values,
    template_body,
)
from herald.web.console.template_views import (
    ancestor_names,
    editor_channels,
    origin_of,
)

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)
Reader = Annotated[Visit, Depends(console("templates.read"))]
Writer = Annotated[Visit, Depends(console("templates.write"))]
TemplateId = Annotated[str, Path(pattern=EXTERNAL_ID_PATTERN, max_length=255)]
FRAGMENT_HEADER = "x-console-fragment"
NOTICES = {"saved": "Saved: a new version.", "created": "Created.", "reverted": "Removed."}


def _redirect(location: str) -> RedirectResponse:
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)


@router.get("/console/templates")
async def list_templates(request: Request, session: SessionDep, visit: Reader) -> Response:
    """Every template the account gets, each with where it comes from."""
    account = visit.account
    found = await service.list_templates(session, account=account)
    rows = await service.visible_rows(session, account=account)
    names = await ancestor_names(session, account)
    listed = [(r, origin_of(r, rows=rows, names=names)) for r in found]
    return page(
        request,
        "templates.html",
        title="Templates",
        listed=listed,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


async def _editor(
    request: Request,
    session: SessionDep,
    visit: Visit,
    resolved: Resolved,
    *,
    typed: FormData | None = None,
    error: HeraldError | None = None,
) -> Response:
    """The editor page: the form (as stored, or as typed when saving failed) and a preview."""
    account = visit.account
    body = resolved.row.body
    macros = macros_of(body, await type_catalogue(session, account=account))
    rows = await service.visible_rows(
        session, account=account, template_id=resolved.row.template_id
    )
    names = await ancestor_names(session, account)
    sample = raw(typed, "sample") if typed is not None else None
    shown = await _preview(
        session, visit, resolved.row.template_id, typed, sample_values(body, macros)
    )
    return page(
        request,
        "template_edit.html",
        status_code=error.status_code if error else 200,
        title=f"Template {resolved.row.template_id}",
        template=resolved,
        body=body if typed is None else {**body, **_typed_names(typed)},
        origin=origin_of(resolved, rows=rows, names=names),
        channels=editor_channels(body, typed),
        macros=macros,
        sample=sample if sample is not None else sample_values(body, macros),
        locale=raw(typed, "locale") if typed is not None else "",
        preview=shown,
        error=error,
        problems=problems(error),
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


def _typed_names(typed: FormData) -> dict[str, Any]:
    return {
        "friendly_name": raw(typed, "friendly_name"),
        "category": raw(typed, "category"),
        "enabled": typed.get("enabled") is not None,
    }


async def _preview(
    session: SessionDep,
    visit: Visit,
    template_id: str,
    typed: FormData | None,
    default_sample: str,
) -> PreviewOut | HeraldError:
    """The preview service's answer for the form (or the stored template), or its error."""
    form = typed if typed is not None else FormData({"sample": default_sample})

    async def render() -> PreviewOut:
        return await preview(
            session, account=visit.account, template_id=template_id, request=preview_request(form)
        )

    return await attempt(session, render)


@router.get("/console/templates/new")
async def new_template_form(request: Request, visit: Writer) -> Response:
    """A form for a new template of the account's own."""
    return page(
        request,
        "template_new.html",
        title="New template",
        channels=editor_channels({}),
        typed={},
        problems={},
        error=None,
    )


@router.post("/console/templates/new")
async def create_template(
    form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """Create the account's own template, as ``POST /v1/templates`` does."""

    async def create() -> Resolved:
        return await service.create_template(
            session,
            account=visit.account,
            body=new_template_body(form),
            actor=visit.principal.actor,
        )

    created = await attempt(session, create)
    if isinstance(created, HeraldError):
        return page(
            request,
            "template_new.html",
            status_code=created.status_code,
            title="New template",
            channels=editor_channels({}, form),
            typed={
                name: raw(form, name) or ""
                for name in ("id", "friendly_name", "category", "type", "subType")
            },
            problems=problems(created),
            error=created,
        )
    return _redirect(f"/console/templates/{created.row.template_id}?notice=created")


@router.get("/console/templates/{template_id}")
async def edit_template(
    template_id: TemplateId, request: Request, session: SessionDep, visit: Reader
) -> Response:
    """The editor, with the stored template previewed."""
    resolved = await service.get_template(session, account=visit.account, template_id=template_id)
    return await _editor(request, session, visit, resolved)


@router.post("/console/templates/{template_id}")
async def save_template(
    template_id: TemplateId, form: CheckedForm, request: Request, session: SessionDep, visit: Writer
) -> Response:
    """Save the form as ``PUT /v1/templates/{id}``: an override of an inherited template, or a
    new version of the account's own. A problem shows the form again, as typed."""
    resolved = await service.get_template(session, account=visit.account, template_id=template_id)

    async def save() -> tuple[Resolved, bool]:
        return await service.put_template(
            session,
            account=visit.account,
            template_id=template_id,
            body=template_body(resolved.row.body, form),
            actor=visit.principal.actor,
        )

    saved = await attempt(session, save)
    if isinstance(saved, HeraldError):
        return await _editor(request, session, visit, resolved, typed=form, error=saved)
    return _redirect(f"/console/templates/{template_id}?notice=saved")


@router.post("/console/templates/{template_id}/preview")
async def preview_template(
    template_id: TemplateId, form: CheckedForm, request: Request, session: SessionDep, visit: Reader
) -> Response:
    """The preview of the form as typed (saving nothing): the fragment the editor's script
    swaps in while typing, or the whole editor for a browser without the script."""
    resolved = await service.get_template(session, account=visit.account, template_id=template_id)
    if request.headers.get(FRAGMENT_HEADER) != "1":
        return await _editor(request, session, visit, resolved, typed=form)
    shown = await _preview(session, visit, template_id, form, "{}")
    status_code = shown.status_code if isinstance(shown, HeraldError) else 200
    return page(request, "_preview.html", status_code=status_code, preview=shown)


@router.post("/console/templates/{template_id}/delete")
async def delete_template(
    template_id: TemplateId, form: CheckedForm, session: SessionDep, visit: Writer
) -> Response:
    """Remove the account's own template or override (the parent's or system's shows again)."""
    await service.delete_template(session, account=visit.account, template_id=template_id)
    return _redirect("/console/templates?notice=reverted")


@router.get("/console/templates/{template_id}/versions")
async def list_versions(
    template_id: TemplateId, request: Request, session: SessionDep, visit: Reader
) -> Response:
    """Every saved version of the template the account gets, newest first."""
    resolved, rows, total = await service.list_versions(
        session, account=visit.account, template_id=template_id, offset=0, limit=100
    )
    return page(
        request,
        "template_versions.html",
        title=f"Versions of {template_id}",
        template=resolved,
        versions=rows,
        total=total,
    )


@router.get("/console/templates/{template_id}/versions/{version}")
async def show_version(
    template_id: TemplateId,
    version: Annotated[int, Path(ge=1)],
    request: Request,
    session: SessionDep,
    visit: Reader,
) -> Response:
    """One saved version, as it was."""
    resolved, found = await service.get_version(
        session, account=visit.account, template_id=template_id, version=version
    )
    return page(
        request,
        "template_version.html",
        title=f"{template_id} version {version}",
        template=resolved,
        version=found,
    )
