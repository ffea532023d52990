"""``POST /v1/templates/{id}/preview``: render every part, unsaved changes included, saving
nothing. SMS bodies come with their encoding and segment count."""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.templates.catalogue import declared_macros, optional_fields
from herald.templates.compose import account_fields, check_channels, context, render_channels
from herald.templates.inheritance import localised, merge_channels
from herald.templates.schemas import PreviewIn, PreviewOut
from herald.templates.service import get_template


async def preview(
    session: AsyncSession, *, account: Account, template_id: str, request: PreviewIn
) -> PreviewOut:
    """The template rendered with the request's values; its unsaved parts win over the stored
    ones (a syntax error in them is a 422 under ``/template``)."""
    resolved = await get_template(session, account=account, template_id=template_id)
    row = resolved.row
    unsaved = (
        request.template.channels.model_dump(exclude_unset=True, by_alias=True)
        if (request.template)
        else {}
    )
    check_channels(unsaved, prefix="/template", complete=False)
    stored, used = localised(row.body, locale=request.locale, default_locale=account.default_locale)
    channels = merge_channels(stored, unsaved)
    check_channels(channels, prefix="/template")
    ctx = context(
        personalisation=request.personalisation,
        payload=request.payload,
        user=request.user,
        account=account_fields(str(account.id), account.name, account.default_locale),
        message=request.message,
        optional=optional_fields(declared_macros(row.body)),
    )
    # Compiled sources are cached only when they are exactly a stored version's.
    key = None if unsaved else (row.id, row.version, used or "")
    wanted = {str(c) for c in request.channels} if request.channels else None
    rendered = await asyncio.to_thread(render_channels, channels, ctx, wanted=wanted, cache_key=key)
    return PreviewOut(id=row.template_id, version=row.version, locale=used, channels=rendered)
