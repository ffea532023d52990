"""Seed 002's account templates: ``/accounts/{A}/notifications[/{id}[/preview]]``, where A
is the caller's account or one below it (a reseller reads and edits its children's)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from herald.compat.kazoo import PREFIX
from herald.compat.kazoo.auth import Reader, Writer, path_account
from herald.compat.kazoo.bodies import Upload, json_data, upload_or_data, validated
from herald.compat.kazoo.documents import inline_parts, preview_doc, template_in, upload_in
from herald.compat.kazoo.envelope import envelope
from herald.compat.kazoo.ids import valid_template_id
from herald.compat.kazoo.openapi import (
    ERRORS,
    PREVIEW_EXAMPLE,
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
    PreviewData,
    PreviewOut,
)
from herald.compat.kazoo.shown import documents, template_answer, template_or_body
from herald.http.deps import SessionDep, SettingsDep
from herald.templates import service
from herald.templates.preview import preview
from herald.templates.schemas import PreviewIn

router = APIRouter(
    prefix=f"{PREFIX}/accounts/{{account_id}}",
    tags=["kazoo"],
    responses=ERRORS,
    route_class=KazooRoute,
)
AcceptQuery = Annotated[str | None, Query(alias="accept", max_length=255)]


@router.get("/notifications", response_model=Envelope[list[NotificationDoc]])
async def list_account(
    account_id: str, request: Request, session: SessionDep, settings: SettingsDep, caller: Reader
) -> Response:
    """Every template the account gets: the system defaults, and its own (and its
    ancestors') marked ``account_overridden``."""
    account = await path_account(session, caller, account_id)
    found = await service.list_templates(session, account=account)
    data = await documents(session, viewer=account, found=found, settings=settings)
    return envelope(request.scope, data)


@router.put(
    "/notifications",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[NotificationDoc],
    openapi_extra=data_body(NewNotificationData, TEMPLATE_EXAMPLE),
)
async def put_account(
    account_id: str, request: Request, session: SessionDep, settings: SettingsDep, caller: Writer
) -> Response:
    """The account's own version of a system default (404 for an id no system default has)."""
    account = await path_account(session, caller, account_id)
    data = validated(NewNotificationData, await json_data(request))
    resolved, created = await service.put_template(
        session,
        account=account,
        template_id=data.id,
        body=template_in(data, with_id=True),
        actor=caller.actor,
        system_only=True,
    )
    code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return await template_answer(
        request, session, viewer=account, resolved=resolved, settings=settings, status_code=code
    )


@router.get(
    "/notifications/{template_id}",
    response_model=Envelope[NotificationDoc],
    responses=TEMPLATE_BODIES,
)
async def get_account(
    account_id: str,
    template_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Reader,
    accept: AcceptQuery = None,
) -> Response:
    """The template the account gets, as JSON or one of its bodies (Accept, ``?accept=``)."""
    account = await path_account(session, caller, account_id)
    resolved = await service.get_template(
        session, account=account, template_id=valid_template_id(template_id)
    )
    return await template_or_body(
        request,
        session,
        viewer=account,
        resolved=resolved,
        settings=settings,
        accept_override=accept,
    )


@router.post(
    "/notifications/{template_id}",
    response_model=Envelope[NotificationDoc],
    openapi_extra=data_body(NotificationData, TEMPLATE_EXAMPLE, uploads=True),
)
async def post_account(
    account_id: str,
    template_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Writer,
) -> Response:
    """Change the account's template, or upload one of its bodies.

    A body comes as ``text/html`` or ``text/plain``; changing an inherited template makes the
    account's own version of it.
    """
    account = await path_account(session, caller, account_id)
    wanted = valid_template_id(template_id)
    given = await upload_or_data(request)
    if isinstance(given, Upload):
        body = upload_in(given.media_type, given.text)
    else:
        body = template_in(validated(NotificationData, given), with_id=False)
    resolved, _made = await service.put_template(
        session, account=account, template_id=wanted, body=body, actor=caller.actor, over_own=True
    )
    return await template_answer(
        request, session, viewer=account, resolved=resolved, settings=settings
    )


@router.delete("/notifications/{template_id}", response_model=Envelope[dict[str, str]])
async def delete_account(
    account_id: str, template_id: str, request: Request, session: SessionDep, caller: Writer
) -> Response:
    """Remove the account's own version; it gets its parent's (or the system's) again."""
    account = await path_account(session, caller, account_id)
    wanted = valid_template_id(template_id)
    await service.delete_template(session, account=account, template_id=wanted)
    return envelope(request.scope, {"id": wanted})


@router.post(
    "/notifications/{template_id}/preview",
    response_model=Envelope[PreviewOut],
    openapi_extra=data_body(PreviewData, PREVIEW_EXAMPLE),
)
async def preview_account(
    account_id: str,
    template_id: str,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    caller: Reader,
) -> Response:
    """The email rendered with the unsaved headers and bodies given, saving and sending
    nothing. ``{{user.email}}`` is the first ``to`` address; ``databag`` gives
    ``databag.*``."""
    account = await path_account(session, caller, account_id)
    data = validated(PreviewData, await json_data(request))
    parts = inline_parts(data) or {}
    addresses = data.to.email_addresses if data.to else []
    rendered = await preview(
        session,
        account=account,
        template_id=valid_template_id(template_id),
        request=validated(
            PreviewIn,
            {
                "personalisation": {"databag": data.databag} if data.databag else {},
                "user": {"email": str(addresses[0])} if addresses else None,
                "channels": ["email"],
                "template": {"channels": parts},
            },
            prefix="",
        ),
    )
    email = rendered.channels.get("email") or {}
    return envelope(request.scope, preview_doc(email, email_from=settings.email_from))
