"""Templates of one account: what it sees (inherited or its own), saving, versions. Never commits.

An account sees the system defaults, its ancestors' templates and its own; for each id
the nearest owner wins (see ``inheritance``). Saving writes a new immutable version.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.db import new_id, utcnow
from herald.errors import Conflict, NotAcceptable, NotFound, ValidationFailed
from herald.templates.compose import channel_problems
from herald.templates.inheritance import (
    Resolved,
    chain_of,
    effective,
    inherited,
    localised,
    merge_template,
)
from herald.templates.models import Template, TemplateVersion
from herald.templates.negotiation import HTML, TEXT
from herald.templates.schemas import TemplateIn

BASE_FIELDS: dict[str, Any] = {"enabled": True, "template_charset": "utf-8", "locales": {}}
EMAIL_BODIES = {HTML: "html", TEXT: "text"}


async def load_account(session: AsyncSession, *, account_id: uuid.UUID) -> Account:
    """The calling account (it exists: its key was just checked)."""
    account = await session.get(Account, account_id)
    if account is None:
        raise NotFound("No such account")
    return account


async def visible_rows(
    session: AsyncSession, *, account: Account, template_id: str | None = None
) -> list[Template]:
    """Live rows of the system, the account's ancestors and the account, never anyone else's."""
    owners = [owner for owner in chain_of(account) if owner is not None]
    query = select(Template).where(
        Template.deleted_at.is_(None),
        or_(Template.account_id.is_(None), Template.account_id.in_(owners)),
    )
    if template_id is not None:
        query = query.where(Template.template_id == template_id)
    return list(await session.scalars(query))


async def get_template(session: AsyncSession, *, account: Account, template_id: str) -> Resolved:
    """The template the account gets for ``template_id``, or 404."""
    rows = await visible_rows(session, account=account, template_id=template_id)
    found = effective(rows, chain_of(account)).get(template_id)
    if found is None:
        raise NotFound(f"No template {template_id}")
    return Resolved(found, account.id)


@dataclass(frozen=True)
class ListFilters:
    """What a list of templates may be narrowed to (None: any)."""

    type: str | None = None
    sub_type: str | None = None
    category: str | None = None
    account_overridden: bool | None = None

    def accept(self, resolved: Resolved) -> bool:
        """Whether a template passes every filter given."""
        body = resolved.row.body
        pairs = (
            (self.type, body.get("type")),
            (self.sub_type, body.get("subType")),
            (self.category, body.get("category")),
            (self.account_overridden, resolved.account_overridden),
        )
        return all(wanted is None or wanted == actual for wanted, actual in pairs)


async def list_templates(
    session: AsyncSession, *, account: Account, filters: ListFilters | None = None
) -> list[Resolved]:
    """Every template the account gets (that passes ``filters``), by id."""
    rows = await visible_rows(session, account=account)
    found = effective(rows, chain_of(account))
    listed = [Resolved(found[tid], account.id) for tid in sorted(found)]
    return [r for r in listed if filters is None or filters.accept(r)]


async def create_template(
    session: AsyncSession, *, account: Account, body: TemplateIn, actor: str
) -> Resolved:
    """The account's own new template (409 if the id is already taken for this account)."""
    template_id = body.id or str(new_id())
    if await visible_rows(session, account=account, template_id=template_id):
        raise Conflict(
            f"Template {template_id} exists; PUT /v1/templates/{template_id} changes or "
            "overrides it",
            code="template_exists",
        )
    content = finished(merge_template({}, body.given()))
    row = await _own_row(session, account=account, template_id=template_id)
    return Resolved(await _save(session, account, template_id, row, content, actor), account.id)


async def put_template(
    session: AsyncSession,
    *,
    account: Account,
    template_id: str,
    body: TemplateIn,
    actor: str,
    system_only: bool = False,
    over_own: bool = False,
) -> tuple[Resolved, bool]:
    """Override an inherited template, or replace the account's own; returns it and whether
    the account's row was made. Parts not given come from the template overridden.

    ``system_only`` (seed 002's PUT): only an id that a system default has may be written
    (404 otherwise), even if an ancestor has a template of its own by that id.
    ``over_own`` (seed 002's POST, an update): parts not given stay as the account's own
    template has them, when it has one.
    """
    if body.id is not None and body.id != template_id:
        raise ValidationFailed.at("/id", "must match the id in the path")
    rows = await visible_rows(session, account=account, template_id=template_id)
    if system_only and not any(row.account_id is None for row in rows):
        raise NotFound(f"No system template {template_id} to override")
    base = inherited(rows, chain_of(account))
    row = await _own_row(session, account=account, template_id=template_id)
    live = row is not None and row.deleted_at is None
    if base is None and not live:
        raise NotFound(f"No template {template_id} to override")
    under = row.body if over_own and live and row is not None else (base.body if base else {})
    content = finished(merge_template(under, body.given()))
    saved = await _save(session, account, template_id, row, content, actor)
    return Resolved(saved, account.id), not live


async def delete_template(session: AsyncSession, *, account: Account, template_id: str) -> None:
    """Withdraw the account's own template or override; it then gets its parent's or the
    system's again (404 if the account holds none of that id)."""
    row = await _own_row(session, account=account, template_id=template_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"This account has no template {template_id} of its own")
    row.deleted_at = utcnow()
    await session.flush()


async def list_versions(
    session: AsyncSession, *, account: Account, template_id: str, offset: int, limit: int
) -> tuple[Resolved, list[TemplateVersion], int]:
    """A page of versions (newest first) of the template the account gets, with their count."""
    resolved = await get_template(session, account=account, template_id=template_id)
    rows = await session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_row_id == resolved.row.id)
        .order_by(TemplateVersion.version.desc())
        .offset(offset)
        .limit(limit)
    )
    return resolved, list(rows), resolved.row.version


async def get_version(
    session: AsyncSession, *, account: Account, template_id: str, version: int
) -> tuple[Resolved, TemplateVersion]:
    """One version of the template the account gets, or 404."""
    resolved = await get_template(session, account=account, template_id=template_id)
    found = await session.scalar(
        select(TemplateVersion).where(
            TemplateVersion.template_row_id == resolved.row.id, TemplateVersion.version == version
        )
    )
    if found is None:
        raise NotFound(f"Template {template_id} has no version {version}")
    return resolved, found


def finished(body: dict[str, Any], *, complete: bool = True) -> dict[str, Any]:
    """A template body with its defaults, every part checked (422 naming each problem).

    ``complete`` also requires each channel's essential parts (an email's body); seed 002
    creates a system default first and uploads its bodies after.
    """
    content = {**BASE_FIELDS, **body}
    details = channel_problems(content.get("channels") or {}, complete=complete)
    for tag, variant in (content.get("locales") or {}).items():
        details += channel_problems(variant["channels"], prefix=f"/locales/{tag}", complete=False)
    if details:
        raise ValidationFailed("The template is invalid", details=details)
    return content


def email_source(
    resolved: Resolved, *, media_type: str, locale: str | None, default_locale: str
) -> str:
    """The stored source of the email's HTML or text body (406 when it has none)."""
    channels, _used = localised(resolved.row.body, locale=locale, default_locale=default_locale)
    source = (channels.get("email") or {}).get(EMAIL_BODIES[media_type])
    if source is None:
        raise NotAcceptable(f"Template {resolved.row.template_id} has no {media_type} email body")
    return str(source)


def email_lengths(body: dict[str, Any]) -> dict[str, dict[str, int]]:
    """``{"text/html": {"length": n}, ...}`` for the email bodies a template stores."""
    email = (body.get("channels") or {}).get("email") or {}
    return {
        media: {"length": len(email[part])}
        for media, part in EMAIL_BODIES.items()
        if email.get(part) is not None
    }


async def _own_row(session: AsyncSession, *, account: Account, template_id: str) -> Template | None:
    """The account's row for this id, withdrawn or not, locked for the new version."""
    return await session.scalar(
        select(Template)
        .where(Template.account_id == account.id, Template.template_id == template_id)
        .with_for_update()
    )


async def _save(
    session: AsyncSession,
    account: Account,
    template_id: str,
    row: Template | None,
    body: dict[str, Any],
    actor: str,
) -> Template:
    if row is None:
        row = Template(account_id=account.id, template_id=template_id, version=0, body={})
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:  # another request made it first
            raise Conflict(f"Template {template_id} is being changed; try again") from exc
    await record_version(session, row=row, body=body, actor=actor)
    return row


async def record_version(
    session: AsyncSession, *, row: Template, body: dict[str, Any], actor: str
) -> TemplateVersion:
    """Make ``body`` the row's content as its next version (a withdrawn row comes back)."""
    row.version += 1
    row.body = body
    row.deleted_at = None
    row.updated_at = utcnow()
    await session.flush()
    version = TemplateVersion(
        template_row_id=row.id, version=row.version, body=body, created_by=actor
    )
    session.add(version)
    await session.flush()
    return version
