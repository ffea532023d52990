"""Seed 002's system catalogue: ``/notifications`` and ``/notifications/{id}``. Everyone
reads the system defaults; only a root account's admin key changes them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from herald.compat.kazoo import PREFIX
from herald.compat.kazoo.auth import Reader, Writer
from herald.compat.kazoo.bodies import Upload, json_data, upload_or_data, validated
from herald.compat.kazoo.documents import template_in, upload_in
from herald.compat.kazoo.envelope import envelope
from herald.compat.kazoo.ids import valid_template_id
from herald.compat.kazoo.openapi import (
    ERRORS,
    TEMPLATE_BODIES,
    TEMPLATE_EXAMPLE,
    KazooRoute,
    data_body,
)
from herald.compat.kazoo.schemas import (
    Envelope,
    NewNotificationData,
    NotificationData,
    NotificationDoc,
)
from herald.compat.kazoo.shown import documents, template_answer, template_or_body
from herald.http.deps import SessionDep, SettingsDep
from herald.templates import system_edits
from herald.templates.inheritance import Resolved
from herald.templates.service import load_account

router = APIRouter(prefix=PREFIX, tags=["kazoo"], responses=ERRORS, route_class=KazooRoute)
AcceptQuery = Annotated[str | None, Query(alias="accept", max_length=255)]


@router.get("/notifications", response_model=Envelope[list[NotificationDoc]])
async def list_system(
    request: Request, session: SessionDep, settings: SettingsDep, caller: Reader
) -> Response:
    """Every system default: the templates an account may override."""
    viewer = await load_account(session, account_id=caller.account_id)
    rows = await system_edits.system_rows(session)
    found = [Resolved(row, viewer.id) for row in rows]
    data = await documents(session, viewer=viewer, found=found, settings=settings)
    return envelope(request.scope, data)


@router.put(
    "/notifications",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[NotificationDoc],
    openapi_extra=data_body(NewNotificationData, TEMPLATE_EXAMPLE),
)
async def put_system(
    request: Request, session: SessionDep, settings: SettingsDep, caller: Writer
) -> Response:
    """Create a system default (or change the one of that id): a root account's admin only."""
    editor = await load_account(session, account_id=caller.account_id)
    system_edits.require_editor(editor, caller.scopes)
    data = validated(NewNotificationData, await json_data(request))
    row, created = await system_edits.put_system_template(
        session,
        template_id=data.id,
        body=template_in(data, with_id=False),
        actor=caller.actor,
    )
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return await template_answer(
        request,
        session,
        viewer=editor,
        resolved=Resolved(row, editor.id),
        settings=settings,
        status_code=code,
    )


@router.get(
    "/notifications/{template_id}",
    response_model=Envelope[NotificationDoc],
    responses=TEMPLATE_BODIES,
)
async def get_system(
    template_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Reader,
    accept: AcceptQuery = None,
) -> Response:
    """A system default as JSON, or one of its bodies (by Accept or ``?accept=``)."""
    viewer = await load_account(session, account_id=caller.account_id)
    row = await system_edits.system_template(session, template_id=valid_template_id(template_id))
    return await template_or_body(
        request,
        session,
        viewer=viewer,
        resolved=Resolved(row, viewer.id),
        settings=settings,
        accept_override=accept,
    )


@router.post(
    "/notifications/{template_id}",
    response_model=Envelope[NotificationDoc],
    openapi_extra=data_body(NotificationData, TEMPLATE_EXAMPLE, uploads=True),
)
async def post_system(
    template_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Writer,
) -> Response:
    """Change a system default's document, or upload one of its bodies (``text/html``,
    ``text/plain``): a root account's admin only."""
    editor = await load_account(session, account_id=caller.account_id)
    system_edits.require_editor(editor, caller.scopes)
    wanted = valid_template_id(template_id)
    given = await upload_or_data(request)
    if isinstance(given, Upload):
        body = upload_in(given.media_type, given.text)
    else:
        body = template_in(validated(NotificationData, given), with_id=False)
    row = await system_edits.update_system_template(
        session, template_id=wanted, body=body, actor=caller.actor
    )
    return await template_answer(
        request, session, viewer=editor, resolved=Resolved(row, editor.id), settings=settings
    )


@router.delete("/notifications/{template_id}", response_model=Envelope[dict[str, str]])
async def delete_system(
    template_id: str, request: Request, session: SessionDep, caller: Writer
) -> Response:
    """Remove a system default (accounts' own versions of it stay): a root account's admin
    only."""
    editor = await load_account(session, account_id=caller.account_id)
    system_edits.require_editor(editor, caller.scopes)
    wanted = valid_template_id(template_id)
    await system_edits.delete_system_template(session, template_id=wanted, actor=caller.actor)
    return envelope(request.scope, {"id": wanted})
