"""The ``/v2`` routes of GOV.UK Notify's API, at the root (Notify's clients join ``/v2/...``
onto the base URL). HTTP only: parse, call the translation, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status

from herald.compat.notify import errors, received, requests, shapes, templates
from herald.compat.notify.auth import CallerDep
from herald.compat.notify.reading import PAGE, get_one, get_page, letter_pdf
from herald.compat.notify.routing import NotifyRoute, json_body
from herald.compat.notify.sending import (
    Sent,
    send_email,
    send_letter,
    send_precompiled,
    send_sms,
)
from herald.http.deps import RuntimeDep, SessionDep
from herald.templates.service import load_account

PREFIX = "/v2/"
router = APIRouter(tags=["GOV.UK Notify"], route_class=NotifyRoute)
Body = Annotated[Any, Depends(json_body)]
CREATED = status.HTTP_201_CREATED


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _answer(sent: Sent, base: str) -> dict[str, Any]:
    row = sent.template.resolved.row
    return {
        "id": str(sent.id),
        "reference": None,
        "content": sent.content,
        "uri": f"{base}/v2/notifications/{sent.id}",
        "template": {
            "id": row.template_id,
            "version": row.version,
            "uri": f"{base}/v2/template/{row.template_id}",
        },
        "scheduled_for": None,
        **sent.extra,
    }


def _sent(sent: Sent, request: Request, body: Any) -> dict[str, Any]:
    answer = _answer(sent, _base(request))
    answer["reference"] = body.get("reference") if isinstance(body, dict) else None
    return answer


@router.post("/v2/notifications/email", status_code=CREATED)
async def post_email(
    request: Request, body: Body, session: SessionDep, runtime: RuntimeDep, caller: CallerDep
) -> dict[str, Any]:
    """Send an email."""
    return _sent(await send_email(session, runtime, caller, body), request, body)


@router.post("/v2/notifications/sms", status_code=CREATED)
async def post_sms(
    request: Request, body: Body, session: SessionDep, runtime: RuntimeDep, caller: CallerDep
) -> dict[str, Any]:
    """Send a text message."""
    return _sent(await send_sms(session, runtime, caller, body), request, body)


@router.post("/v2/notifications/letter", status_code=CREATED)
async def post_letter(
    request: Request, body: Body, session: SessionDep, runtime: RuntimeDep, caller: CallerDep
) -> dict[str, Any]:
    """Send a letter from a template, or a precompiled PDF (a body with ``content``)."""
    if isinstance(body, dict) and "content" in body:
        return await send_precompiled(session, runtime, caller, body)
    return _sent(await send_letter(session, runtime, caller, body), request, body)


def _links(request: Request, items: list[dict[str, Any]]) -> dict[str, str]:
    links = {"current": str(request.url)}
    if items:
        links["next"] = str(request.url.include_query_params(older_than=items[-1]["id"]))
    return links


def _query(request: Request, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name in lists:
            query.setdefault(name, []).append(value)
        else:
            query.setdefault(name, value)
    return query


@router.get("/v2/notifications")
async def list_notifications(
    request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """A page of up to 250 notifications, newest first, filtered."""
    query = _query(request, lists=("status", "template_type"))
    found = await get_page(session, caller, query, _base(request))
    return {"notifications": found, "links": _links(request, found)}


@router.get("/v2/notifications/{notification_id}")
async def get_notification(
    notification_id: str, request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """One notification and its status."""
    return await get_one(session, caller, notification_id, _base(request))


@router.get("/v2/notifications/{notification_id}/pdf", response_class=Response)
async def get_pdf(
    notification_id: str, session: SessionDep, runtime: RuntimeDep, caller: CallerDep
) -> Response:
    """A letter's PDF."""
    pdf = await letter_pdf(session, caller, notification_id, runtime.settings)
    return Response(pdf, media_type="application/pdf")


def _template_id(value: str) -> str:
    if not templates.is_uuid(value):
        raise errors.validation(["id is not a valid UUID"])
    return value


@router.get("/v2/template/{template_id}")
async def get_template(template_id: str, session: SessionDep, caller: CallerDep) -> dict[str, Any]:
    """A template's latest version."""
    account = await load_account(session, account_id=caller.service_id)
    found = await templates.find(session, account=account, template_id=_template_id(template_id))
    latest = await templates.version(
        session, account=account, template=found, number=found.resolved.row.version
    )
    return shapes.template_document(found, latest)


@router.get("/v2/template/{template_id}/version/{version}")
async def get_template_version(
    template_id: str, version: str, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """One version of a template."""
    if not version.isdigit() or int(version) < 1:
        raise errors.validation(["version is not a valid integer"])
    account = await load_account(session, account_id=caller.service_id)
    found = await templates.find(session, account=account, template_id=_template_id(template_id))
    saved = await templates.version(session, account=account, template=found, number=int(version))
    return shapes.template_document(found, saved)


@router.get("/v2/templates")
async def list_templates(
    request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """Every template, or those of one ``type``."""
    form = requests.validate(_query(request), requests.LIST_TEMPLATES)
    account = await load_account(session, account_id=caller.service_id)
    found = await templates.list_all(session, account=account, template_type=form.get("type"))
    documents = []
    for template in found:
        latest = await templates.version(
            session, account=account, template=template, number=template.resolved.row.version
        )
        documents.append(shapes.template_document(template, latest))
    return {"templates": documents}


@router.post("/v2/template/{template_id}/preview")
async def preview_template(
    template_id: str, body: Body, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """The template rendered with the given personalisation, saving nothing."""
    form = requests.validate(body, requests.PREVIEW)
    account = await load_account(session, account_id=caller.service_id)
    found = await templates.find(session, account=account, template_id=_template_id(template_id))
    done = await templates.render(
        session, account=account, template=found,
        personalisation=form.get("personalisation") or {}, user=None,
    )  # fmt: skip
    part = done.channels.get(found.type, {})
    content = shapes.content_of(found.type, part)
    letter = found.type == "letter"
    parts = found.resolved.row.body["channels"][found.type]
    return {
        "id": found.id,
        "type": found.type,
        "version": done.version,
        "body": content["body"],
        "subject": content["subject"],
        "html": part.get("html") if found.type == "email" else None,
        "postage": (parts.get("postage") or "second") if letter else None,
    }


@router.get("/v2/received-text-messages")
async def received_text_messages(
    request: Request, session: SessionDep, caller: CallerDep
) -> dict[str, Any]:
    """A page of up to 250 received text messages, newest first."""
    form = requests.validate(_query(request), requests.LIST_RECEIVED)
    older = form.get("older_than")
    rows = await received.received_page(
        session, account_id=caller.service_id, older_than=uuid.UUID(older) if older else None,
        limit=PAGE,
    )  # fmt: skip
    items = [shapes.received_document(row) for row in rows]
    links = {"current": str(request.url.remove_query_params("older_than"))}
    if items:
        links["next"] = str(request.url.include_query_params(older_than=items[-1]["id"]))
    return {"received_text_messages": items, "links": links}


@router.api_route(
    "/v2/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
async def unknown(path: str) -> Response:
    """Any other ``/v2`` path: Notify's 404 body."""
    raise errors.NotifyError(
        404, "ResourceNotFound", "The requested URL was not found on the server."
    )
