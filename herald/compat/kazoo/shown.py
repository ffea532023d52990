"""Answering with templates: a template as a seed 002 document in the envelope, or one of its
bodies when the client asked for it by ``Accept`` (or ``?accept=``)."""

from __future__ import annotations

from fastapi import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from herald.accounts.models import Account
from herald.compat.kazoo.documents import notification_doc, revision
from herald.compat.kazoo.envelope import envelope, request_id
from herald.config import Settings
from herald.templates.catalogue import TypeCatalogue, type_catalogue
from herald.templates.inheritance import Resolved
from herald.templates.negotiation import JSON, negotiate
from herald.templates.service import email_source
from herald.templates.views import macros_of

# A tenant's HTML must not run as a page of Herald's origin if a browser opens the URL.
BODY_HEADERS = {
    "Vary": "Accept",
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
}
EXTENSIONS = {"text/html": "html", "text/plain": "txt"}


def document(resolved: Resolved, types: TypeCatalogue, settings: Settings) -> dict[str, object]:
    """One template as seed 002 shows it to the account viewing it."""
    return notification_doc(
        resolved.row,
        macros_of(resolved.row.body, types),
        overridden=resolved.account_overridden,
        email_from=settings.email_from,
    )


async def template_answer(
    request: Request,
    session: AsyncSession,
    *,
    viewer: Account,
    resolved: Resolved,
    settings: Settings,
    status_code: int = 200,
) -> Response:
    """The template in the envelope, with its revision."""
    types = await type_catalogue(session, account=viewer)
    data = document(resolved, types, settings)
    return envelope(request.scope, data, status_code=status_code, revision=revision(resolved.row))


async def template_or_body(
    request: Request,
    session: AsyncSession,
    *,
    viewer: Account,
    resolved: Resolved,
    settings: Settings,
    accept_override: str | None,
) -> Response:
    """JSON unless ``Accept`` (or ``?accept=``) asks for the HTML or text body (406 for any
    other type, or a body the template does not have)."""
    media = negotiate(request.headers.get("accept"), accept_override)
    if media == JSON:
        return await template_answer(
            request, session, viewer=viewer, resolved=resolved, settings=settings
        )
    source = email_source(
        resolved, media_type=media, locale=None, default_locale=viewer.default_locale
    )
    charset = resolved.row.body.get("template_charset", "utf-8")
    filename = f"{resolved.row.template_id}.{EXTENSIONS[media]}"
    headers = {
        **BODY_HEADERS,
        "Content-Disposition": f"attachment; filename={filename}",
        "X-Request-ID": request_id(request.scope),
    }
    return Response(source, media_type=f"{media}; charset={charset}", headers=headers)


async def documents(
    session: AsyncSession, *, viewer: Account, found: list[Resolved], settings: Settings
) -> list[dict[str, object]]:
    """Several templates as seed 002 lists them."""
    types = await type_catalogue(session, account=viewer)
    return [document(resolved, types, settings) for resolved in found]
