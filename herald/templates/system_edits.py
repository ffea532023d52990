"""The system defaults as an operator changes them through the API. Never commits.

Seed 002 lets its master account edit, create and remove the system's templates. Here that
is a root account's admin key (``require_editor``); every other caller only reads them. A
default changed this way is the operator's: ``herald migrate`` no longer syncs it from the
shipped files (``Template.customised_by``). A new one may lack its bodies until they are
uploaded (an email without a body is not sent: its deliveries fail, saying so).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from herald.accounts.models import Account
from herald.db import utcnow
from herald.errors import Conflict, Forbidden, NotFound
from herald.templates.inheritance import merge_template
from herald.templates.models import Template
from herald.templates.schemas import TemplateIn
from herald.templates.service import finished, record_version

EDITOR_SCOPE = "admin"


def require_editor(account: Account, scopes: frozenset[str]) -> None:
    """403 unless the caller is a root account's admin key."""
    if account.parent_id is not None or EDITOR_SCOPE not in scopes:
        raise Forbidden("Only a root account's admin key may change the system defaults")


async def system_rows(session: AsyncSession, *, template_id: str | None = None) -> list[Template]:
    """The live system defaults (one id, or all), by id."""
    query = select(Template).where(Template.account_id.is_(None), Template.deleted_at.is_(None))
    if template_id is not None:
        query = query.where(Template.template_id == template_id)
    return list(await session.scalars(query.order_by(Template.template_id)))


async def system_template(session: AsyncSession, *, template_id: str) -> Template:
    """One live system default, or 404."""
    found = await system_rows(session, template_id=template_id)
    if not found:
        raise NotFound(f"No system template {template_id}")
    return found[0]


async def put_system_template(
    session: AsyncSession, *, template_id: str, body: TemplateIn, actor: str
) -> tuple[Template, bool]:
    """Create a system default, or change the one of that id (what ``body`` leaves out stays
    as it is); returns it and whether it was made."""
    row = await _row(session, template_id)
    live = row is not None and row.deleted_at is None
    if row is None:
        row = Template(account_id=None, template_id=template_id, version=0, body={})
        session.add(row)
        try:
            await session.flush()
        except IntegrityError as exc:  # another request made it first
            raise Conflict(f"Template {template_id} is being changed; try again") from exc
    return await _save(session, row, body, actor, base=row.body if live else {}), not live


async def update_system_template(
    session: AsyncSession, *, template_id: str, body: TemplateIn, actor: str
) -> Template:
    """Change a live system default (404 when there is none of that id)."""
    row = await _row(session, template_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"No system template {template_id}")
    return await _save(session, row, body, actor, base=row.body)


async def delete_system_template(session: AsyncSession, *, template_id: str, actor: str) -> None:
    """Withdraw a system default (accounts' overrides of it stay theirs); 404 if none."""
    row = await _row(session, template_id)
    if row is None or row.deleted_at is not None:
        raise NotFound(f"No system template {template_id}")
    row.deleted_at = utcnow()
    row.customised_by = actor
    await session.flush()


async def _row(session: AsyncSession, template_id: str) -> Template | None:
    return await session.scalar(
        select(Template)
        .where(Template.account_id.is_(None), Template.template_id == template_id)
        .with_for_update()
    )


async def _save(
    session: AsyncSession, row: Template, body: TemplateIn, actor: str, *, base: dict[str, Any]
) -> Template:
    content = finished(merge_template(base, body.given()), complete=False)
    row.customised_by = actor
    await record_version(session, row=row, body=content, actor=actor)
    return row
